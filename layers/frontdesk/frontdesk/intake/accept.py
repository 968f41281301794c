"""Accepting an inbound message: dedupe, then one transaction that creates a ticket or adds the
message to one."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import NamedTuple

from frontdesk.intake.message import InboundMessage
from frontdesk.text import excerpt
from frontdesk.tickets.model import (
    Acknowledgement,
    AcknowledgementState,
    Direction,
    Message,
    MessageKind,
    Ticket,
    TicketStatus,
    new_message_id,
)
from frontdesk.tickets.reference import new_reference
from frontdesk.tickets.store import (
    ConcurrentWriteError,
    ConversationClaim,
    DuplicateInboundError,
    EmailIndexTakenError,
    HourlyQuota,
    InboundRecord,
    ReferenceTakenError,
    SignedRequestSighting,
    TicketStore,
)

EXCERPT_CHARS = 1_000
_ATTEMPTS = 6


class IdempotencyKeyReusedError(Exception):
    """The idempotency key was used before for a different request."""


class Accepted(NamedTuple):
    reference: str
    created: bool  # a new ticket; False for a repeat delivery or a message added to a ticket
    appended: bool = False  # added to an existing ticket
    ticket: Ticket | None = None  # the ticket as written, when this call created it


def accept(
    message: InboundMessage,
    *,
    store: TicketStore,
    now: datetime,
    reference_prefix: str,
    default_language: str,
    idempotency_window: timedelta,
    first_reference: str | None = None,
    conversation: ConversationClaim | None = None,
    quota: HourlyQuota | None = None,
    sighting: SignedRequestSighting | None = None,
) -> Accepted:
    """Create the ticket for `message`, or return the one an earlier delivery created.

    `first_reference` is tried before random ones: a channel that stores files under the ticket
    before the transaction derives it from the event, so a redelivery reuses the same keys.
    With `conversation`, the ticket becomes that chat's current one (ConversationTakenError if
    another ticket did meanwhile: the caller decides again). With `quota`, a new ticket counts
    against it (QuotaExceededError when full; a repeat delivery is still answered). With
    `sighting`, the signed request is remembered in the same transaction (ReplayedRequestError
    when it was before).
    """
    inbound = InboundRecord(message.scoped_key, message.fingerprint, now + idempotency_window)
    indexed = [message.email_message_id] if message.email_message_id else []
    for attempt in range(_ATTEMPTS):
        reference = first_reference if attempt == 0 and first_reference else new_reference(reference_prefix)
        ticket = _new_ticket(message, reference, now, default_language)
        try:
            store.create_ticket(
                ticket, _message(message, reference, now), inbound, indexed, conversation, quota, sighting
            )
        except DuplicateInboundError as duplicate:
            if not duplicate.reference:
                continue  # the old record expired between our two calls: it is no longer a duplicate
            if duplicate.fingerprint != message.fingerprint:
                raise IdempotencyKeyReusedError(message.idempotency_key) from duplicate
            if duplicate.reference == reference and reference != first_reference:
                # Our own write: the SDK retried a transaction that had committed (a timeout), and
                # the retry found its record. A freshly drawn reference is no one else's.
                return Accepted(reference, created=True, ticket=ticket)
            return Accepted(duplicate.reference, created=False)
        except ReferenceTakenError:
            continue
        except EmailIndexTakenError:
            indexed = []  # a reused Message-ID: keep the message, leave the index to its first owner
            continue
        except ConcurrentWriteError:
            # Another delivery of the same event is committing; its result is visible next time.
            time.sleep(0.02 * (attempt + 1))
            continue
        return Accepted(ticket.reference, created=True, ticket=ticket)
    raise RuntimeError(f"could not create a ticket after {_ATTEMPTS} attempts")


def append(
    message: InboundMessage,
    reference: str,
    *,
    expected_status: TicketStatus | None,
    store: TicketStore,
    now: datetime,
    idempotency_window: timedelta,
    participant: str | None = None,
    reopen: bool = False,
    sighting: SignedRequestSighting | None = None,
) -> Accepted:
    """Add `message` to the ticket `reference` (reopening it if asked), or return what an earlier
    delivery did. `expected_status`: the status the ticket was read with; None when it was not
    read, and then it must be neither resolved nor closed (and have `participant` among its
    participants, when given).

    Raises TicketChangedError when the ticket is not as expected: the caller decides again.
    """
    inbound = InboundRecord(message.scoped_key, message.fingerprint, now + idempotency_window)
    indexed = [message.email_message_id] if message.email_message_id else []
    for attempt in range(_ATTEMPTS):
        try:
            store.append_message(
                reference,
                _message(message, reference, now),
                inbound,
                indexed,
                expected_status=expected_status,
                participant=participant,
                reopen=reopen,
                sighting=sighting,
            )
        except DuplicateInboundError as duplicate:
            if not duplicate.reference:
                continue
            if duplicate.fingerprint != message.fingerprint:
                raise IdempotencyKeyReusedError(message.idempotency_key) from duplicate
            return Accepted(duplicate.reference, created=False)
        except EmailIndexTakenError:
            indexed = []
            continue
        except ConcurrentWriteError:
            time.sleep(0.02 * (attempt + 1))
            continue
        return Accepted(reference, created=False, appended=True)
    raise RuntimeError(f"could not add the message to {reference} after {_ATTEMPTS} attempts")


def _message(message: InboundMessage, reference: str, now: datetime) -> Message:
    return Message(
        message_id=message.message_id or new_message_id(),
        reference=reference,
        direction=Direction.INBOUND,
        kind=MessageKind.CUSTOMER,
        author=message.requester.email or message.requester.handle or "",
        body_text=message.body_text,
        created_at=now,
        email_message_id=message.email_message_id,
        full_text=message.full_text,
        truncated=message.truncated,
        attachments=message.attachments,
        raw_mail_key=message.raw_mail_key,
        tags=message.tags,
    )


def _new_ticket(message: InboundMessage, reference: str, now: datetime, default_language: str) -> Ticket:
    acknowledgement = None
    if message.acknowledgement_suppressed:
        acknowledgement = Acknowledgement(
            state=AcknowledgementState.SUPPRESSED, claimed_at=now, reason=message.acknowledgement_suppressed
        )
    elif message.acknowledged_inline:
        acknowledgement = Acknowledgement(state=AcknowledgementState.SENT, claimed_at=now, sent_at=now)
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
        acknowledgement=acknowledgement,
        # Kept even when the index item is not written, for the In-Reply-To of our answers.
        email_message_ids=(message.email_message_id,) if message.email_message_id else (),
        participants=message.participants,
        linked_reference=message.linked_reference,
        calendar=message.calendar,
        first_response_due_at=message.first_response_due_at,
        time_zone=message.time_zone,
        conversation_id=message.conversation_id,
        reply_to=message.reply_to,
    )
