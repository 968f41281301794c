"""An agent's public reply, sent to the customer on the ticket's channel: at most once.

Claim, send, record, as for acknowledgements: the claim makes a retried stream record a no-op; a
send that certainly failed releases it for the retry; a refusal is recorded as failed. Email
replies thread under the ticket's mail (In-Reply-To, References) and their Message-ID is indexed,
so the customer's answer joins the ticket.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from frontdesk.chat.outbound import ChatSender, PermanentChatError
from frontdesk.chat.reach import reply_window_closes_at
from frontdesk.config import Settings
from frontdesk.language.catalogs import answer_language
from frontdesk.notify.customer_mail import customer_email
from frontdesk.notify.email import UnsafeHeaderError
from frontdesk.notify.mailer import PermanentSendError, SesMailer
from frontdesk.observability import logger, metrics
from frontdesk.rendering import render
from frontdesk.tickets.model import DeliveryState, Message, Ticket
from frontdesk.tickets.store import TicketStore


class DeliveryOutcome(StrEnum):
    SENT = "sent"
    ALREADY = "already"  # sent, being sent or failed before
    FAILED = "failed"


def deliver_reply(
    message: Message,
    *,
    store: TicketStore,
    mailer: SesMailer,
    chat_sender: ChatSender,
    settings: Settings,
    now: datetime,
) -> DeliveryOutcome:
    if message.delivery is not DeliveryState.PENDING or not store.claim_delivery(message):
        return DeliveryOutcome.ALREADY
    ticket = store.get_ticket(message.reference)
    try:
        if ticket is None:
            raise PermanentChatError("ticket_gone")
        closes_at = reply_window_closes_at(ticket)
        if closes_at is not None and now >= closes_at:
            # Closed since the agent wrote: the platform would refuse the message (or bill a template).
            raise PermanentChatError("reply_window_closed")
        sent = _send(ticket, message, mailer=mailer, chat_sender=chat_sender, settings=settings, now=now)
    except (PermanentSendError, PermanentChatError, UnsafeHeaderError) as refused:
        code = getattr(refused, "code", "UnsafeHeader")
        store.finish_delivery(message, now, failure=code)
        logger.warning("reply cannot be delivered", extra={"reference": message.reference, "code": code})
        metrics.add_metric(name="ReplyFailed", unit=MetricUnit.Count, value=1)
        return DeliveryOutcome.FAILED
    except Exception:
        store.release_delivery(message)  # the stream retries the record
        raise
    store.finish_delivery(sent, now)
    logger.info("reply delivered", extra={"reference": message.reference, "channel": ticket.channel.value})
    metrics.add_metric(name="ReplySent", unit=MetricUnit.Count, value=1)
    return DeliveryOutcome.SENT


def _send(
    ticket: Ticket,
    message: Message,
    *,
    mailer: SesMailer,
    chat_sender: ChatSender,
    settings: Settings,
    now: datetime,
) -> Message:
    """Send `message`; the message as sent (with its Message-ID, for email)."""
    if ticket.conversation_id:
        provider = settings.chat.providers.get(ticket.source)
        if provider is None:
            raise PermanentChatError("provider_not_configured")
        chat_sender.send(ticket, message.body_text, provider, message_id=message.message_id)
        return message
    if not ticket.requester.email:
        raise PermanentChatError("no_address")
    language = answer_language([ticket.language], settings.default_language)
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "text": message.body_text,
    }
    email = customer_email(
        ticket,
        settings,
        subject=render("email/reply.subject.txt.j2", lang=language, **context).strip(),
        text=render("email/reply.txt.j2", lang=language, **context),
        html=render("email/reply.html.j2", lang=language, **context),
        language=language,
        now=now,
        auto_submitted=None,
    )
    return message.model_copy(update={"email_message_id": mailer.send(email)})
