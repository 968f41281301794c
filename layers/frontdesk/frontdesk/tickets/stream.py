"""The ticket table's stream as Lambda delivers it: a batch of records in, a partial batch
response out (the function's event source reports batch item failures).

Written here rather than with Powertools' batch utility, whose import (asyncio and every event
data class) cost the stream consumer a fifth of its cold start, for a loop this small."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from frontdesk.observability import logger

_deserializer = TypeDeserializer()

# (eventName, NewImage, OldImage), the images deserialised to Python values (numbers as Decimal)
ChangeHandler = Callable[[str, dict[str, Any] | None, dict[str, Any] | None], object]


class StreamBatchFailedError(RuntimeError):
    """Every record of the batch failed: the invocation fails, so it is counted as an error and
    Lambda retries the whole batch."""


def handle_stream_batch(event: Mapping[str, Any], handle_change: ChangeHandler) -> dict[str, Any]:
    """Hand each record to `handle_change`, in order. A record that raises is logged (its error's
    type and where it was raised, never its message, which may quote a customer) and reported by
    sequence number; the records after it are still handled (effects are idempotent), and Lambda
    retries from the earliest failure."""
    records = event.get("Records") or []
    failures: list[dict[str, str]] = []
    for record in records:
        change = record.get("dynamodb") or {}
        sequence_number = str(change.get("SequenceNumber", ""))
        try:
            handle_change(
                str(record.get("eventName", "")),
                _image(change.get("NewImage")),
                _image(change.get("OldImage")),
            )
        except Exception as error:  # any failure is reported, and the batch goes on
            logger.error(
                "stream_record_failed",
                extra={
                    "sequence_number": sequence_number,
                    "error": type(error).__name__,
                    "at": _where(error),
                },
            )
            failures.append({"itemIdentifier": sequence_number})
    if records and len(failures) == len(records):
        raise StreamBatchFailedError(f"all {len(records)} records of the batch failed")
    return {"batchItemFailures": failures}


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""


def _image(raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not raw:
        return None
    return {name: _deserializer.deserialize(value) for name, value in raw.items()}
