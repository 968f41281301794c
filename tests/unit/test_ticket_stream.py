"""The stream consumer's batch loop: records in order, failures reported by sequence number."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from frontdesk.tickets.stream import StreamBatchFailedError, handle_stream_batch


def _record(sequence: str, name: str = "INSERT", text: str = "hello") -> dict[str, Any]:
    return {
        "eventName": name,
        "dynamodb": {
            "SequenceNumber": sequence,
            "NewImage": {"pk": {"S": f"TICKET#{sequence}"}, "count": {"N": "2"}, "text": {"S": text}},
            **({"OldImage": {"pk": {"S": f"TICKET#{sequence}"}}} if name == "MODIFY" else {}),
        },
    }


def test_each_record_is_handed_over_in_order_with_its_images_deserialised() -> None:
    seen: list[tuple[str, Any, Any]] = []
    answer = handle_stream_batch(
        {"Records": [_record("1"), _record("2", "MODIFY")]},
        lambda name, new, old: seen.append((name, new, old)),
    )
    assert answer == {"batchItemFailures": []}
    assert seen == [
        ("INSERT", {"pk": "TICKET#1", "count": Decimal(2), "text": "hello"}, None),
        ("MODIFY", {"pk": "TICKET#2", "count": Decimal(2), "text": "hello"}, {"pk": "TICKET#2"}),
    ]


def test_a_failed_record_is_reported_and_logged_without_its_message(caplog: pytest.LogCaptureFixture) -> None:
    handled: list[str] = []

    def handle(name: str, new: Any, old: Any) -> None:
        if new["pk"] == "TICKET#2":
            raise ValueError(f"cannot use {new['text']!r}")
        handled.append(new["pk"])

    answer = handle_stream_batch(
        {"Records": [_record("1"), _record("2", text="my card is 4111"), _record("3")]}, handle
    )

    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert handled == ["TICKET#1", "TICKET#3"]  # the rest of the batch is still handled
    (failed,) = [record for record in caplog.records if record.getMessage() == "stream_record_failed"]
    line = vars(failed)
    assert line["sequence_number"] == "2"
    assert line["error"] == "ValueError"
    assert "in handle" in line["at"]
    assert "4111" not in json.dumps(line, default=str)


def test_a_batch_whose_every_record_fails_fails_the_invocation() -> None:
    def fail(name: str, new: Any, old: Any) -> None:
        raise RuntimeError("down")

    with pytest.raises(StreamBatchFailedError):
        handle_stream_batch({"Records": [_record("1"), _record("2")]}, fail)
    assert handle_stream_batch({"Records": []}, fail) == {"batchItemFailures": []}
