"""AWS calls per event: the operations each handler makes for one representative event, next to
the floor the design can justify.

Counted with a botocore `before-parameter-build` hook on boto3's default session (where frontdesk.aws makes
its clients), active only on a thread while a handler runs there: the script's own calls and the
stream pump's polling are nobody's. `before-parameter-build` fires once per operation, so
botocore's own retries (none here) would not be counted. Warm: settings are loaded before the first event; the
one-time SSM read of a cold start is reported on its own.

    .venv/bin/python bench/aws_calls.py

Runs the handlers in this process against moto (the template deployed as for the tests, with
bench/reliability.py's `start_stack`). tests/integration/test_aws_calls.py asserts the lists.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "layers" / "frontdesk", ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

REGION = "us-east-1"
SUPPORT = "support@example.com"
GENERIC_SECRET = "local-generic-secret-not-secret"  # noqa: S105 (the local configuration's)
_HOOK_ID = "frontdesk-aws-calls"
_SURVEY_URL = re.compile(r"https?://\S+/surveys/(?P<token>[A-Za-z0-9._-]+)")

Handler = Callable[[Any, Any], Any]


class Calls(list[str]):
    """`service:Operation` of each call, in order; the DynamoDB ones' parameters alongside (what
    bench/cost.py prices)."""

    def __init__(self) -> None:
        super().__init__()
        self.dynamodb: list[tuple[str, dict[str, Any]]] = []
        self.invocations = 1  # of the function; the stream consumer's are counted as they come
        # The table's items by (pk, sk) once the path was done: the sizes its writes are billed by.
        self.items_after: dict[tuple[str, str], dict[str, Any]] | None = None


class CallRecorder:
    """Records every API call made on a thread while `watching()` is active there (thread-local,
    as the tests' PermissionWatch does)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def record(self, model: Any, params: Any = None, **_: Any) -> None:
        calls: Calls | None = getattr(self._local, "calls", None)
        if calls is not None:
            calls.append(f"{model.service_model.service_name}:{model.name}")
            if model.service_model.service_name == "dynamodb" and isinstance(params, dict):
                calls.dynamodb.append((model.name, dict(params)))

    @contextmanager
    def watching(self) -> Iterator[Calls]:
        calls = Calls()
        self._local.calls = calls
        try:
            yield calls
        finally:
            self._local.calls = None


@contextmanager
def installed(recorder: CallRecorder) -> Iterator[None]:
    """The recorder on boto3's default session; frontdesk's clients made anew so they copy it."""
    import boto3

    from frontdesk import runtime

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session(region_name=REGION)
    session = boto3.DEFAULT_SESSION
    assert session is not None
    session.events.register("before-parameter-build", recorder.record, unique_id=_HOOK_ID)
    runtime.reset()
    try:
        yield
    finally:
        session.events.unregister("before-parameter-build", unique_id=_HOOK_ID)
        runtime.reset()


@dataclass
class Measured:
    """What one run measured: the one-time calls of a cold start, and the calls per path."""

    cold_start: list[str]
    paths: dict[str, Calls] = field(default_factory=dict)


@dataclass(frozen=True)
class Floor:
    calls: int
    justification: str


# The floor per path: what the design can justify.
FLOORS: dict[str, Floor] = {
    "new form ticket": Floor(
        1, "one TransactWriteItems: ticket, message, indexes and idempotency item together"
    ),
    "form retry (same Idempotency-Key)": Floor(
        1, "the transaction fails on the idempotency item, which it returns (ALL_OLD): no read"
    ),
    "new email ticket": Floor(2, "GetObject of the raw mail + one TransactWriteItems"),
    "email reply (threaded)": Floor(
        3,
        "GetObject + one BatchGetItem of the In-Reply-To/References index items + one transaction, "
        "whose conditions check that the sender may write into the ticket (a refused write returns "
        "the ticket for the full decision)",
    ),
    "chat message (generic webhook)": Floor(
        2,
        "GetItem of the conversation's index item (which ticket, if any: the transaction needs its "
        "key) + one TransactWriteItems with the event id's idempotency item and the signed "
        "request's replay item (the ack is in the HTTP answer)",
    ),
    "chat follow-up (same conversation)": Floor(
        2,
        "GetItem of the conversation's index item + one TransactWriteItems, whose condition checks "
        "that the ticket is still open (no read of the ticket)",
    ),
    "acknowledgement (stream)": Floor(
        4,
        "a conditional claim before the send (at most once) + one SES send + one write after it "
        "(the Message-ID SES assigns is known only then, and replies thread on it) + one PutEvents "
        "(ticket.created, the same record's other effect)",
    ),
    "agent reply (agent API)": Floor(2, "GetItem of the ticket (what it allows) + one transaction"),
    "agent reply delivery (stream)": Floor(
        4,
        "a conditional claim + GetItem of the ticket as it is now (address, subject, thread, reply "
        "window) + one SES send + one write after it (its Message-ID, for threading)",
    ),
    "survey send": Floor(
        4,
        "one BatchGetItem of the survey and its ticket (still resolved? address, language) + a "
        "conditional claim + one SES send + one write after it (its Message-ID, for threading)",
    ),
    "survey answer": Floor(1, "one conditional write of the answer (the token is verified locally)"),
}

# The function each path runs in (bench/cost.py bills it; bench/performance.py shows it).
FUNCTION_OF_PATH: dict[str, str] = {
    "new form ticket": "web_form",
    "form retry (same Idempotency-Key)": "web_form",
    "new email ticket": "inbound_email",
    "email reply (threaded)": "inbound_email",
    "chat message (generic webhook)": "chat_webhook",
    "chat follow-up (same conversation)": "chat_webhook",
    "acknowledgement (stream)": "ticket_events",
    "agent reply (agent API)": "agent_api",
    "agent reply delivery (stream)": "ticket_events",
    "resolution (agent API)": "agent_api",
    "resolution (stream)": "ticket_events",
    "survey send": "survey_sender",
    "survey answer": "surveys",
}

# Why the measured count is above the floor, read from the code (keyed like FLOORS); none is now.
WHY: dict[str, str] = {}


# -- events ------------------------------------------------------------------------------------------


def _mail(sender: str, subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Ana Souza <{sender}>"
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _generic_chat_event(run: str, event: str, text: str) -> dict[str, Any]:
    """A signed message of the conversation `run` through the generic webhook."""
    from frontdesk_tools.local.gateway import event_for_route

    body = json.dumps(
        {
            "event_id": f"{run}-chat-{event}",
            "conversation_id": f"{run}-chat",
            "author": {"id": f"visitor-{run}", "name": "Ana", "email": f"{run}-chat@example.org"},
            "text": text,
            "locale": "en-GB",
        }
    ).encode()
    stamp = str(int(_now().timestamp()))
    digest = hmac.new(GENERIC_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return event_for_route(
        "POST /chat/{provider}",
        "/chat/generic",
        body,
        {
            "Content-Type": "application/json",
            "X-Frontdesk-Timestamp": stamp,
            "X-Frontdesk-Signature": f"v1={digest.hexdigest()}",
        },
    )


# -- the run ---------------------------------------------------------------------------------------


class _Consumer:
    """ticket_events as the stream pump invokes it, each invocation's calls recorded."""

    name = "ticket-events"

    def __init__(self, recorder: CallRecorder, context: Any) -> None:
        self.recorder = recorder
        self.context = context
        self.calls = Calls()
        self.invocations = 0
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        from frontdesk_tools.local.functions import FunctionError
        from functions.ticket_events import app

        with self.recorder.watching() as calls:
            try:
                return app.lambda_handler(event, self.context)
            except Exception as error:  # as Lambda reports it
                raise FunctionError(f"{type(error).__name__}: {error}") from error
            finally:
                with self._lock:
                    self.calls.extend(calls)
                    self.calls.dynamodb.extend(calls.dynamodb)
                    self.invocations += 1

    def take(self) -> Calls:
        with self._lock:
            taken, self.calls = self.calls, Calls()
            taken.invocations, self.invocations = self.invocations, 0
        return taken


def count_calls(
    template: Any,
    deployed: Any,
    lock: threading.Lock,
    context: Any,
    tag: str | None = None,
    snapshot: Callable[[], dict[tuple[str, str], dict[str, Any]]] | None = None,
) -> Measured:
    """The AWS operations, in order, of one representative event per path, against a deployed
    stack whose environment this process has (the tests' `function_env`, or `start_stack`).

    `template` and `deployed` are frontdesk_tools' LocalTemplate and DeployedStack; `lock` the
    moto server's; `tag` makes this run's addresses and ids unique (a fresh one by default);
    `snapshot`, when given, reads the table's items after each path (Calls.items_after)."""
    import boto3

    from frontdesk import runtime
    from frontdesk.config import get_settings
    from frontdesk_tools.local.gateway import event_for_route
    from frontdesk_tools.local.outbox import sent_emails
    from frontdesk_tools.local.smtp import receipt_event
    from frontdesk_tools.local.streams import StreamPump
    from functions.agent_api import app as agent_api
    from functions.chat_webhook import app as chat_webhook
    from functions.inbound_email import app as inbound_email
    from functions.survey_sender import app as survey_sender
    from functions.surveys import app as surveys
    from functions.web_form import app as web_form

    run = tag or uuid.uuid4().hex[:8]
    recorder = CallRecorder()
    client_args: dict[str, Any] = {"region_name": REGION}  # the endpoint: AWS_ENDPOINT_URL
    s3 = boto3.client("s3", **client_args)
    bucket = deployed.physical_ids["MailBucket"]

    with installed(recorder):
        with recorder.watching() as cold:
            get_settings()  # what a cold start reads once; warm from here on
        measured = Measured(cold_start=list(cold))

        def call(name: str, handler: Callable[[], Any]) -> Any:
            with recorder.watching() as calls:
                result = handler()
            measured.paths[name] = calls
            if snapshot is not None:
                calls.items_after = snapshot()
            return result

        (subscription,) = template.streams
        queue = subscription.on_failure_queue
        consumer = _Consumer(recorder, context)
        pump = StreamPump(
            subscription,
            deployed.stream_arns[subscription.table],
            consumer,  # type: ignore[arg-type]
            boto3.client("dynamodbstreams", **client_args),
            boto3.client("sqs", **client_args),
            deployed.physical_ids.get(queue) if queue else None,
            REGION,
            lock,
            poll_seconds=0.02,
            from_latest=True,
        )
        pump.start()
        _check(pump.idle.wait(30), "the stream pump did not start")

        def effects(name: str | None) -> Calls:
            """What the stream consumer did for the writes so far (their own writes included)."""
            for _ in range(3):  # the consumer's writes are records too: settle until quiet
                _check(pump.wait_until_handled(30), "stream records still in flight")
                time.sleep(0.05)
            taken = consumer.take()
            if name is not None:
                measured.paths[name] = taken
                if snapshot is not None:
                    taken.items_after = snapshot()
            return taken

        try:
            # The website form, then the same post again (the browser's retry).
            form = {"name": "Ana", "email": f"{run}-form@example.org", "message": "Order 7 is late."}
            form_event = event_for_route(
                "POST /forms/{form_id}",
                "/forms/contact",
                json.dumps(form).encode(),
                {"Content-Type": "application/json", "Idempotency-Key": f"{run}-form"},
            )
            created = call("new form ticket", lambda: web_form.lambda_handler(form_event, context))
            reference = str(json.loads(created["body"])["reference"])
            effects("acknowledgement (stream)")
            call("form retry (same Idempotency-Key)", lambda: web_form.lambda_handler(form_event, context))
            effects(None)

            # A new email (SES receipt: the raw mail in S3 first), then a reply to its
            # acknowledgement, threaded by In-Reply-To.
            sender = f"{run}-mail@example.org"

            def deliver(message: EmailMessage, ses_id: str) -> Any:
                raw = message.as_bytes()
                s3.put_object(Bucket=bucket, Key=f"inbound/{ses_id}", Body=raw)
                event = receipt_event(
                    raw,
                    message_id=ses_id,
                    envelope_sender=sender,
                    recipients=[SUPPORT],
                    function_arn="arn:aws:lambda:us-east-1:123456789012:function:inbound-email",
                    now=_now(),
                )
                return lambda: inbound_email.lambda_handler(event, context)

            first = _mail(sender, "Parcel damaged", "Hello,\nthe parcel arrived damaged.\nAna")
            call("new email ticket", deliver(first, f"{run}mail1"))
            effects(None)
            (ack,) = [e for e in sent_emails(REGION) if sender in e["to"]]
            answer = _mail(
                sender,
                "Re: " + ack["subject"],
                "Photos attached next time.\n\nOn Monday Frontdesk wrote:\n> old text",
                In_Reply_To=ack["message_id"],
                References=ack["message_id"],
            )
            call("email reply (threaded)", deliver(answer, f"{run}mail2"))
            effects(None)

            # A chat message through the generic signed webhook (acknowledged in the answer),
            # then the visitor's next message in the same conversation.
            chat_event = _generic_chat_event(run, "first", "Where is my invoice for October?")
            call("chat message (generic webhook)", lambda: chat_webhook.lambda_handler(chat_event, context))
            effects(None)
            follow_up = _generic_chat_event(run, "follow-up", "It is for order 7.")
            call(
                "chat follow-up (same conversation)",
                lambda: chat_webhook.lambda_handler(follow_up, context),
            )
            effects(None)

            # An agent's public reply to the form ticket, and its delivery from the stream.
            reply_event = event_for_route(
                "POST /tickets/{reference}/replies",
                f"/tickets/{reference}/replies",
                json.dumps({"text": "Hello Ana,\nit ships today."}).encode(),
                {"Content-Type": "application/json"},
            )
            replied = call("agent reply (agent API)", lambda: agent_api.lambda_handler(reply_event, context))
            _check(replied["statusCode"] == 201, f"agent reply refused: {replied}")
            effects("agent reply delivery (stream)")

            # Resolved: the survey's schedule fires into the sender; the customer answers.
            resolve_event = event_for_route(
                "PATCH /tickets/{reference}",
                f"/tickets/{reference}",
                json.dumps({"status": "resolved"}).encode(),
                {"Content-Type": "application/json"},
            )
            resolved = call(
                "resolution (agent API)", lambda: agent_api.lambda_handler(resolve_event, context)
            )
            _check(resolved["statusCode"] == 200, f"the ticket could not be resolved: {resolved}")
            effects("resolution (stream)")
            ticket = runtime.ticket_store().get_ticket(reference)
            if ticket is None or ticket.resolved_at is None:
                raise RuntimeError("the ticket is not resolved")
            due = {"reference": reference, "resolved_at": ticket.resolved_at.isoformat()}
            sent = call("survey send", lambda: survey_sender.lambda_handler(due, context))
            _check(sent["outcome"] == "sent", f"survey not sent: {sent}")
            effects(None)
            (survey,) = [
                e
                for e in sent_emails(REGION)
                if f"{run}-form@example.org" in e["to"] and _SURVEY_URL.search(e["text"])
            ]
            match = _SURVEY_URL.search(survey["text"])
            assert match is not None
            token = match["token"]
            answer_event = event_for_route(
                "POST /surveys/{token}",
                f"/surveys/{token}",
                b"csat=5&nps=9&comment=Quick.",
                {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
            )
            answered = call("survey answer", lambda: surveys.lambda_handler(answer_event, context))
            _check(answered["statusCode"] == 200, f"survey answer refused: {answered['statusCode']}")
            effects(None)
        finally:
            pump.stop()
    return measured


def _check(condition: bool, failure: str) -> None:
    if not condition:
        raise RuntimeError(failure)


def _now() -> Any:
    from frontdesk import clock

    return clock.now()


# -- the table -----------------------------------------------------------------------------------------


def rows(measured: Measured) -> list[list[str]]:
    header = ["path", "calls", "operations", "floor", "floor justification", "over floor", "why"]
    table = [header]
    for name, floor in FLOORS.items():
        operations: list[str] = measured.paths.get(name) or []
        over = len(operations) - floor.calls
        table.append(
            [
                name,
                str(len(operations)),
                ", ".join(operations) or "(none)",
                str(floor.calls),
                floor.justification,
                f"+{over}" if over > 0 else str(over),
                WHY.get(name, "(not explained: read the code)") if over > 0 else "",
            ]
        )
    table.append(
        [
            "per cold start (any function)",
            str(len(measured.cold_start)),
            ", ".join(measured.cold_start),
            "1",
            "the settings and secrets in one GetParameters, once per execution environment",
            str(len(measured.cold_start) - 1),
            "",
        ]
    )
    return table


def markdown(measured: Measured) -> str:
    table = rows(measured)
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table[1:]]
    return "\n".join(lines)


def measure_on_moto() -> tuple[Measured, dict[tuple[str, str], dict[str, Any]]]:
    """One run on moto: the calls per path, and the table's items afterwards (their sizes price
    the writes in bench/cost.py), by (pk, sk)."""
    import contextlib
    import io
    import logging
    import os
    from datetime import UTC, datetime

    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from bench.reliability import remove_injector, start_stack
    from frontdesk_tools.local.worker import LocalLambdaContext

    # A Wednesday morning in Berlin: the desk is open (as in the tests).
    stack = start_stack(datetime(2026, 11, 25, 9, 30, tzinfo=UTC))
    try:
        remove_injector()  # no faults here; counts only
        context = LocalLambdaContext("aws-calls", timeout_seconds=30, memory_mb=256, request_id="aws-calls")
        dynamodb, table = stack.client("dynamodb"), stack.physical("TicketsTable")

        def items() -> dict[tuple[str, str], dict[str, Any]]:
            found: dict[tuple[str, str], dict[str, Any]] = {}
            for page in dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
            return found

        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' logs and metrics
            measured = count_calls(stack.template, stack.stack, stack.server.lock, context, snapshot=items)
        final = items()
    finally:
        stack.server.stop()
    return measured, final


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.parse_args(argv)
    measured, _ = measure_on_moto()
    print(markdown(measured))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
