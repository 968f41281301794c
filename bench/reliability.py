"""Reliability drill: exactly-once tickets and at-most-once emails under duplicates and faults.

Every channel's messages (website form, SES mail, a signed chat webhook) are delivered several
times at once from a pool of threads, while a share of the handlers' DynamoDB, S3 and SES calls
fail the ways AWS calls fail: throttled, a server error before the request is applied, or a
server error after it was applied (the answer lost: the case that doubles things). Senders
behave as theirs do: a website or chat platform sends again after a 5xx; Lambda retries an
SES invocation twice, then hands it to the failure queue; the stream consumer's batches are
retried, then dead-lettered. After the run, with the faults over, `frontdesk replay` re-drives
both failure queues and the stored raw mail. Then it counts.

    .venv/bin/python bench/reliability.py [--messages 10] [--copies 3] [--rates 0,0.1,0.3,0.6]

Runs the handlers in this process against moto (the template deployed as for the tests).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "layers" / "frontdesk", ROOT / "tools"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

REGION = "us-east-1"
GENERIC_SECRET = "local-generic-secret-not-secret"  # noqa: S105 (the local configuration's)
SUPPORT = "support@example.com"
_FAULTED_SERVICES = ("dynamodb", "s3", "sesv2")
_SENDER_ATTEMPTS = 30  # a website or platform sending again after a 5xx; they keep trying for long
_LAMBDA_ASYNC_ATTEMPTS = 3  # the first invocation and Lambda's two retries (the template's setting)


# -- faults ----------------------------------------------------------------------------------------


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


_FAULT_ANSWERS: dict[str, dict[str, tuple[int, dict[str, str], bytes]]] = {
    "dynamodb": {
        "throttled": (
            400,
            {"x-amzn-ErrorType": "ThrottlingException"},
            b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}',
        ),
        "error": (
            500,
            {"x-amzn-ErrorType": "InternalServerError"},
            b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal error"}',
        ),
    },
    "s3": {
        "throttled": (
            503,
            {},
            b"<Error><Code>SlowDown</Code><Message>Reduce your request rate</Message></Error>",
        ),
        "error": (
            500,
            {},
            b"<Error><Code>InternalError</Code><Message>We encountered an error</Message></Error>",
        ),
    },
    "sesv2": {
        "throttled": (
            429,
            {"x-amzn-ErrorType": "TooManyRequestsException"},
            b'{"message":"Too many requests"}',
        ),
        "error": (500, {"x-amzn-ErrorType": "InternalFailure"}, b'{"message":"Internal failure"}'),
    },
}


class FaultInjector:
    """Fails a share of the DynamoDB, S3 and SES calls made by handlers (only while one runs on
    the calling thread: the drill's own calls are never failed). A fault is one of: throttled
    (refused, nothing done), an error before the request is applied, or an error after it was
    applied (the request reaches moto; its answer is replaced)."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._random = random.Random(seed)  # noqa: S311 (reproducible faults, not secrets)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.injected: Counter[str] = Counter()
        self.calls = 0
        from botocore.httpsession import URLLib3Session

        self._http = URLLib3Session()

    @contextmanager
    def active(self) -> Iterator[None]:
        self._local.on = True
        try:
            yield
        finally:
            self._local.on = False

    def before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        service = event_name.split(".")[1]
        if service not in _FAULTED_SERVICES or not getattr(self._local, "on", False):
            return None
        with self._lock:
            self.calls += 1
            if self._random.random() >= self.rate:
                return None
            kind = self._random.choice(["throttled", "error-before", "error-after"])
            self.injected[f"{service} {kind}"] += 1
        if kind == "error-after":
            self._http.send(request)  # applied; the caller never learns it
        status, headers, body = _FAULT_ANSWERS[service]["throttled" if kind == "throttled" else "error"]
        return AWSResponse(request.url, status, headers, _Raw(body))  # type: ignore[arg-type]


# -- the stack ---------------------------------------------------------------------------------------


@dataclass
class Stack:
    server: Any
    template: Any
    stack: Any
    injector: FaultInjector

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.server.endpoint, region_name=REGION)  # type: ignore[call-overload]

    def physical(self, logical_id: str) -> str:
        return str(self.stack.physical_ids[logical_id])


def start_stack(clock_at: datetime) -> Stack:
    """moto with infra/template.yaml deployed, and this process's environment set as the
    functions' (the same code as the integration tests' fixtures)."""
    import boto3

    from frontdesk import clock, runtime
    from frontdesk.clock import shifted_environment
    from frontdesk.config import read_config_file
    from frontdesk_tools.local.moto_server import SerialMotoServer
    from frontdesk_tools.local.provision import deploy
    from frontdesk_tools.local.stack import CONFIG_PARAMETER, DEFAULT_CONFIG, DEFAULT_TEMPLATE, free_port
    from frontdesk_tools.local.template import load_template

    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "drill", "AWS_SECRET_ACCESS_KEY": "drill", "AWS_DEFAULT_REGION": REGION}
    )
    server = SerialMotoServer("127.0.0.1", free_port("127.0.0.1"))
    server.start()
    template = load_template(DEFAULT_TEMPLATE, REGION)
    stack = deploy(
        template,
        boto3.Session(region_name=REGION),
        server.endpoint,
        {"Stage": "drill", "ConfigParameterName": CONFIG_PARAMETER, "SenderIdentity": "example.com"},
    )
    client = boto3.client("ssm", endpoint_url=server.endpoint, region_name=REGION)
    client.put_parameter(
        Name=CONFIG_PARAMETER, Value=json.dumps(read_config_file(DEFAULT_CONFIG)), Type="SecureString"
    )
    boto3.client("ses", endpoint_url=server.endpoint, region_name=REGION).verify_domain_identity(
        Domain="example.com"
    )
    environment: dict[str, str] = {}
    for variables in stack.environments.values():
        environment.update(variables)
    environment["FRONTDESK_TEMPLATES_DIR"] = str(ROOT / "templates")
    environment["AWS_ENDPOINT_URL"] = server.endpoint
    environment.update(shifted_environment(clock_at))
    os.environ.update(environment)
    runtime.reset()
    clock.reset()
    return Stack(server, template, stack, install_injector())


def install_injector() -> FaultInjector:
    """A fault injector on boto3's default session, where frontdesk.aws makes its clients (made
    anew here: a client copies the session's hooks when it is created)."""
    import boto3

    from frontdesk import runtime

    injector = FaultInjector(0.0, seed=0)
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session(region_name=REGION)
    session = boto3.DEFAULT_SESSION
    assert session is not None
    session.events.register_first("before-send", injector.before_send, unique_id="frontdesk-drill-faults")
    runtime.reset()
    return injector


def remove_injector() -> None:
    import boto3

    from frontdesk import runtime

    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.unregister("before-send", unique_id="frontdesk-drill-faults")
    runtime.reset()


# -- senders -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    deliveries: int = 0  # first sends of each copy
    attempts: int = 0  # with the senders' and Lambda's retries
    server_errors: int = 0  # 5xx answers (and failed invocations) seen by senders
    dead_lettered: int = 0  # invocations Lambda would have handed to the failure queue
    chat_replies: Counter[str] = field(default_factory=Counter)  # inline acknowledgements
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def _context() -> Any:
    from frontdesk_tools.local.worker import LocalLambdaContext

    return LocalLambdaContext("drill", timeout_seconds=30, memory_mb=256, request_id="drill")


def _send_http(
    stack: Stack, tally: Tally, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]
) -> dict[str, Any]:
    """A sender that sends again after a 5xx (as websites and platforms do), until it gets an answer."""
    response: dict[str, Any] = {}
    for _ in range(_SENDER_ATTEMPTS):
        tally.add(attempts=1)
        with stack.injector.active():
            response = handler(event, _context())
        if response["statusCode"] < 500:
            return response
        tally.add(server_errors=1)
    return response


def _invoke_async(
    stack: Stack, tally: Tally, handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any]
) -> None:
    """Lambda's asynchronous invocation: two retries, then the on-failure destination."""
    error: Exception | None = None
    for _ in range(_LAMBDA_ASYNC_ATTEMPTS):
        tally.add(attempts=1)
        try:
            with stack.injector.active():
                handler(event, _context())
            return
        except Exception as failure:  # as Lambda sees it: a function error
            error = failure
            tally.add(server_errors=1)
    tally.add(dead_lettered=1)
    record = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": _LAMBDA_ASYNC_ATTEMPTS},
        "responseContext": {"functionError": "Unhandled"},
        "requestPayload": event,
        "responsePayload": {"errorType": type(error).__name__},
    }
    stack.client("sqs").send_message(
        QueueUrl=stack.physical("InboundEmailFailureQueue"), MessageBody=json.dumps(record)
    )


def _form_delivery(stack: Stack, tally: Tally, run: str, index: int) -> Callable[[], None]:
    from frontdesk_tools.local.gateway import event_for_route
    from functions.web_form import app

    payload = {
        "name": "Ana Souza",
        "email": f"{run}-form-{index}@example.org",
        "message": f"Order {index} is late.",
    }
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"{run}-form-{index}"}
    event = event_for_route("POST /forms/{form_id}", "/forms/contact", json.dumps(payload).encode(), headers)

    def deliver() -> None:
        _send_http(stack, tally, app.lambda_handler, event)

    return deliver


def _chat_delivery(stack: Stack, tally: Tally, run: str, index: int, timestamp: int) -> Callable[[], None]:
    from frontdesk_tools.local.gateway import event_for_route
    from functions.chat_webhook import app

    conversation = f"{run}-chat-{index}"
    body = json.dumps(
        {
            "event_id": conversation,
            "conversation_id": conversation,
            "author": {
                "id": f"visitor-{conversation}",
                "name": "Ana",
                "email": f"{conversation}@example.org",
            },
            "text": f"Where is my invoice number {index}?",
            "locale": "en-GB",
        }
    ).encode()
    digest = hmac.new(GENERIC_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Frontdesk-Timestamp": str(timestamp),
        "X-Frontdesk-Signature": f"v1={digest}",
    }
    event = event_for_route("POST /chat/{provider}", "/chat/generic", body, headers)

    def deliver() -> None:
        response = _send_http(stack, tally, app.lambda_handler, event)
        if response["statusCode"] == 200 and response.get("body") and "reply" in json.loads(response["body"]):
            with tally.lock:
                tally.chat_replies[conversation] += 1

    return deliver


def _mail_delivery(stack: Stack, tally: Tally, run: str, index: int, now: datetime) -> Callable[[], None]:
    from frontdesk_tools.local.smtp import receipt_event
    from functions.inbound_email import app

    message = EmailMessage()
    sender = f"{run}-mail-{index}@example.org"
    message["From"] = f"Ana Souza <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = f"Parcel {index} damaged"
    message["Message-ID"] = f"<{run}-mail-{index}@mail.example.org>"
    message.set_content(f"Hello,\nparcel {index} arrived damaged.\nAna")
    raw = message.as_bytes()
    ses_id = f"{run}mail{index:04d}"
    stack.client("s3").put_object(Bucket=stack.physical("MailBucket"), Key=f"inbound/{ses_id}", Body=raw)
    event = receipt_event(
        raw,
        message_id=ses_id,
        envelope_sender=sender,
        recipients=[SUPPORT],
        function_arn="inbound-email",
        now=now,
    )
    return lambda: _invoke_async(stack, tally, app.lambda_handler, event)


# -- the drill ---------------------------------------------------------------------------------------


@dataclass
class Figures:
    fault_rate: float
    events_sent: int
    attempts: int
    distinct_messages: int
    tickets_created: int
    duplicates: int
    lost_before_replay: int
    lost: int
    emails_sent_twice: int
    chat_acknowledged_twice: int
    acknowledgements_missing: int
    faults_injected: int
    calls_faulted_share: float
    dead_lettered: int
    replayed: int


def _tickets_by_requester(stack: Stack, run: str) -> Counter[str]:
    """Tickets per requester of this run (the drill may scan; the product never does)."""
    table = stack.physical("TicketsTable")
    found: Counter[str] = Counter()
    for page in stack.client("dynamodb").get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            # The requester index's key: REQUESTER#email:<address> or REQUESTER#<platform>:<id>.
            requester = item.get("gsi1pk", {}).get("S", "")
            tag = re.search(rf"{run}-(?:form|chat|mail)-\d+", requester)
            if item.get("entity", {}).get("S") == "ticket" and tag:
                found[tag.group()] += 1
    return found


def _pump(stack: Stack, handler: Callable[[dict[str, Any], Any], Any]) -> Any:
    from frontdesk_tools.local.functions import FunctionError
    from frontdesk_tools.local.streams import StreamPump

    injector = stack.injector

    class Consumer:
        name = "ticket-events"

        def invoke(self, event: dict[str, Any]) -> Any:
            try:
                with injector.active():
                    return handler(event, _context())
            except Exception as error:
                raise FunctionError(f"{type(error).__name__}") from error

    (subscription,) = stack.template.streams
    queue = subscription.on_failure_queue
    pump = StreamPump(
        subscription,
        stack.stack.stream_arns[subscription.table],
        Consumer(),  # type: ignore[arg-type]
        stack.client("dynamodbstreams"),
        stack.client("sqs"),
        stack.physical(queue) if queue else None,
        REGION,
        stack.server.lock,
        poll_seconds=0.02,
        from_latest=True,
    )
    pump.start()
    return pump


def run_drill(
    stack: Stack, fault_rate: float, messages: int, copies: int, threads: int, seed: int
) -> Figures:
    from frontdesk import clock
    from frontdesk_tools.local.outbox import sent_emails
    from frontdesk_tools.replay import replay_failure_queue, replay_stored_mail
    from functions.inbound_email import app as inbound_email
    from functions.ticket_events import app as ticket_events

    run = f"r{int(fault_rate * 100):02d}s{seed}"
    started = clock.now()  # the handlers' clock
    stored_since = datetime.now(UTC) - timedelta(seconds=1)  # the bucket's clock
    stack.injector.rate = fault_rate
    stack.injector._random.seed(seed)
    stack.injector.injected.clear()
    stack.injector.calls = 0
    tally = Tally()
    stack.server.forget_stream_history(REGION)
    pump = _pump(stack, ticket_events.lambda_handler)
    assert pump.idle.wait(30), "the stream pump did not start"
    try:
        timestamp = int(started.timestamp())
        deliveries = [
            delivery
            for index in range(messages)
            for delivery in (
                _form_delivery(stack, tally, run, index),
                _chat_delivery(stack, tally, run, index, timestamp),
                _mail_delivery(stack, tally, run, index, started),
            )
            for _ in range(copies)
        ]
        random.Random(seed).shuffle(deliveries)  # noqa: S311 (a reproducible order)
        tally.deliveries = len(deliveries)
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda deliver: deliver(), deliveries))
        assert pump.wait_until_handled(300), "stream records still in flight"
        lost_before_replay = 3 * messages - len(_tickets_by_requester(stack, run))

        # The incident is over: the operator replays what Lambda gave up on.
        stack.injector.rate = 0.0
        sqs, streams, s3 = stack.client("sqs"), stack.client("dynamodbstreams"), stack.client("s3")

        def invoke(name: str, event: dict[str, Any]) -> Any:
            handler = {"inbound": inbound_email.lambda_handler, "events": ticket_events.lambda_handler}[name]
            return handler(event, _context())

        reports = [
            replay_failure_queue(
                stack.physical("InboundEmailFailureQueue"),
                "inbound",
                sqs=sqs,
                streams=streams,
                invoke=invoke,
                region=REGION,
            ),
            replay_failure_queue(
                stack.physical("TicketEventsFailureQueue"),
                "events",
                sqs=sqs,
                streams=streams,
                invoke=invoke,
                region=REGION,
            ),
            replay_stored_mail(
                stack.physical("MailBucket"),
                "inbound/",
                "inbound",
                since=stored_since,
                until=datetime.now(UTC) + timedelta(minutes=1),
                s3=s3,
                invoke=invoke,
                region=REGION,
            ),
        ]
        assert pump.wait_until_handled(300), "stream records still in flight"
    finally:
        pump.stop()

    tickets = _tickets_by_requester(stack, run)
    expected = [
        f"{run}-{channel}-{index}" for channel in ("form", "chat", "mail") for index in range(messages)
    ]
    emails = Counter(address for email in sent_emails(REGION) for address in email["to"] if run in address)
    mailed = [f"{tag}@example.org" for tag in expected if "-chat-" not in tag]
    return Figures(
        fault_rate=fault_rate,
        events_sent=tally.deliveries,
        attempts=tally.attempts,
        distinct_messages=len(expected),
        tickets_created=sum(tickets.values()),
        duplicates=sum(count - 1 for count in tickets.values() if count > 1),
        lost_before_replay=lost_before_replay,
        lost=sum(1 for tag in expected if tickets[tag] == 0),
        emails_sent_twice=sum(1 for address in mailed if emails[address] > 1),
        chat_acknowledged_twice=sum(1 for count in tally.chat_replies.values() if count > 1),
        acknowledgements_missing=sum(1 for address in mailed if emails[address] == 0)
        + sum(1 for index in range(messages) if tally.chat_replies[f"{run}-chat-{index}"] == 0),
        faults_injected=sum(stack.injector.injected.values()),
        calls_faulted_share=sum(stack.injector.injected.values()) / max(stack.injector.calls, 1),
        dead_lettered=tally.dead_lettered,
        replayed=sum(report.replayed for report in reports[:2]),
    )


_COLUMNS: list[tuple[str, Callable[[Figures], object]]] = [
    ("fault rate", lambda f: f"{f.fault_rate:.0%}"),
    ("events sent", lambda f: f.events_sent),
    ("attempts", lambda f: f.attempts),
    ("faults", lambda f: f.faults_injected),
    ("distinct", lambda f: f.distinct_messages),
    ("tickets", lambda f: f.tickets_created),
    ("duplicates", lambda f: f.duplicates),
    ("lost before replay", lambda f: f.lost_before_replay),
    ("dead-lettered", lambda f: f.dead_lettered),
    ("replayed", lambda f: f.replayed),
    ("lost", lambda f: f.lost),
    ("emails twice", lambda f: f.emails_sent_twice),
    ("chat acks twice", lambda f: f.chat_acknowledged_twice),
    ("acks missing", lambda f: f.acknowledgements_missing),
]


def table(figures: list[Figures]) -> str:
    rows = [[name for name, _ in _COLUMNS]] + [[str(cell(f)) for _, cell in _COLUMNS] for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return "\n".join(
        " | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10, help="distinct messages per channel (default 10)")
    parser.add_argument("--copies", type=int, default=3, help="deliveries of each message (default 3)")
    parser.add_argument("--threads", type=int, default=8, help="senders at once (default 8)")
    parser.add_argument(
        "--rates", default="0,0.1,0.3,0.6", help="fault rates, comma-separated (default 0,0.1,0.3,0.6)"
    )
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args(argv)
    import logging

    logging.disable(logging.CRITICAL)
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Frontdesk")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    from tests.conftest import OPEN_INSTANT

    stack = start_stack(OPEN_INSTANT)
    started = time.monotonic()
    try:
        figures = [
            run_drill(
                stack, float(rate), arguments.messages, arguments.copies, arguments.threads, arguments.seed
            )
            for rate in arguments.rates.split(",")
        ]
    finally:
        stack.server.stop()
    print(table(figures))
    print(
        f"({arguments.messages} messages per channel x 3 channels, {arguments.copies} copies each,"
        f" {arguments.threads} threads; {time.monotonic() - started:.0f} s)"
    )
    bad = [f for f in figures if f.duplicates or f.lost or f.emails_sent_twice or f.chat_acknowledged_twice]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
