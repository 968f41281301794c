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
from frontdesk.tickets.model import TicketStatus
from frontdesk.tickets.store import TicketStore, ticket_from_image


def on_table_change(
    event_name: str,
    new_image: Mapping[str, Any] | None,
    *,
    store: TicketStore,
    mailer: SesMailer,
    settings: Settings,
    now: datetime,
    chat_sender: ChatSender | None = None,
) -> AckOutcome | None:
    """Carry out the effect of one stream record; None when the change needs none."""
    ticket = ticket_from_image(new_image) if new_image else None
    if event_name == "INSERT" and ticket is not None and ticket.status is TicketStatus.NEW:
        return acknowledge(
            ticket, store=store, mailer=mailer, settings=settings, now=now, chat_sender=chat_sender
        )
    return None
