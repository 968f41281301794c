"""The acknowledgement a new ticket's requester gets: one email, sent at most once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from frontdesk.chat.outbound import ANSWERED_BY_API, ChatSender, PermanentChatError
from frontdesk.config import Settings
from frontdesk.hours.measured import median_first_response
from frontdesk.notify.ack_content import AcknowledgementContent, compose, compose_chat_reply
from frontdesk.notify.customer_mail import customer_email
from frontdesk.notify.email import OutgoingEmail, UnsafeHeaderError
from frontdesk.notify.mailer import PermanentSendError, SesMailer
from frontdesk.observability import count_by, logger, metrics
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
