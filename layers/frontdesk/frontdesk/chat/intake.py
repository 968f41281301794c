"""A chat message becomes a ticket, or a message on its conversation's open ticket.

One ticket per open conversation: the conversation's index item names its current ticket. A
message joins that ticket while it is open (one read, of the index item, and one transaction
whose condition checks that the ticket is still open); after it is resolved or closed, the next
message starts a new ticket linked to it. Two first messages racing for one conversation cannot both
create a ticket: the index item is written in the creation transaction, conditionally on what was
read, and the loser decides again (and joins the winner's ticket).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from frontdesk.chat.providers.base import ChatMessage
from frontdesk.chat.settings import ChatProviderSettings
from frontdesk.config import Settings
from frontdesk.intake import Accepted, InboundMessage, accept, append
from frontdesk.intake.routing import route
from frontdesk.text import first_line_subject, single_line_problem
from frontdesk.tickets.model import Requester, Ticket, TicketStatus
from frontdesk.tickets.store import (
    ConversationClaim,
    ConversationTakenError,
    SignedRequestSighting,
    TicketChangedError,
    TicketStore,
)

# Platforms redeliver for hours or days; a message id is remembered for a month.
CHAT_IDEMPOTENCY_WINDOW = timedelta(days=30)
SUBJECT_CHARS = 80
_DECISION_ATTEMPTS = 5
_CLOSED = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class ChatOutcome(StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    DUPLICATE = "duplicate"


class ChatResult(NamedTuple):
    outcome: ChatOutcome
    reference: str
    ticket: Ticket | None = None  # the new ticket, when one was created


def receive_chat(
    message: ChatMessage,
    *,
    provider: ChatProviderSettings,
    store: TicketStore,
    settings: Settings,
    now: datetime,
    acknowledged_inline: bool,
    sighting: SignedRequestSighting | None = None,
) -> ChatResult:
    """Store `message` exactly once. `acknowledged_inline`: the caller answers a new ticket in
    its HTTP response, so the ticket is created acknowledged. With `sighting`, the signed request
    that carried the message is remembered in the same transaction (ReplayedRequestError when it
    was before)."""
    for _ in range(_DECISION_ATTEMPTS):
        reference = store.find_conversation(message.conversation_id)
        previous: Ticket | None = None
        try:
            if reference:
                try:
                    # Most messages continue an open conversation: they are added without reading
                    # its ticket, and the write's condition checks that it is still open.
                    appended = append(
                        _inbound(message, provider, acknowledged_inline, None),
                        reference,
                        expected_status=None,
                        store=store,
                        now=now,
                        idempotency_window=CHAT_IDEMPOTENCY_WINDOW,
                        sighting=sighting,
                    )
                    return _result(appended)
                except TicketChangedError as changed:
                    previous = changed.found  # resolved or closed; None when it is gone
            claim = ConversationClaim(message.conversation_id, previous=reference)
            accepted = accept(
                route(_inbound(message, provider, acknowledged_inline, previous), settings, now),
                store=store,
                now=now,
                reference_prefix=settings.reference_prefix,
                default_language=settings.default_language,
                idempotency_window=CHAT_IDEMPOTENCY_WINDOW,
                conversation=claim,
                sighting=sighting,
            )
        except ConversationTakenError:
            continue  # another message of this conversation got there first: decide again
        return _result(accepted)
    raise RuntimeError("the conversation kept changing while a message was added to it")


def _inbound(
    message: ChatMessage, provider: ChatProviderSettings, acknowledged_inline: bool, previous: Ticket | None
) -> InboundMessage:
    """The message for Frontdesk's intake; a new ticket is linked to the closed `previous` one."""
    linked = previous.reference if previous and previous.status in _CLOSED else None
    return InboundMessage(
        channel=message.channel,
        source=message.provider,
        idempotency_key=message.event_id,
        requester=Requester(
            name=_one_line(message.author_name), email=message.email, handle=message.author_id
        ),
        subject=_subject(message.text),
        body_text=message.text,
        received_at=message.sent_at,
        language_hints=(message.language_hint,) if message.language_hint else (),
        queue=provider.queue,
        priority=provider.priority,
        tags=provider.tags,
        calendar=provider.calendar,
        conversation_id=message.conversation_id,
        reply_to=message.reply_to,
        linked_reference=linked,
        acknowledged_inline=acknowledged_inline,
    )


def _one_line(value: str | None) -> str | None:
    """A display name safe for headers and pages, or none."""
    if not value:
        return None
    value = " ".join(value.split())[:200]
    return value if value and single_line_problem(value) is None else None


def _subject(text: str) -> str:
    return first_line_subject(text, SUBJECT_CHARS) or "(no text)"


def _result(accepted: Accepted) -> ChatResult:
    if accepted.created:
        return ChatResult(ChatOutcome.CREATED, accepted.reference, accepted.ticket)
    if accepted.appended:
        return ChatResult(ChatOutcome.APPENDED, accepted.reference)
    return ChatResult(ChatOutcome.DUPLICATE, accepted.reference)
