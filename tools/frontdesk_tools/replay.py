"""`frontdesk replay`: hand back to the functions what Lambda gave up on.

Two sources:
- a failure queue (the template's on-failure destinations). An asynchronous invocation's record
  (inbound mail, survey sends) carries the original event, which is invoked again. A stream
  batch's record (the ticket events consumer) names only the shard and sequence numbers: the
  records are read again from the stream (it keeps them 24 hours) and delivered as Lambda would.
  A message is deleted once its replay succeeded; one that fails again stays for the next run.
- raw mail in the mail bucket, for mail whose event was lost altogether (the queue keeps failures
  14 days; the bucket keeps mail for RawMailRetentionDays). Every message stored in a period is
  delivered again; what was already handled is recognised by its SES message id and not doubled.

Replaying is always safe: every function is idempotent on what it is given (a ticket per inbound
key, an acknowledgement per claim, a survey per resolution).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import getaddresses, parseaddr
from typing import Any

from frontdesk_tools.stream_records import lambda_stream_record

# Invokes a function (by the name the caller knows it) with an event; returns its response and
# raises FunctionFailedError when the function failed.
Invoke = Callable[[str, dict[str, Any]], Any]

_VISIBILITY_SECONDS = 300  # a message being replayed is hidden from a concurrent replay this long
_HEADER_BYTES = 64 * 1024  # raw mail read for its headers when building a receipt
_RECIPIENT = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?")  # "... with SMTP id X for a@b; <date>"
_VERDICTS = {"PASS", "FAIL", "GRAY", "PROCESSING_FAILED"}


class FunctionFailedError(Exception):
    """The function failed on the replayed event (or reported records of a batch failed)."""


@dataclass
class ReplayReport:
    replayed: int = 0  # handled by the function, and removed from the queue
    failed: int = 0  # failed again: left where they were
    unknown: int = 0  # not an on-failure record this command knows: left in the queue

    def line(self, source: str) -> str:
        return (
            f"{source}: {self.replayed} replayed, {self.failed} failed again, {self.unknown} not understood"
        )


def lambda_invoker(lambda_client: Any) -> Invoke:
    """Invoke a deployed function synchronously, as Lambda's own retry would have."""

    def invoke(function_name: str, event: dict[str, Any]) -> Any:
        answer = lambda_client.invoke(
            FunctionName=function_name, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        payload = answer["Payload"].read()
        if answer.get("FunctionError"):
            raise FunctionFailedError(payload.decode("utf-8", "replace")[:500])
        return json.loads(payload) if payload else None

    return invoke


def replay_failure_queue(
    queue_url: str, function_name: str, *, sqs: Any, streams: Any, invoke: Invoke, region: str
) -> ReplayReport:
    """Re-drive every on-failure record in the queue through `function_name`."""
    report = ReplayReport()
    for message in _drain(sqs, queue_url):
        event = _event_of(message["Body"], streams, region)
        if event is None:
            report.unknown += 1
            continue
        try:
            _check(invoke(function_name, event))
        except FunctionFailedError:
            report.failed += 1
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        report.replayed += 1
    return report


def _drain(sqs: Any, queue_url: str) -> Iterator[dict[str, Any]]:
    """Every message visible now, each once: a received message stays hidden while replayed."""
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=_VISIBILITY_SECONDS,
        ).get("Messages", [])
        if not messages:
            return
        yield from messages


def _check(response: Any) -> None:
    """A stream batch's partial failure is a failure of the replay."""
    if isinstance(response, dict) and response.get("batchItemFailures"):
        raise FunctionFailedError(f"{len(response['batchItemFailures'])} records failed")


def _event_of(body: str, streams: Any, region: str) -> dict[str, Any] | None:
    try:
        record = json.loads(body)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    if isinstance(record.get("requestPayload"), dict):
        payload: dict[str, Any] = record["requestPayload"]
        return payload
    batch = record.get("DDBStreamBatchInfo")
    if isinstance(batch, dict):
        from botocore.exceptions import ClientError

        try:
            records = stream_batch(streams, batch, region)
        except ClientError:  # the shard is gone (TrimmedDataAccess, ResourceNotFound)
            return None
        # Past the stream's 24 hours the records are gone: the message stays, for a person to see.
        return {"Records": records} if records else None
    return None


def stream_batch(streams: Any, batch: dict[str, Any], region: str) -> list[dict[str, Any]]:
    """The records of a failed stream batch, read again from the stream."""
    stream_arn, shard_id = batch["streamArn"], batch["shardId"]
    first, last = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"])
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn,
        ShardId=shard_id,
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=batch["startSequenceNumber"],
    ).get("ShardIterator")
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page["Records"]:
            sequence = int(record["dynamodb"]["SequenceNumber"])
            if sequence > last:
                return records
            if sequence >= first:
                records.append(lambda_stream_record(record, region, stream_arn))
        if not page["Records"]:
            return records  # the shard's end, for now
        iterator = page.get("NextShardIterator")
    return records


def replay_stored_mail(
    bucket: str,
    prefix: str,
    function_name: str,
    *,
    since: datetime,
    until: datetime,
    s3: Any,
    invoke: Invoke,
    region: str,
) -> ReplayReport:
    """Deliver again every raw message stored under `prefix` in [since, until)."""
    report = ReplayReport()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for stored in page.get("Contents", []):
            if not since <= stored["LastModified"] < until:
                continue
            key: str = stored["Key"]
            head = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{_HEADER_BYTES - 1}")["Body"].read()
            event = stored_mail_event(head, key[len(prefix) :], stored["LastModified"], region)
            try:
                invoke(function_name, event)
            except FunctionFailedError:
                report.failed += 1
                continue
            report.replayed += 1
    return report


def stored_mail_event(head: bytes, ses_message_id: str, received_at: datetime, region: str) -> dict[str, Any]:
    """An SES receipt event for mail SES stored, from the headers SES added when it stored it:
    Return-Path (the envelope sender), the first Received's "for <recipient>", and the verdicts.
    A verdict SES did not write is GRAY: unknown, never a pass it was not given."""
    message = message_from_bytes(head, policy=policy.compat32)
    # SES writes Return-Path; mail stored some other way falls back on its From.
    envelope_sender = parseaddr(str(message.get("Return-Path") or message.get("From", "")))[1]
    received = str(message.get("Received", ""))
    recipients = [found.group(1)] if (found := _RECIPIENT.search(received)) else []
    if not recipients:  # not stored by SES: the addressees, as a last resort
        values = [str(value) for name in ("To", "Cc") for value in message.get_all(name, [])]
        recipients = [address for _, address in getaddresses(values) if "@" in address]
    results = str(message.get("Authentication-Results", "")).lower()

    def verdict(name: str) -> dict[str, str]:
        written = str(message.get(f"X-SES-{name.capitalize()}-Verdict", "")).strip().upper()
        if not written and f"{name}=" in results:
            written = results.split(f"{name}=", 1)[1].split(None, 1)[0].strip(";").upper()
        return {"status": written if written in _VERDICTS else "GRAY"}

    timestamp = received_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {"timestamp": timestamp, "source": envelope_sender, "messageId": ses_message_id},
                    "receipt": {
                        "timestamp": timestamp,
                        "recipients": recipients,
                        **{
                            f"{name}Verdict": verdict(name)
                            for name in ("spam", "virus", "spf", "dkim", "dmarc")
                        },
                        "action": {"type": "Lambda", "invocationType": "Event"},
                    },
                },
            }
        ]
    }


# -- the command ---------------------------------------------------------------------------------------


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        "replay",
        help="re-drive what the functions gave up on: a failure queue's events, or stored raw mail",
        description=__doc__.split("\n\n")[0],
    )
    sources = parser.add_subparsers(dest="source", required=True)
    queue = sources.add_parser(
        "queue", help="every record in a failure queue (the stack's *FailureQueueUrl outputs)"
    )
    queue.add_argument("--queue-url", required=True, help="the failure queue's URL")
    queue.add_argument("--function", required=True, help="the function to invoke (name or ARN)")
    mail = sources.add_parser("mail", help="raw mail the bucket stored in a period, whatever became of it")
    mail.add_argument("--bucket", required=True, help="the mail bucket (the stack's MailBucketName output)")
    mail.add_argument("--prefix", default="inbound/", help="where SES stores mail (default inbound/)")
    mail.add_argument("--function", required=True, help="the inbound email function (name or ARN)")
    mail.add_argument("--since", required=True, type=_instant, metavar="ISO-8601", help="stored at or after")
    mail.add_argument("--until", type=_instant, metavar="ISO-8601", help="stored before (default: now)")
    for source in (queue, mail):
        source.add_argument("--endpoint-url", help="AWS endpoint (default: AWS)")
        source.add_argument("--region", help="AWS region (default: the environment's)")
    return parser


def _instant(value: str) -> datetime:
    from frontdesk.clock import parse_instant

    try:
        return parse_instant(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(arguments: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session(region_name=arguments.region)
    region = session.region_name or "us-east-1"

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=arguments.endpoint_url)  # type: ignore[call-overload]

    invoke = lambda_invoker(client("lambda"))
    try:
        if arguments.source == "queue":
            report = replay_failure_queue(
                arguments.queue_url,
                arguments.function,
                sqs=client("sqs"),
                streams=client("dynamodbstreams"),
                invoke=invoke,
                region=region,
            )
            print(report.line(arguments.queue_url))
        else:
            report = replay_stored_mail(
                arguments.bucket,
                arguments.prefix,
                arguments.function,
                since=arguments.since,
                until=arguments.until or datetime.now(UTC),
                s3=client("s3"),
                invoke=invoke,
                region=region,
            )
            print(report.line(f"s3://{arguments.bucket}/{arguments.prefix}"))
    except (BotoCoreError, ClientError) as error:
        print(f"frontdesk replay: {error}", file=sys.stderr)
        return 1
    return 1 if report.failed else 0
