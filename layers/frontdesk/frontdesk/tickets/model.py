"""The ticket and its messages, as the rest of Frontdesk sees them (storage shapes live in store.py)."""

import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

# Validators are built on first use, not at import: a function that never reads a ticket's
# messages or surveys (the agent API's list, the mail-feedback function) never builds them.
_FROZEN = ConfigDict(frozen=True, defer_build=True)


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting for the customer
    RESOLVED = "resolved"  # answered; a customer's reply reopens it
    CLOSED = "closed"  # final


# Where an agent may move a ticket from each status.
STATUS_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Channel(StrEnum):
    WEB_FORM = "web_form"
    EMAIL = "email"
    CHAT = "chat"  # live chat: a website widget, Telegram, Slack
    SOCIAL = "social"  # messaging apps and social networks: Messenger, Instagram, WhatsApp, SMS


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageKind(StrEnum):
    CUSTOMER = "customer"
    ACKNOWLEDGEMENT = "acknowledgement"
    AGENT_REPLY = "agent_reply"
    NOTE = "note"


class DeliveryState(StrEnum):
    """Where an agent's public reply is on its way to the customer."""

    PENDING = "pending"  # stored; the stream consumer sends it
    SENDING = "sending"  # claimed by one consumer run
    SENT = "sent"
    FAILED = "failed"  # refused for good (an invalid address, a closed conversation...)


class AcknowledgementState(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"  # deliberately not sent: machine mail, spam, a suppressed address...


class Requester(BaseModel):
    """Who asked: an email address, a platform handle, or both."""

    model_config = _FROZEN

    name: str | None = None
    email: str | None = None
    handle: str | None = None  # e.g. "telegram:123456" for chat channels

    @property
    def key(self) -> str:
        """The normalised identity tickets are listed by."""
        if self.email:
            return "email:" + self.email.strip().lower()
        if self.handle:
            return self.handle
        raise ValueError("a requester needs an email address or a handle")


class Acknowledgement(BaseModel):
    model_config = _FROZEN

    state: AcknowledgementState
    claimed_at: datetime
    sent_at: datetime | None = None
    email_message_id: str | None = None
    failure: str | None = None
    reason: str | None = None  # why it was suppressed


class StoredAttachment(BaseModel):
    """A file that came with a message, kept in the mail bucket under the ticket."""

    model_config = _FROZEN

    filename: str
    content_type: str
    size: int
    key: str | None = None  # S3 key; None when it was over a limit and not stored
    inline: bool = False
    content_id: str | None = None
    skipped: str | None = None  # why it was not stored: too_large, too_many, total_too_large


CSAT_SCORES = (1, 2, 3, 4, 5)  # from very unhappy to very happy


class SurveyAnswer(BaseModel):
    """The customer's answer to the satisfaction survey of the ticket's latest resolution, kept on
    the ticket so reports read it with the ticket."""

    model_config = _FROZEN

    csat: int = Field(ge=CSAT_SCORES[0], le=CSAT_SCORES[-1])
    nps: int | None = Field(None, ge=0, le=10)
    answered_at: datetime


class Ticket(BaseModel):
    model_config = _FROZEN

    reference: str
    status: TicketStatus = TicketStatus.NEW
    channel: Channel
    source: str = Field(description="where it came in: a form id, a mailbox, a chat provider")
    subject: str
    requester: Requester
    language: str
    priority: Priority = Priority.NORMAL
    queue: str = "general"
    tags: tuple[str, ...] = ()
    custom_fields: dict[str, str] = Field(default_factory=dict)
    excerpt: str = Field("", description="the start of the first message, for acknowledgements and lists")
    created_at: datetime
    updated_at: datetime
    acknowledgement: Acknowledgement | None = None
    # Message-IDs of the ticket's emails, oldest first: the customer's first, then ours.
    email_message_ids: tuple[str, ...] = ()
    # Addresses (lower case) whose mail may join this ticket: the requester and those Cc'd.
    participants: tuple[str, ...] = ()
    linked_reference: str | None = Field(None, description="the earlier ticket this one follows up")
    resolved_at: datetime | None = None
    assignee: str | None = Field(None, description="the agent working it")
    first_responded_at: datetime | None = Field(None, description="when an agent first answered the customer")
    calendar: str | None = Field(None, description="the business calendar its promises count in")
    first_response_due_at: datetime | None = None
    time_zone: str | None = Field(None, description="the customer's, when known: an IANA name or ±HH:MM")
    # Chat tickets: the conversation they belong to, and what an answer there needs (by provider).
    conversation_id: str | None = None
    reply_to: dict[str, str] = Field(default_factory=dict)
    customer_wrote_at: datetime | None = Field(
        None, description="the customer's latest message: messaging apps allow answers for a while after it"
    )
    public_replies: int = Field(0, description="agent replies sent to the customer (notes not counted)")
    survey: SurveyAnswer | None = None


def new_message_id() -> str:
    return secrets.token_hex(8)


class Message(BaseModel):
    model_config = _FROZEN

    message_id: str
    reference: str
    direction: Direction
    kind: MessageKind
    author: str
    body_text: str
    created_at: datetime
    email_message_id: str | None = None
    # For email: body_text is the new text of the message; full_text the whole body when longer.
    full_text: str | None = None
    truncated: bool = False
    attachments: tuple[StoredAttachment, ...] = ()
    raw_mail_key: str | None = Field(None, description="S3 key of the raw MIME this message came in")
    tags: tuple[str, ...] = ()
    # An agent's public reply: how its delivery went.
    delivery: DeliveryState | None = None
    delivery_failure: str | None = None
    sent_at: datetime | None = None


class SurveyState(StrEnum):
    """Where the satisfaction survey of one resolution is."""

    SCHEDULED = "scheduled"  # waiting for its delay; reopening the ticket cancels it
    CANCELLED = "cancelled"  # the ticket was reopened first
    SENDING = "sending"  # claimed by one sender run
    SENT = "sent"  # the link is with the customer
    SKIPPED = "skipped"  # decided against at send time: see `reason`
    FAILED = "failed"  # refused for good by the mail service or platform
    ANSWERED = "answered"


class Survey(BaseModel):
    """The satisfaction survey of one resolution of a ticket: at most one per resolution."""

    model_config = _FROZEN

    reference: str
    resolved_at: datetime = Field(description="the resolution it asks about")
    state: SurveyState
    send_at: datetime
    language: str
    reason: str | None = Field(None, description="why it was skipped or failed")
    sent_at: datetime | None = None
    email_message_id: str | None = None
    answered_at: datetime | None = None
    csat: int | None = Field(None, ge=1, le=5)
    nps: int | None = Field(None, ge=0, le=10)
    comment: str | None = None
