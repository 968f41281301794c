"""Events for integrators: what happened to tickets, published to the stack's EventBridge bus.

A team extends Frontdesk with a rule on the bus and a function of its own (a CRM update, a Slack
post for every low score) instead of a fork. Each event's `detail` is one of the models below
(their JSON Schema is docs/events.schema.json; docs/events.md shows examples). Events come from
the table's stream, so a retried record can publish an event again: `event_id` is derived from
what happened, never random, and consumers that must act once keep the ids they have seen.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from frontdesk.tickets.model import Survey, Ticket

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

SOURCE = "frontdesk"
SCHEMA_VERSION: Literal["1"] = "1"
_ID_NAMESPACE = uuid.UUID("6f1d4c2e-8a43-4f3e-9a57-5d1b2f0c7e11")
# Each detail's validator is built when the first event of its type is published: a stream batch
# that only acknowledges tickets never builds the resolution and survey ones.
_DETAIL = ConfigDict(frozen=True, defer_build=True)


class PublishError(Exception):
    """EventBridge did not take the event; the stream record is retried."""


class EventRequester(BaseModel):
    model_config = _DETAIL

    name: str | None = None
    email: str | None = None
    handle: str | None = Field(None, description="a chat platform's id of the customer, e.g. telegram:123")


class EventTicket(BaseModel):
    """The ticket as the event saw it."""

    model_config = _DETAIL

    reference: str
    status: str
    channel: str
    source: str = Field(description="the form id, mailbox or chat provider it came in through")
    subject: str
    language: str
    priority: str
    queue: str
    tags: tuple[str, ...]
    requester: EventRequester
    assignee: str | None = None
    created_at: datetime
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None

    @classmethod
    def of(cls, ticket: Ticket) -> EventTicket:
        return cls(
            reference=ticket.reference,
            status=ticket.status.value,
            channel=ticket.channel.value,
            source=ticket.source,
            subject=ticket.subject,
            language=ticket.language,
            priority=ticket.priority.value,
            queue=ticket.queue,
            tags=ticket.tags,
            requester=EventRequester(
                name=ticket.requester.name, email=ticket.requester.email, handle=ticket.requester.handle
            ),
            assignee=ticket.assignee,
            created_at=ticket.created_at,
            first_responded_at=ticket.first_responded_at,
            resolved_at=ticket.resolved_at,
        )


class TicketCreated(BaseModel):
    """detail-type `ticket.created`: a customer's first message became a ticket."""

    model_config = _DETAIL

    version: Literal["1"] = SCHEMA_VERSION
    event_id: str
    occurred_at: datetime
    ticket: EventTicket


class TicketResolved(BaseModel):
    """detail-type `ticket.resolved`: an agent resolved a ticket (again, after a reopening)."""

    model_config = _DETAIL

    version: Literal["1"] = SCHEMA_VERSION
    event_id: str
    occurred_at: datetime
    ticket: EventTicket
    resolution_seconds: int = Field(description="from the ticket's creation to this resolution")


class SurveyAnswered(BaseModel):
    """detail-type `survey.answered`: the customer rated a resolution."""

    model_config = _DETAIL

    version: Literal["1"] = SCHEMA_VERSION
    event_id: str
    occurred_at: datetime
    reference: str
    resolved_at: datetime = Field(description="the resolution rated")
    csat: int = Field(ge=1, le=5, description="1 very dissatisfied .. 5 very satisfied")
    nps: int | None = Field(None, ge=0, le=10, description="only when the desk asks it")
    comment: str | None = None


IntegrationEvent = TicketCreated | TicketResolved | SurveyAnswered
DETAIL_TYPES: dict[type[BaseModel], str] = {
    TicketCreated: "ticket.created",
    TicketResolved: "ticket.resolved",
    SurveyAnswered: "survey.answered",
}


def _event_id(detail_type: str, reference: str, moment: datetime) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{detail_type}/{reference}/{moment.isoformat()}"))


def ticket_created(ticket: Ticket) -> TicketCreated:
    return TicketCreated(
        event_id=_event_id("ticket.created", ticket.reference, ticket.created_at),
        occurred_at=ticket.created_at,
        ticket=EventTicket.of(ticket),
    )


def ticket_resolved(ticket: Ticket) -> TicketResolved:
    assert ticket.resolved_at is not None
    return TicketResolved(
        event_id=_event_id("ticket.resolved", ticket.reference, ticket.resolved_at),
        occurred_at=ticket.resolved_at,
        ticket=EventTicket.of(ticket),
        resolution_seconds=int((ticket.resolved_at - ticket.created_at).total_seconds()),
    )


def survey_answered(survey: Survey) -> SurveyAnswered:
    assert survey.answered_at is not None and survey.csat is not None
    return SurveyAnswered(
        event_id=_event_id("survey.answered", survey.reference, survey.resolved_at),
        occurred_at=survey.answered_at,
        reference=survey.reference,
        resolved_at=survey.resolved_at,
        csat=survey.csat,
        nps=survey.nps,
        comment=survey.comment,
    )


def schema() -> dict[str, object]:
    """The JSON Schema of every event's detail, by detail-type (docs/events.schema.json)."""
    return {
        "$comment": "Frontdesk integration events: the `detail` of each EventBridge event, by detail-type.",
        "source": SOURCE,
        "detail_types": {name: model.model_json_schema() for model, name in DETAIL_TYPES.items()},
    }


class EventPublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, event: IntegrationEvent) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": SOURCE,
                    "DetailType": DETAIL_TYPES[type(event)],
                    "Detail": json.dumps(event.model_dump(mode="json")),
                    "Time": event.occurred_at,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            codes = {
                entry.get("ErrorCode") for entry in response.get("Entries", []) if entry.get("ErrorCode")
            }
            raise PublishError(", ".join(sorted(str(code) for code in codes)) or "failed")
