"""What a change in the ticket table sets off. The stream consumer is Frontdesk's outbox: intake
only writes, and every email or chat answer follows from a committed change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from frontdesk.chat.outbound import ChatSender
from frontdesk.config import Settings
from frontdesk.notify.acknowledgement import AckOutcome, acknowledge
from frontdesk.notify.mailer import SesMailer
from frontdesk.notify.replies import DeliveryOutcome, deliver_reply
from frontdesk.tickets.model import MessageKind, TicketStatus
from frontdesk.tickets.store import TicketStore, message_from_image, ticket_from_image


def on_table_change(
    event_name: str,
    new_image: Mapping[str, Any] | None,
    *,
    store: TicketStore,
    mailer: SesMailer,
    settings: Settings,
    now: datetime,
    chat_sender: ChatSender | None = None,
) -> AckOutcome | DeliveryOutcome | None:
    """Carry out the effect of one stream record; None when the change needs none."""
    if event_name != "INSERT" or not new_image:
        return None
    ticket = ticket_from_image(new_image)
    if ticket is not None and ticket.status is TicketStatus.NEW:
        return acknowledge(
            ticket, store=store, mailer=mailer, settings=settings, now=now, chat_sender=chat_sender
        )
    message = message_from_image(new_image)
    if message is not None and message.kind is MessageKind.AGENT_REPLY:
        return deliver_reply(
            message,
            store=store,
            mailer=mailer,
            chat_sender=chat_sender or ChatSender(),
            settings=settings,
            now=now,
        )
    return None
