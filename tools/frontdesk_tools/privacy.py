"""`frontdesk privacy export|erase EMAIL`: a requester's data, found without a scan (ops tooling:
it never ships to Lambda, and runs with the operator's own credentials).

What belongs to a requester is found from the address alone:

- their tickets, from the requester index (one Query, `email:<address>` as the agent API lists);
- for each ticket, one Query of its partition (the ticket, its messages, its surveys) and one
  BatchGetItem of the items pointing at it (Message-ID index items, its chat conversation's item,
  the idempotency items of its inbound messages, its first-response sample);
- the items keyed by the address itself (its suppression entry, its hourly acknowledgement counts);
- in the mail bucket, the ticket's files (`tickets/<reference>/`) and the raw mail its messages
  came in (each message's `raw_mail_key`), every version of them in a versioned bucket.

An erasure deletes in an order that can be resumed: files first (they are found through the
messages), then the items pointing at a ticket, then its messages and surveys, the ticket item
last. Run again, it finds only what is left; run on nothing, it deletes nothing.

Nothing here logs: what is printed goes to the operator's terminal (stdout), and errors never
carry the address.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from frontdesk.mail.storage import MailBucket, StoredObject
from frontdesk.tickets.model import Requester
from frontdesk.tickets.store import StoredItem, TicketRecords, TicketStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

# The variables the template sets for the functions: the command reads the same ones.
TABLE_VARIABLE = "TICKETS_TABLE_NAME"
BUCKET_VARIABLE = "MAIL_BUCKET_NAME"
RAW_MAIL_PREFIX = "inbound/"  # the receipt rule's ObjectKeyPrefix (raw keys are read from messages)


def _dynamodb_client(endpoint_url: str | None, region: str | None) -> DynamoDBClient:
    return boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)


def _s3_client(endpoint_url: str | None, region: str | None) -> S3Client:
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region)


@dataclass
class RequesterData:
    """What the table and the bucket hold about one address."""

    address: str
    versions: bool = False  # the bucket keeps versions
    tickets: list[TicketRecords] = field(default_factory=list)
    address_items: list[StoredItem] = field(default_factory=list)
    objects: dict[str, list[StoredObject]] = field(default_factory=dict)  # by ticket reference

    @property
    def items(self) -> list[StoredItem]:
        return [item for records in self.tickets for item in records.items] + self.address_items

    @property
    def all_objects(self) -> list[StoredObject]:
        return [stored for objects in self.objects.values() for stored in objects]


def normalised(address: str) -> str:
    """The address as tickets are listed by it (Requester.key without its `email:`)."""
    address = address.strip().lower()
    if "@" not in address or any(character.isspace() for character in address):
        raise ValueError("not an email address")
    return address


def collect(address: str, store: TicketStore, bucket: MailBucket) -> RequesterData:
    versions = bucket.versioned()
    data = RequesterData(address, versions)
    for reference in store.references_of_requester(Requester(email=address).key):
        records = store.ticket_records(reference)
        if records is None:  # erased meanwhile, or the index is behind
            continue
        data.tickets.append(records)
        raw_keys = [message.raw_mail_key for message in records.messages if message.raw_mail_key]
        data.objects[reference] = bucket.objects_of_ticket(reference, raw_keys, versions=versions)
    data.address_items = store.address_records(address)
    return data


def export_document(data: RequesterData, now: datetime) -> dict[str, Any]:
    """The export: every ticket, message and survey as stored, the address's own records, and
    the bucket's objects (keys and sizes)."""
    return {
        "requester": data.address,
        "exported_at": now.astimezone(UTC).isoformat(),
        "tickets": [records.ticket.model_dump(mode="json") for records in data.tickets],
        "messages": [
            message.model_dump(mode="json") for records in data.tickets for message in records.messages
        ],
        "surveys": [survey.model_dump(mode="json") for records in data.tickets for survey in records.surveys],
        "address_records": [{"kind": item.entity, "key": item.label} for item in data.address_items],
        "files": [
            {
                "ticket": reference,
                "key": stored.key,
                "size": stored.size,
                **({"version_id": stored.version_id} if stored.version_id else {}),
            }
            for reference, objects in data.objects.items()
            for stored in objects
        ],
    }


def download(data: RequesterData, bucket: MailBucket, directory: Path) -> int:
    """Each object into `directory`, under its key (versions get `.<version id>`)."""
    root = directory.resolve()
    written = 0
    for stored in data.all_objects:
        name = stored.key + (f".{stored.version_id}" if stored.version_id else "")
        target = (root / name).resolve()
        if not target.is_relative_to(root):  # keys come from senders' file names: stay inside
            raise ValueError(f"object key leaves the directory: {stored.key!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bucket.download(stored))
        written += 1
    return written


@dataclass(frozen=True)
class Erased:
    tickets: int
    items: int
    objects: int


def erase(data: RequesterData, store: TicketStore, bucket: MailBucket) -> Erased:
    """Delete what `collect` found, ticket by ticket, then the address's own records."""
    items = objects = 0
    for records in data.tickets:
        deleted_items, deleted_objects = _erase_ticket(records, data, store, bucket)
        items, objects = items + deleted_items, objects + deleted_objects
    items += store.delete_items(data.address_items)
    return Erased(len(data.tickets), items, objects)


_ROUNDS = 3


def _erase_ticket(
    records: TicketRecords, data: RequesterData, store: TicketStore, bucket: MailBucket
) -> tuple[int, int]:
    """The files first (they are found through the messages), then the items pointing at the
    ticket and its partition's, then, once a fresh read finds nothing else (a reply may have
    arrived meanwhile: it is erased in the next round), the ticket item: nothing can be added to
    a ticket that is gone, and until it is gone a new run finds whatever is left."""
    reference = records.ticket.reference
    objects_found = data.objects.get(reference, [])
    items = objects = 0
    for _ in range(_ROUNDS):
        objects += bucket.delete(objects_found)
        items += store.delete_items(records.contents)
        again = store.ticket_records(reference)
        if again is None:
            return items, objects
        if not again.contents:
            return items + store.delete_items(again.ticket_item), objects
        records = again
        raw_keys = [message.raw_mail_key for message in records.messages if message.raw_mail_key]
        objects_found = bucket.objects_of_ticket(reference, raw_keys, versions=data.versions)
    raise RuntimeError(f"{reference} kept changing during the erasure; run it again")


def _counts(data: RequesterData) -> str:
    messages = sum(len(records.messages) for records in data.tickets)
    surveys = sum(len(records.surveys) for records in data.tickets)
    size = sum(stored.size for stored in data.all_objects)
    return (
        f"{len(data.tickets)} tickets, {messages} messages, {surveys} surveys, {len(data.items)} table"
        f" items in all, {len(data.all_objects)} objects in the mail bucket ({size} bytes)"
    )


def _confirmed(address: str, summary: str, ask: Callable[[str], str]) -> bool:
    print(f"About to erase, for good, what Frontdesk holds about {address}: {summary}.")
    try:
        answer = ask("Type the address again to confirm: ")
    except EOFError:
        return False
    return answer.strip().lower() == address


def run(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    table = arguments.table or os.environ.get(TABLE_VARIABLE)
    bucket_name = arguments.bucket or os.environ.get(BUCKET_VARIABLE)
    if not table:
        parser.error(f"name the tickets table: --table NAME or ${TABLE_VARIABLE}")
    if not bucket_name:
        parser.error(f"name the mail bucket: --bucket NAME or ${BUCKET_VARIABLE}")
    try:
        address = normalised(arguments.email)
    except ValueError as error:
        parser.error(str(error))
    name = f"frontdesk privacy {arguments.action}"
    try:  # no region, no credentials, no such table: one line, not a traceback
        store = TicketStore(table, _dynamodb_client(arguments.endpoint_url, arguments.region))
        bucket = MailBucket(
            _s3_client(arguments.endpoint_url, arguments.region), bucket_name, RAW_MAIL_PREFIX
        )
        data = collect(address, store, bucket)
        if arguments.action == "export":
            return _export(data, bucket, arguments)
        return _erase(data, store, bucket, arguments, input)
    except (BotoCoreError, ClientError, OSError, RuntimeError, ValueError) as error:
        print(f"{name}: {type(error).__name__}: {_without(error, address)}", file=sys.stderr)
        return 1


def _without(error: Exception, address: str) -> str:
    return str(error).replace(address, "<address>")


def _export(data: RequesterData, bucket: MailBucket, arguments: argparse.Namespace) -> int:
    document = json.dumps(export_document(data, datetime.now(UTC)), indent=2, ensure_ascii=False)
    if arguments.output:
        arguments.output.write_text(document + "\n", encoding="utf-8")
    else:
        print(document)
    notes: TextIO = sys.stderr if not arguments.output else sys.stdout
    if arguments.with_files:
        written = download(data, bucket, arguments.with_files)
        print(f"{written} objects written under {arguments.with_files}", file=notes)
    print(f"Exported {_counts(data)}.", file=notes)
    return 0


def _erase(
    data: RequesterData,
    store: TicketStore,
    bucket: MailBucket,
    arguments: argparse.Namespace,
    ask: Callable[[str], str],
) -> int:
    if not data.items and not data.all_objects:
        print(f"Nothing found for {data.address}: nothing to erase.")
        return 0
    if arguments.dry_run:
        print(f"Would erase for {data.address}: {_counts(data)}.")
        for item in data.items:
            print(f"  table  {item.entity:<16} {item.label}")
        for stored in data.all_objects:
            version = f" (version {stored.version_id})" if stored.version_id else ""
            print(f"  bucket {stored.key}{version}  {stored.size} bytes")
        return 0
    if not arguments.yes and not _confirmed(data.address, _counts(data), ask):
        print("Not confirmed: nothing erased.")
        return 1
    erased = erase(data, store, bucket)
    print(
        f"Erased for {data.address}: {erased.tickets} tickets, {erased.items} table items,"
        f" {erased.objects} objects in the mail bucket."
    )
    return 0


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """`frontdesk privacy …`, added to the command's subparsers."""
    privacy = commands.add_parser(
        "privacy", help="a requester's data: export it, or erase it (tickets, messages, surveys, files)"
    )
    actions = privacy.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="everything about an address, as JSON")
    erase_ = actions.add_parser("erase", help="delete everything about an address, for good")
    for action in (export, erase_):
        action.add_argument("email", help="the requester's email address")
        action.add_argument("--table", default=None, help=f"the tickets table (default: ${TABLE_VARIABLE})")
        action.add_argument("--bucket", default=None, help=f"the mail bucket (default: ${BUCKET_VARIABLE})")
        action.add_argument(
            "--endpoint-url",
            default=None,
            metavar="URL",
            help="AWS endpoint, e.g. the local stack's moto (http://127.0.0.1:PORT); default: AWS",
        )
        action.add_argument("--region", default=None, help="AWS region (default: boto3's, e.g. $AWS_REGION)")
    export.add_argument("--output", type=Path, default=None, metavar="FILE", help="write the JSON here")
    export.add_argument(
        "--with-files", type=Path, default=None, metavar="DIR", help="also download the objects into DIR"
    )
    erase_.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase_.add_argument("--dry-run", action="store_true", help="list what would be erased; erase nothing")
    return privacy  # type: ignore[no-any-return]
