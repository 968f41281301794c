"""Cold start of each handler against a floor, the layer's bytecode, and deployment sizes.

    .venv/bin/python bench/cold_start.py [--runs 11] [--quick] [--handlers web_form,...] [--no-valgrind]

For each handler a fresh process sets the environment a function gets, stubs every AWS answer
(a botocore `before-send` hook on boto3's default session returns canned responses: no network,
no moto), imports the handler module as Lambda does (`app` from the function's folder), handles
one representative event and prints what it answered. Templates and catalogs are read as the
templates layer ships them (.aws-sam/build/TemplatesLayer, when built: precompiled). The floor,
measured in the same run, is a process that imports boto3, installs the same stub, creates the
same clients and makes the same calls with the same parameters (recorded from the handler's
warm-up run), doing nothing else.

Wall time: median of N fresh processes (cold and floor interleaved), from the parent's spawn to
the child's exit. Both children leave with `os._exit` once they have answered: Lambda never runs
the interpreter's teardown, so it is no part of a cold start. Instructions: one run each under
`valgrind --tool=cachegrind --cache-sim=no` (deterministic), when valgrind is installed. Compiled
from source: the modules the handler imports (as Python 3.11 here sees them) that the built layer
(.aws-sam/build) ships without valid CPython 3.13 bytecode, plus the function's own app.py; the
layer's pydantic_core is an aarch64 build, so it cannot be imported on this machine. Sizes: the
built artifacts, unzipped.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "layers" / "frontdesk", ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

HANDLERS = (
    "web_form",
    "chat_webhook",
    "inbound_email",
    "ticket_events",
    "agent_api",
    "survey_sender",
    "surveys",
    "mail_feedback",
)
BUILD_DIR = ROOT / ".aws-sam" / "build"
WARM_EVENTS = 31  # warm invocations per handler in its recording run (median reported)
BYTECODE_TAG = "cpython-313"
REGION = "us-east-1"
TABLE = "frontdesk-bench-tickets"
CONFIG_PARAMETER = "/frontdesk/bench/config"
GENERIC_SECRET = "local-generic-secret-not-secret"  # noqa: S105 (the local configuration's)
FUNCTION_IDS = {
    "web_form": "WebFormFunction",
    "chat_webhook": "ChatWebhookFunction",
    "inbound_email": "InboundEmailFunction",
    "ticket_events": "TicketEventsFunction",
    "agent_api": "AgentApiFunction",
    "survey_sender": "SurveySenderFunction",
    "surveys": "SurveysFunction",
    "mail_feedback": "MailFeedbackFunction",
}

# The child: one fresh process, cold (handler) or floor (boto3 and the same calls). Its only
# output is one JSON line. It reads its spec (JSON) from the file named in argv[1].
CHILD = r"""
import json, os, sys
spec = json.load(open(sys.argv[1]))
os.environ.update(spec["env"])
import base64, datetime, io
import boto3
from botocore.awsrequest import AWSResponse

class _Raw(io.BytesIO):
    def stream(self, **_):
        yield self.getvalue()

answers = spec["answers"]
served = {}
calls = []

def _send(request, event_name, **_):
    key = event_name.split(".", 1)[1]
    n = served.get(key, 0)
    served[key] = n + 1
    options = answers.get(key) or [{}]
    answer = options[min(n, len(options) - 1)]
    body = base64.b64decode(answer["b64"]) if "b64" in answer else json.dumps(answer.get("json", {})).encode()
    headers = {"content-length": str(len(body)), "x-amzn-requestid": "bench"}
    headers.update(answer.get("headers", {}))
    return AWSResponse(request.url, answer.get("status", 200), headers, _Raw(body))

def _encode(value):
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime.datetime):
        return {"__datetime__": value.isoformat()}
    return value

def _decode(value):
    if isinstance(value, dict):
        if "__bytes__" in value:
            return base64.b64decode(value["__bytes__"])
        if "__datetime__" in value:
            return datetime.datetime.fromisoformat(value["__datetime__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value

def _record(params, model, **_):
    if spec["record"]:
        calls.append([model.service_model.service_name, model.name, _encode(params)])

boto3.setup_default_session()
boto3.DEFAULT_SESSION.events.register("before-send", _send)
boto3.DEFAULT_SESSION.events.register("before-parameter-build", _record)
report = {}
if spec["mode"] == "cold":
    sys.path.insert(0, spec["code_dir"])
    import app
    class _Context:
        function_name = "bench"
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
        memory_limit_in_mb = 256
        aws_request_id = "bench"
        log_group_name = "/aws/lambda/bench"
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 10000
    answer = app.lambda_handler(spec["event"], _Context())
    if isinstance(answer, dict) and "statusCode" in answer:
        report["status"] = answer["statusCode"]
    elif isinstance(answer, dict) and "batchItemFailures" in answer:
        report["status"] = "failures=%d" % len(answer["batchItemFailures"])
    elif isinstance(answer, dict) and "outcome" in answer:
        report["status"] = answer["outcome"]
    else:
        report["status"] = "ok" if answer is None else type(answer).__name__
    report["calls"] = list(calls)  # the cold event's (the floor repeats them), not the warm ones
    if spec.get("warm"):
        # Warm: the same event again in this process (settings, clients and caches kept), then
        # the standard library alone on the same input: the runtime's JSON decode of the event,
        # the body's JSON or form decode, the raw mail's MIME parse.
        import email, email.policy, time, urllib.parse
        def _median_us(run):
            samples = []
            for _ in range(spec["warm"]):
                started = time.perf_counter_ns()
                run()
                samples.append(time.perf_counter_ns() - started)
            return sorted(samples)[len(samples) // 2] / 1000
        raw_event = json.dumps(spec["event"])
        stored = [a["b64"] for a in answers.get("s3.GetObject", []) if "b64" in a]
        raw_mail = base64.b64decode(stored[0]) if stored else None
        def _stdlib():
            decoded = json.loads(raw_event)
            body = decoded.get("body") if isinstance(decoded, dict) else None
            if body:
                data = base64.b64decode(body) if decoded.get("isBase64Encoded") else body.encode()
                if "json" in (decoded.get("headers") or {}).get("content-type", ""):
                    json.loads(data)
                else:
                    urllib.parse.parse_qs(data.decode("utf-8", "replace"))
            if raw_mail is not None:
                parsed = email.message_from_bytes(raw_mail, policy=email.policy.default)
                part = parsed.get_body(("plain", "html"))
                if part is not None:
                    part.get_content()
        report["warm_us"] = _median_us(lambda: app.lambda_handler(spec["event"], _Context()))
        report["stdlib_us"] = _median_us(_stdlib)
    if spec["record"]:
        report["modules"] = sorted(
            m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
        )
else:
    from botocore import xform_name
    from botocore.exceptions import ClientError
    clients = {}
    for service, operation, params in spec["calls"]:
        if service not in clients:
            clients[service] = boto3.client(service)
        try:
            getattr(clients[service], xform_name(operation))(**_decode(params))
        except ClientError:
            pass
    report["status"] = "%d calls" % len(spec["calls"])
report["served"] = served
print(json.dumps(report), flush=True)
# Lambda freezes and then discards an execution environment; it never runs the interpreter's
# teardown (module and object finalisation), so neither side of the comparison pays for it.
os._exit(0)
"""


@dataclass
class Case:
    name: str
    event: dict[str, Any]
    answers: dict[str, list[dict[str, Any]]]
    status: str = ""
    calls: list[Any] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    cold_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    cold_instr: int | None = None
    floor_instr: int | None = None
    warm_us: float | None = None
    stdlib_us: float | None = None
    log_bytes: int = 0  # what one cold invocation logs


# -- events and canned answers -------------------------------------------------------------------


def _json(body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    return {"status": status, "json": body}


def _raw_mail() -> bytes:
    message = EmailMessage()
    message["From"] = "Ana Souza <ana@example.org>"
    message["To"] = "support@example.com"
    message["Subject"] = "My order has not arrived"
    message["Message-ID"] = "<bench-1@example.org>"
    message["Date"] = "Mon, 23 Nov 2026 10:00:00 +0000"
    message.set_content("Hello,\n\nmy order 1234 has not arrived yet. Can you help?\n\nAna\n")
    return bytes(message)


def _ticket_item(web_form_calls: list[Any]) -> dict[str, Any]:
    """The ticket item the web form's transaction wrote (the stream's NewImage for ticket_events)."""
    for service, operation, params in web_form_calls:
        if service == "dynamodb" and operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                item = action.get("Put", {}).get("Item")
                if item and item.get("sk", {}).get("S", "").startswith("TICKET"):
                    return dict(item)
            for action in params["TransactItems"]:
                if "Put" in action:
                    return dict(action["Put"]["Item"])
    raise RuntimeError("the web form wrote no ticket: cannot build ticket_events' stream record")


def _resolved_ticket_and_survey(now: datetime) -> tuple[Any, dict[str, Any]]:
    """A web-form ticket resolved yesterday, and its survey, due now (as stored items)."""
    from frontdesk.tickets.model import Channel, Requester, Survey, SurveyState, Ticket, TicketStatus
    from frontdesk.tickets.store import _serialise, ticket_item

    resolved_at = now - timedelta(days=1)
    ticket = Ticket(
        reference="FD-BNCH-0001",
        channel=Channel.WEB_FORM,
        source="contact",
        subject="My order is late",
        requester=Requester(name="Ana Souza", email="ana@example.org"),
        language="en",
        status=TicketStatus.RESOLVED,
        created_at=resolved_at - timedelta(hours=3),
        updated_at=resolved_at,
        resolved_at=resolved_at,
        first_responded_at=resolved_at - timedelta(hours=1),
        public_replies=1,
    )
    survey = Survey(
        reference=ticket.reference,
        resolved_at=resolved_at,
        state=SurveyState.SCHEDULED,
        send_at=now,
        language="en",
    )
    return survey, _serialise(ticket_item(ticket))


def _stored_survey(survey: Any) -> dict[str, Any]:
    from frontdesk.tickets.store import SURVEY_ENTITY, _plain, _serialise, _survey_key

    return {
        **_survey_key(survey.reference, survey.resolved_at),
        **_serialise({**_plain(survey), "entity": SURVEY_ENTITY}),
    }


def _survey_token(survey: Any, config: dict[str, Any], now: datetime) -> str:
    """The link the survey mail carries, signed with the configuration's first key."""
    from frontdesk.surveys.tokens import SurveyLink, sign_link

    link = SurveyLink(survey.reference, survey.resolved_at, now + timedelta(days=7), survey.language)
    return sign_link(link, str(config["surveys"]["signing_keys"][0]).encode())


def build_cases(names: list[str], config_json: str) -> dict[str, Case]:
    from frontdesk_tools.local.gateway import event_for_route
    from frontdesk_tools.local.smtp import receipt_event

    now = datetime.now(UTC)
    ssm = _json(
        {
            "Parameters": [
                {"Name": CONFIG_PARAMETER, "Type": "SecureString", "Value": config_json, "Version": 1}
            ],
            "InvalidParameters": [],
        }
    )
    common: dict[str, list[dict[str, Any]]] = {
        "ssm.GetParameters": [ssm],
        "dynamodb.Query": [_json({"Items": [], "Count": 0, "ScannedCount": 0})],
        "dynamodb.BatchGetItem": [_json({"Responses": {TABLE: []}, "UnprocessedKeys": {}})],
        "sesv2.SendEmail": [_json({"MessageId": "bench-message-0001"})],
        "eventbridge.PutEvents": [_json({"FailedEntryCount": 0, "Entries": [{"EventId": "bench"}]})],
        "scheduler.CreateSchedule": [
            _json({"ScheduleArn": "arn:aws:scheduler:us-east-1:123456789012:schedule/x/y"})
        ],
    }
    form = json.dumps({"name": "Ana Souza", "email": "ana@example.org", "message": "My order is late."})
    chat_body = json.dumps(
        {
            "event_id": "bench-chat-1",
            "conversation_id": "bench-chat-1",
            "author": {"id": "visitor-1", "name": "Ana", "email": "ana@example.org"},
            "text": "Where is my invoice?",
            "locale": "en-GB",
        }
    ).encode()
    from tests.conftest import OPEN_INSTANT

    stamp = int(OPEN_INSTANT.timestamp())  # the handlers' clock starts there (environment())
    digest = hmac.new(GENERIC_SECRET.encode(), f"{stamp}.".encode() + chat_body, hashlib.sha256).hexdigest()
    raw = _raw_mail()
    bounce = {
        "notificationType": "Bounce",
        "eventType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": "gone@example.org"}],
            "timestamp": now.isoformat(),
        },
        "mail": {"messageId": "bench", "timestamp": now.isoformat(), "source": "support@example.com"},
    }
    from frontdesk.tickets.model import SurveyState

    survey, resolved_ticket = _resolved_ticket_and_survey(now)
    survey_item = _stored_survey(survey)
    sent_survey_item = _stored_survey(survey.model_copy(update={"state": SurveyState.SENT, "sent_at": now}))
    survey_token = _survey_token(survey, json.loads(config_json), now)
    events: dict[str, tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]] = {
        "web_form": (
            event_for_route(
                "POST /forms/{form_id}",
                "/forms/contact",
                form.encode(),
                {
                    "Content-Type": "application/json",
                    "Idempotency-Key": "bench-form-1",
                    "Accept-Language": "en-GB,en;q=0.9",  # as every browser sends it
                },
            ),
            {},
        ),
        "chat_webhook": (
            event_for_route(
                "POST /chat/{provider}",
                "/chat/generic",
                chat_body,
                {
                    "Content-Type": "application/json",
                    "X-Frontdesk-Timestamp": str(stamp),
                    "X-Frontdesk-Signature": f"v1={digest}",
                },
            ),
            {},
        ),
        "inbound_email": (
            receipt_event(
                raw,
                message_id="benchsesmessageid0001",
                envelope_sender="ana@example.org",
                recipients=["support@example.com"],
                function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
                now=now,
            ),
            {
                "s3.GetObject": [
                    {
                        "status": 200,
                        "b64": base64.b64encode(raw).decode(),
                        "headers": {"content-type": "message/rfc822", "etag": '"bench"'},
                    }
                ]
            },
        ),
        "ticket_events": ({}, {}),  # built from web_form's recorded ticket
        "agent_api": (
            event_for_route(
                "GET /tickets", "/tickets", claims={"sub": "agent-1", "email": "agent@example.com"}
            ),
            {},
        ),
        "survey_sender": (
            {"reference": survey.reference, "resolved_at": survey.resolved_at.isoformat()},
            {
                "dynamodb.BatchGetItem": [
                    _json({"Responses": {TABLE: [survey_item, resolved_ticket]}, "UnprocessedKeys": {}})
                ]
            },
        ),
        "surveys": (
            event_for_route(
                "GET /surveys/{token}", f"/surveys/{survey_token}", headers={"Accept": "text/html"}
            ),
            {"dynamodb.GetItem": [_json({"Item": sent_survey_item})]},
        ),
        "mail_feedback": (
            {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "Sns": {"Type": "Notification", "MessageId": "bench", "Message": json.dumps(bounce)},
                    }
                ]
            },
            {},
        ),
    }
    return {name: Case(name, events[name][0], {**common, **events[name][1]}) for name in names}


def stream_event(item: dict[str, Any]) -> dict[str, Any]:
    keys = {name: item[name] for name in ("pk", "sk") if name in item}
    return {
        "Records": [
            {
                "eventID": "bench-1",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(time.time()),
                    "Keys": keys,
                    "NewImage": item,
                    "SequenceNumber": "100000000000000000001",
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "eventSourceARN": f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}/stream/2026-01-01",
            }
        ]
    }


def environment() -> dict[str, str]:
    """The variables the template gives the functions (all functions' at once; they agree where
    they overlap), with dummy credentials and no instance metadata lookups."""
    from frontdesk.clock import shifted_environment
    from tests.conftest import OPEN_INSTANT

    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "TICKETS_TABLE_NAME": TABLE,
        "FRONTDESK_CONFIG_PARAMETER": CONFIG_PARAMETER,
        "FRONTDESK_CALENDARS_PARAMETER": "",
        "FRONTDESK_TEMPLATES_DIR": str(ROOT / "templates"),
        "POWERTOOLS_SERVICE_NAME": "frontdesk-bench",
        "POWERTOOLS_METRICS_NAMESPACE": "Frontdesk",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",
        "MAIL_BUCKET_NAME": "frontdesk-bench-mail",
        "RAW_MAIL_PREFIX": "inbound/",
        "FRONTDESK_SES_CONFIGURATION_SET": "frontdesk-bench",
        "EVENT_BUS_NAME": "frontdesk-bench",
        "SURVEY_SCHEDULE_GROUP": "frontdesk-bench",
        "SURVEY_SENDER_ARN": "arn:aws:lambda:us-east-1:123456789012:function:frontdesk-bench-survey-sender",
        "SURVEY_SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/frontdesk-bench-scheduler",
        "PUBLIC_API_URL": "https://bench.execute-api.us-east-1.amazonaws.com",
        **shifted_environment(OPEN_INSTANT),
    }


# -- running children ---------------------------------------------------------------------------


class Runner:
    def __init__(self, workdir: Path, python: str) -> None:
        self.workdir = workdir
        self.python = python
        self.child = workdir / "child.py"
        self.child.write_text(CHILD, encoding="utf-8")
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PYTHON"))}
        self.env["PYTHONHASHSEED"] = "0"

    def spec(self, case: Case, mode: str, env: dict[str, str], record: bool = False, warm: int = 0) -> Path:
        path = self.workdir / f"{case.name}-{mode}{'-record' if record else ''}.json"
        body = {
            "mode": mode,
            "warm": warm,
            "env": env,
            "answers": case.answers,
            "event": case.event,
            "calls": case.calls,
            "record": record,
            "code_dir": str(ROOT / "functions" / case.name),
        }
        path.write_text(json.dumps(body), encoding="utf-8")
        return path

    def run(self, spec: Path) -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 (our interpreter, our script)
            [self.python, str(self.child), str(spec)],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = (time.perf_counter() - started) * 1000
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"{spec.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        report: dict[str, Any] = json.loads(lines[-1])
        # What the handler logged (Powertools' lines and metrics documents), the report aside.
        report["log_bytes"] = len(done.stdout.encode()) - len(lines[-1].encode()) - 1
        return elapsed, report

    def instructions(self, spec: Path) -> int | None:
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            return None
        done = subprocess.run(  # noqa: S603 (valgrind on our interpreter and script)
            [
                valgrind,
                "--tool=cachegrind",
                "--cache-sim=no",
                "--cachegrind-out-file=/dev/null",
                self.python,
                str(self.child),
                str(spec),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        return int(found.group(1).replace(",", "")) if found and done.returncode == 0 else None


# -- bytecode and sizes -------------------------------------------------------------------------


def _pyc_valid(source: Path, pyc: Path) -> bool:
    """Would CPython use this .pyc for this source (header flags; hash-based ones are trusted,
    as the layer's unchecked-hash ones are by the runtime)?"""
    try:
        header = pyc.read_bytes()[:16]
    except OSError:
        return False
    if len(header) < 16:
        return False
    flags = int.from_bytes(header[4:8], "little")
    if flags & 0b1:  # hash-based: unchecked is always used; checked is compared with the source
        return True
    stat = source.stat()
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == (int(stat.st_mtime) & 0xFFFFFFFF) and size == (stat.st_size & 0xFFFFFFFF)


RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "urllib3")  # Lambda's python3.13 ships them
INSTALL_ARTIFACTS = ("__editable__", "_distutils_hack")  # this venv's own, nothing Lambda runs


def layer_bytecode(modules: list[str], layer: Path) -> tuple[int, int, int]:
    """Of the non-stdlib modules imported: how many the layer ships with valid 3.13 bytecode,
    how many it would compile at every cold start, and how many are neither in the layer nor
    the runtime's boto3 stack (missing from the layer)."""
    roots = [Path(p) for p in sys.path if "site-packages" in p] + [ROOT / "layers" / "frontdesk"]
    compiled = uncompiled = absent = 0
    for name in modules:
        path = Path(name)
        if path.suffix != ".py":
            continue
        relative = next((path.relative_to(root) for root in roots if path.is_relative_to(root)), None)
        if relative is None:
            continue  # stdlib (the runtime ships its bytecode) or the function's own code
        source = layer / relative
        if relative.parts[0] in RUNTIME_PACKAGES or relative.parts[0].startswith(INSTALL_ARTIFACTS):
            continue
        if not source.is_file():
            absent += 1
        elif _pyc_valid(source, source.parent / "__pycache__" / f"{source.stem}.{BYTECODE_TAG}.pyc"):
            compiled += 1
        else:
            uncompiled += 1
    return compiled, uncompiled, absent


def function_compiled_from_source(name: str) -> int:
    """The function's own modules (app.py) without 3.13 bytecode in its build (/var/task is read-only)."""
    folder = BUILD_DIR / FUNCTION_IDS[name]
    return sum(
        1
        for source in folder.glob("*.py")
        if not _pyc_valid(source, folder / "__pycache__" / f"{source.stem}.{BYTECODE_TAG}.pyc")
    )


def sizes() -> dict[str, int]:
    from frontdesk_tools.build_report import artifacts

    if not (BUILD_DIR / "template.yaml").is_file():
        return {}
    return {artifact.name: artifact.size.bytes for artifact in artifacts(BUILD_DIR)}


# -- the table ----------------------------------------------------------------------------------


def mib(size: int | None) -> str:
    return (
        "n/a"
        if size is None
        else f"{size / 1024 / 1024:.2f} MiB"
        if size >= 1 << 20
        else f"{size / 1024:.1f} KiB"
    )


def minstr(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1e6:,.1f} M"


def markdown_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def table(cases: list[Case], compiled: dict[str, str], built: dict[str, int]) -> str:
    header = [
        "handler",
        "status",
        "cold ms",
        "floor ms",
        "ratio",
        "instr",
        "floor instr",
        "instr ratio",
        "warm µs",
        "stdlib µs",
        "compiled from source",
        "function size",
    ]
    rows = [header]
    for case in cases:
        cold = statistics.median(case.cold_ms)
        floor = statistics.median(case.floor_ms)
        ratio = (
            f"{case.cold_instr / case.floor_instr:.2f}"
            if case.cold_instr is not None and case.floor_instr
            else "n/a"
        )
        rows.append(
            [
                case.name,
                case.status,
                f"{cold:.0f}",
                f"{floor:.0f}",
                f"{cold / floor:.2f}",
                minstr(case.cold_instr),
                minstr(case.floor_instr),
                ratio,
                "n/a" if case.warm_us is None else f"{case.warm_us:,.0f}",
                "n/a" if case.stdlib_us is None else f"{case.stdlib_us:,.0f}",
                compiled.get(case.name, "n/a"),
                mib(built.get(FUNCTION_IDS[case.name])),
            ]
        )
    return markdown_table(rows)


def measure(
    names: list[str],
    shown: list[str],
    runs: int,
    use_valgrind: bool,
    while_counting: Callable[[], object] | None = None,
) -> dict[str, Case]:
    """Warm-up and recording, then the timed runs (interleaved), then the instruction counts;
    `while_counting` runs meanwhile (instructions do not depend on load; wall times do)."""
    from frontdesk.config import read_config_file
    from frontdesk_tools.local.stack import DEFAULT_CONFIG

    config_json = json.dumps(read_config_file(Path(DEFAULT_CONFIG)))
    env = environment()
    cases = build_cases(names, config_json)
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        runner = Runner(Path(scratch), sys.executable)
        built_templates = BUILD_DIR / "TemplatesLayer"
        if built_templates.is_dir():
            # The templates as deployed (catalogs compiled, templates precompiled), copied so that
            # this interpreter's bytecode of them lands in the scratch folder, not in the build.
            env["FRONTDESK_TEMPLATES_DIR"] = str(shutil.copytree(built_templates, Path(scratch) / "opt"))
        built_holidays = BUILD_DIR / "FrontdeskLayer" / "python" / "frontdesk" / "hours" / "holiday_tables"
        if built_holidays.is_dir():
            # The public holidays the layer build worked out, which the layer's calendars read.
            env["FRONTDESK_HOLIDAY_TABLES"] = str(built_holidays)
        # Warm-up, one per handler: writes .pyc, records the calls the floor repeats.
        for name in names:
            case = cases[name]
            if name == "ticket_events":
                case.event = stream_event(_ticket_item(cases["web_form"].calls))
            _, report = runner.run(runner.spec(case, "cold", env, record=True, warm=WARM_EVENTS))
            case.status, case.calls, case.modules = str(report["status"]), report["calls"], report["modules"]
            case.warm_us, case.stdlib_us = report.get("warm_us"), report.get("stdlib_us")
            runner.run(runner.spec(case, "floor", env))
        specs = {
            name: (runner.spec(cases[name], "cold", env), runner.spec(cases[name], "floor", env))
            for name in shown
        }
        for _ in range(runs):  # interleaved, so drift hits cold and floor alike
            for name in shown:
                cold_spec, floor_spec = specs[name]
                elapsed, report = runner.run(cold_spec)
                cases[name].cold_ms.append(elapsed)
                cases[name].log_bytes = int(report["log_bytes"])
                if str(report["status"]) != cases[name].status:
                    raise RuntimeError(f"{name}: answered {report['status']}, warm-up {cases[name].status}")
                cases[name].floor_ms.append(runner.run(floor_spec)[0])
        if use_valgrind and shutil.which("valgrind"):
            # Instruction counts do not depend on load: as many at once as there are cores.
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                counted = {
                    (name, mode): pool.submit(runner.instructions, spec)
                    for name in shown
                    for mode, spec in zip(("cold", "floor"), specs[name], strict=True)
                }
                if while_counting is not None:
                    while_counting()
            for name in shown:
                cases[name].cold_instr = counted[(name, "cold")].result()
                cases[name].floor_instr = counted[(name, "floor")].result()

    return cases


def compiled_from_source(cases: list[Case]) -> dict[str, str]:
    """Per handler: the imported modules the built layer would compile at a cold start, and the
    function's own; empty without a build."""
    layer = BUILD_DIR / "FrontdeskLayer" / "python"
    compiled: dict[str, str] = {}
    if layer.is_dir():
        for case in cases:
            _, uncompiled, absent = layer_bytecode(case.modules, layer)
            own = function_compiled_from_source(case.name)
            compiled[case.name] = f"{uncompiled} layer + {own} app" + (
                f" ({absent} venv-only)" if absent else ""
            )
    return compiled


def print_notes(use_valgrind: bool) -> None:
    """What the table's columns mean, and the layers' sizes."""
    if shutil.which("valgrind") is None:
        print("instr: n/a (valgrind not installed)")
    elif not use_valgrind:
        print("instr: n/a (skipped: --quick or --no-valgrind)")
    else:
        print("instr: valgrind --tool=cachegrind --cache-sim=no, one run each (deterministic)")
    print(
        "warm: the same event again in the same process, median of "
        f"{WARM_EVENTS}; stdlib: the runtime's JSON decode of the event and a standard-library "
        "parse of its body or mail, same input"
    )
    if (BUILD_DIR / "FrontdeskLayer" / "python").is_dir():
        print(
            f"compiled from source: imported modules the built layer ships without valid {BYTECODE_TAG} "
            "bytecode, and the function's own .py files (venv-only: this machine's packages the "
            "layer does not have, e.g. a newer pydantic's module)"
        )
    else:
        print("compiled from source: n/a (no .aws-sam/build: run `make build`)")
    built = sizes()
    if built:
        layers = {name: size for name, size in built.items() if name.endswith("Layer")}
        print(
            "layers (unzipped): " + ", ".join(f"{name} {mib(size)}" for name, size in sorted(layers.items()))
        )
    else:
        print("sizes: n/a (no .aws-sam/build: run `make build`)")


def print_report(cases: list[Case], runs: int, use_valgrind: bool) -> None:
    print(
        f"Cold start, Python {sys.version.split()[0]} on this machine, median of {runs} fresh processes "
        f"(floor: boto3 + the same clients and stubbed calls)"
    )
    print(table(cases, compiled_from_source(cases), sizes()))
    print_notes(use_valgrind)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per case (median)")
    parser.add_argument("--quick", action="store_true", help="3 runs, no valgrind (CI)")
    parser.add_argument("--handlers", default=",".join(HANDLERS), help="comma-separated")
    parser.add_argument("--no-valgrind", action="store_true", help="skip the instruction counts")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.handlers.split(",") if name.strip()]
    unknown = set(names) - set(HANDLERS)
    if unknown:
        parser.error(f"unknown handlers: {sorted(unknown)}")
    runs = 3 if args.quick else args.runs
    use_valgrind = not (args.quick or args.no_valgrind)

    if "ticket_events" in names and "web_form" not in names:
        names = ["web_form", *names]  # its stream record is the ticket the form writes
        shown = [name for name in names if name != "web_form"]
    else:
        shown = names
    started = time.perf_counter()
    cases = measure(names, shown, runs, use_valgrind)
    print_report([cases[name] for name in shown], runs, use_valgrind)
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
