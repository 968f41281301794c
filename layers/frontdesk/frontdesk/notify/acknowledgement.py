"""The acknowledgement a new ticket's requester gets: one email, sent at most once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit
from babel.dates import format_timedelta

from frontdesk.config import Settings
from frontdesk.intake.accept import new_message_id
from frontdesk.mail.reply_address import signed_reply_address
from frontdesk.notify.email import OutgoingEmail, UnsafeHeaderError, mailbox
from frontdesk.notify.mailer import PermanentSendError, SesMailer
from frontdesk.observability import logger, metrics
from frontdesk.rendering import render
from frontdesk.tickets.model import AcknowledgementState, Channel, Direction, Message, MessageKind, Ticket
from frontdesk.tickets.store import ClaimRefused, TicketStore


class AckOutcome(StrEnum):
    SENT = "sent"
    ALREADY_CLAIMED = "already_claimed"
    NOT_APPLICABLE = "not_applicable"
    SUPPRESSED = "suppressed"
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


def _email(
    ticket: Ticket, content: AcknowledgementContent, settings: Settings, now: datetime
) -> OutgoingEmail:
    assert ticket.requester.email is not None
    reply_to: tuple[Address, ...] = ()
    if key := settings.email.reply_address_key:
        address = signed_reply_address(
            settings.sender_address, ticket.reference, key.get_secret_value().encode()
        )
        reply_to = (mailbox(address, settings.desk_name),)
    # An email ticket's acknowledgement answers the customer's message, so it threads with it.
    threaded = ticket.channel is Channel.EMAIL and bool(ticket.email_message_ids)
    return OutgoingEmail(
        sender=mailbox(settings.sender_address, settings.desk_name),
        to=(mailbox(ticket.requester.email, ticket.requester.name),),
        reply_to=reply_to,
        subject=content.subject,
        text=content.text,
        html=content.html,
        language=ticket.language,
        date=now,
        in_reply_to=ticket.email_message_ids[-1] if threaded else None,
        references=ticket.email_message_ids if threaded else (),
        auto_submitted="auto-replied",
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
    if ticket.acknowledgement and ticket.acknowledgement.state is AcknowledgementState.SUPPRESSED:
        return AckOutcome.SUPPRESSED  # decided at intake: machine mail, spam, a forged sender
    refusal = store.claim_acknowledgement(
        ticket.reference, ticket.requester.email, now, settings.email.acknowledgements_per_sender_per_hour
    )
    if refusal is ClaimRefused.ALREADY_CLAIMED:
        # Sent or being sent already, or the ticket is not in the table (a record from a
        # cancelled transaction, which some emulators stream).
        logger.info("acknowledgement not claimed", extra={"reference": ticket.reference})
        return AckOutcome.ALREADY_CLAIMED
    if refusal:
        logger.info("acknowledgement suppressed", extra={"reference": ticket.reference, "reason": refusal})
        metrics.add_metric(name="AcknowledgementSuppressed", unit=MetricUnit.Count, value=1)
        return AckOutcome.SUPPRESSED
    try:
        content = compose(ticket, settings)
        email_message_id = mailer.send(_email(ticket, content, settings, now))
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
