"""The acknowledgement a new ticket's requester gets: one email, sent at most once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from babel.dates import format_timedelta

from frontdesk.config import Settings
from frontdesk.intake.accept import new_message_id
from frontdesk.notify.email import OutgoingEmail, UnsafeHeaderError, mailbox
from frontdesk.notify.mailer import PermanentSendError, SesMailer
from frontdesk.observability import logger
from frontdesk.rendering import render
from frontdesk.tickets.model import Direction, Message, MessageKind, Ticket
from frontdesk.tickets.store import TicketStore


class AckOutcome(StrEnum):
    SENT = "sent"
    ALREADY_CLAIMED = "already_claimed"
    NOT_APPLICABLE = "not_applicable"
    REFUSED = "refused"


@dataclass(frozen=True)
class AcknowledgementContent:
    subject: str
    text: str
    html: str


def promise(ticket: Ticket, settings: Settings) -> str:
    """How soon a human will answer, in words: e.g. '24 hours'."""
    hours = settings.first_response_hours.get(ticket.channel, 24.0)
    return format_timedelta(timedelta(hours=hours), threshold=2, locale=ticket.language or "en")


def compose(ticket: Ticket, settings: Settings) -> AcknowledgementContent:
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        "requester_name": ticket.requester.name or "",
        "subject": ticket.subject,
        "excerpt": ticket.excerpt,
        "promise": promise(ticket, settings),
        "lang": ticket.language,
    }
    subject = render("email/acknowledgement.subject.txt.j2", **context).strip()
    return AcknowledgementContent(
        subject=subject,
        text=render("email/acknowledgement.txt.j2", **context),
        html=render("email/acknowledgement.html.j2", **context),
    )


def acknowledge(
    ticket: Ticket, *, store: TicketStore, mailer: SesMailer, settings: Settings, now: datetime
) -> AckOutcome:
    """Send the acknowledgement of a new ticket unless it was sent (or is being sent) already.

    Claim, send, record: the conditional claim makes a retried stream record a no-op, and a send
    that certainly failed releases the claim so the retry can send. A crash between send and
    record leaves the claim in place: Frontdesk prefers a missing acknowledgement to a double.
    """
    if not ticket.requester.email:
        return AckOutcome.NOT_APPLICABLE
    if not store.claim_acknowledgement(ticket.reference, now):
        # Sent or being sent already, or the ticket is not in the table (a record from a
        # cancelled transaction, which some emulators stream).
        logger.info("acknowledgement not claimed", extra={"reference": ticket.reference})
        return AckOutcome.ALREADY_CLAIMED
    try:
        content = compose(ticket, settings)
        email = OutgoingEmail(
            sender=mailbox(settings.sender_address, settings.desk_name),
            to=(mailbox(ticket.requester.email, ticket.requester.name),),
            subject=content.subject,
            text=content.text,
            html=content.html,
            language=ticket.language,
            date=now,
            auto_submitted="auto-replied",
        )
        email_message_id = mailer.send(email)
    except (PermanentSendError, UnsafeHeaderError) as refused:
        code = refused.code if isinstance(refused, PermanentSendError) else "UnsafeHeader"
        store.fail_acknowledgement(ticket.reference, code, now)
        logger.warning("acknowledgement cannot be sent", extra={"reference": ticket.reference, "code": code})
        return AckOutcome.REFUSED
    except Exception:
        store.release_acknowledgement(ticket.reference)
        raise
    store.record_acknowledgement(
        Message(
            message_id=new_message_id(),
            reference=ticket.reference,
            direction=Direction.OUTBOUND,
            kind=MessageKind.ACKNOWLEDGEMENT,
            author=settings.sender_address,
            body_text=content.text,
            created_at=now,
            email_message_id=email_message_id,
        ),
        now,
    )
    logger.info("acknowledgement sent", extra={"reference": ticket.reference})
    return AckOutcome.SENT
