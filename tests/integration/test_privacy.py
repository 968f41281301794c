"""`frontdesk privacy export|erase` against moto: a requester's tickets made through the real
handlers (a form, mail with a file and a reply, a chat, an answered survey), exported, erased, and
then looked for by the TEST with a full scan of the table and a listing of the bucket (the command
itself only queries: a botocore hook counts its calls)."""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from frontdesk import runtime
from frontdesk.tickets.model import SurveyState
from frontdesk.tickets.store import TicketStore
from frontdesk_tools import cli, privacy
from frontdesk_tools.local.scheduler import SchedulePump
from frontdesk_tools.local.streams import StreamPump
from tests.integration.conftest import Aws, settle
from tests.integration.test_agent_api import create_ticket
from tests.integration.test_chat_webhook import generic_headers, post
from tests.integration.test_inbound_email import LogRecords, Mailroom, mail, reply_to, sent_to
from tests.integration.test_surveys import SURVEY_URL, agent, page, survey_mail, survey_schedule_pump

ANA = "privacy-ana@example.org"
BOB = "privacy-bob@example.org"
FILE = b"%PDF-1.4 Ana's passport scan"


@pytest.fixture
def mailroom(aws: Aws, function_env: None, lambda_context: Any) -> Iterator[Mailroom]:
    import logging

    records = LogRecords()
    logging.getLogger("frontdesk").addHandler(records)
    yield Mailroom(aws, lambda_context, records)
    logging.getLogger("frontdesk").removeHandler(records)


@pytest.fixture
def scheduler(aws: Aws, function_env: None, lambda_context: Any) -> SchedulePump:
    return survey_schedule_pump(aws, lambda_context)


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The DynamoDB and S3 operations the privacy command calls, by name."""
    counted: Counter[str] = Counter()
    real_dynamodb, real_s3 = privacy._dynamodb_client, privacy._s3_client

    def count(model: Any, **_: Any) -> None:
        counted[f"{model.service_model.service_name}:{model.name}"] += 1

    def hooked(real: Any) -> Any:
        def make(endpoint_url: str | None, region: str | None) -> Any:
            client = real(endpoint_url, region)
            client.meta.events.register("before-call", count)
            client.meta.events.register(
                "before-call.dynamodb.Scan", lambda **_: counted.update(["scan-hook"])
            )
            return client

        return make

    monkeypatch.setattr(privacy, "_dynamodb_client", hooked(real_dynamodb))
    monkeypatch.setattr(privacy, "_s3_client", hooked(real_s3))
    return counted


def command(aws: Aws, action: str, address: str, *extra: str) -> list[str]:
    bucket = aws.stack.physical_ids["MailBucket"]
    return [
        "privacy",
        action,
        address,
        "--table",
        aws.table_name,
        "--bucket",
        bucket,
        "--endpoint-url",
        aws.endpoint,
        *extra,
    ]


def everything(aws: Aws) -> tuple[list[str], dict[str, bytes]]:
    """The TEST's own look at all of it: every item of the table (a full scan, as JSON text) and
    every object of the bucket (key -> body)."""
    client = aws.client("dynamodb")
    items: list[str] = []
    arguments: dict[str, Any] = {"TableName": aws.table_name, "ConsistentRead": True}
    while True:
        page_ = client.scan(**arguments)
        items += [json.dumps(item, ensure_ascii=False) for item in page_["Items"]]
        if "LastEvaluatedKey" not in page_:
            break
        arguments["ExclusiveStartKey"] = page_["LastEvaluatedKey"]
    s3 = aws.client("s3")
    bucket = aws.stack.physical_ids["MailBucket"]
    objects: dict[str, bytes] = {}
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in listing.get("Contents", []):
            objects[entry["Key"]] = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
    return items, objects


def about(needles: list[str], items: list[str], objects: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """The items and objects that mention any of `needles` (case-insensitive), in key or content."""
    lowered = [needle.lower() for needle in needles]
    found_items = [item for item in items if any(needle in item.lower() for needle in lowered)]
    found_objects = [
        key
        for key, body in objects.items()
        if any(needle in key.lower() or needle.encode() in body.lower() for needle in lowered)
    ]
    return found_items, found_objects


def a_requester_with_everything(
    aws: Aws, mailroom: Mailroom, stream: StreamPump, scheduler: SchedulePump, context: Any, address: str
) -> list[str]:
    """Tickets of `address` through the real handlers: a form; mail with a file, acknowledged, and
    the customer's reply to the acknowledgement; a signed chat message; a form ticket answered,
    resolved, surveyed and the survey answered. Returns the references."""
    local = address.split("@")[0]
    form = create_ticket(context, local)
    message = mail(sender=f"Ana <{address}>", subject="My documents", body=f"Scan attached, {local}.")
    message.add_attachment(FILE, maintype="application", subtype="pdf", filename="passport.pdf")
    emailed = mailroom.deliver(message)["reference"]
    settle(stream)
    (ack,) = [email for email in sent_to(aws, address) if emailed in email["subject"]]
    assert mailroom.deliver(reply_to(ack, "And one more thing.", f"Ana <{address}>"))["reference"] == emailed
    body = json.dumps(
        {
            "event_id": f"evt-{local}",
            "conversation_id": f"site-chat-{local}",
            "author": {"id": f"visitor-{local}", "name": "Ana", "email": address},
            "text": "Are you there?",
            "locale": "en-GB",
        }
    ).encode()
    assert post(context, "generic", body, generic_headers(body))["statusCode"] == 200
    chat = runtime.ticket_store().find_conversation(f"generic:site-chat-{local}")
    assert chat is not None
    surveyed = create_ticket(context, local, subject="Refund")
    route = "/tickets/{reference}/replies"
    assert agent(context, "POST", route, f"/tickets/{surveyed}/replies", {"text": "Refunded."})[0] == 201
    status = {"status": "resolved"}
    assert agent(context, "PATCH", "/tickets/{reference}", f"/tickets/{surveyed}", status)[0] == 200
    settle(stream)
    scheduler.fire_due(runtime_now() + timedelta(minutes=2))
    settle(stream)
    (survey_email,) = survey_mail(aws, surveyed)
    match = SURVEY_URL.search(survey_email["text"])
    assert match is not None
    answer = {"csat": "5", "comment": f"Thanks from {local}"}
    assert page(context, "POST", match["token"], answer)["statusCode"] == 200
    settle(stream)
    return [form, emailed, chat, surveyed]


def runtime_now() -> Any:
    from frontdesk import clock

    return clock.now()


def test_a_requesters_data_is_exported_then_erased_leaving_nothing_and_nobody_elses(
    aws: Aws,
    mailroom: Mailroom,
    stream: StreamPump,
    scheduler: SchedulePump,
    lambda_context: Any,
    aws_calls: Counter[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    anas = a_requester_with_everything(aws, mailroom, stream, scheduler, lambda_context, ANA)
    bobs = [create_ticket(lambda_context, BOB.split("@")[0])]
    bob_mail = mail(sender=f"Bob <{BOB}>", subject="Bob's file", body="Bob here.")
    bob_mail.add_attachment(b"bob's invoice", maintype="application", subtype="pdf", filename="bob.pdf")
    bobs.append(mailroom.deliver(bob_mail)["reference"])
    store: TicketStore = runtime.ticket_store()
    # Bounced once: the address is on the suppression list.
    store.suppress_address(ANA, "bounce", runtime_now() + timedelta(days=30), runtime_now())
    settle(stream)
    capsys.readouterr()

    items, objects = everything(aws)
    anas_items, anas_objects = about([ANA, *anas], items, objects)
    bobs_before = about([BOB, *bobs], items, objects)
    assert anas_items and anas_objects and bobs_before[0] and bobs_before[1]
    assert any(item for item in anas_items if '"INBOUND#' in item)  # idempotency records exist
    assert any(item for item in anas_items if '"EMAIL#' in item)  # Message-ID index items too

    # -- export ------------------------------------------------------------------------------
    output, files = tmp_path / "ana.json", tmp_path / "files"
    assert (
        cli.main(command(aws, "export", ANA.upper(), "--output", str(output), "--with-files", str(files)))
        == 0
    )
    document = json.loads(output.read_text(encoding="utf-8"))

    assert document["requester"] == ANA
    assert sorted(ticket["reference"] for ticket in document["tickets"]) == sorted(anas)
    texts = [message["body_text"] for message in document["messages"]]
    assert "Scan attached, privacy-ana." in texts and "And one more thing." in texts
    assert "Are you there?" in texts and "Refunded." in texts
    (survey,) = document["surveys"]
    assert (survey["state"], survey["csat"], survey["comment"]) == (
        SurveyState.ANSWERED.value,
        5,
        "Thanks from privacy-ana",
    )
    raw_keys = {m["raw_mail_key"] for m in document["messages"] if m.get("raw_mail_key")}
    assert len(raw_keys) == 2  # the first mail and the reply
    listed = {entry["key"]: entry["size"] for entry in document["files"]}
    (attachment,) = [key for key in listed if key.startswith(f"tickets/{anas[1]}/")]
    assert listed[attachment] == len(FILE) and raw_keys <= set(listed)
    assert (files / attachment).read_bytes() == FILE
    assert all((files / key).is_file() for key in listed)
    assert {record["kind"] for record in document["address_records"]} == {"suppression", "ack_rate"}
    assert not set(bobs) & {ticket["reference"] for ticket in document["tickets"]}
    # One Query of the requester index, one per ticket's partition, one of the ack counts; a
    # BatchGetItem per ticket for the items pointing at it; never a scan.
    assert aws_calls["dynamodb:Scan"] == 0 and aws_calls["scan-hook"] == 0
    assert aws_calls["dynamodb:Query"] == 1 + len(anas) + 1
    assert aws_calls["dynamodb:BatchGetItem"] == len(anas)
    export_calls = dict(aws_calls)
    aws_calls.clear()

    # -- erase: a dry run and an unconfirmed run change nothing ---------------------------------
    assert cli.main(command(aws, "erase", ANA, "--dry-run")) == 0
    listing = capsys.readouterr().out
    assert f"Would erase for {ANA}: 4 tickets" in listing and attachment in listing
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    assert cli.main(command(aws, "erase", ANA)) == 1
    assert "nothing erased" in capsys.readouterr().out
    assert everything(aws) == (items, objects)
    assert not {name for name in aws_calls if "Delete" in name or "BatchWrite" in name}
    aws_calls.clear()

    # -- erase ------------------------------------------------------------------------------
    invocations = len(stream.function.invocations)  # type: ignore[attr-defined]
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{ANA}\n"))
    assert cli.main(command(aws, "erase", ANA)) == 0
    report = capsys.readouterr().out
    assert f"Erased for {ANA}: 4 tickets" in report
    assert aws_calls["dynamodb:Scan"] == 0 and aws_calls["scan-hook"] == 0
    # What the export read, plus one more Query and BatchGetItem per ticket (the fresh read before
    # its own item goes); one conditional DeleteItem per item pointing at a ticket and per ticket.
    assert aws_calls["dynamodb:Query"] == export_calls["dynamodb:Query"] + len(anas)
    assert aws_calls["dynamodb:BatchGetItem"] == 2 * len(anas)
    assert aws_calls["s3:DeleteObjects"] == 1  # only the mail ticket has objects
    aws_calls.clear()

    items_after, objects_after = everything(aws)
    left_items, left_objects = about([ANA, *anas], items_after, objects_after)
    assert left_items == [] and left_objects == []
    assert not raw_keys & set(objects_after)
    # Bob's tickets, messages, files and raw mail are all still there, untouched.
    assert about([BOB, *bobs], items_after, objects_after) == bobs_before
    assert sorted(objects_after) == sorted(key for key in objects if key not in anas_objects)
    # The deletions' REMOVE records reach no function (the stream's filter takes INSERT and
    # MODIFY only), and nothing failed.
    settle(stream)
    assert len(stream.function.invocations) == invocations  # type: ignore[attr-defined]
    failures = aws.stack.physical_ids["TicketEventsFailureQueue"]
    assert "Messages" not in aws.client("sqs").receive_message(QueueUrl=failures, WaitTimeSeconds=0)

    # -- a second erasure finds nothing and deletes nothing -----------------------------------------
    assert cli.main(command(aws, "erase", ANA, "--yes")) == 0
    assert "Nothing found" in capsys.readouterr().out
    assert not {name for name in aws_calls if "Delete" in name or "BatchWrite" in name}


def test_bad_input_is_one_line_and_never_a_traceback(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(command(aws, "erase", "not an address", "--yes"))
    assert "not an email address" in capsys.readouterr().err
    assert cli.main(command(aws, "export", ANA, "--table", "no-such-table")) == 1
    error = capsys.readouterr().err
    assert error.startswith("frontdesk privacy export: ResourceNotFoundException") and ANA not in error


def test_in_a_versioned_bucket_every_version_and_delete_marker_goes(aws: Aws) -> None:
    """The template's bucket keeps no versions; a team that turns versioning on still gets every
    copy erased, not just a delete marker on top of them."""
    from frontdesk.mail.storage import MailBucket

    s3 = aws.client("s3")
    name = "privacy-versioned-mail"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=name, Key="tickets/FD-VERS-0001/attachments/m/00-a.pdf", Body=body)
    s3.put_object(Bucket=name, Key="inbound/ses-1", Body=b"raw")
    s3.delete_object(Bucket=name, Key="inbound/ses-1")  # only a delete marker on top now
    s3.put_object(Bucket=name, Key="inbound/ses-10", Body=b"someone else's")
    bucket = MailBucket(s3, name, "inbound/")

    assert bucket.versioned()
    found = bucket.objects_of_ticket("FD-VERS-0001", ["inbound/ses-1"], versions=True)
    assert sorted((stored.key, stored.size) for stored in found) == [
        ("inbound/ses-1", 0),  # the delete marker
        ("inbound/ses-1", 3),
        ("tickets/FD-VERS-0001/attachments/m/00-a.pdf", 5),
        ("tickets/FD-VERS-0001/attachments/m/00-a.pdf", 6),
    ]
    assert bucket.delete(found) == 4

    left = s3.list_object_versions(Bucket=name)
    keys = [entry["Key"] for entry in [*left.get("Versions", []), *left.get("DeleteMarkers", [])]]
    assert keys == ["inbound/ses-10"]
    assert bucket.objects_of_ticket("FD-VERS-0001", ["inbound/ses-1"], versions=True) == []


def test_a_reply_arriving_during_the_erasure_is_erased_too(
    aws: Aws, mailroom: Mailroom, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    address = "privacy-race@example.org"
    first = mail(sender=f"Cy <{address}>", subject="Race", body="First.")
    reference = mailroom.deliver(first)["reference"]
    real = TicketStore.delete_items
    arrived: list[str] = []

    def delete_then_a_reply_arrives(self: TicketStore, items: Any) -> int:
        deleted = real(self, items)
        if not arrived:  # right after the ticket's contents went, before its own item goes
            follow_up = mail(subject=f"Re: [{reference}] Race", body="Second.", sender=f"Cy <{address}>")
            message = mailroom.deliver(follow_up)
            arrived.append(message["reference"])
        return deleted

    monkeypatch.setattr(TicketStore, "delete_items", delete_then_a_reply_arrives)
    assert cli.main(command(aws, "erase", address, "--yes")) == 0
    assert arrived == [reference]  # the reply joined the ticket mid-erasure
    assert f"Erased for {address}: 1 tickets" in capsys.readouterr().out

    items, objects = everything(aws)
    assert about([address, reference], items, objects) == ([], [])
