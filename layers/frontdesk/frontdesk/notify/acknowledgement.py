"""The acknowledgement a new ticket's requester gets: one email, sent at most once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from frontdesk.chat.outbound import ANSWERED_BY_API, ChatSender, PermanentChatError
from frontdesk.config import Settings
from frontdesk.hours.measured import median_first_response
from frontdesk.hours.service_levels import desk_status, first_response_due, response_target
from frontdesk.hours.zones import time_zone
from frontdesk.language.catalogs import answer_language
from frontdesk.language.formatting import format_duration, format_moment
from frontdesk.notify.customer_mail import customer_email
from frontdesk.notify.email import OutgoingEmail, UnsafeHeaderError
from frontdesk.notify.mailer import PermanentSendError, SesMailer
from frontdesk.observability import count_by, logger, metrics
from frontdesk.rendering import render
from frontdesk.tickets.model import (
    AcknowledgementState,
    Channel,
    Direction,
    Message,
    MessageKind,
    Ticket,
    new_message_id,
)
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
    language: str


def answer_language_of(ticket: Ticket, settings: Settings) -> str:
    """The language the acknowledgement is written in: the ticket's, when Frontdesk has it."""
    return answer_language([ticket.language], settings.default_language)


def timing_context(
    ticket: Ticket, settings: Settings, language: str, now: datetime, measured: timedelta | None = None
) -> dict[str, Any]:
    """What the templates say about time: open or closed, when we reopen, when we will answer.

    The promise is the ticket's response target, or with `measured` the desk's recent median.
    Times are shown in the customer's time zone when known, else in the calendar's.
    """
    calendar = settings.hours.calendar(ticket.calendar)
    target = response_target(settings.hours.response_targets, ticket.channel, ticket.priority)
    due_at = ticket.first_response_due_at
    if measured is not None:
        target, due_at = measured, first_response_due(ticket.created_at, measured, calendar)
    status = desk_status(
        now=now, created_at=ticket.created_at, due_at=due_at, target=target, calendar=calendar
    )
    zone = time_zone(ticket.time_zone) or (time_zone(calendar.time_zone) if calendar else None)
    note = settings.hours.urgent_note
    return {
        "desk_open": status.open_now,
        "reopens": format_moment(status.reopens_at, zone, language) if status.reopens_at else "",
        "promise_within": format_duration(status.within, language) if status.within else "",
        "promise_by": format_moment(status.due_at, zone, language) if status.due_at else "",
        "urgent_note": "" if status.open_now else note.get(language, note.get(settings.default_language, "")),
        "promise_measured": measured is not None and status.due_at is not None,
    }


def compose(
    ticket: Ticket, settings: Settings, now: datetime, measured: timedelta | None = None
) -> AcknowledgementContent:
    language = answer_language_of(ticket, settings)
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        "requester_name": ticket.requester.name or "",
        "subject": ticket.subject,
        "excerpt": ticket.excerpt,
        **timing_context(ticket, settings, language, now, measured),
    }
    subject = render("email/acknowledgement.subject.txt.j2", lang=language, **context).strip()
    return AcknowledgementContent(
        subject=subject,
        text=render("email/acknowledgement.txt.j2", lang=language, **context),
        html=render("email/acknowledgement.html.j2", lang=language, **context),
        language=language,
    )


def compose_chat_reply(
    ticket: Ticket, settings: Settings, now: datetime, measured: timedelta | None = None
) -> tuple[str, str]:
    """The acknowledgement a chat channel sends in the conversation, and its language: the same
    promise as the email, in hours or out of hours."""
    language = answer_language_of(ticket, settings)
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        **timing_context(ticket, settings, language, now, measured),
    }
    return render("chat/acknowledgement.txt.j2", lang=language, **context).strip(), language


def _email(
    ticket: Ticket, content: AcknowledgementContent, settings: Settings, now: datetime
) -> OutgoingEmail:
    # An email ticket's acknowledgement answers the customer's message, so it threads with it;
    # a form ticket's starts the thread.
    return customer_email(
        ticket.model_copy(update={"email_message_ids": ()})
        if ticket.channel is not Channel.EMAIL
        else ticket,
        settings,
        subject=content.subject,
        text=content.text,
        html=content.html,
        language=content.language,
        now=now,
        auto_submitted="auto-replied",
    )


def acknowledge(
    ticket: Ticket,
    *,
    store: TicketStore,
    mailer: SesMailer,
    settings: Settings,
    now: datetime,
    chat_sender: ChatSender | None = None,
) -> AckOutcome:
    """Send the acknowledgement of a new ticket unless it was sent (or is being sent) already:
    by email, or in the chat for platforms answered through their API.

    Claim, send, record: the conditional claim makes a retried stream record a no-op, and a send
    that certainly failed releases the claim so the retry can send. A crash between send and
    record leaves the claim in place: Frontdesk prefers a missing acknowledgement to a double.
    """
    if ticket.conversation_id:
        provider = settings.chat.providers.get(ticket.source)
        if (
            chat_sender is None
            or ticket.source not in ANSWERED_BY_API
            or provider is None
            or not ticket.reply_to
        ):
            return AckOutcome.NOT_APPLICABLE  # answered in the webhook response, or not at all
        sender = chat_sender

        def send_in_chat(measured: timedelta | None) -> tuple[str, str | None]:
            text, _ = compose_chat_reply(ticket, settings, now, measured)
            sender.send(ticket, text, provider)
            return text, None

        return _send_once(
            ticket,
            ticket.requester.key,
            send_in_chat,
            author=settings.desk_name,
            store=store,
            settings=settings,
            now=now,
        )
    if not ticket.requester.email:
        return AckOutcome.NOT_APPLICABLE

    def send_by_email(measured: timedelta | None) -> tuple[str, str | None]:
        content = compose(ticket, settings, now, measured)
        return content.text, mailer.send(_email(ticket, content, settings, now))

    return _send_once(
        ticket,
        ticket.requester.email,
        send_by_email,
        author=settings.sender_address,
        store=store,
        settings=settings,
        now=now,
    )


def _send_once(
    ticket: Ticket,
    recipient: str,
    send: Callable[[timedelta | None], tuple[str, str | None]],
    *,
    author: str,
    store: TicketStore,
    settings: Settings,
    now: datetime,
) -> AckOutcome:
    """Claim, `send` (which answers the text sent and its email Message-ID, if any), record.
    The recipient's suppression and hourly count are checked in the claim."""
    if ticket.acknowledgement and ticket.acknowledgement.state is AcknowledgementState.SUPPRESSED:
        return AckOutcome.SUPPRESSED  # decided at intake: machine mail, spam, a forged sender
    refusal = store.claim_acknowledgement(
        ticket.reference, recipient, now, settings.email.acknowledgements_per_sender_per_hour
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
        measured = None
        if settings.hours.promise == "measured":
            measured = median_first_response(store, now, settings.hours.measured_min_samples)
        text, email_message_id = send(measured)
    except (PermanentSendError, PermanentChatError, UnsafeHeaderError) as refused:
        code = (
            refused.code if isinstance(refused, PermanentSendError | PermanentChatError) else "UnsafeHeader"
        )
        store.fail_acknowledgement(ticket.reference, code, now)
        logger.warning("acknowledgement cannot be sent", extra={"reference": ticket.reference, "code": code})
        return AckOutcome.REFUSED
    except Exception:
        store.release_acknowledgement(ticket.reference)  # the stream retries the record
        raise
    store.record_acknowledgement(
        Message(
            message_id=new_message_id(),
            reference=ticket.reference,
            direction=Direction.OUTBOUND,
            kind=MessageKind.ACKNOWLEDGEMENT,
            author=author,
            body_text=text,
            created_at=now,
            email_message_id=email_message_id,
        ),
        now,
    )
    logger.info(
        "acknowledgement sent", extra={"reference": ticket.reference, "channel": ticket.channel.value}
    )
    count_by("AcknowledgementSent", channel=ticket.channel.value)
    return AckOutcome.SENT
