"""The ticket table: the one module that knows DynamoDB keys and item shapes.

Single-table layout (every key is a string):

| item            | pk                    | sk                              | notes                          |
|-----------------|-----------------------|---------------------------------|--------------------------------|
| ticket          | TICKET#<reference>    | TICKET                          | gsi1: requester, gsi2: status  |
| message         | TICKET#<reference>    | MESSAGE#<created_at>#<id>       | one Query reads a whole ticket |
| inbound event   | INBOUND#<scope:key>   | INBOUND                         | idempotency, expires by TTL    |
| email index     | EMAIL#<Message-ID>    | EMAIL                           | threads replies to tickets     |
| suppression     | SUPPRESS#<address>    | SUPPRESS                        | no mail to it until expires_at |
| ack rate        | ACKRATE#<address>     | <UTC hour>                      | acknowledgements that hour     |
| intake rate     | INTAKERATE#<subject>  | <UTC hour>                      | new tickets that hour (forms)  |
| response sample | STATS#first-response  | <responded_at>#<reference>      | business time to a first answer|
| conversation    | CONVERSATION#<id>     | CONVERSATION                    | a chat's current ticket        |
| replay guard    | REPLAY#<digest>       | REPLAY                          | a signed request seen, by TTL  |
| survey          | TICKET#<reference>    | SURVEY#<resolved_at>            | one per resolution             |

A message written with an inbound event names that event's idempotency item (`inbound_key`), so
a privacy erasure finds every item of a ticket from its partition without a scan.

gsi1 (RequesterIndex): gsi1pk = REQUESTER#<requester key>, gsi1sk = <created_at>#<reference>.
gsi2 (StatusIndex):    gsi2pk = STATUS#<status>,          gsi2sk = <created_at>#<reference>.
The status index is not sharded: a status partition takes 1,000 writes a second, far more
tickets than any support desk creates. Nor is the first-response sample partition: one small item
per ticket answered, expiring after a few days.

Every item has `entity`, which the stream consumer's filter matches on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError
from pydantic import BaseModel

from frontdesk.tickets.model import (
    AcknowledgementState,
    DeliveryState,
    Message,
    MessageKind,
    Priority,
    Survey,
    SurveyAnswer,
    SurveyState,
    Ticket,
    TicketStatus,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TICKET_ENTITY = "ticket"
MESSAGE_ENTITY = "message"
INBOUND_ENTITY = "inbound"
EMAIL_INDEX_ENTITY = "email_index"
SUPPRESSION_ENTITY = "suppression"
ACK_RATE_ENTITY = "ack_rate"
INTAKE_RATE_ENTITY = "intake_rate"
CONVERSATION_ENTITY = "conversation"
REPLAY_ENTITY = "replay"
RESPONSE_SAMPLE_ENTITY = "response_sample"
SURVEY_ENTITY = "survey"
_RESPONSE_SAMPLES_PK = "STATS#first-response"

REQUESTER_INDEX = "RequesterIndex"
STATUS_INDEX = "StatusIndex"

_TICKET_SK = "TICKET"
# Adds :mids to a ticket's Message-IDs (with :none = []), for threading later mail.
_APPEND_EMAIL_IDS = "email_message_ids = list_append(if_not_exists(email_message_ids, :none), :mids)"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DuplicateInboundError(Exception):
    """The inbound event was accepted before: `reference` is the ticket it created."""

    def __init__(self, reference: str, fingerprint: str) -> None:
        super().__init__(f"inbound event already accepted as {reference}")
        self.reference = reference
        self.fingerprint = fingerprint


class ReferenceTakenError(Exception):
    """The freshly drawn reference belongs to another ticket; draw again."""


class ConcurrentWriteError(Exception):
    """DynamoDB cancelled the transaction because another one touched the same items; retry."""


class EmailIndexTakenError(Exception):
    """A Message-ID to index already points at a ticket (senders do reuse them); retry without it."""

    def __init__(self, email_message_id: str) -> None:
        super().__init__("Message-ID already indexed")
        self.email_message_id = email_message_id


class ConversationTakenError(Exception):
    """Another ticket became the conversation's current one since it was read; decide again."""


class ConversationClaim(NamedTuple):
    """A new ticket becoming a chat conversation's current ticket, replacing `previous` (a
    resolved one), or the first when `previous` is None."""

    conversation_id: str
    previous: str | None = None


class HourlyQuota(NamedTuple):
    """At most `limit` new tickets an hour (UTC) for `subject`, e.g. "form:203.0.113.0/32"."""

    subject: str
    limit: int


class QuotaExceededError(Exception):
    """The quota's subject has had its `limit` of new tickets this hour."""


class TicketChangedError(Exception):
    """The ticket is gone or its status changed since it was read; decide again."""

    def __init__(self, reference: str, found: Ticket | None = None) -> None:
        super().__init__(reference)
        self.found = found  # the ticket as the refused write found it, when the write reports it


class ReplayedRequestError(Exception):
    """The signed request was handled before: this is a replay."""


class SignedRequestSighting(NamedTuple):
    """A signed webhook request, remembered until `until` so that the same request sent again
    is refused. Written in the transaction of the request's last message: only a request whose
    every message was stored is remembered, so the platform's retry of a failed one goes through."""

    digest: str
    until: datetime


class SurveyAnsweredError(Exception):
    """The survey was answered already."""


class SurveyNotOpenError(Exception):
    """There is no such survey, or it was never sent (skipped, cancelled, failed)."""


class ClaimRefused(StrEnum):
    ALREADY_CLAIMED = "already_claimed"
    SUPPRESSED_ADDRESS = "suppressed_address"
    RATE_LIMITED = "rate_limited"


class InboundRecord(NamedTuple):
    """The idempotency item of one inbound event, written with the ticket it creates."""

    key: str  # "<scope>:<key>", e.g. "web_form:contact:<Idempotency-Key>"
    fingerprint: str  # digest of the normalised payload: the same key with other content is refused
    expires_at: datetime


def timestamp_key(moment: datetime) -> str:
    """A fixed-width UTC timestamp, so keys sort in time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ticket_pk(reference: str) -> str:
    return f"TICKET#{reference}"


def _ticket_key(reference: str) -> dict[str, Any]:
    return {"pk": {"S": _ticket_pk(reference)}, "sk": {"S": _TICKET_SK}}


def _inbound_key(key: str) -> dict[str, Any]:
    return {"pk": {"S": f"INBOUND#{key}"}, "sk": {"S": "INBOUND"}}


def _email_index_key(email_message_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"EMAIL#{email_message_id}"}, "sk": {"S": "EMAIL"}}


def _replay_key(digest: str) -> dict[str, Any]:
    return {"pk": {"S": f"REPLAY#{digest}"}, "sk": {"S": "REPLAY"}}


def _conversation_key(conversation_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"CONVERSATION#{conversation_id}"}, "sk": {"S": "CONVERSATION"}}


def _suppression_key(address: str) -> dict[str, Any]:
    return {"pk": {"S": f"SUPPRESS#{address.strip().lower()}"}, "sk": {"S": "SUPPRESS"}}


def _ack_rate_key(address: str, now: datetime) -> dict[str, Any]:
    return {"pk": {"S": f"ACKRATE#{address.strip().lower()}"}, "sk": {"S": _utc_hour(now)}}


def _intake_rate_key(subject: str, now: datetime) -> dict[str, Any]:
    return {"pk": {"S": f"INTAKERATE#{subject}"}, "sk": {"S": _utc_hour(now)}}


def _utc_hour(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H")


class TicketPage(NamedTuple):
    tickets: list[Ticket]
    next_key: Mapping[str, Any] | None  # where the next page starts (DynamoDB's key, as sent)


_INDEX_KEYS = {REQUESTER_INDEX: ("gsi1pk", "gsi1sk"), STATUS_INDEX: ("gsi2pk", "gsi2sk")}


def _checked_start_key(key: Mapping[str, Any], index: str, partition: tuple[str, str]) -> dict[str, Any]:
    """A page's start key as a client handed it back: only string keys of this index's partition
    (anything else could read another partition or fail inside DynamoDB)."""
    expected = {"pk", "sk", *_INDEX_KEYS[index]}
    if set(key) != expected or not all(
        isinstance(value, dict) and set(value) == {"S"} for value in key.values()
    ):
        raise ValueError("not a start key of this listing")
    if key[partition[0]]["S"] != partition[1]:
        raise ValueError("not a start key of this listing")
    return {name: {"S": str(value["S"])} for name, value in key.items()}


def _plain(model: BaseModel) -> dict[str, Any]:
    # JSON mode turns datetimes and enums into strings; None is left out to keep items lean.
    return model.model_dump(mode="json", exclude_none=True)


def _serialise(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in attributes.items()}


def _deserialise(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def ticket_item(ticket: Ticket) -> dict[str, Any]:
    created = timestamp_key(ticket.created_at)
    return {
        **_plain(ticket),
        "pk": _ticket_pk(ticket.reference),
        "sk": _TICKET_SK,
        "entity": TICKET_ENTITY,
        "gsi1pk": f"REQUESTER#{ticket.requester.key}",
        "gsi1sk": f"{created}#{ticket.reference}",
        "gsi2pk": f"STATUS#{ticket.status}",
        "gsi2sk": f"{created}#{ticket.reference}",
    }


def _message_sk(message: Message) -> str:
    return f"MESSAGE#{timestamp_key(message.created_at)}#{message.message_id}"


def _message_key(message: Message) -> dict[str, Any]:
    return {"pk": {"S": _ticket_pk(message.reference)}, "sk": {"S": _message_sk(message)}}


def message_item(message: Message) -> dict[str, Any]:
    return {
        **_plain(message),
        "pk": _ticket_pk(message.reference),
        "sk": _message_sk(message),
        "entity": MESSAGE_ENTITY,
    }


def _survey_key(reference: str, resolved_at: datetime) -> dict[str, Any]:
    return {"pk": {"S": _ticket_pk(reference)}, "sk": {"S": f"SURVEY#{timestamp_key(resolved_at)}"}}


def survey_from_image(image: Mapping[str, Any]) -> Survey | None:
    """The survey in a deserialised item or stream image, or None if the item is not one."""
    if image.get("entity") != SURVEY_ENTITY:
        return None
    return Survey.model_validate(_model_fields(image))


def message_from_image(image: Mapping[str, Any]) -> Message | None:
    """The message in a deserialised item or stream image, or None if the item is not one."""
    if image.get("entity") != MESSAGE_ENTITY:
        return None
    return Message.model_validate(_model_fields(image))


# inbound_key: on a message, the key of the idempotency item written with it (found again for a
# privacy erasure; not part of the Message).
_KEY_ATTRIBUTES = ("pk", "sk", "entity", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "inbound_key")


def _model_fields(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in attributes.items() if name not in _KEY_ATTRIBUTES}


def ticket_from_image(image: Mapping[str, Any]) -> Ticket | None:
    """The ticket in a deserialised item or stream image, or None if the item is not a ticket."""
    if image.get("entity") != TICKET_ENTITY:
        return None
    return Ticket.model_validate(_model_fields(image))


def _reason_code(reasons: Sequence[Mapping[str, Any]], index: int) -> str | None:
    return reasons[index].get("Code") if index < len(reasons) else None


def _cancellation_reasons(error: ClientError) -> list[dict[str, Any]]:
    """Why DynamoDB cancelled a transaction, item by item; any other error is raised again."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        raise error
    return list(error.response.get("CancellationReasons", []))  # type: ignore[arg-type]


def _raise_for_index_or_conflict(
    reasons: Sequence[Mapping[str, Any]],
    first_index_item: int,
    email_message_ids: Sequence[str],
    reference: str,
    error: ClientError,
) -> None:
    for offset, email_message_id in enumerate(email_message_ids):
        if _reason_code(reasons, first_index_item + offset) == "ConditionalCheckFailed":
            raise EmailIndexTakenError(email_message_id) from error
    if any(reason.get("Code") == "TransactionConflict" for reason in reasons):
        raise ConcurrentWriteError(reference) from error


class FirstResponseSample(NamedTuple):
    """How much business time a ticket waited for its first human answer: a sample the measured
    promise is a median of (hours/measured.py)."""

    reference: str
    responded_at: datetime
    business_time: timedelta
    keep_until: datetime

    def item(self) -> dict[str, Any]:
        return {
            "pk": _RESPONSE_SAMPLES_PK,
            "sk": f"{timestamp_key(self.responded_at)}#{self.reference}",
            "entity": RESPONSE_SAMPLE_ENTITY,
            "seconds": int(self.business_time.total_seconds()),
            "expires_at": int(self.keep_until.timestamp()),
        }


class TicketStore:
    """Reads and writes tickets, their messages and their index items."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    # -- creating -------------------------------------------------------------------------------

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
        """Write a new ticket, its first message, its index items and the inbound event's
        idempotency item in ONE transaction; with `quota`, its hourly count too, and with
        `sighting`, the signed request that carried the message (ReplayedRequestError if seen).

        Raises DuplicateInboundError if the inbound event was accepted before (whatever the
        quota: a repeat is answered, not refused), ReferenceTakenError if the ticket's reference
        is in use, ConversationTakenError if the conversation got another ticket meanwhile,
        QuotaExceededError if the quota's hour is full, ConcurrentWriteError if another
        transaction raced.
        """
        if first_message.kind is MessageKind.CUSTOMER and ticket.customer_wrote_at is None:
            # Messaging apps allow answers for a while after the customer's latest message.
            ticket = ticket.model_copy(update={"customer_wrote_at": first_message.created_at})
        ticket_put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table_name,
                "Item": _serialise(ticket_item(ticket)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        self._write_inbound(
            inbound,
            ticket_put,
            ReferenceTakenError(ticket.reference),
            first_message,
            email_message_ids,
            conversation,
            quota,
            sighting,
        )

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
        """Add an inbound message to the ticket in ONE transaction with its idempotency item and
        index items; with `reopen`, a resolved ticket becomes open again.

        The ticket must still have the status it was read with (`expected_status`), so a decision
        taken on it (join, reopen) is never applied to a ticket that changed meanwhile; None
        appends to a ticket that was not read, as long as it is neither resolved nor closed and,
        with `participant`, that address is one of its participants. Otherwise
        TicketChangedError, with the ticket as the write found it.
        """
        now = message.created_at
        updates = ["updated_at = :now"]
        values: dict[str, Any] = {":now": timestamp_key(now)}
        removals: list[str] = []
        if expected_status is None:
            condition = "attribute_exists(pk) AND NOT #status IN (:resolved, :closed)"
            values.update({":resolved": TicketStatus.RESOLVED.value, ":closed": TicketStatus.CLOSED.value})
            if participant is not None:
                condition += " AND contains(participants, :participant)"
                values[":participant"] = participant
        else:
            condition = "attribute_exists(pk) AND #status = :expected"
            values[":expected"] = expected_status.value
        if message.kind is MessageKind.CUSTOMER:
            # Messaging apps allow answers for a while after the customer's latest message.
            updates.append("customer_wrote_at = :now")
        if email_message_ids:
            updates.append(_APPEND_EMAIL_IDS)
            values.update({":none": [], ":mids": list(email_message_ids)})
        if reopen:
            updates += ["#status = :open", "gsi2pk = :open_key"]
            values.update({":open": TicketStatus.OPEN.value, ":open_key": f"STATUS#{TicketStatus.OPEN}"})
            removals.append("resolved_at")
        expression = "SET " + ", ".join(updates) + (" REMOVE " + ", ".join(removals) if removals else "")
        ticket_update: TransactWriteItemTypeDef = {
            "Update": {
                "TableName": self.table_name,
                "Key": _ticket_key(reference),
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": _serialise(values),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        self._write_inbound(
            inbound,
            ticket_update,
            TicketChangedError(reference),
            message,
            email_message_ids,
            sighting=sighting,
        )

    def _write_inbound(
        self,
        inbound: InboundRecord,
        ticket_write: TransactWriteItemTypeDef,
        ticket_refused: Exception,
        message: Message,
        email_message_ids: Sequence[str],
        conversation: ConversationClaim | None = None,
        quota: HourlyQuota | None = None,
        sighting: SignedRequestSighting | None = None,
    ) -> None:
        """One transaction: the inbound event's idempotency item, the ticket's write (its condition
        failing raises `ticket_refused`), the message, its Message-ID index items, for a new
        chat ticket its conversation's index item, the quota's hourly count, and the signed
        request that carried the message (ReplayedRequestError if it was seen before)."""
        items: list[TransactWriteItemTypeDef] = [
            self._inbound_put(inbound, message.reference, message.created_at),
            ticket_write,
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _serialise({**message_item(message), "inbound_key": inbound.key}),
                }
            },
        ]
        items += [self._email_index_put(mid, message.reference) for mid in email_message_ids]
        conversation_at = len(items)
        if conversation:
            items.append(self._conversation_put(conversation, message.reference))
        quota_at = len(items)
        if quota:
            key = _intake_rate_key(quota.subject, message.created_at)
            items.append(self._hourly_count(key, INTAKE_RATE_ENTITY, quota.limit, message.created_at))
        sighting_at = len(items)
        if sighting:
            items.append(self._sighting_put(sighting, message.created_at))
        # The same token for the same writes: when the SDK retries a call that had committed
        # (a timeout), DynamoDB answers success instead of failing the conditions on our own items.
        token = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()[:36]
        try:
            self._client.transact_write_items(TransactItems=items, ClientRequestToken=token)
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            if sighting and _reason_code(reasons, sighting_at) == "ConditionalCheckFailed":
                raise ReplayedRequestError(sighting.digest) from error
            if _reason_code(reasons, 0) == "ConditionalCheckFailed":
                raise self._duplicate(inbound.key, reasons[0].get("Item")) from error
            if _reason_code(reasons, 1) == "ConditionalCheckFailed":
                if isinstance(ticket_refused, TicketChangedError) and (found := reasons[1].get("Item")):
                    ticket_refused.found = ticket_from_image(_deserialise(found))
                raise ticket_refused from error
            if conversation and _reason_code(reasons, conversation_at) == "ConditionalCheckFailed":
                raise ConversationTakenError(conversation.conversation_id) from error
            if quota and _reason_code(reasons, quota_at) == "ConditionalCheckFailed":
                raise QuotaExceededError(quota.subject) from error
            _raise_for_index_or_conflict(reasons, 3, email_message_ids, message.reference, error)
            raise

    def _inbound_put(self, inbound: InboundRecord, reference: str, now: datetime) -> TransactWriteItemTypeDef:
        """The inbound event's idempotency item; the transaction fails if the event was seen."""
        item = {
            "entity": INBOUND_ENTITY,
            "reference": reference,
            "fingerprint": inbound.fingerprint,
            "created_at": timestamp_key(now),
            "expires_at": int(inbound.expires_at.timestamp()),
        }
        put = self._put_unless_live({**_inbound_key(inbound.key), **_serialise(item)}, now)
        put["Put"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"  # the reference it names
        return put

    def _put_unless_live(self, item: dict[str, Any], now: datetime) -> TransactWriteItemTypeDef:
        """Put an expiring item (its `expires_at`), failing if a live one is there already: an
        expired item that TTL has not deleted yet no longer counts."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                "ExpressionAttributeValues": {":now": {"N": str(int(now.timestamp()))}},
            }
        }

    def _hourly_count(
        self, key: dict[str, Any], entity: str, limit: int, now: datetime
    ) -> TransactWriteItemTypeDef:
        """One more in this hour's count at `key`, failing its condition once `limit` is reached;
        the item expires when the hour is long past."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": key,
                "UpdateExpression": "SET entity = :entity, expires_at = :expires ADD sent :one",
                "ConditionExpression": "attribute_not_exists(sent) OR sent < :limit",
                "ExpressionAttributeValues": _serialise(
                    {
                        ":entity": entity,
                        ":expires": int(now.timestamp()) + 2 * 3600,
                        ":one": 1,
                        ":limit": limit,
                    }
                ),
            }
        }

    def _duplicate(self, key: str, old_item: Mapping[str, Any] | None) -> DuplicateInboundError:
        if old_item is None:  # the item is returned by DynamoDB; read it where an emulator does not
            old_item = self._client.get_item(
                TableName=self.table_name, Key=_inbound_key(key), ConsistentRead=True
            ).get("Item")
        if old_item is None:  # expired and deleted between the two calls: let the caller retry
            return DuplicateInboundError("", "")
        record = _deserialise(old_item)
        return DuplicateInboundError(str(record["reference"]), str(record["fingerprint"]))

    def _thread_sent_mail(self, reference: str, email_message_id: str) -> list[TransactWriteItemTypeDef]:
        """The writes that let the customer's answer to mail we sent join the ticket: its
        Message-ID appended to the ticket's and indexed."""
        return [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _ticket_key(reference),
                    "UpdateExpression": "SET " + _APPEND_EMAIL_IDS,
                    "ExpressionAttributeValues": _serialise({":none": [], ":mids": [email_message_id]}),
                }
            },
            self._email_index_put(email_message_id, reference),
        ]

    def _email_index_put(self, email_message_id: str, reference: str) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    **_email_index_key(email_message_id),
                    **_serialise({"entity": EMAIL_INDEX_ENTITY, "reference": reference}),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    # -- acknowledgements -----------------------------------------------------------------------

    def claim_acknowledgement(
        self, reference: str, recipient: str, now: datetime, hourly_limit: int
    ) -> ClaimRefused | None:
        """Mark the ticket's acknowledgement as being sent; None when claimed, else why not.

        One transaction: the claim (the ticket exists and was never claimed), a check that the
        recipient is not on the suppression list, and the recipient's hourly count, which must
        stay under `hourly_limit`. The claim comes before the send, so a retried stream record
        never mails twice.
        """
        claim = {"state": AcknowledgementState.SENDING.value, "claimed_at": timestamp_key(now)}
        epoch = int(now.timestamp())
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _ticket_key(reference),
                    "UpdateExpression": "SET acknowledgement = :claim",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(acknowledgement)",
                    "ExpressionAttributeValues": {":claim": _serializer.serialize(claim)},
                }
            },
            {
                "ConditionCheck": {
                    "TableName": self.table_name,
                    "Key": _suppression_key(recipient),
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                    "ExpressionAttributeValues": {":now": {"N": str(epoch)}},
                }
            },
            self._hourly_count(_ack_rate_key(recipient, now), ACK_RATE_ENTITY, hourly_limit, now),
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            # ClaimRefused lists the reasons in the order of the transaction's items.
            for index, refusal in enumerate(ClaimRefused):
                if _reason_code(reasons, index) == "ConditionalCheckFailed":
                    if refusal is not ClaimRefused.ALREADY_CLAIMED:
                        self.suppress_acknowledgement(reference, refusal.value, now)
                    return refusal
            raise
        return None

    def suppress_acknowledgement(self, reference: str, reason: str, now: datetime) -> None:
        """Record that this ticket's acknowledgement is deliberately not sent, and why."""
        suppressed = {
            "state": AcknowledgementState.SUPPRESSED.value,
            "claimed_at": timestamp_key(now),
            "reason": reason,
        }
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_ticket_key(reference),
                UpdateExpression="SET acknowledgement = :suppressed",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(acknowledgement)",
                ExpressionAttributeValues={":suppressed": _serializer.serialize(suppressed)},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def suppress_address(self, address: str, reason: str, until: datetime, now: datetime) -> None:
        """Put an address on the suppression list (a bounce or complaint): no mail until `until`."""
        self._client.update_item(
            TableName=self.table_name,
            Key=_suppression_key(address),
            UpdateExpression="SET entity = :entity, reason = :reason, since = :since, expires_at = :until",
            ExpressionAttributeValues=_serialise(
                {
                    ":entity": SUPPRESSION_ENTITY,
                    ":reason": reason,
                    ":since": timestamp_key(now),
                    ":until": int(until.timestamp()),
                }
            ),
        )

    def is_suppressed(self, address: str, now: datetime) -> bool:
        item = self._client.get_item(
            TableName=self.table_name, Key=_suppression_key(address), ConsistentRead=True
        ).get("Item")
        return item is not None and int(_deserialise(item)["expires_at"]) >= int(now.timestamp())

    def release_acknowledgement(self, reference: str) -> None:
        """Undo a claim whose send certainly failed, so the retry may send."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_ticket_key(reference),
                UpdateExpression="REMOVE acknowledgement",
                ConditionExpression="acknowledgement.#state = :sending",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":sending": {"S": AcknowledgementState.SENDING.value}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def record_acknowledgement(self, message: Message, now: datetime) -> None:
        """Record a sent acknowledgement: its state, its message, and for email its Message-ID
        (for threading)."""
        updates = ["acknowledgement.#state = :sent", "acknowledgement.sent_at = :now"]
        values: dict[str, Any] = {
            ":sent": AcknowledgementState.SENT.value,
            ":sending": AcknowledgementState.SENDING.value,
            ":now": timestamp_key(now),
        }
        if message.email_message_id:
            updates += [
                "acknowledgement.email_message_id = :mid",
                _APPEND_EMAIL_IDS,
            ]
            values.update(
                {":mid": message.email_message_id, ":mids": [message.email_message_id], ":none": []}
            )
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _ticket_key(message.reference),
                    "UpdateExpression": "SET " + ", ".join(updates),
                    "ConditionExpression": "acknowledgement.#state = :sending",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": _serialise(values),
                }
            },
            {"Put": {"TableName": self.table_name, "Item": _serialise(message_item(message))}},
        ]
        if message.email_message_id:
            items.append(self._email_index_put(message.email_message_id, message.reference))
        self._client.transact_write_items(TransactItems=items)

    def fail_acknowledgement(self, reference: str, reason: str, now: datetime) -> None:
        """Record that the acknowledgement can never be sent (e.g. the address was rejected)."""
        self._client.update_item(
            TableName=self.table_name,
            Key=_ticket_key(reference),
            UpdateExpression="SET acknowledgement.#state = :failed, acknowledgement.failure = :reason",
            ConditionExpression="acknowledgement.#state = :sending",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues=_serialise(
                {
                    ":failed": AcknowledgementState.FAILED.value,
                    ":sending": AcknowledgementState.SENDING.value,
                    ":reason": reason,
                }
            ),
        )

    def _conversation_put(self, claim: ConversationClaim, reference: str) -> TransactWriteItemTypeDef:
        """The conversation's index item now names `reference`, if it still names what was read."""
        put: TransactWriteItemTypeDef = {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    **_conversation_key(claim.conversation_id),
                    **_serialise({"entity": CONVERSATION_ENTITY, "reference": reference}),
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        if claim.previous:
            put["Put"]["ConditionExpression"] = "#reference = :previous"  # a reserved word
            put["Put"]["ExpressionAttributeNames"] = {"#reference": "reference"}
            put["Put"]["ExpressionAttributeValues"] = _serialise({":previous": claim.previous})
        return put

    def _sighting_put(self, sighting: SignedRequestSighting, now: datetime) -> TransactWriteItemTypeDef:
        item = {"entity": REPLAY_ENTITY, "expires_at": int(sighting.until.timestamp())}
        return self._put_unless_live({**_replay_key(sighting.digest), **_serialise(item)}, now)

    def remember_signed_request(self, sighting: SignedRequestSighting, now: datetime) -> bool:
        """Remember a signed request that stored nothing (an event Frontdesk ignores, messages
        stored before); False when it was remembered before (this is a replay). Written after the
        handling, so a request whose handling failed (the platform got a 5xx and sends it again)
        is never refused as a replay."""
        try:
            self._client.put_item(**self._sighting_put(sighting, now)["Put"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- reading --------------------------------------------------------------------------------

    def find_conversation(self, conversation_id: str) -> str | None:
        """The reference of a chat conversation's current ticket (open or not), if it has one."""
        item = self._client.get_item(
            TableName=self.table_name, Key=_conversation_key(conversation_id), ConsistentRead=True
        ).get("Item")
        return str(item["reference"]["S"]) if item else None

    def get_ticket(self, reference: str) -> Ticket | None:
        item = self._client.get_item(
            TableName=self.table_name, Key=_ticket_key(reference), ConsistentRead=True
        ).get("Item")
        return ticket_from_image(_deserialise(item)) if item else None

    def get_ticket_with_messages(self, reference: str) -> tuple[Ticket, list[Message]] | None:
        """The ticket and its messages, oldest first, from one Query on its partition."""
        ticket: Ticket | None = None
        messages: list[Message] = []
        for item in self._query({"pk": _ticket_pk(reference)}, index=None, ascending=True):
            if item.get("entity") == TICKET_ENTITY:
                ticket = ticket_from_image(item)
            elif item.get("entity") == MESSAGE_ENTITY:
                messages.append(Message.model_validate(_model_fields(item)))
        return (ticket, messages) if ticket else None

    def find_reference_by_email_message_id(self, email_message_id: str) -> str | None:
        item = self._client.get_item(TableName=self.table_name, Key=_email_index_key(email_message_id)).get(
            "Item"
        )
        return str(_deserialise(item)["reference"]) if item else None

    def find_references_by_email_message_ids(self, email_message_ids: Sequence[str]) -> dict[str, str]:
        """Message-ID -> ticket reference for those of `email_message_ids` that are indexed (one call
        for up to 100 ids)."""
        wanted = list(dict.fromkeys(email_message_ids))[:100]
        if not wanted:
            return {}
        found: dict[str, str] = {}
        request: dict[str, Any] = {
            self.table_name: {"Keys": [_email_index_key(mid) for mid in wanted], "ConsistentRead": True}
        }
        for _ in range(5):  # unprocessed keys come back under throttling; ask again for them
            response = self._client.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self.table_name, []):
                record = _deserialise(item)
                found[str(record["pk"]).removeprefix("EMAIL#")] = str(record["reference"])
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
        return found

    def update_ticket(
        self,
        ticket: Ticket,
        now: datetime,
        *,
        status: TicketStatus | None = None,
        priority: Priority | None = None,
        assignee: str | None = None,
        unassign: bool = False,
        tags: Sequence[str] | None = None,
    ) -> Ticket:
        """An agent's change to `ticket`, applied only if its status is still the one read
        (TicketChangedError otherwise: someone else moved it meanwhile)."""
        sets = ["updated_at = :now"]
        removals: list[str] = []
        values: dict[str, Any] = {":now": timestamp_key(now), ":expected": ticket.status.value}
        if status is not None and status is not ticket.status:
            sets += ["#status = :status", "gsi2pk = :key"]
            values.update({":status": status.value, ":key": f"STATUS#{status}"})
            if status is TicketStatus.RESOLVED:
                sets.append("resolved_at = :now")
            elif status is not TicketStatus.CLOSED:
                removals.append("resolved_at")
        if priority is not None:
            sets.append("priority = :priority")
            values[":priority"] = priority.value
        if assignee is not None:
            sets.append("assignee = :assignee")
            values[":assignee"] = assignee
        elif unassign:
            removals.append("assignee")
        if tags is not None:
            sets.append("tags = :tags")
            values[":tags"] = list(tags)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removals) if removals else "")
        try:
            response = self._client.update_item(
                TableName=self.table_name,
                Key=_ticket_key(ticket.reference),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND #status = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_serialise(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise TicketChangedError(ticket.reference) from error
            raise
        updated = ticket_from_image(_deserialise(response["Attributes"]))
        assert updated is not None
        return updated

    def page_of_tickets(
        self,
        *,
        status: TicketStatus | None,
        requester_key: str | None = None,
        channel: str | None = None,
        queue: str | None = None,
        limit: int = 50,
        start_key: Mapping[str, Any] | None = None,
    ) -> TicketPage:
        """One page of tickets from an index, never a scan: a requester's (newest first) when
        `requester_key` is given, else one status's (oldest first, the order a queue is worked
        in). Other conditions filter the page; a page may then hold fewer than `limit`."""
        if requester_key:
            index, partition, ascending = REQUESTER_INDEX, ("gsi1pk", f"REQUESTER#{requester_key}"), False
        elif status is not None:
            index, partition, ascending = STATUS_INDEX, ("gsi2pk", f"STATUS#{status}"), True
        else:
            raise ValueError("give a status or a requester")
        names = {"#p": partition[0]}
        values: dict[str, Any] = {":p": partition[1]}
        filters = []
        for attribute, value in (
            ("status", status if requester_key else None),
            ("channel", channel),
            ("queue", queue),
        ):
            if value is not None:
                names[f"#{attribute}"] = attribute
                values[f":{attribute}"] = str(value)
                filters.append(f"#{attribute} = :{attribute}")
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": _serialise(values),
            "ScanIndexForward": ascending,
            "Limit": limit,
        }
        if filters:
            arguments["FilterExpression"] = " AND ".join(filters)
        if start_key is not None:
            arguments["ExclusiveStartKey"] = _checked_start_key(start_key, index, partition)
        page = self._client.query(**arguments)
        tickets = [
            ticket for item in page.get("Items", []) if (ticket := ticket_from_image(_deserialise(item)))
        ]
        return TicketPage(tickets, page.get("LastEvaluatedKey"))

    # -- agents' messages -------------------------------------------------------------------------

    def add_agent_message(
        self,
        ticket: Ticket,
        message: Message,
        now: datetime,
        first_response: FirstResponseSample | None = None,
    ) -> None:
        """Store an agent's reply or note with the ticket's update in ONE transaction: a public
        reply makes a new ticket open, stamps the first response once and counts the reply (for
        first-contact resolution). With `first_response` (the ticket had no first response when
        read), the measured promise's sample is written in the same transaction, once: a reply
        that lost a race to be the first one is refused. TicketChangedError when the ticket's
        status (or its first response) moved since it was read."""
        sets = ["updated_at = :now"]
        adds: list[str] = []
        values: dict[str, Any] = {":now": timestamp_key(now), ":expected": ticket.status.value}
        if message.kind is MessageKind.AGENT_REPLY:
            sets.append("first_responded_at = if_not_exists(first_responded_at, :now)")
            # ADD starts a missing counter at 0: tickets stored before the counter existed.
            adds.append("public_replies :one")
            values[":one"] = 1
            if ticket.status is TicketStatus.NEW:
                sets += ["#status = :open", "gsi2pk = :open_key"]
                values.update({":open": TicketStatus.OPEN.value, ":open_key": f"STATUS#{TicketStatus.OPEN}"})
        expression = "SET " + ", ".join(sets) + (" ADD " + ", ".join(adds) if adds else "")
        condition = "attribute_exists(pk) AND #status = :expected"
        if first_response is not None:
            condition += " AND attribute_not_exists(first_responded_at)"
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _ticket_key(ticket.reference),
                    "UpdateExpression": expression,
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": _serialise(values),
                }
            },
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": _serialise(message_item(message)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
        if first_response is not None:
            items.append({"Put": {"TableName": self.table_name, "Item": _serialise(first_response.item())}})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            if _reason_code(reasons, 0) == "ConditionalCheckFailed":
                raise TicketChangedError(ticket.reference) from error
            raise

    def claim_delivery(self, message: Message) -> bool:
        """Mark a pending reply as being sent; False when another run has it or it went out."""
        return self._set_delivery(message, DeliveryState.SENDING, expected=DeliveryState.PENDING)

    def release_delivery(self, message: Message) -> None:
        """Undo a claim whose send certainly failed, so the retry may send."""
        self._set_delivery(message, DeliveryState.PENDING, expected=DeliveryState.SENDING)

    def finish_delivery(self, message: Message, now: datetime, *, failure: str | None = None) -> None:
        """Record a reply as sent (with its Message-ID indexed for threading) or as failed."""
        if failure is not None:
            self._set_delivery(message, DeliveryState.FAILED, expected=DeliveryState.SENDING, failure=failure)
            return
        values: dict[str, Any] = {
            ":sent": DeliveryState.SENT.value,
            ":sending": DeliveryState.SENDING.value,
            ":now": timestamp_key(now),
        }
        sets = ["delivery = :sent", "sent_at = :now"]
        if message.email_message_id:
            sets.append("email_message_id = :mid")
            values[":mid"] = message.email_message_id
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _message_key(message),
                    "UpdateExpression": "SET " + ", ".join(sets),
                    "ConditionExpression": "delivery = :sending",
                    "ExpressionAttributeValues": _serialise(values),
                }
            }
        ]
        if message.email_message_id:
            items += self._thread_sent_mail(message.reference, message.email_message_id)
        self._client.transact_write_items(TransactItems=items)

    def _set_delivery(
        self, message: Message, state: DeliveryState, *, expected: DeliveryState, failure: str | None = None
    ) -> bool:
        return self._move_state(
            _message_key(message), "delivery", state, expected, "delivery_failure", failure
        )

    def _move_state(
        self,
        key: dict[str, Any],
        attribute: str,
        state: StrEnum,
        expected: StrEnum,
        why_attribute: str,
        why: str | None,
    ) -> bool:
        """Move an item's `attribute` from `expected` to `state` (noting `why` when given); False
        when it is not (or no longer) in `expected`."""
        values: dict[str, Any] = {":state": state.value, ":expected": expected.value}
        expression = "SET #state = :state"
        if why is not None:
            expression += ", #why = :why"
            values[":why"] = why[:200]
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression="#state = :expected",
                ExpressionAttributeNames={
                    "#state": attribute,
                    **({"#why": why_attribute} if why is not None else {}),
                },
                ExpressionAttributeValues=_serialise(values),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- satisfaction surveys ---------------------------------------------------------------------

    def schedule_survey(self, survey: Survey) -> Survey:
        """Note the survey of a resolution unless it exists: the survey as stored (the earlier one
        when this resolution's record is handled again)."""
        key = _survey_key(survey.reference, survey.resolved_at)
        item = {**_plain(survey), "entity": SURVEY_ENTITY}
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item={**key, **_serialise(item)},
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            old = cast("dict[str, Any] | None", error.response.get("Item"))
            stored = (
                survey_from_image(_deserialise(old))
                if old
                else self.get_survey(survey.reference, survey.resolved_at)
            )
            return stored or survey
        return survey

    def get_survey_and_ticket(
        self, reference: str, resolved_at: datetime
    ) -> tuple[Survey | None, Ticket | None]:
        """A survey and its ticket, in one read."""
        survey = ticket = None
        for item in self._batch_get(
            [_survey_key(reference, resolved_at), _ticket_key(reference)], whole=True
        ):
            image = _deserialise(item)
            survey = survey or survey_from_image(image)
            ticket = ticket or ticket_from_image(image)
        return survey, ticket

    def get_survey(self, reference: str, resolved_at: datetime) -> Survey | None:
        item = self._client.get_item(
            TableName=self.table_name, Key=_survey_key(reference, resolved_at), ConsistentRead=True
        ).get("Item")
        return survey_from_image(_deserialise(item)) if item else None

    def move_survey(
        self,
        reference: str,
        resolved_at: datetime,
        state: SurveyState,
        *,
        expected: SurveyState,
        reason: str | None = None,
    ) -> bool:
        """Move a survey on from `expected`; False when it is not (or no longer) there."""
        return self._move_state(
            _survey_key(reference, resolved_at), "state", state, expected, "reason", reason
        )

    def finish_survey(self, survey: Survey, now: datetime, email_message_id: str | None) -> None:
        """Record a survey as sent; its email's Message-ID is indexed so an answer by mail threads."""
        values: dict[str, Any] = {
            ":sent": SurveyState.SENT.value,
            ":sending": SurveyState.SENDING.value,
            ":now": timestamp_key(now),
        }
        sets = ["#state = :sent", "sent_at = :now"]
        if email_message_id:
            sets.append("email_message_id = :mid")
            values[":mid"] = email_message_id
        items: list[TransactWriteItemTypeDef] = [
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _survey_key(survey.reference, survey.resolved_at),
                    "UpdateExpression": "SET " + ", ".join(sets),
                    "ConditionExpression": "#state = :sending",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": _serialise(values),
                }
            }
        ]
        if email_message_id:
            items += self._thread_sent_mail(survey.reference, email_message_id)
        self._client.transact_write_items(TransactItems=items)

    def answer_survey(
        self,
        reference: str,
        resolved_at: datetime,
        answer: SurveyAnswer,
        comment: str | None,
        *,
        add_tag: str | None = None,
        reopen: bool = False,
    ) -> None:
        """Record the customer's answer to the survey of the resolution at `resolved_at` once, with
        its copy on the ticket (for reports) and the follow-up a low score calls for, in ONE
        transaction, without reading either first. SurveyAnsweredError when the survey was
        answered before, SurveyNotOpenError when it is not there or was never sent (both told
        apart by the survey as the refused write found it); TicketChangedError when `reopen`
        finds the ticket no longer resolved (ask again without reopening)."""
        survey_values: dict[str, Any] = {
            ":answered": SurveyState.ANSWERED.value,
            ":sent": SurveyState.SENT.value,
            ":at": timestamp_key(answer.answered_at),
            ":csat": answer.csat,
        }
        survey_sets = ["#state = :answered", "answered_at = :at", "csat = :csat"]
        if answer.nps is not None:
            survey_sets.append("nps = :nps")
            survey_values[":nps"] = answer.nps
        if comment:
            survey_sets.append("#comment = :comment")
            survey_values[":comment"] = comment
        ticket_sets = ["survey = :survey"]
        ticket_values: dict[str, Any] = {":survey": _plain(answer)}
        ticket_names: dict[str, str] = {}
        condition = "attribute_exists(pk)"
        if add_tag:
            ticket_sets.append("tags = list_append(if_not_exists(tags, :none), :tag)")
            ticket_values.update({":none": [], ":tag": [add_tag]})
        if reopen:
            ticket_sets += ["#status = :open", "gsi2pk = :key", "updated_at = :at"]
            ticket_names["#status"] = "status"
            ticket_values.update(
                {
                    ":open": TicketStatus.OPEN.value,
                    ":key": f"STATUS#{TicketStatus.OPEN}",
                    ":resolved": TicketStatus.RESOLVED.value,
                    ":at": timestamp_key(answer.answered_at),
                }
            )
            condition += " AND #status = :resolved"
        ticket_update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": _ticket_key(reference),
            "UpdateExpression": "SET " + ", ".join(ticket_sets) + (" REMOVE resolved_at" if reopen else ""),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": _serialise(ticket_values),
        }
        if ticket_names:
            ticket_update["ExpressionAttributeNames"] = ticket_names
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": _survey_key(reference, resolved_at),
                            "UpdateExpression": "SET " + ", ".join(survey_sets),
                            "ConditionExpression": "#state = :sent",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            "ExpressionAttributeNames": {"#state": "state", "#comment": "comment"}
                            if comment
                            else {"#state": "state"},
                            "ExpressionAttributeValues": _serialise(survey_values),
                        }
                    },
                    {"Update": ticket_update},  # type: ignore[typeddict-item]
                ]
            )
        except ClientError as error:
            reasons = _cancellation_reasons(error)
            if _reason_code(reasons, 0) == "ConditionalCheckFailed":
                found = reasons[0].get("Item") or {}
                if found.get("state", {}).get("S") == SurveyState.ANSWERED.value:
                    raise SurveyAnsweredError(reference) from error
                raise SurveyNotOpenError(reference) from error
            if _reason_code(reasons, 1) == "ConditionalCheckFailed":
                raise TicketChangedError(reference) from error
            raise

    # -- measured response times ---------------------------------------------------------------

    def first_response_samples(self, since: datetime, until: datetime) -> list[timedelta]:
        """The business times to a first answer of the tickets answered in [since, until)."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :since AND :until",
            "ExpressionAttributeValues": _serialise(
                {":pk": _RESPONSE_SAMPLES_PK, ":since": timestamp_key(since), ":until": timestamp_key(until)}
            ),
            "ProjectionExpression": "#seconds",
            "ExpressionAttributeNames": {"#seconds": "seconds"},
        }
        samples: list[timedelta] = []
        while True:
            page = self._client.query(**arguments)
            samples += [timedelta(seconds=int(item["seconds"]["N"])) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return samples
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _query(
        self, key: Mapping[str, str], index: str | None, ascending: bool, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        ((name, value),) = key.items()
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": name},
            "ExpressionAttributeValues": {":v": {"S": value}},
            "ScanIndexForward": ascending,
        }
        if index:
            arguments["IndexName"] = index
        returned = 0
        while True:
            page = self._client.query(**arguments)
            for item in page.get("Items", []):
                yield _deserialise(item)
                returned += 1
                if limit is not None and returned >= limit:
                    return
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- reports --------------------------------------------------------------------------------

    def tickets_created_between(self, since: datetime, until: datetime) -> Iterator[Ticket]:
        """The tickets created in [since, until), whatever their status now, each status's oldest
        first: one paginated Query per partition of the status index (infra/template.yaml projects
        ALL attributes into it, so no GetItem per ticket), never a scan.

        The index is eventually consistent and is read one status at a time: a ticket changing
        status during the reading is reported once (the first copy read), or, rarely, missed when
        it moves back into a status already read (a reopening). Fine for reports, not for audits.
        """
        if since >= until:
            return
        # gsi2sk is "<created_at>#<reference>": a ticket created exactly at `until` sorts after the
        # bare timestamp, one created at `since` after it too, so BETWEEN is the half-open range.
        bounds = {":since": timestamp_key(since), ":until": timestamp_key(until)}
        seen: set[str] = set()
        for status in TicketStatus:
            arguments: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": STATUS_INDEX,
                "KeyConditionExpression": "gsi2pk = :p AND gsi2sk BETWEEN :since AND :until",
                "ExpressionAttributeValues": _serialise({":p": f"STATUS#{status}", **bounds}),
            }
            while True:
                page = self._client.query(**arguments)
                for item in page.get("Items", []):
                    ticket = ticket_from_image(_deserialise(item))
                    if ticket is not None and ticket.reference not in seen:
                        seen.add(ticket.reference)
                        yield ticket
                if "LastEvaluatedKey" not in page:
                    break
                arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # -- privacy requests (export, erasure) -------------------------------------------------------

    def references_of_requester(self, requester_key: str) -> list[str]:
        """Every ticket reference of a requester, from the requester index (all pages, newest
        first). The index is eventually consistent: a ticket created a moment ago may be missing."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": REQUESTER_INDEX,
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"REQUESTER#{requester_key}"}},
            "ProjectionExpression": "#reference",
            "ExpressionAttributeNames": {"#reference": "reference"},
            "ScanIndexForward": False,
        }
        references: list[str] = []
        while True:
            page = self._client.query(**arguments)
            references += [
                str(item["reference"]["S"]) for item in page.get("Items", []) if "reference" in item
            ]
            if "LastEvaluatedKey" not in page:
                return list(dict.fromkeys(references))
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def ticket_records(self, reference: str) -> TicketRecords | None:
        """Everything the table holds about one ticket: one Query of its partition (the ticket,
        its messages and surveys), then one BatchGetItem of the items pointing at it (its
        Message-IDs' index items, its conversation's item, its messages' idempotency items, its
        first-response sample), keeping only those that still point at it."""
        ticket: Ticket | None = None
        messages: list[Message] = []
        surveys: list[Survey] = []
        partition: list[StoredItem] = []
        inbound_keys: list[str] = []
        for item in self._query_consistent(_ticket_pk(reference)):
            entity = str(item.get("entity", ""))
            stored = StoredItem(entity, _typed_key(item), f"{item['pk']} {item['sk']}")
            if entity == TICKET_ENTITY:
                ticket = ticket_from_image(item)
                continue  # the ticket item goes last: it is how an interrupted erasure is resumed
            partition.append(stored)
            if entity == MESSAGE_ENTITY:
                messages.append(Message.model_validate(_model_fields(item)))
                if item.get("inbound_key"):
                    inbound_keys.append(str(item["inbound_key"]))
            elif entity == SURVEY_ENTITY:
                surveys.append(Survey.model_validate(_model_fields(item)))
        if ticket is None:
            return None
        ticket_item_key = StoredItem(
            TICKET_ENTITY, _ticket_key(reference), f"{_ticket_pk(reference)} {_TICKET_SK}"
        )
        pointers = self._pointers_to(reference, ticket, messages, surveys, inbound_keys)
        return TicketRecords(ticket, messages, surveys, [*pointers, *partition, ticket_item_key])

    def _pointers_to(
        self,
        reference: str,
        ticket: Ticket,
        messages: Sequence[Message],
        surveys: Sequence[Survey],
        inbound_keys: Sequence[str],
    ) -> list[StoredItem]:
        email_ids = [
            *ticket.email_message_ids,
            ticket.acknowledgement.email_message_id if ticket.acknowledgement else None,
            *(message.email_message_id for message in messages),
            *(survey.email_message_id for survey in surveys),
        ]
        candidates: dict[tuple[str, str], str] = {}  # (pk, sk) -> entity
        for mid in email_ids:
            if mid:
                key = _email_index_key(mid)
                candidates[(key["pk"]["S"], key["sk"]["S"])] = EMAIL_INDEX_ENTITY
        if ticket.conversation_id:
            key = _conversation_key(ticket.conversation_id)
            candidates[(key["pk"]["S"], key["sk"]["S"])] = CONVERSATION_ENTITY
        for inbound_key in inbound_keys:
            key = _inbound_key(inbound_key)
            candidates[(key["pk"]["S"], key["sk"]["S"])] = INBOUND_ENTITY
        if ticket.first_responded_at is not None:
            # The sample's key carries the reference: it is this ticket's alone.
            candidates[(_RESPONSE_SAMPLES_PK, f"{timestamp_key(ticket.first_responded_at)}#{reference}")] = (
                RESPONSE_SAMPLE_ENTITY
            )
        found: list[StoredItem] = []
        keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in candidates]
        for start in range(0, len(keys), 100):
            for item in self._batch_get(keys[start : start + 100]):
                pk, sk = str(item["pk"]["S"]), str(item["sk"]["S"])
                entity = candidates[(pk, sk)]
                owner = item.get("reference", {}).get("S")
                if entity == RESPONSE_SAMPLE_ENTITY or owner == reference:
                    found.append(
                        StoredItem(
                            entity,
                            {"pk": {"S": pk}, "sk": {"S": sk}},
                            f"{pk} {sk}",
                            owner=None if entity == RESPONSE_SAMPLE_ENTITY else reference,
                        )
                    )
        return found

    def _batch_get(self, keys: list[dict[str, Any]], *, whole: bool = False) -> Iterator[dict[str, Any]]:
        """The items at `keys` that exist (strongly consistent): their keys and reference, or
        `whole`."""
        wanted: dict[str, Any] = {"Keys": keys, "ConsistentRead": True}
        if not whole:
            wanted.update(
                ProjectionExpression="pk, sk, #reference",
                ExpressionAttributeNames={"#reference": "reference"},
            )
        request: dict[str, Any] = {self.table_name: wanted}
        for _ in range(8):  # unprocessed keys come back under throttling; ask again for them
            if not keys:
                return
            response = self._client.batch_get_item(RequestItems=request)
            yield from response.get("Responses", {}).get(self.table_name, [])
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return
        raise RuntimeError("DynamoDB kept some keys unprocessed")

    def address_records(self, address: str) -> list[StoredItem]:
        """The items keyed by an email address itself: its suppression entry and its hourly
        acknowledgement counts (both expire by TTL; found here so an erasure need not wait)."""
        suppression = _suppression_key(address)
        items = [
            StoredItem(ACK_RATE_ENTITY, _typed_key(item), f"{item['pk']} {item['sk']}")
            for item in self._query_consistent(str(_ack_rate_key(address, datetime.now(UTC))["pk"]["S"]))
        ]
        if self._client.get_item(TableName=self.table_name, Key=suppression, ConsistentRead=True).get("Item"):
            label = f"{suppression['pk']['S']} {suppression['sk']['S']}"
            items.append(StoredItem(SUPPRESSION_ENTITY, suppression, label))
        return items

    def _query_consistent(self, pk: str) -> Iterator[dict[str, Any]]:
        """A whole partition, read consistently, deserialised."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**arguments)
            for item in page.get("Items", []):
                yield _deserialise(item)
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_items(self, items: Sequence[StoredItem]) -> int:
        """Delete what ticket_records or address_records found, in their order: items that point
        at a ticket only while they still do (one conditional DeleteItem each: a Message-ID or a
        conversation may belong to another ticket by now), the rest in BatchWriteItem calls, and a
        ticket item last on its own, once everything found through it is gone. Returns how many
        items were deleted; items already gone are not counted, so a second run deletes nothing."""
        deleted = 0
        batch: list[StoredItem] = []
        for item in items:
            if item.owner is not None:
                deleted += self._delete_pointer(item)
            elif item.entity == TICKET_ENTITY:
                deleted += self._delete_batch(batch)
                batch = []
                response = self._client.delete_item(
                    TableName=self.table_name, Key=dict(item.key), ReturnValues="ALL_OLD"
                )
                deleted += 1 if response.get("Attributes") else 0
            else:
                batch.append(item)
        return deleted + self._delete_batch(batch)

    def _delete_pointer(self, item: StoredItem) -> int:
        try:
            self._client.delete_item(
                TableName=self.table_name,
                Key=dict(item.key),
                ConditionExpression="#reference = :owner",
                ExpressionAttributeNames={"#reference": "reference"},
                ExpressionAttributeValues={":owner": {"S": str(item.owner)}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return 0  # gone already, or pointing at another ticket now
            raise
        return 1

    def _delete_batch(self, items: Sequence[StoredItem]) -> int:
        """BatchWriteItem deletes, 25 at a time, retrying what DynamoDB left unprocessed. The items
        were read a moment ago; BatchWriteItem does not say which existed, so all are counted."""
        for start in range(0, len(items), 25):
            request: dict[str, Any] = {
                self.table_name: [
                    {"DeleteRequest": {"Key": dict(item.key)}} for item in items[start : start + 25]
                ]
            }
            for _ in range(8):
                response = self._client.batch_write_item(RequestItems=request)
                request = dict(response.get("UnprocessedItems") or {})
                if not request:
                    break
            else:
                raise RuntimeError("DynamoDB kept some deletes unprocessed")
        return len(items)


class StoredItem(NamedTuple):
    """One item of the table found for a privacy request: what it is and its key (opaque outside
    this module: it is handed back to TicketStore.delete_items). `owner`: the ticket an index
    item must still point at to be deleted; None for items that are the ticket's by their key."""

    entity: str
    key: Mapping[str, Any]
    label: str  # "<pk> <sk>", for listing what an erasure would delete
    owner: str | None = None


class TicketRecords(NamedTuple):
    """Everything the table holds about one ticket: its contents, and its items in the order an
    erasure deletes them (items pointing at it first, the ticket item last)."""

    ticket: Ticket
    messages: list[Message]
    surveys: list[Survey]
    items: list[StoredItem]

    @property
    def contents(self) -> list[StoredItem]:
        """Every item but the ticket's own."""
        return [item for item in self.items if item.entity != TICKET_ENTITY]

    @property
    def ticket_item(self) -> list[StoredItem]:
        return [item for item in self.items if item.entity == TICKET_ENTITY]


def _typed_key(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"pk": {"S": str(item["pk"])}, "sk": {"S": str(item["sk"])}}
