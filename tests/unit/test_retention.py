"""How long each kind of data is kept: the template's lifecycle rules and parameters, and the TTL
(`expires_at`) every short-lived table item is written with (README, "Data kept, where, for how
long")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from samtranslator.yaml_helper import yaml_parse

from frontdesk.mail.storage import attachment_key, ticket_prefix
from frontdesk.tickets.model import Channel, Direction, Message, MessageKind, Requester, Ticket
from frontdesk.tickets.store import (
    FirstResponseSample,
    HourlyQuota,
    InboundRecord,
    SignedRequestSighting,
    TicketStore,
    message_from_image,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
DOCUMENT: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
PARAMETERS: dict[str, Any] = DOCUMENT["Parameters"]
BUCKET: dict[str, Any] = DOCUMENT["Resources"]["MailBucket"]["Properties"]
RULES = {rule["Id"]: rule for rule in BUCKET["LifecycleConfiguration"]["Rules"]}
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_table_expires_items_by_their_expires_at():
    table = DOCUMENT["Resources"]["TicketsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_raw_mail_expires_after_the_raw_mail_retention_parameter():
    assert RULES["expire-raw-mail"]["Prefix"] == "inbound/"
    assert RULES["expire-raw-mail"]["ExpirationInDays"] == {"Ref": "RawMailRetentionDays"}
    assert PARAMETERS["RawMailRetentionDays"]["MinValue"] >= 1


def test_quarantined_mail_expires_after_its_own_parameter():
    rule = RULES["expire-quarantined-mail"]
    assert rule["ExpirationInDays"] == {"Ref": "QuarantineRetentionDays"}
    assert rule["TagFilters"] == [{"Key": "frontdesk-quarantine", "Value": "virus"}]


def test_attachments_are_kept_with_their_ticket_unless_a_retention_is_set():
    parameter = PARAMETERS["AttachmentRetentionDays"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 0, 0)
    assert DOCUMENT["Conditions"]["ExpireAttachments"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AttachmentRetentionDays"}, "0"]}]
    }
    rule = RULES["expire-attachments"]
    assert rule["Status"] == {"Fn::If": ["ExpireAttachments", "Enabled", "Disabled"]}
    assert rule["ExpirationInDays"] == {
        "Fn::If": ["ExpireAttachments", {"Ref": "AttachmentRetentionDays"}, 1]
    }
    # The rule's prefix is where the code stores files, and nothing else is stored there.
    assert rule["Prefix"] == "tickets/"
    assert attachment_key("FD-7K3M-Q9TX", "m1", 0, "a.pdf").startswith(rule["Prefix"])
    assert ticket_prefix("FD-7K3M-Q9TX").startswith(rule["Prefix"])
    assert not RULES["expire-raw-mail"]["Prefix"].startswith(rule["Prefix"])


class RecordingClient:
    """Stands in for DynamoDB: records every write; conditions always pass."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, dict[str, Any]]] = []

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.writes.append(("Put", request))
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.writes.append(("Update", request))
        return {}

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:  # noqa: N803
        for item in TransactItems:
            ((kind, request),) = item.items()
            self.writes.append((kind, request))
        return {}


def _entity(kind: str, request: dict[str, Any]) -> str | None:
    if kind == "Put":
        return str(request["Item"].get("entity", {}).get("S")) if "entity" in request["Item"] else None
    values = request.get("ExpressionAttributeValues", {})
    return str(values[":entity"]["S"]) if ":entity" in values else None


def _sets_expiry(kind: str, request: dict[str, Any]) -> bool:
    if kind == "Put":
        return "expires_at" in request["Item"]
    return "expires_at = " in request.get("UpdateExpression", "")


SHORT_LIVED = {"inbound", "intake_rate", "ack_rate", "suppression", "replay", "response_sample"}


@pytest.fixture
def writes() -> list[tuple[str, dict[str, Any]]]:
    client = RecordingClient()
    store = TicketStore("tickets", client)  # type: ignore[arg-type]
    ticket = Ticket(
        reference="FD-7K3M-Q9TX",
        channel=Channel.WEB_FORM,
        source="contact",
        subject="Late order",
        requester=Requester(email="ana@example.org"),
        language="en",
        created_at=NOW,
        updated_at=NOW,
    )
    message = Message(
        message_id="m1",
        reference=ticket.reference,
        direction=Direction.INBOUND,
        kind=MessageKind.CUSTOMER,
        author="ana@example.org",
        body_text="Where is it?",
        created_at=NOW,
    )
    inbound = InboundRecord("web_form:contact:key-1", "digest", NOW + timedelta(days=1))
    until = NOW + timedelta(minutes=5)
    store.create_ticket(
        ticket,
        message,
        inbound,
        quota=HourlyQuota("form:203.0.113.0/32", 30),
        sighting=SignedRequestSighting("first-request", until),
    )
    store.claim_acknowledgement(ticket.reference, "ana@example.org", NOW, 3)
    store.suppress_address("ana@example.org", "bounce", NOW + timedelta(days=30), NOW)
    store.remember_signed_request(SignedRequestSighting("second-request", until), NOW)
    reply = message.model_copy(
        update={"message_id": "m2", "direction": Direction.OUTBOUND, "kind": MessageKind.AGENT_REPLY}
    )
    sample = FirstResponseSample(ticket.reference, NOW, timedelta(hours=1), NOW + timedelta(days=8))
    store.add_agent_message(ticket, reply, NOW, sample)
    return client.writes


def test_every_short_lived_record_is_written_with_an_expiry(writes: list[tuple[str, dict[str, Any]]]):
    seen = {_entity(kind, request) for kind, request in writes if _entity(kind, request) in SHORT_LIVED}
    # The replay guard's entity is in its item; the response sample's too.
    assert seen == SHORT_LIVED
    for kind, request in writes:
        if _entity(kind, request) in SHORT_LIVED:
            assert _sets_expiry(kind, request), (kind, _entity(kind, request))


def test_tickets_and_messages_have_no_expiry(writes: list[tuple[str, dict[str, Any]]]):
    kept = [(kind, request) for kind, request in writes if _entity(kind, request) in {"ticket", "message"}]
    assert {_entity(kind, request) for kind, request in kept} == {"ticket", "message"}
    assert not any(_sets_expiry(kind, request) for kind, request in kept)


def test_a_message_names_its_idempotency_item_and_reads_back_without_it(
    writes: list[tuple[str, dict[str, Any]]],
):
    (message_put,) = [
        request
        for kind, request in writes
        if _entity(kind, request) == "message" and request["Item"]["direction"] == {"S": "inbound"}
    ]
    assert message_put["Item"]["inbound_key"] == {"S": "web_form:contact:key-1"}
    image = {name: TypeDeserializer().deserialize(value) for name, value in message_put["Item"].items()}
    message = message_from_image(image)
    assert message is not None and message.message_id == "m1"
    assert "inbound_key" not in message.model_dump()
