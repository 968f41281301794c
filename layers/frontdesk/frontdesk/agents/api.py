"""GET /tickets, GET /tickets/{reference}, PATCH /tickets/{reference},
POST /tickets/{reference}/replies.

API Gateway's JWT authorizer (a bearer token locally) has let the request in before this runs.
Answers are JSON: 200, 400 with field errors, 404 for an unknown reference, 409 when the ticket
moved meanwhile or the move is not allowed from its status.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from frontdesk.chat.reach import can_reach, messaging_app, reply_window_closes_at
from frontdesk.config import Settings
from frontdesk.hours.measured import SAMPLE_RETENTION
from frontdesk.http import HttpRequest, json_response
from frontdesk.observability import logger, metrics
from frontdesk.text import multiline_problem, normalise_multiline
from frontdesk.tickets.model import (
    STATUS_MOVES,
    Channel,
    DeliveryState,
    Direction,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketStatus,
    new_message_id,
)
from frontdesk.tickets.reference import normalise_reference
from frontdesk.tickets.store import FirstResponseSample, TicketChangedError, TicketStore

MAX_PAGE = 100
DEFAULT_PAGE = 25
_TAG = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


def _error(status: int, field: str, message: str) -> dict[str, Any]:
    return json_response(status, {"errors": [{"field": field, "message": message}]})


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    return ticket.model_dump(mode="json", exclude={"email_message_ids", "participants", "reply_to"})


def message_json(message: Message) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude={"raw_mail_key"})


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: TicketStatus | None = None
    requester: str | None = Field(None, max_length=320, description="an email address or a platform handle")
    channel: Channel | None = None
    queue: str | None = Field(None, max_length=64)
    limit: int = Field(DEFAULT_PAGE, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=2048)


def list_tickets(request: HttpRequest, *, store: TicketStore) -> dict[str, Any]:
    """A page of tickets: one status's queue (default: new), or a requester's tickets."""
    try:
        query = ListQuery.model_validate(request.query)
    except ValidationError as invalid:
        return json_response(400, {"errors": _field_errors(invalid)})
    status = query.status or (None if query.requester else TicketStatus.NEW)
    try:
        start = _decode_cursor(query.cursor) if query.cursor else None
        page = store.page_of_tickets(
            status=status,
            requester_key=_requester_key(query.requester) if query.requester else None,
            channel=query.channel.value if query.channel else None,
            queue=query.queue,
            limit=query.limit,
            start_key=start,
        )
    except ValueError:
        return _error(400, "cursor", "is not a cursor of this listing")
    cursor = _encode_cursor(page.next_key) if page.next_key else None
    return json_response(
        200, {"tickets": [ticket_json(ticket) for ticket in page.tickets], "next_cursor": cursor}
    )


def show_ticket(request: HttpRequest, *, store: TicketStore, reference_prefix: str) -> dict[str, Any]:
    reference = normalise_reference(request.path_parameters.get("reference", ""), reference_prefix)
    found = store.get_ticket_with_messages(reference) if reference else None
    if found is None:
        return _error(404, "reference", "no such ticket")
    ticket, messages = found
    return json_response(
        200, {"ticket": ticket_json(ticket), "messages": [message_json(m) for m in messages]}
    )


class TicketChange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee: str | None = Field(None, min_length=1, max_length=320)
    tags: tuple[str, ...] | None = Field(None, max_length=50)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for tag in tags or ():
            if not re.match(_TAG, tag):
                raise ValueError(f"tag {tag[:64]!r}: use lower-case letters, digits, '.', '_' and '-'")
        return tuple(dict.fromkeys(tags)) if tags is not None else None


def update_ticket(
    request: HttpRequest, *, store: TicketStore, reference_prefix: str, now: datetime
) -> dict[str, Any]:
    """Change status (only allowed moves), priority, assignee (null unassigns) and tags."""
    reference = normalise_reference(request.path_parameters.get("reference", ""), reference_prefix)
    try:
        body = json.loads(request.body or b"{}")
        change = TicketChange.model_validate(body)
    except ValueError as invalid:  # ValidationError is a ValueError, so is bad JSON
        errors = (
            _field_errors(invalid)
            if isinstance(invalid, ValidationError)
            else [{"field": "body", "message": "is not a JSON object"}]
        )
        return json_response(400, {"errors": errors})
    ticket = store.get_ticket(reference) if reference else None
    if ticket is None:
        return _error(404, "reference", "no such ticket")
    if (
        change.status is not None
        and change.status is not ticket.status
        and change.status not in STATUS_MOVES[ticket.status]
    ):
        return _error(409, "status", f"a {ticket.status} ticket cannot become {change.status}")
    unassign = isinstance(body, dict) and "assignee" in body and body["assignee"] is None
    try:
        updated = store.update_ticket(
            ticket,
            now,
            status=change.status,
            priority=change.priority,
            assignee=change.assignee,
            unassign=unassign,
            tags=change.tags,
        )
    except TicketChangedError:
        return _error(409, "status", "the ticket changed meanwhile; read it again")
    if updated.status is TicketStatus.RESOLVED and ticket.status is not TicketStatus.RESOLVED:
        metrics.add_metric(name="TicketResolved", unit=MetricUnit.Count, value=1)
        _add_wait_metric("ResolutionTime", ticket, now)
    logger.info(
        "ticket updated by an agent",
        extra={"reference": reference, "status": updated.status.value, "agent": _agent(request)},
    )
    return json_response(200, {"ticket": ticket_json(updated)})


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=20_000)
    public: bool = Field(True, description="false: an internal note, never shown to the customer")

    @field_validator("text")
    @classmethod
    def _text(cls, text: str) -> str:
        text = normalise_multiline(text).strip()
        if not text:
            raise ValueError("write something")
        if problem := multiline_problem(text):
            raise ValueError(problem)
        return text


def add_reply(
    request: HttpRequest, *, store: TicketStore, settings: Settings, now: datetime
) -> dict[str, Any]:
    """POST /tickets/{reference}/replies: a public reply (sent to the customer on the ticket's
    channel by the stream consumer) or an internal note."""
    reference = normalise_reference(request.path_parameters.get("reference", ""), settings.reference_prefix)
    try:
        reply = ReplyRequest.model_validate(json.loads(request.body or b"{}"))
    except ValueError as invalid:
        errors = (
            _field_errors(invalid)
            if isinstance(invalid, ValidationError)
            else [{"field": "body", "message": "is not a JSON object"}]
        )
        return json_response(400, {"errors": errors})
    ticket = store.get_ticket(reference) if reference else None
    if ticket is None:
        return _error(404, "reference", "no such ticket")
    if ticket.status is TicketStatus.CLOSED:
        return _error(409, "status", "a closed ticket takes no more messages")
    if reply.public and not can_answer(ticket, settings, now):
        closes_at = reply_window_closes_at(ticket)
        if closes_at is not None and now >= closes_at:
            app = messaging_app(ticket)
            return _error(
                422,
                "public",
                f"{app}'s 24-hour window has passed: {app} takes replies only within 24 hours of the "
                "customer's last message. Add a note, and answer when the customer writes again",
            )
        return _error(422, "public", "this ticket's channel cannot be answered from here; add a note")
    message = Message(
        message_id=new_message_id(),
        reference=ticket.reference,
        direction=Direction.OUTBOUND,
        kind=MessageKind.AGENT_REPLY if reply.public else MessageKind.NOTE,
        author=_agent(request) or "agent",
        body_text=reply.text,
        created_at=now,
        delivery=DeliveryState.PENDING if reply.public else None,
    )
    for _ in range(3):
        first = reply.public and ticket.first_responded_at is None
        try:
            store.add_agent_message(
                ticket, message, now, _first_response(ticket, settings, now) if first else None
            )
            break
        except TicketChangedError:
            ticket = store.get_ticket(ticket.reference)  # its status moved: apply to what it is now
            if ticket is None:
                return _error(404, "reference", "no such ticket")
    else:
        return _error(409, "status", "the ticket keeps changing; try again")
    if first:
        _add_wait_metric("FirstResponseTime", ticket, now)
    logger.info(
        "agent message added",
        extra={"reference": reference, "kind": message.kind.value, "agent": _agent(request)},
    )
    return json_response(201, {"message": message_json(message)})


def can_answer(ticket: Ticket, settings: Settings, now: datetime) -> bool:
    """Whether a public reply can reach the customer now: by email, or through a configured
    platform within its customer-service window."""
    return can_reach(ticket, settings, now)


def _add_wait_metric(name: str, ticket: Ticket, now: datetime) -> None:
    """Seconds since the ticket was created, in wall-clock time (unlike the business-time samples
    of the measured promise): what the customer lived through."""
    metrics.add_metric(
        name=name, unit=MetricUnit.Seconds, value=max(0.0, (now - ticket.created_at).total_seconds())
    )


def _first_response(ticket: Ticket, settings: Settings, now: datetime) -> FirstResponseSample:
    """The business time this ticket waited for its first answer: a sample of the measured promise."""
    calendar = settings.hours.calendar(ticket.calendar)
    waited = calendar.business_time_between(ticket.created_at, now) if calendar else now - ticket.created_at
    return FirstResponseSample(ticket.reference, now, waited, now + SAMPLE_RETENTION)


def _agent(request: HttpRequest) -> str | None:
    """Who is acting, from the authorizer's claims (for the logs)."""
    claims = request.claims
    value = claims.get("sub") or claims.get("email")
    return str(value)[:128] if value else None


def _requester_key(requester: str) -> str:
    """The key tickets are listed under: 'email:<address>' for an address, else the handle."""
    return "email:" + requester.strip().lower() if "@" in requester and ":" not in requester else requester


def _encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise ValueError("not a cursor") from None
    if not isinstance(decoded, dict):
        raise ValueError("not a cursor")
    return decoded


def _field_errors(invalid: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]) or "body", "message": error["msg"]}
        for error in invalid.errors(include_url=False)
    ]
