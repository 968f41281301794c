"""The `frontdesk` command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from frontdesk import clock
from frontdesk.clock import parse_instant
from frontdesk.tickets.store import TicketStore
from frontdesk_tools import privacy, replay
from frontdesk_tools.report import compute_report, render_json, render_text

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The variable the template sets for the functions (frontdesk.config's _RESOURCE_BINDINGS): the
# report reads the same one when --table is not given.
TABLE_VARIABLE = "TICKETS_TABLE_NAME"
DEFAULT_REPORT_PERIOD = timedelta(days=7)


def _dev(arguments: argparse.Namespace) -> int:
    # Imported here: the local stack needs moto and aiosmtpd, which `frontdesk report` against
    # AWS does not.
    from frontdesk_tools.local.stack import DEFAULT_CONFIG, DEFAULT_TEMPLATE, LocalStack, StackOptions

    options = StackOptions(
        host=arguments.host,
        http_port=arguments.http_port,
        smtp_port=arguments.smtp_port,
        aws_port=arguments.aws_port,
        config_path=arguments.config or DEFAULT_CONFIG,
        template_path=arguments.template or DEFAULT_TEMPLATE,
        pool_size=arguments.workers,
        clock_start=arguments.clock,
        agent_token=arguments.agent_token,
    )
    stack = LocalStack(options)
    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        url = stack.url
        print(
            f"Frontdesk local stack ready: {url} | form: {url}/forms/contact | outbox: {url}/_local/outbox"
            f" | SMTP: {options.host}:{options.smtp_port} | AWS (moto): {stack.aws_endpoint}",
            flush=True,
        )
        print(f"Agent API token: {options.agent_token}", flush=True)
        if options.clock_start:
            print(f"Clock started at {options.clock_start.isoformat()} and running", flush=True)
        # Wake up now and then: the kernel may hand SIGTERM to another thread, and Python runs
        # its handler only when the main thread next runs, which a wait without timeout never does.
        while not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    print("Frontdesk local stack stopped", flush=True)
    return 0


def _instant(value: str) -> datetime:
    try:
        return parse_instant(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _date_or_instant(value: str) -> datetime:
    """An ISO 8601 date (meaning its 00:00 UTC) or an instant with an offset."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return _instant(value)
    return datetime.combine(day, time.min, tzinfo=UTC)


def report_period(since: datetime | None, until: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The period a report covers: until defaults to now, since to a week before until."""
    end = until or now
    return since or end - DEFAULT_REPORT_PERIOD, end


def _dynamodb_client(endpoint_url: str | None, region: str | None) -> DynamoDBClient:
    # boto3's defaults (credentials chain, AWS_REGION, AWS_ENDPOINT_URL) unless the flags say otherwise.
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)


def _report(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    table = arguments.table or os.environ.get(TABLE_VARIABLE)
    if not table:
        parser.error(f"name the tickets table: --table NAME or ${TABLE_VARIABLE}")
    since, until = report_period(arguments.since, arguments.until, clock.now())
    if since >= until:
        parser.error("--since must be before --until")
    try:  # no region, no credentials, no such table: one line, not a traceback
        store = TicketStore(table, _dynamodb_client(arguments.endpoint_url, arguments.region))
        report = compute_report(store.tickets_created_between(since, until), since, until)
    except (BotoCoreError, ClientError) as error:
        print(f"frontdesk report: {error}", file=sys.stderr)
        return 1
    print(render_json(report) if arguments.json else render_text(report))
    return 0


def _check_config(arguments: argparse.Namespace) -> int:
    """Validate a configuration document the way the functions will read it from SSM (JSON; the
    calendars from their own parameter when given), printing each problem's field, never a value."""
    from frontdesk.config import InvalidSettingsError, load_settings

    documents = {"config": arguments.file}
    environ = {"FRONTDESK_CONFIG_PARAMETER": "config", "TICKETS_TABLE_NAME": "frontdesk-check-tickets"}
    if arguments.calendars:
        documents["calendars"] = arguments.calendars
        environ["FRONTDESK_CALENDARS_PARAMETER"] = "calendars"
    try:
        texts = {name: path.read_text(encoding="utf-8") for name, path in documents.items()}
        settings = load_settings(environ, read_parameters=lambda names: {name: texts[name] for name in names})
    except InvalidSettingsError as error:
        for where, message in error.problems:
            print(f"{arguments.file}: {where}: {message}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"frontdesk check-config: {error}", file=sys.stderr)
        return 1
    calendars = ", ".join(settings.hours.calendars) or "none (always open)"
    print(
        f"{arguments.file}: valid. Desk {settings.desk_name!r} sending as {settings.sender_address};"
        f" forms: {', '.join(settings.forms)}; calendars: {calendars};"
        f" chat providers: {', '.join(settings.chat.providers) or 'none'};"
        f" surveys: {'on' if settings.surveys.enabled else 'off'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdesk", description="Frontdesk support automation.")
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run Frontdesk locally: moto for AWS, no Docker, no AWS account")
    dev.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    dev.add_argument("--http-port", type=int, default=3000, help="the HTTP API's port (default 3000)")
    dev.add_argument(
        "--smtp-port",
        type=int,
        default=2525,
        help="port of the SMTP listener standing in for SES receiving (default 2525)",
    )
    dev.add_argument("--aws-port", type=int, default=0, help="moto's port (default: any free port)")
    dev.add_argument(
        "--config",
        type=Path,
        help="configuration file, TOML or JSON (default: the local default-config.toml)",
    )
    dev.add_argument("--template", type=Path, help="the SAM template to run (default: infra/template.yaml)")
    dev.add_argument("--workers", type=int, default=2, help="worker processes per function (default 2)")
    dev.add_argument(
        "--clock",
        type=_instant,
        default=None,
        metavar="ISO-8601",
        help="start the clock at this instant (e.g. 2026-11-28T23:00:00+01:00); it then runs forward",
    )
    dev.add_argument(
        "--agent-token",
        default=None,
        metavar="TOKEN",
        help="bearer token the agent API accepts locally"
        " (default: $FRONTDESK_AGENT_TOKEN, else a random one, printed at start)",
    )
    report = commands.add_parser(
        "report",
        help="support KPIs of the tickets created in a period (volume, response and resolution"
        " times, CSAT, NPS, first-contact resolution)",
    )
    report.add_argument(
        "--since",
        type=_date_or_instant,
        default=None,
        metavar="DATE",
        help="start of the period, included: an ISO 8601 date (00:00 UTC) or instant"
        " (default: a week before --until)",
    )
    report.add_argument(
        "--until",
        type=_date_or_instant,
        default=None,
        metavar="DATE",
        help="end of the period, excluded: an ISO 8601 date (00:00 UTC) or instant (default: now)",
    )
    report.add_argument("--table", default=None, help=f"the tickets table (default: ${TABLE_VARIABLE})")
    report.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="DynamoDB endpoint, e.g. the local stack's moto (http://127.0.0.1:PORT); default: AWS",
    )
    report.add_argument("--region", default=None, help="AWS region (default: boto3's, e.g. $AWS_REGION)")
    report.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check = commands.add_parser(
        "check-config",
        help="validate a configuration document (JSON, as stored in SSM) before putting it in place",
    )
    check.add_argument("file", type=Path, help="the configuration document (JSON)")
    check.add_argument(
        "--calendars",
        type=Path,
        default=None,
        help="the calendars document, when they have their own parameter",
    )
    privacy_parser = privacy.add_parser(commands)
    replay.add_parser(commands)
    arguments = parser.parse_args(argv)
    if arguments.command == "replay":
        return replay.run(arguments)
    if arguments.command == "privacy":
        return privacy.run(arguments, privacy_parser)
    if arguments.command == "report":
        return _report(arguments, report)
    if arguments.command == "check-config":
        return _check_config(arguments)
    return _dev(arguments)


if __name__ == "__main__":
    sys.exit(main())
