"""The measured promise: the median business time to a first answer over the last seven days."""

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk import runtime
from frontdesk.config import get_settings
from frontdesk.hours import measured
from frontdesk.hours.measured import median_first_response
from frontdesk.notify.ack_content import compose, compose_chat_reply
from frontdesk.tickets.model import Channel, Requester, Ticket
from frontdesk.tickets.store import FirstResponseSample, _serialise
from tests.conftest import CLOSED_INSTANT, OPEN_INSTANT

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
def store(function_env):
    measured.forget()
    yield runtime.ticket_store()
    measured.forget()


def record(store, responded_at: datetime, hours: float, reference: str) -> None:
    """A sample as an agent's first reply writes it (in the reply's transaction)."""
    sample = FirstResponseSample(
        reference, responded_at, timedelta(hours=hours), responded_at + timedelta(days=8)
    )
    store._client.put_item(TableName=store.table_name, Item=_serialise(sample.item()))


def ticket(created_at: datetime) -> Ticket:
    return Ticket(
        reference="FD-MEAS-URED",
        channel=Channel.WEB_FORM,
        source="contact",
        subject="Invoice",
        requester=Requester(name="Ana", email="ana@example.org"),
        language="en",
        calendar="office",
        created_at=created_at,
        updated_at=created_at,
        first_response_due_at=created_at + timedelta(days=5),
    )


def test_the_median_counts_only_the_last_seven_days(store):
    week = "measured-week"
    for number, hours in enumerate([1, 2, 3, 4, 5]):
        record(store, NOW - timedelta(days=1, minutes=number), hours, f"{week}-{number}")
    record(store, NOW - timedelta(days=8), 100, f"{week}-old")  # outside the window

    assert store.first_response_samples(NOW - timedelta(days=7), NOW) == [
        timedelta(hours=h) for h in (5, 4, 3, 2, 1)
    ]
    assert median_first_response(store, NOW, min_samples=5) == timedelta(hours=3)


def test_too_few_answers_give_no_median(store):
    record(store, NOW - timedelta(hours=2), 1, "measured-few-0")

    assert median_first_response(store, NOW + timedelta(days=30), min_samples=1) is None  # all expired
    measured.forget()
    assert median_first_response(store, NOW, min_samples=1000) is None


def test_the_acknowledgement_promises_the_median_when_measured(function_env):
    settings = get_settings()

    content = compose(ticket(OPEN_INSTANT), settings, OPEN_INSTANT, measured=timedelta(hours=3))

    text = " ".join(content.text.split())
    assert "will answer within 3 hours." in text  # Wednesday 10:30 + 3 business hours: same day
    assert "That is our median time to a first answer over the last 7 days" in text


def test_a_chat_reply_carries_the_same_promise_out_of_hours(function_env):
    settings = get_settings()

    reply, language = compose_chat_reply(ticket(CLOSED_INSTANT), settings, CLOSED_INSTANT)

    assert language == "en"
    words = " ".join(reply.split())  # Babel puts a narrow no-break space before AM
    assert "Our team is away at the moment." in words
    assert "We are back on Monday, November 30, 2026, 9:00 AM" in words
    assert "Your reference is FD-MEAS-URED." in words
    assert "<" not in reply  # plain text for the chat
