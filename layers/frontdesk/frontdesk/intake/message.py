"""The one shape every channel turns its input into.

A NamedTuple, not a model: each channel builds it from input its own pydantic model (or SES's
verdicts) has already validated, so validating it again would only cost a model build at every
cold start. Like Frontdesk's other immutable records it is a NamedTuple rather than a frozen
dataclass, which compiles its generated methods when its module is imported (about 4 M
instructions a class, against 1 M; see the README's Performance section). Copies are `_replace`.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from frontdesk.tickets.model import Channel, Priority, Requester, StoredAttachment


class InboundMessage(NamedTuple):
    channel: Channel
    source: str  # form id, mailbox or chat provider
    idempotency_key: str  # unique per inbound event within its channel and source
    requester: Requester
    subject: str
    body_text: str
    received_at: datetime
    # Languages the customer told us they read, most wanted first (form locale, Accept-Language,
    # Content-Language, the platform's language code); routing picks `language` from them.
    language_hints: tuple[str, ...] = ()
    language: str | None = None
    queue: str = "general"
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    custom_fields: Mapping[str, str] = MappingProxyType({})
    # What only some channels have (email today).
    message_id: str | None = None  # id of the stored message; random when unset
    email_message_id: str | None = None  # the Message-ID replies will quote
    participants: tuple[str, ...] = ()
    full_text: str | None = None
    truncated: bool = False
    attachments: tuple[StoredAttachment, ...] = ()
    raw_mail_key: str | None = None
    linked_reference: str | None = None
    time_zone: str | None = None  # the customer's, when known: an IANA name or ±HH:MM
    conversation_id: str | None = None  # a chat conversation, e.g. telegram:<chat id>
    reply_to: Mapping[str, str] = MappingProxyType({})  # what an answer in the chat needs
    # The channel answered in its own response (Telegram, Twilio): the ticket is acknowledged
    # as it is created, so nothing else sends another acknowledgement.
    acknowledged_inline: bool = False
    # Set by routing for a new ticket.
    calendar: str | None = None
    first_response_due_at: datetime | None = None
    acknowledgement_suppressed: str | None = None  # why it must not be acknowledged (machine mail...)

    @property
    def scoped_key(self) -> str:
        return f"{self.channel}:{self.source}:{self.idempotency_key}"

    @property
    def fingerprint(self) -> str:
        """A digest of what the sender said, so a reused key with other content is recognised."""
        content = {
            "requester": self.requester.model_dump(mode="json"),
            "subject": self.subject,
            "body": self.body_text,
            "custom_fields": dict(self.custom_fields),
        }
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(canonical).hexdigest()
