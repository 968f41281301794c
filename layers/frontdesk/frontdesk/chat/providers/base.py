"""What every chat provider adapter does: verify a webhook request, turn it into messages, and
say how an answer goes back. Adapters are pure: no AWS, no clock of their own, no network."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple, Protocol

from frontdesk.tickets.model import Channel

# How far a signed timestamp may be from our clock (Slack's rule; also the generic scheme's).
TIMESTAMP_TOLERANCE_SECONDS = 300
MAX_WEBHOOK_BYTES = 256 * 1024


class WebhookRejectedError(Exception):
    """The request is refused. `status` is the HTTP answer (401 bad or missing signature, stale
    timestamp; 400 malformed payload; 403 a failed handshake); `reason` a short code for logs and
    metrics (never request content); `errors` what is wrong per field, where a scheme says so
    ([{"field": "author.id", "message": ...}], naming the rule, never the value sent)."""

    def __init__(self, status: int, reason: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.errors = errors or []


class WebhookRequest(NamedTuple):
    """One HTTP request as the platform sent it."""

    method: str  # "GET" or "POST"
    url: str  # the full URL the platform called, query included (Twilio signs it)
    headers: Mapping[str, str]  # names lower case
    query: Mapping[str, str]
    body: bytes  # raw: signatures are over these bytes
    received_at: datetime  # aware UTC; for timestamp tolerance

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ChatMessage(NamedTuple):
    """One customer message from a platform, normalised."""

    provider: str  # "telegram", "slack", "meta", "twilio", "generic"
    event_id: str  # the provider's unique id for this message (dedupe key), e.g. "update:123"
    conversation_id: str  # one ticket per open conversation, e.g. "telegram:<chat id>"
    author_id: str  # the platform's id for the customer, e.g. "telegram:<user id>"
    text: str
    sent_at: datetime  # aware UTC, as the platform stamped it
    author_name: str | None = None
    email: str | None = None  # the generic scheme may carry one
    language_hint: str | None = None  # the platform's language code, e.g. Telegram's language_code
    channel: Channel = Channel.CHAT
    # What an answer needs, by the adapter's own names: a chat id, a Slack channel and thread,
    # a Meta page or phone-number id and recipient. Stored on the ticket for later replies.
    reply_to: Mapping[str, str] = MappingProxyType({})


class Handshake(NamedTuple):
    """A platform's setup check, answered with `body` (Slack url_verification, Meta hub.challenge)."""

    body: str
    content_type: str = "text/plain"


class Ignored(NamedTuple):
    """A valid request carrying nothing to act on (bot posts, edits, reactions, delivery receipts):
    answered 200 so the platform stops retrying, and counted."""

    reason: str


Parsed = Handshake | Ignored | list[ChatMessage]


class InlineReply(NamedTuple):
    """An answer carried in the webhook's own HTTP response (Telegram, Twilio)."""

    status: int
    body: str
    content_type: str


class ProviderSecrets(NamedTuple):
    """What a provider's requests are checked with (from the configuration, never logged)."""

    # generic: the shared HMAC key; telegram: the setWebhook secret_token; slack: the signing
    # secret; meta: the app secret; twilio: the auth token.
    signing_secret: str
    verify_token: str | None = None  # meta: the token its GET subscription handshake carries


class Provider(Protocol):
    name: str
    answers_inline: bool  # inline_reply() gives an answer (Telegram, Twilio, generic)

    def verify(self, request: WebhookRequest, secrets: ProviderSecrets) -> None:
        """Raise WebhookRejectedError unless the request is authentic: 401 for a missing, wrong
        or stale signature (compared in constant time; timestamps within
        TIMESTAMP_TOLERANCE_SECONDS of request.received_at), 403 for a failed GET handshake."""

    def parse(self, request: WebhookRequest) -> Parsed:
        """The request's meaning; WebhookRejectedError(400, ...) when it is malformed."""

    def inline_reply(self, message: ChatMessage, text: str) -> InlineReply | None:
        """The acknowledgement as this platform takes it in the webhook response, or None when
        answers go through the platform's API instead (Slack, Meta) or not at all."""
