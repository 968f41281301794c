"""The chat platforms Frontdesk takes webhooks from, by the name in the webhook's path.

Adapters are small and import only the standard library and pydantic (already loaded by the ticket
model): building the registry costs next to nothing at cold start.
"""

from frontdesk.chat.providers.base import Provider
from frontdesk.chat.providers.generic import GenericProvider
from frontdesk.chat.providers.meta import MetaProvider
from frontdesk.chat.providers.slack import SlackProvider
from frontdesk.chat.providers.telegram import TelegramProvider
from frontdesk.chat.providers.twilio import TwilioProvider

PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (GenericProvider(), TelegramProvider(), SlackProvider(), MetaProvider(), TwilioProvider())
}

__all__ = ["PROVIDERS"]
