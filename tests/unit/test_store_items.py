"""The ticket table's pure parts: sortable timestamps, item shapes and reading them back."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from frontdesk.tickets.model import (
    Acknowledgement,
    AcknowledgementState,
    Channel,
    Priority,
    Requester,
    Ticket,
    TicketStatus,
)
from frontdesk.tickets.store import ticket_from_image, ticket_item, timestamp_key

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def ticket(**overrides) -> Ticket:
    fields = {
        "reference": "FD-7K3M-Q9TX",
        "channel": Channel.WEB_FORM,
        "source": "contact",
        "subject": "Late order",
        "requester": Requester(name="Ana Souza", email="Ana@Example.ORG"),
        "language": "pt",
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return Ticket.model_validate({**fields, **overrides})


# -- timestamp_key ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "key"),
    [
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "2026-03-01T12:00:00.000000Z"),
        (datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC), "2026-03-01T12:00:00.000001Z"),
        (datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), "2026-12-31T23:59:59.999999Z"),
        (
            datetime(2026, 3, 1, 13, 30, tzinfo=timezone(timedelta(hours=1, minutes=30))),
            "2026-03-01T12:00:00.000000Z",
        ),
        (datetime(2026, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-03-01T12:00:00.000000Z"),
    ],
)
def test_timestamp_key_is_utc_with_microseconds(moment: datetime, key: str):
    assert timestamp_key(moment) == key


def test_timestamp_keys_are_fixed_width_and_sort_in_time_order():
    # Given moments out of order, one with microsecond 0 (which isoformat() would shorten)
    moments = [
        datetime(2026, 3, 1, 12, 0, 0, 500_000, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 1, 11, 0, 0, 0, tzinfo=timezone(timedelta(hours=-2))),  # 13:00 UTC
        datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC),
    ]

    # When
    keys = [timestamp_key(moment) for moment in moments]

    # Then
    assert {len(key) for key in keys} == {len("2026-03-01T12:00:00.000000Z")}
    assert sorted(keys) == [timestamp_key(moment) for moment in sorted(moments)]


# -- ticket_item -----------------------------------------------------------------------------------


def test_ticket_item_has_the_table_and_index_keys():
    item = ticket_item(ticket())

    assert item["pk"] == "TICKET#FD-7K3M-Q9TX"
    assert item["sk"] == "TICKET"
    assert item["entity"] == "ticket"
    assert item["gsi1pk"] == "REQUESTER#email:ana@example.org"
    assert item["gsi1sk"] == "2026-03-01T12:00:00.000000Z#FD-7K3M-Q9TX"
    assert item["gsi2pk"] == "STATUS#new"
    assert item["gsi2sk"] == "2026-03-01T12:00:00.000000Z#FD-7K3M-Q9TX"


def test_ticket_item_stores_plain_values():
    item = ticket_item(ticket(tags=("web", "vip"), custom_fields={"order": "5521"}))

    assert item["reference"] == "FD-7K3M-Q9TX"
    assert item["status"] == "new"
    assert item["channel"] == "web_form"
    assert item["priority"] == "normal"
    assert item["requester"] == {"name": "Ana Souza", "email": "Ana@Example.ORG"}
    assert item["tags"] == ["web", "vip"]
    assert item["custom_fields"] == {"order": "5521"}
    assert item["created_at"] == "2026-03-01T12:00:00Z"
    assert "acknowledgement" not in item  # None is left out


@pytest.mark.parametrize("status", list(TicketStatus))
def test_the_status_index_key_follows_the_status(status: TicketStatus):
    assert ticket_item(ticket(status=status))["gsi2pk"] == f"STATUS#{status.value}"


def test_a_requester_without_email_is_indexed_by_handle():
    item = ticket_item(ticket(channel=Channel.CHAT, requester=Requester(handle="telegram:123456")))

    assert item["gsi1pk"] == "REQUESTER#telegram:123456"


def test_a_requester_with_neither_email_nor_handle_cannot_be_stored():
    with pytest.raises(ValueError, match="email address or a handle"):
        ticket_item(ticket(requester=Requester(name="Nobody")))


# -- ticket_from_image -----------------------------------------------------------------------------


def full_ticket() -> Ticket:
    return ticket(
        status=TicketStatus.OPEN,
        priority=Priority.URGENT,
        queue="billing",
        tags=("web", "vip"),
        custom_fields={"order": "5521", "note": "Привет"},
        excerpt="My order is late.",
        updated_at=CREATED + timedelta(minutes=5, microseconds=7),
        acknowledgement=Acknowledgement(
            state=AcknowledgementState.SENT,
            claimed_at=CREATED + timedelta(seconds=1),
            sent_at=CREATED + timedelta(seconds=2),
            email_message_id="<0100@email.amazonses.com>",
        ),
        email_message_ids=("<0100@email.amazonses.com>",),
    )


@pytest.mark.parametrize("original", [ticket(), full_ticket()], ids=["minimal", "full"])
def test_ticket_from_image_reads_back_the_ticket_item(original: Ticket):
    assert ticket_from_image(ticket_item(original)) == original


def test_a_ticket_survives_the_dynamodb_type_round_trip():
    # Given the item as DynamoDB stores it and a stream image delivers it
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    stored = {name: serializer.serialize(value) for name, value in ticket_item(full_ticket()).items()}
    image = {name: deserializer.deserialize(value) for name, value in stored.items()}

    # When / Then
    assert ticket_from_image(image) == full_ticket()


@pytest.mark.parametrize(
    "image",
    [
        pytest.param({"pk": "TICKET#FD-7K3M-Q9TX", "sk": "MESSAGE#x", "entity": "message"}, id="message"),
        pytest.param({"pk": "INBOUND#x", "sk": "INBOUND", "entity": "inbound"}, id="inbound"),
        pytest.param({"pk": "EMAIL#<a@b>", "sk": "EMAIL", "entity": "email_index"}, id="email-index"),
        pytest.param({"pk": "TICKET#FD-7K3M-Q9TX", "sk": "TICKET"}, id="no-entity"),
        pytest.param({}, id="empty"),
    ],
)
def test_ticket_from_image_of_another_item_is_none(image):
    assert ticket_from_image(image) is None


def test_ticket_from_image_ignores_a_ticket_shaped_item_of_another_entity():
    item = {**ticket_item(ticket()), "entity": "message"}

    assert ticket_from_image(item) is None
