"""accept(): what a repeat delivery and a retried write look like from the intake side."""

from datetime import UTC, datetime, timedelta
from typing import Any

from frontdesk.intake import InboundMessage, accept
from frontdesk.tickets.model import Channel, Requester
from frontdesk.tickets.store import DuplicateInboundError

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
MESSAGE = InboundMessage(
    channel=Channel.WEB_FORM,
    source="contact",
    idempotency_key="key:1",
    requester=Requester(name="Ana", email="ana@example.org"),
    subject="Help",
    body_text="My order is late.",
    received_at=NOW,
)


class CommittedThenRetried:
    """A store whose write commits, then reports the SDK's retry of it: the record exists."""

    def __init__(self, other_reference: str | None = None) -> None:
        self.other_reference = other_reference

    def create_ticket(self, ticket: Any, *args: Any) -> None:
        raise DuplicateInboundError(self.other_reference or ticket.reference, MESSAGE.fingerprint)


def call(store: Any, first_reference: str | None = None) -> Any:
    return accept(
        MESSAGE,
        store=store,
        now=NOW,
        reference_prefix="FD",
        default_language="en",
        idempotency_window=timedelta(hours=1),
        first_reference=first_reference,
    )


def test_a_retried_write_of_our_own_ticket_counts_as_created():
    accepted = call(CommittedThenRetried())

    assert accepted.created and accepted.ticket is not None
    assert accepted.ticket.reference == accepted.reference


def test_another_deliverys_ticket_is_a_duplicate():
    accepted = call(CommittedThenRetried(other_reference="FD-AAAA-BBBB"))

    assert (accepted.reference, accepted.created) == ("FD-AAAA-BBBB", False)


def test_a_derived_reference_found_taken_is_a_duplicate():
    # Redeliveries of one email derive the same reference: finding it is finding another delivery.
    accepted = call(CommittedThenRetried(), first_reference="FD-SEED-0001")

    assert (accepted.reference, accepted.created) == ("FD-SEED-0001", False)
