"""`frontdesk report` against moto: tickets seeded through the agent API and the store on a
controlled clock, read back from the status index (never a scan) and reported with hand-computed
figures; plus the EMF metrics the agent API emits and the store's public-reply counter."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from frontdesk import runtime
from frontdesk.tickets.model import (
    Channel,
    Direction,
    Message,
    MessageKind,
    Requester,
    Survey,
    SurveyAnswer,
    SurveyState,
    Ticket,
    TicketStatus,
    new_message_id,
)
from frontdesk.tickets.store import InboundRecord
from frontdesk_tools import cli
from tests.integration.conftest import Aws
from tests.integration.test_agent_api import call, create_ticket

# A week far from the other tests' tickets (they are created around 2026-11-25), in one table.
SINCE = datetime(2031, 3, 3, tzinfo=UTC)
UNTIL = datetime(2031, 3, 10, tzinfo=UTC)
PERIOD = ["--since", "2031-03-03", "--until", "2031-03-10T01:00:00+01:00"]  # a date and an instant


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2031, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The DynamoDB operations the report command calls, counted with botocore's event hooks."""
    counted: Counter[str] = Counter()
    real = cli._dynamodb_client

    def count(model: Any, **_: Any) -> None:
        counted[model.name] += 1

    def hooked(endpoint_url: str | None, region: str | None) -> Any:
        client = real(endpoint_url, region)
        client.meta.events.register("before-call.dynamodb", count)
        client.meta.events.register("before-call.dynamodb.Scan", lambda **_: counted.update(["scan-hook"]))
        return client

    monkeypatch.setattr(cli, "_dynamodb_client", hooked)
    return counted


def reply(context: Any, reference: str, text: str, public: bool = True) -> None:
    status, _ = call(
        context,
        "POST",
        "/tickets/{reference}/replies",
        f"/tickets/{reference}/replies",
        {"text": text, "public": public},
    )
    assert status == 201


def set_status(context: Any, reference: str, status: str) -> None:
    answer, _ = call(context, "PATCH", "/tickets/{reference}", f"/tickets/{reference}", {"status": status})
    assert answer == 200


def public_replies(reference: str) -> int:
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None
    return ticket.public_replies


def stored_ticket(reference: str, created_at: datetime) -> str:
    """An email ticket written by the store itself at an exact instant (the handlers' clock runs
    on by a few milliseconds, too much for the period's edges)."""
    ticket = Ticket(
        reference=reference,
        channel=Channel.EMAIL,
        source="support@example.com",
        subject="Edge of the period",
        requester=Requester(email=f"{reference.lower()}@example.org"),
        language="en",
        created_at=created_at,
        updated_at=created_at,
    )
    message = Message(
        message_id=new_message_id(),
        reference=reference,
        direction=Direction.INBOUND,
        kind=MessageKind.CUSTOMER,
        author=f"{reference.lower()}@example.org",
        body_text="Hello?",
        created_at=created_at,
    )
    inbound = InboundRecord(f"test:report:{reference}", "fingerprint", created_at + timedelta(days=1))
    runtime.ticket_store().create_ticket(ticket, message, inbound)
    return reference


def answer_survey(reference: str, csat: int, nps: int, answered_at: datetime) -> None:
    """The customer's answer, as the survey page records it."""
    store = runtime.ticket_store()
    ticket = store.get_ticket(reference)
    assert ticket is not None and ticket.resolved_at is not None
    survey = store.schedule_survey(
        Survey(
            reference=reference,
            resolved_at=ticket.resolved_at,
            state=SurveyState.SENT,
            send_at=ticket.resolved_at,
            language="en",
        )
    )
    answer = SurveyAnswer(csat=csat, nps=nps, answered_at=answered_at)
    store.answer_survey(survey.reference, survey.resolved_at, answer, None)


def test_the_report_counts_the_tickets_created_in_the_period_from_the_index(
    aws: Aws,
    set_clock: Callable[[datetime], None],
    lambda_context: Any,
    capsys: pytest.CaptureFixture[str],
    dynamodb_calls: Counter[str],
):
    from tests.integration.test_chat_webhook import telegram, telegram_update

    def at_time(moment: datetime, action: Callable[[], Any]) -> Any:
        set_clock(moment)
        return action()

    # Before the period: created 2 March 23:00, answered, resolved inside the period. Not counted.
    before = at_time(at(2, 23), lambda: create_ticket(lambda_context, "report-before"))
    at_time(at(2, 23, 10), lambda: reply(lambda_context, before, "On it."))
    at_time(at(3, 8), lambda: set_status(lambda_context, before, "resolved"))
    answer_survey(before, 1, 0, at(3, 9))
    # Created at the very start of the period: counted, still unanswered.
    stored_ticket("FD-RPRT-0001", SINCE)
    # A: answered after 30 minutes, resolved after 2 hours with that one reply.
    a = at_time(at(3, 9), lambda: create_ticket(lambda_context, "report-a"))
    at_time(at(3, 9, 30), lambda: reply(lambda_context, a, "Here is your invoice."))
    at_time(at(3, 11), lambda: set_status(lambda_context, a, "resolved"))
    answer_survey(a, 5, 10, at(3, 12))
    # B: answered after 90 minutes, a note, a second reply, resolved after 24 hours, then closed.
    b = at_time(at(4, 10), lambda: create_ticket(lambda_context, "report-b"))
    at_time(at(4, 11, 30), lambda: reply(lambda_context, b, "Looking into it."))
    assert public_replies(b) == 1
    at_time(at(4, 11, 40), lambda: reply(lambda_context, b, "Ask the warehouse.", public=False))
    assert public_replies(b) == 1  # a note is not a reply to the customer
    at_time(at(4, 12), lambda: reply(lambda_context, b, "It ships today."))
    assert public_replies(b) == 2
    # C: answered after 150 minutes, still open.
    c = at_time(at(5, 8), lambda: create_ticket(lambda_context, "report-c"))
    at_time(at(5, 10), lambda: set_status(lambda_context, b, "resolved"))
    at_time(at(5, 10, 30), lambda: reply(lambda_context, c, "Which model is it?"))
    at_time(at(5, 11), lambda: set_status(lambda_context, b, "closed"))
    answer_survey(b, 2, 3, at(5, 12))
    # D: only a note so far; still unanswered.
    d = at_time(at(6, 12), lambda: create_ticket(lambda_context, "report-d"))
    at_time(at(6, 12, 5), lambda: reply(lambda_context, d, "Probably spam?", public=False))
    assert public_replies(d) == 0
    # E: a chat, closed without an answer: neither resolved nor waiting.
    at_time(at(7, 9), lambda: telegram(lambda_context, telegram_update(5553131, 1, "Hi", language="en")))
    e = runtime.ticket_store().find_conversation("telegram:5553131") or ""
    at_time(at(7, 9, 10), lambda: set_status(lambda_context, e, "closed"))
    # After the period: at its excluded end exactly, and a moment later.
    stored_ticket("FD-RPRT-0002", UNTIL)
    at_time(UNTIL, lambda: create_ticket(lambda_context, "report-after"))
    capsys.readouterr()  # the handlers' metrics

    assert cli.main(["report", *PERIOD, "--table", aws.table_name, "--endpoint-url", aws.endpoint]) == 0
    text = capsys.readouterr().out

    rows = {re.split(r"\s{2,}", line.strip())[0]: line for line in text.splitlines()}
    assert "2031-03-03 00:00:00 UTC to 2031-03-10 00:00:00 UTC" in text
    assert "tickets created in [since, until)" in text
    # The edge ticket, A, B, C, D (web form) and E (chat).
    assert rows["Tickets created"].split()[-1] == "6"
    assert rows["web_form"].split()[-1] == "4"
    assert rows["email"].split()[-1] == "1" and rows["chat"].split()[-1] == "1"
    # Waits of 30, 90 and 150 minutes: the median is 90. Unanswered: the edge ticket and D.
    assert "1h 30m" in rows["First response (median)"]
    assert rows["First response (median)"].endswith("answered: 3, still unanswered: 2")
    # A in 2 hours, B in 24: the median of two is their mean, 13 hours.
    assert "13h 00m" in rows["Resolution time (median)"]
    # A was resolved with one reply, B with two: 1 of 2.
    assert "50.0 %" in rows["First-contact resolution"]
    # CSAT 5 and 2: 1 of 2 satisfied. NPS 10 and 3: (1 - 1) / 2 = 0.
    assert "50.0 %" in rows["CSAT (4 or 5 of 5)"]
    assert rows["NPS"].split()[1] == "0.0"
    # One Query per status partition of the index, whole items from it, and no scan.
    assert dynamodb_calls["Scan"] == 0 and dynamodb_calls["scan-hook"] == 0
    assert dynamodb_calls == Counter({"Query": len(TicketStatus)})

    # The table and endpoint come from the functions' environment when not given.
    assert cli.main(["report", *PERIOD, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    assert document["volume"] == {
        "total": 6,
        "by_channel": {"web_form": 4, "email": 1, "chat": 1, "social": 0},
    }
    # The handlers' clock runs on for a few milliseconds after each move.
    assert document["first_response"]["median_seconds"] == pytest.approx(90 * 60, abs=5)
    assert document["first_response"]["answered"] == 3 and document["first_response"]["unanswered"] == 2
    assert document["resolution"]["median_seconds"] == pytest.approx(13 * 3600, abs=5)
    assert document["resolution"]["resolved"] == 2
    assert document["csat"] == {"percent": 50.0, "satisfied": 1, "answers": 2}
    assert document["nps"] == {"score": 0.0, "promoters": 1, "detractors": 1, "answers": 2}
    assert document["first_contact_resolution"] == {"percent": 50.0, "first_contact": 1, "resolved": 2}
    assert dynamodb_calls["Scan"] == 0


def emitted_metrics(stdout: str) -> list[tuple[str, float]]:
    """The (name, value) pairs of the EMF documents Powertools printed."""
    found: list[tuple[str, float]] = []
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    found.append((metric["Name"], float(value)))
    return found


def test_the_agent_api_emits_first_response_and_resolution_metrics(
    aws: Aws, set_clock: Callable[[datetime], None], lambda_context: Any, capsys: pytest.CaptureFixture[str]
):
    set_clock(at(20, 9))
    reference = create_ticket(lambda_context, "report-metrics")
    set_clock(at(20, 9, 45))
    reply(lambda_context, reference, "A note first.", public=False)
    reply(lambda_context, reference, "Answered.")
    reply(lambda_context, reference, "And again.")
    set_clock(at(20, 12))
    set_status(lambda_context, reference, "resolved")
    set_status(lambda_context, reference, "closed")  # not a resolution

    metrics = [(name, value) for name, value in emitted_metrics(capsys.readouterr().out)]

    first = [value for name, value in metrics if name == "FirstResponseTime"]
    assert len(first) == 1 and first[0] == pytest.approx(45 * 60, abs=5)  # only the first reply
    assert [value for name, value in metrics if name == "TicketResolved"] == [1.0]
    (resolution,) = [value for name, value in metrics if name == "ResolutionTime"]
    assert resolution == pytest.approx(3 * 3600, abs=5)
