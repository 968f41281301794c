"""Whether a public message can reach a customer on their ticket's channel, decided before
anything is sent (and without importing the HTTP client that sends it: the agent API and the
survey scheduler ask, only the senders send).

Messaging apps take free-form messages only for a while after the customer's last one (WhatsApp,
Messenger and Instagram: 24 hours); later, only paid templates or tagged messages, which Frontdesk
does not send. `reply_window_closes_at` and `can_reach` say so.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk.chat.settings import ChatProviderSettings
    from frontdesk.config import Settings
    from frontdesk.tickets.model import Ticket

DEFAULT_API_BASE_URLS = {
    "slack": "https://slack.com/api",
    "meta": "https://graph.facebook.com/v21.0",
    "telegram": "https://api.telegram.org",
    "twilio": "https://api.twilio.com",
}
# How long after the customer's last message WhatsApp, Messenger and Instagram take free-form
# messages (WhatsApp's customer-service window, Messenger's standard messaging).
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)
_META_APPS = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram"}
_GENERIC_PREFIX = "generic:"


def messaging_app(ticket: Ticket) -> str | None:
    """The messaging app whose customer-service window a chat ticket is under, or None."""
    if ticket.conversation_id is None:
        return None
    if ticket.source == "meta":
        return _META_APPS.get(ticket.reply_to.get("platform", ""), "Messenger")
    if ticket.source == "twilio" and ticket.reply_to.get("to", "").startswith("whatsapp:"):
        return "WhatsApp"
    return None  # email, forms, Telegram, Slack, generic, SMS: no window


def reply_window_closes_at(ticket: Ticket) -> datetime | None:
    """When the platform stops taking free-form messages to this customer; None when no window
    applies. Tickets written before customer_wrote_at was kept count from their creation."""
    if messaging_app(ticket) is None:
        return None
    return (ticket.customer_wrote_at or ticket.created_at) + CUSTOMER_SERVICE_WINDOW


def unreachable_reason(ticket: Ticket, settings: Settings, now: datetime) -> str | None:
    """Why a public message cannot reach the customer on the ticket's channel now (a failure
    code such as "reply_window_closed"), or None when it can."""
    if ticket.conversation_id is None:
        return None if ticket.requester.email else "no_address"
    provider = settings.chat.providers.get(ticket.source)
    if provider is None:
        return "provider_not_configured"
    if missing := missing_for_sending(ticket, provider):
        return missing
    closes_at = reply_window_closes_at(ticket)
    if closes_at is not None and now >= closes_at:
        return "reply_window_closed"
    return None


def can_reach(ticket: Ticket, settings: Settings, now: datetime) -> bool:
    """Whether a public message can reach the customer on the ticket's channel right now: by
    email to the requester's address, or through a configured platform within its window."""
    return unreachable_reason(ticket, settings, now) is None


def missing_for_sending(ticket: Ticket, provider: ChatProviderSettings) -> str | None:
    """What sending on this ticket's platform needs and the settings or the ticket lack."""
    to = ticket.reply_to
    source = ticket.source
    if source == "generic":
        if provider.callback_url is None:
            return "no_callback_url"
        return None if generic_conversation(ticket) else "no_recipient"
    if source not in DEFAULT_API_BASE_URLS:
        return "not_answered_by_api"
    if source == "twilio":
        # The auth token is the signing secret (always set); the account is the inbound's.
        if not to.get("account_sid"):
            return "no_account_sid"
        return None if to.get("to") and to.get("from") else "no_recipient"
    if provider.api_token is None:
        return "no_api_token"
    needed = {"slack": "channel", "telegram": "chat_id", "meta": "recipient_id"}[source]
    if not to.get(needed) or (to.get("platform") == "whatsapp" and not to.get("phone_number_id")):
        return "no_recipient"
    return None


def generic_conversation(ticket: Ticket) -> str:
    """The site's own conversation id, as its webhook sent it."""
    conversation = ticket.conversation_id or ""
    return conversation.removeprefix(_GENERIC_PREFIX) if conversation.startswith(_GENERIC_PREFIX) else ""
