"""In-memory stand-ins for the ticket table and the mail bucket, for the property suites.

They keep what the intake writes, with the table's semantics the intake relies on (a repeated
inbound key is a duplicate, a taken reference is retried, a conversation names one ticket), and
they refuse what the real services would refuse: DynamoDB's ValidationException for empty or
oversized keys and items, S3's for oversized keys. Anything the real store would only mangle
(text that is not valid Unicode, floats DynamoDB cannot take) fails the test outright. A method
they do not override would reach the missing client and fail loudly: the suites notice when the
code under test starts using the table in a way these fakes do not model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

from botocore.exceptions import ClientError

from frontdesk.mail.storage import MailBucket
from frontdesk.tickets.model import Message, MessageKind, Ticket, TicketStatus
from frontdesk.tickets.store import (
    ConversationClaim,
    ConversationTakenError,
    DuplicateInboundError,
    EmailIndexTakenError,
    HourlyQuota,
    InboundRecord,
    QuotaExceededError,
    ReferenceTakenError,
    ReplayedRequestError,
    SignedRequestSighting,
    TicketChangedError,
    TicketStore,
    _conversation_key,
    _email_index_key,
    _inbound_key,
    _serialise,
    _ticket_key,
    message_item,
    ticket_item,
)

# DynamoDB's limits (docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html),
# for the table's and its indexes' keys alike.
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_ITEM_BYTES = 400 * 1024
_INDEX_KEYS = (("gsi1pk", "gsi1sk"), ("gsi2pk", "gsi2sk"))
# S3: keys up to 1024 bytes of UTF-8; header values such as Content-Type printable ASCII.
MAX_S3_KEY_BYTES = 1024
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")


def _refused(operation: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": "ValidationException", "Message": message}}, operation)


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise AssertionError(f"{what} is not valid Unicode (a lone surrogate): {value[:80]!r}") from None


def check_key(pk: str, sk: str, operation: str) -> None:
    """What DynamoDB refuses in a key, for reads and writes alike."""
    for value, limit, name in ((pk, MAX_PARTITION_KEY_BYTES, "partition"), (sk, MAX_SORT_KEY_BYTES, "sort")):
        size = len(_utf8(value, f"{name} key"))
        if not size:
            raise _refused(operation, f"the {name} key is an empty string")
        if size > limit:
            raise _refused(operation, f"the {name} key has {size} bytes, more than {limit}")


def check_item(item: Mapping[str, Any], operation: str) -> dict[str, Any]:
    """The item as boto3 would send it, after DynamoDB's checks on its keys and size."""
    serialised = _serialise(item)  # TypeError for a float, as boto3 raises
    encoded = _utf8(json.dumps(serialised, ensure_ascii=False), "an item")
    if len(encoded) > MAX_ITEM_BYTES:
        raise _refused(operation, f"the item has about {len(encoded)} bytes, more than {MAX_ITEM_BYTES}")
    check_key(str(item["pk"]), str(item["sk"]), operation)
    for hash_name, range_name in _INDEX_KEYS:
        if hash_name in item or range_name in item:
            check_key(str(item.get(hash_name, "")), str(item.get(range_name, "")), operation)
    return serialised


def _key_of(key: Mapping[str, Any]) -> tuple[str, str]:
    return str(key["pk"]["S"]), str(key["sk"]["S"])


class FakeTicketStore(TicketStore):
    """The ticket table in memory: the writes and reads of the form, chat and mail intakes."""

    def __init__(self) -> None:
        super().__init__("fake-tickets", cast(Any, None))
        self.tickets: dict[str, Ticket] = {}
        self.messages: dict[str, list[Message]] = {}
        self.inbound: dict[str, tuple[str, str]] = {}  # key -> (reference, fingerprint)
        self.email_index: dict[str, str] = {}
        self.conversations: dict[str, str] = {}
        self.sightings: set[str] = set()
        self.hourly_counts: dict[tuple[str, str], int] = {}  # (quota subject, UTC hour) -> new tickets

    @property
    def message_count(self) -> int:
        return sum(len(messages) for messages in self.messages.values())

    # -- writes ------------------------------------------------------------------------------------

    def create_ticket(
        self,
        ticket: Ticket,
        first_message: Message,
        inbound: InboundRecord,
        email_message_ids: Sequence[str] = (),
        conversation: ConversationClaim | None = None,
        quota: HourlyQuota | None = None,
        sighting: SignedRequestSighting | None = None,
    ) -> None:
        if first_message.kind is MessageKind.CUSTOMER and ticket.customer_wrote_at is None:
            ticket = ticket.model_copy(update={"customer_wrote_at": first_message.created_at})
        self._check_writes(ticket_item(ticket), first_message, inbound, email_message_ids, conversation)
        # In the order of the real store's checks, so the same error wins.
        self._check_sighting(sighting)
        if inbound.key in self.inbound:
            raise DuplicateInboundError(*self.inbound[inbound.key])
        if ticket.reference in self.tickets:
            raise ReferenceTakenError(ticket.reference)
        for email_message_id in email_message_ids:
            if email_message_id in self.email_index:
                raise EmailIndexTakenError(email_message_id)
        if conversation and self.conversations.get(conversation.conversation_id) != conversation.previous:
            raise ConversationTakenError(conversation.conversation_id)
        if quota:
            hour = (quota.subject, first_message.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H"))
            check_key(f"INTAKERATE#{quota.subject}", hour[1], "TransactWriteItems")
            if self.hourly_counts.get(hour, 0) >= quota.limit:
                raise QuotaExceededError(quota.subject)
            self.hourly_counts[hour] = self.hourly_counts.get(hour, 0) + 1
        if conversation:
            self.conversations[conversation.conversation_id] = ticket.reference
        self.tickets[ticket.reference] = ticket
        self._record(first_message, inbound, email_message_ids, sighting)

    def append_message(
        self,
        reference: str,
        message: Message,
        inbound: InboundRecord,
        email_message_ids: Sequence[str] = (),
        *,
        expected_status: TicketStatus | None,
        participant: str | None = None,
        reopen: bool = False,
        sighting: SignedRequestSighting | None = None,
    ) -> None:
        self._check_writes(None, message, inbound, email_message_ids, None)
        self._check_sighting(sighting)
        if inbound.key in self.inbound:
            raise DuplicateInboundError(*self.inbound[inbound.key])
        stored = self.tickets.get(reference)
        if (
            stored is None
            or (expected_status is not None and stored.status is not expected_status)
            or (expected_status is None and stored.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED))
            or (
                expected_status is None and participant is not None and participant not in stored.participants
            )
        ):
            raise TicketChangedError(reference, stored)
        for email_message_id in email_message_ids:
            if email_message_id in self.email_index:
                raise EmailIndexTakenError(email_message_id)
        changes: dict[str, Any] = {
            "updated_at": message.created_at,
            "email_message_ids": (*stored.email_message_ids, *email_message_ids),
        }
        if message.kind is MessageKind.CUSTOMER:
            changes["customer_wrote_at"] = message.created_at
        if reopen:
            changes.update(status=TicketStatus.OPEN, resolved_at=None)
        self.tickets[reference] = stored.model_copy(update=changes)
        self._record(message, inbound, email_message_ids, sighting)

    def remember_signed_request(self, sighting: SignedRequestSighting, now: datetime) -> bool:
        check_key(f"REPLAY#{sighting.digest}", "REPLAY", "PutItem")
        if sighting.digest in self.sightings:
            return False
        self.sightings.add(sighting.digest)
        return True

    def _check_sighting(self, sighting: SignedRequestSighting | None) -> None:
        if sighting:
            check_key(f"REPLAY#{sighting.digest}", "REPLAY", "TransactWriteItems")
            if sighting.digest in self.sightings:
                raise ReplayedRequestError(sighting.digest)

    def _check_writes(
        self,
        ticket: dict[str, Any] | None,
        message: Message,
        inbound: InboundRecord,
        email_message_ids: Sequence[str],
        conversation: ConversationClaim | None,
    ) -> None:
        operation = "TransactWriteItems"
        if ticket is not None:
            check_item(ticket, operation)
        check_item(message_item(message), operation)
        check_key(*_key_of(_inbound_key(inbound.key)), operation)
        _utf8(inbound.fingerprint, "a fingerprint")
        for email_message_id in email_message_ids:
            check_key(*_key_of(_email_index_key(email_message_id)), operation)
        if conversation:
            check_key(*_key_of(_conversation_key(conversation.conversation_id)), operation)

    def _record(
        self,
        message: Message,
        inbound: InboundRecord,
        email_message_ids: Sequence[str],
        sighting: SignedRequestSighting | None,
    ) -> None:
        if sighting:
            self.sightings.add(sighting.digest)
        self.messages.setdefault(message.reference, []).append(message)
        self.inbound[inbound.key] = (message.reference, inbound.fingerprint)
        for email_message_id in email_message_ids:
            self.email_index[email_message_id] = message.reference

    # -- reads -------------------------------------------------------------------------------------

    def find_conversation(self, conversation_id: str) -> str | None:
        check_key(*_key_of(_conversation_key(conversation_id)), "GetItem")
        return self.conversations.get(conversation_id)

    def get_ticket(self, reference: str) -> Ticket | None:
        check_key(*_key_of(_ticket_key(reference)), "GetItem")
        return self.tickets.get(reference)

    def find_reference_by_email_message_id(self, email_message_id: str) -> str | None:
        check_key(*_key_of(_email_index_key(email_message_id)), "GetItem")
        return self.email_index.get(email_message_id)

    def find_references_by_email_message_ids(self, email_message_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(email_message_ids))[:100]
        for email_message_id in wanted:  # one bad key fails the whole BatchGetItem
            check_key(*_key_of(_email_index_key(email_message_id)), "BatchGetItem")
        return {mid: self.email_index[mid] for mid in wanted if mid in self.email_index}


class FakeMailBucket(MailBucket):
    """The mail bucket in memory: the raw message to read, and the attachments put."""

    def __init__(self, raw: bytes = b"") -> None:
        super().__init__(cast(Any, None), "fake-mail", "inbound/")
        self.raw = raw
        self.attachments: dict[str, tuple[bytes, str, str]] = {}
        self.quarantined: list[str] = []

    def read_raw(self, ses_message_id: str) -> bytes:
        return self.raw

    def put_attachment(self, key: str, data: bytes, content_type: str, filename: str) -> None:
        size = len(_utf8(key, "an S3 key"))
        if not 0 < size <= MAX_S3_KEY_BYTES:
            raise _refused("PutObject", f"the key has {size} bytes")
        # The ContentType and ContentDisposition headers the real bucket sends (quote() raises
        # there as it does here for text that is not valid Unicode).
        for header in (content_type, f"attachment; filename*=UTF-8''{quote(filename)}"):
            assert _HEADER_VALUE.fullmatch(header), f"not a header value: {header[:80]!r}"
        self.attachments[key] = (data, content_type, filename)

    def quarantine(self, ses_message_id: str, reason: str) -> None:
        self.quarantined.append(ses_message_id)
