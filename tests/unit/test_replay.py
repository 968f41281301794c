"""frontdesk replay: what it rebuilds from a failure queue's records and from stored mail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from frontdesk.mail.receipt import MailReceipt, Verdict
from frontdesk_tools.replay import FunctionFailedError, replay_failure_queue, stored_mail_event

STORED_BY_SES = (
    b"Return-Path: <ana@example.org>\r\n"
    b"Received: from mail.example.org by inbound-smtp.us-east-1.amazonaws.com with SMTP id abc"
    b" for support@example.com; Wed, 25 Nov 2026 09:30:00 +0000 (UTC)\r\n"
    b"X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: FAIL\r\n"
    b"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=ana@example.org;"
    b" dkim=fail header.i=@example.org; dmarc=none header.from=example.org;\r\n"
    b"From: Ana <ana@example.org>\r\nTo: Help <help@example.com>\r\nSubject: Hi\r\n\r\nHello\r\n"
)
AT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def test_stored_mail_becomes_the_receipt_ses_gave_it():
    event = stored_mail_event(STORED_BY_SES, "0123abcd", AT, "us-east-1")

    receipt = MailReceipt.from_record(event["Records"][0])
    assert (receipt.ses_message_id, receipt.envelope_sender, receipt.recipients) == (
        "0123abcd",
        "ana@example.org",
        ("support@example.com",),  # the envelope recipient, not the To header
    )
    assert (receipt.spam, receipt.virus, receipt.spf, receipt.dkim) == (
        Verdict.PASS,
        Verdict.FAIL,
        Verdict.PASS,
        Verdict.FAIL,
    )
    assert receipt.dmarc is Verdict.GRAY  # "none" is no verdict SES gives: unknown, never a pass
    assert receipt.received_at == AT


def test_mail_not_stored_by_ses_falls_back_on_its_headers():
    raw = b"From: Ana <ana@example.org>\r\nTo: support@example.com\r\n\r\nHello\r\n"
    receipt = MailReceipt.from_record(stored_mail_event(raw, "id1", AT, "us-east-1")["Records"][0])
    assert (receipt.envelope_sender, receipt.recipients) == ("ana@example.org", ("support@example.com",))
    assert receipt.spam is Verdict.GRAY


class Queue:
    def __init__(self, bodies: list[str]) -> None:
        self.messages = [{"Body": body, "ReceiptHandle": str(i)} for i, body in enumerate(bodies)]
        self.deleted: list[str] = []
        self.received = False

    def receive_message(self, **_: Any) -> dict[str, Any]:
        if self.received:  # received messages stay hidden for the run
            return {"Messages": []}
        self.received = True
        return {"Messages": self.messages}

    def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:  # noqa: N803 (boto3's names)
        self.deleted.append(ReceiptHandle)


def test_a_queue_replay_removes_only_what_succeeded():
    queue = Queue(
        [
            '{"requestPayload": {"Records": ["ok"]}}',
            '{"requestPayload": {"Records": ["fails"]}}',
            "not json",
            '{"requestPayload": {"Records": ["partial"]}}',
        ]
    )

    def invoke(function: str, event: dict[str, Any]) -> Any:
        (what,) = event["Records"]
        if what == "fails":
            raise FunctionFailedError("again")
        return {"batchItemFailures": [{"itemIdentifier": "1"}]} if what == "partial" else None

    report = replay_failure_queue("q", "f", sqs=queue, streams=None, invoke=invoke, region="us-east-1")

    assert (report.replayed, report.failed, report.unknown) == (1, 2, 1)
    assert queue.deleted == ["0"]


class ExpiredStream:
    def get_shard_iterator(self, **_: Any) -> dict[str, Any]:
        return {"ShardIterator": "it"}

    def get_records(self, **_: Any) -> dict[str, Any]:
        return {"Records": [], "NextShardIterator": None}


def test_a_stream_batch_whose_records_expired_stays_in_the_queue():
    batch = {
        "DDBStreamBatchInfo": {
            "streamArn": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "120",
        }
    }
    queue = Queue([json.dumps(batch)])

    def invoke(function: str, event: dict[str, Any]) -> Any:
        raise AssertionError("nothing to invoke")

    report = replay_failure_queue(
        "q", "f", sqs=queue, streams=ExpiredStream(), invoke=invoke, region="us-east-1"
    )

    assert (report.replayed, report.unknown, queue.deleted) == (0, 1, [])
