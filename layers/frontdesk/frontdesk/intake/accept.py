"""Accepting an inbound message: dedupe, then one transaction that creates the ticket."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.intake.message import InboundMessage
from frontdesk.text import excerpt
from frontdesk.tickets.model import Direction, Message, MessageKind, Ticket
from frontdesk.tickets.reference import new_reference
from frontdesk.tickets.store import (
    ConcurrentWriteError,
    DuplicateInboundError,
    InboundRecord,
    ReferenceTakenError,
    TicketStore,
)

EXCERPT_CHARS = 1_000
_ATTEMPTS = 6


class IdempotencyKeyReusedError(Exception):
    """The idempotency key was used before for a different request."""


@dataclass(frozen=True)
class Accepted:
    reference: str
    created: bool  # False when this was a repeat delivery of an event accepted before


def new_message_id() -> str:
    return secrets.token_hex(8)


def accept(
    message: InboundMessage,
    *,
    store: TicketStore,
    now: datetime,
    reference_prefix: str,
    default_language: str,
    idempotency_window: timedelta,
) -> Accepted:
    """Create the ticket for `message`, or return the one an earlier delivery created."""
    inbound = InboundRecord(message.scoped_key, message.fingerprint, now + idempotency_window)
    for attempt in range(_ATTEMPTS):
        ticket = _new_ticket(message, new_reference(reference_prefix), now, default_language)
        first = Message(
            message_id=new_message_id(),
            reference=ticket.reference,
            direction=Direction.INBOUND,
            kind=MessageKind.CUSTOMER,
            author=message.requester.email or message.requester.handle or "",
            body_text=message.body_text,
            created_at=now,
        )
        try:
            store.create_ticket(ticket, first, inbound)
        except DuplicateInboundError as duplicate:
            if not duplicate.reference:
                continue  # the old record expired between our two calls: it is no longer a duplicate
            if duplicate.fingerprint != message.fingerprint:
                raise IdempotencyKeyReusedError(message.idempotency_key) from duplicate
            return Accepted(duplicate.reference, created=False)
        except ReferenceTakenError:
            continue
        except ConcurrentWriteError:
            # Another delivery of the same event is committing; its result is visible next time.
            time.sleep(0.02 * (attempt + 1))
            continue
        return Accepted(ticket.reference, created=True)
    raise RuntimeError(f"could not create a ticket after {_ATTEMPTS} attempts")


def _new_ticket(message: InboundMessage, reference: str, now: datetime, default_language: str) -> Ticket:
    return Ticket(
        reference=reference,
        channel=message.channel,
        source=message.source,
        subject=message.subject,
        requester=message.requester,
        language=message.language or default_language,
        priority=message.priority,
        queue=message.queue,
        tags=message.tags,
        custom_fields=message.custom_fields,
        excerpt=excerpt(message.body_text, EXCERPT_CHARS),
        created_at=now,
        updated_at=now,
    )
