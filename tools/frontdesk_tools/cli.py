"""The `frontdesk` command."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType

from frontdesk.clock import parse_instant
from frontdesk_tools.local.stack import DEFAULT_CONFIG, DEFAULT_TEMPLATE, LocalStack, StackOptions


def _dev(arguments: argparse.Namespace) -> int:
    options = StackOptions(
        host=arguments.host,
        http_port=arguments.http_port,
        smtp_port=arguments.smtp_port,
        aws_port=arguments.aws_port,
        config_path=arguments.config,
        template_path=arguments.template,
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
        stopping.wait()
    finally:
        stack.stop()
    print("Frontdesk local stack stopped", flush=True)
    return 0


def _instant(value: str) -> datetime:
    try:
        return parse_instant(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    dev.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="configuration file (TOML or JSON)")
    dev.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="the SAM template to run")
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
    arguments = parser.parse_args(argv)
    return _dev(arguments)  # "dev" is the only command so far


if __name__ == "__main__":
    sys.exit(main())
