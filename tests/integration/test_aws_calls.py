"""AWS calls per event (bench/aws_calls.py) on the tests' stack: the exact operations each path
makes today. They are counts, not timings: a change that adds or removes a call fails here, and
the expected list (and the README's table) is updated on purpose."""

from __future__ import annotations

from typing import Any

from bench.aws_calls import FLOORS, FUNCTION_OF_PATH, count_calls
from tests.integration.conftest import Aws

EXPECTED: dict[str, list[str]] = {
    "new form ticket": ["dynamodb:TransactWriteItems"],
    "form retry (same Idempotency-Key)": ["dynamodb:TransactWriteItems"],
    "new email ticket": ["s3:GetObject", "dynamodb:TransactWriteItems"],
    "email reply (threaded)": ["s3:GetObject", "dynamodb:BatchGetItem", "dynamodb:TransactWriteItems"],
    "chat message (generic webhook)": ["dynamodb:GetItem", "dynamodb:TransactWriteItems"],
    "chat follow-up (same conversation)": ["dynamodb:GetItem", "dynamodb:TransactWriteItems"],
    "acknowledgement (stream)": [
        "dynamodb:TransactWriteItems",
        "sesv2:SendEmail",
        "dynamodb:TransactWriteItems",
        "events:PutEvents",
    ],
    "agent reply (agent API)": ["dynamodb:GetItem", "dynamodb:TransactWriteItems"],
    "agent reply delivery (stream)": [
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "sesv2:SendEmail",
        "dynamodb:TransactWriteItems",
    ],
    "survey send": [
        "dynamodb:BatchGetItem",
        "dynamodb:UpdateItem",
        "sesv2:SendEmail",
        "dynamodb:TransactWriteItems",
    ],
    "survey answer": ["dynamodb:TransactWriteItems"],
}
RESOLUTION = ["dynamodb:GetItem", "dynamodb:UpdateItem"]


def test_aws_calls_per_event_are_the_measured_ones(aws: Aws, function_env: None, lambda_context: Any) -> None:
    measured = count_calls(aws.template, aws.stack, aws.server.lock, lambda_context)

    assert measured.cold_start == ["ssm:GetParameters"]
    assert set(EXPECTED) == set(FLOORS)
    assert set(measured.paths) == set(FUNCTION_OF_PATH)  # every path is billed to its function
    assert {name: measured.paths[name] for name in FLOORS} == EXPECTED
    # Measured for the cost model (bench/cost.py), not held to a floor: resolving a ticket.
    assert measured.paths["resolution (agent API)"] == RESOLUTION
    # Every path is at its floor.
    assert {name: len(EXPECTED[name]) for name in FLOORS} == {
        name: floor.calls for name, floor in FLOORS.items()
    }
