"""The DynamoDB stream event source mapping, played locally.

It polls the table's stream in moto and invokes the subscribed function with Lambda's record
format, honouring what the template declares: filter criteria, batch size, partial batch
responses, retry attempts and the on-failure queue.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, cast

from moto.events.models import EventPattern

from frontdesk import clock
from frontdesk_tools.local.functions import FunctionError, FunctionTimeoutError, LocalFunction
from frontdesk_tools.local.template import StreamSubscription
from frontdesk_tools.stream_records import lambda_stream_record


class StreamPump:
    def __init__(
        self,
        subscription: StreamSubscription,
        stream_arn: str,
        function: LocalFunction,
        streams_client: Any,
        sqs_client: Any,
        failure_queue_url: str | None,
        region: str,
        lock: threading.Lock,
        poll_seconds: float = 0.1,
        from_latest: bool = False,
    ) -> None:
        self.subscription = subscription
        self.stream_arn = stream_arn
        self.function = function
        self._streams = streams_client
        self._sqs = sqs_client
        self._failure_queue_url = failure_queue_url
        self._region = region
        self._poll_seconds = poll_seconds
        self._from_latest = from_latest  # skip what the stream holds already (tests that share a table)
        self._lock = lock
        self._patterns = [EventPattern.load(json.dumps(pattern)) for pattern in subscription.filter_patterns]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{subscription.function}", daemon=True)
        self.idle = threading.Event()  # set while the pump has nothing in flight
        self._shard_of: dict[str, str] = {}  # sequence number -> shard, for the on-failure record
        self._positions: dict[str, str | None] = {}  # shard -> last sequence number read

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _lambda_record(self, record: dict[str, Any], shard_id: str) -> dict[str, Any]:
        self._shard_of[record["dynamodb"]["SequenceNumber"]] = shard_id
        return lambda_stream_record(record, self._region, self.stream_arn)

    def _wanted(self, record: dict[str, Any]) -> bool:
        # Lambda drops records no filter matches before they reach the function.
        return not self._patterns or any(
            pattern.matches_event(cast(Any, record)) for pattern in self._patterns
        )

    def _read_new_records(self, positions: dict[str, str | None]) -> list[dict[str, Any]]:
        """Records after the last one read, from a fresh iterator per shard: an iterator held
        across moto's transaction rollbacks would keep reading a discarded copy of the table."""
        records: list[dict[str, Any]] = []
        with self._lock:
            shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                shard_id = shard["ShardId"]
                position = positions.get(shard_id)
                where: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
                if position:
                    where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard_id, **where
                )
                page = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
                if page["Records"]:
                    self.idle.clear()  # before the position moves: see wait_until_handled
                    positions[shard_id] = page["Records"][-1]["dynamodb"]["SequenceNumber"]
                records.extend(self._lambda_record(record, shard_id) for record in page["Records"])
        return records

    def wait_until_handled(self, timeout: float) -> bool:
        """True once every record the stream holds now has been handled (or dead-lettered).
        Waiting for `idle` alone can return before the pump has seen a record just written."""
        with self._lock:
            shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
            latest: dict[str, int] = {}
            for shard in shards:
                position = self._positions.get(shard["ShardId"])
                where: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
                if position:
                    where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": position}
                iterator = self._streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard["ShardId"], **where
                )
                page = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)
                if page["Records"]:
                    latest[shard["ShardId"]] = int(page["Records"][-1]["dynamodb"]["SequenceNumber"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            read_all = all(int(self._positions.get(shard) or 0) >= last for shard, last in latest.items())
            if read_all and self.idle.is_set():
                return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        positions = self._positions
        pending: list[dict[str, Any]] = []
        while self._from_latest and self._read_new_records(positions):
            pass
        while not self._stop.is_set():
            pending.extend(self._read_new_records(positions))
            pending = [record for record in pending if self._wanted(record)]
            if not pending:
                self.idle.set()
                self._stop.wait(self._poll_seconds)
                continue
            self.idle.clear()
            batch, pending = pending[: self.subscription.batch_size], pending[self.subscription.batch_size :]
            self._deliver(batch)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        attempts = 0
        while batch and not self._stop.is_set():
            attempts += 1
            failed_from = self._invoke(batch)
            if failed_from is None:
                return
            batch = batch[failed_from:]
            retries_left = self.subscription.maximum_retry_attempts
            if retries_left != -1 and attempts > retries_left:
                self._dead_letter(batch, attempts)
                return
            self._stop.wait(min(0.2 * 2**attempts, 5.0))

    def _invoke(self, batch: list[dict[str, Any]]) -> int | None:
        """Index of the first record to retry, or None when the whole batch succeeded."""
        try:
            response = self.function.invoke({"Records": batch})
        except (FunctionError, FunctionTimeoutError):
            return 0
        failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
        if not failures or not self.subscription.report_batch_item_failures:
            return None
        # Lambda resumes from the lowest failed sequence number; the records before it are done.
        failed = {item.get("itemIdentifier") for item in failures}
        for index, record in enumerate(batch):
            if record["dynamodb"].get("SequenceNumber") in failed:
                return index
        return 0  # an identifier we do not know: Lambda retries the whole batch

    def _dead_letter(self, batch: list[dict[str, Any]], attempts: int) -> None:
        if not self._failure_queue_url:
            return
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        payload = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self._region}:123456789012:function:{self.function.name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "version": "1.0",
            "timestamp": clock.now().isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": self._shard_of.get(first.get("SequenceNumber", ""), ""),
                "startSequenceNumber": first.get("SequenceNumber"),
                "endSequenceNumber": last.get("SequenceNumber"),
                "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self._sqs.send_message(QueueUrl=self._failure_queue_url, MessageBody=json.dumps(payload))


def wait_until_idle(pumps: list[StreamPump], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    return all(pump.idle.wait(max(0.0, deadline - time.monotonic())) for pump in pumps)
