"""Integration events: their documented schema is the models', and what is published fits it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema  # type: ignore[import-untyped]

from frontdesk.events import DETAIL_TYPES, survey_answered, ticket_created, ticket_resolved
from frontdesk.tickets.model import Channel, Requester, Survey, SurveyState, Ticket, TicketStatus
from frontdesk_tools.events_schema import SCHEMA_FILE, rendered

CREATED = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
TICKET = Ticket(
    reference="FD-7K2M-9QXA",
    channel=Channel.WEB_FORM,
    source="contact",
    subject="Invoice missing",
    requester=Requester(name="Ana Souza", email="ana@example.org"),
    language="en",
    created_at=CREATED,
    updated_at=CREATED,
)
RESOLVED = TICKET.model_copy(
    update={"status": TicketStatus.RESOLVED, "resolved_at": CREATED + timedelta(hours=2, seconds=5)}
)
SURVEY = Survey(
    reference=TICKET.reference,
    resolved_at=CREATED + timedelta(hours=2),
    state=SurveyState.ANSWERED,
    send_at=CREATED + timedelta(hours=3),
    language="en",
    answered_at=CREATED + timedelta(hours=4),
    csat=2,
    nps=6,
    comment="Slow.",
)


def test_the_schema_file_is_generated_from_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == rendered(), "run `make events-schema`"


def test_each_event_validates_against_its_documented_schema() -> None:
    documented = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))["detail_types"]
    for event in (ticket_created(TICKET), ticket_resolved(RESOLVED), survey_answered(SURVEY)):
        detail = json.loads(json.dumps(event.model_dump(mode="json")))
        jsonschema.validate(detail, documented[DETAIL_TYPES[type(event)]])


def test_event_ids_are_derived_so_a_retried_record_repeats_the_same_id() -> None:
    assert ticket_created(TICKET).event_id == ticket_created(TICKET).event_id
    assert ticket_resolved(RESOLVED).event_id != ticket_created(TICKET).event_id
    again = RESOLVED.model_copy(update={"resolved_at": CREATED + timedelta(days=1)})
    assert ticket_resolved(again).event_id != ticket_resolved(RESOLVED).event_id
    assert ticket_resolved(RESOLVED).resolution_seconds == 2 * 3600 + 5
