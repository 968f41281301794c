"""bench/cost.py prices what was measured by DynamoDB's and Lambda's documented rules."""

from __future__ import annotations

from typing import Any

import pytest

from bench.aws_calls import Calls
from bench.cost import PRICES, FunctionFigures, capacity, item_size, ticket_cost


def _item(pk: str, sk: str, size: int, **extra: str) -> dict[str, Any]:
    """An item of exactly `size` bytes (names and values)."""
    item: dict[str, Any] = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in extra.items()}}
    padding = size - item_size(item) - len("pad")
    return {**item, "pad": {"S": "x" * padding}}


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"pk": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # (5 digits / 2, rounded up) + 1
    assert item_size({"ok": {"BOOL": True}, "l": {"L": [{"S": "ab"}]}}) == (2 + 1) + (1 + 3 + 1 + 2)
    assert item_size(_item("T#1", "TICKET", 1500)) == 1500


def test_writes_cost_double_in_a_transaction_and_once_per_index_holding_the_item() -> None:
    ticket = _item("T#1", "TICKET", 1500, gsi1pk="email:a", gsi2pk="status:new")  # 2 KB
    message = _item("T#1", "MESSAGE#1", 700)  # 1 KB, in no index
    stored = {("T#1", "TICKET"): ticket, ("T#1", "MESSAGE#1"): message}
    transaction = {
        "TransactItems": [
            {"Put": {"Item": ticket}},  # 2 x 2 KB + 2 indexes x 2 KB
            {"Update": {"Key": {"pk": {"S": "T#1"}, "sk": {"S": "MESSAGE#1"}}}},  # 2 x 1 KB
            {"ConditionCheck": {"Key": {"pk": {"S": "T#1"}, "sk": {"S": "TICKET"}}}},  # 2 x 1 RRU
        ]
    }
    used = capacity([("TransactWriteItems", transaction)], stored)
    assert (used.wru, used.rru) == (8 + 2, 2)

    single = capacity(
        [
            ("UpdateItem", {"Key": {"pk": {"S": "T#1"}, "sk": {"S": "TICKET"}}}),  # 2 + 2 + 2
            ("GetItem", {"Key": {"pk": {"S": "T#1"}, "sk": {"S": "TICKET"}}}),  # 1 (under 4 KB)
            ("GetItem", {"Key": {"pk": {"S": "T#9"}, "sk": {"S": "GONE"}}}),  # 1 (not found)
        ],
        stored,
    )
    assert (single.wru, single.rru) == (6, 2)


def test_a_ticket_is_priced_per_invocation_and_per_call() -> None:
    intake, ack = Calls(), Calls()
    intake += ["dynamodb:TransactWriteItems"]
    intake.dynamodb.append(("PutItem", {"Item": _item("T#1", "TICKET", 500)}))  # 1 WRU
    ack += ["sesv2:SendEmail", "events:PutEvents"]
    paths = {"new form ticket": intake, "acknowledgement (stream)": ack}
    figures = {
        "web_form": FunctionFigures(cold_ms=500, warm_ms=2.2, memory_mb=256, log_bytes=1000),
        "ticket_events": FunctionFigures(cold_ms=700, warm_ms=5.0, memory_mb=512, log_bytes=1000),
    }
    scope = ("new form ticket", "acknowledgement (stream)")

    cold = {line.what: line.dollars for line in ticket_cost(paths, {}, figures, scope=scope, warm=False)}
    warm = {line.what: line.dollars for line in ticket_cost(paths, {}, figures, scope=scope, warm=True)}

    gb_seconds = 0.25 * 0.5 + 0.5 * 0.7
    assert cold["Lambda compute, arm64"] == pytest.approx(gb_seconds * PRICES.lambda_gb_second_arm64)
    assert warm["Lambda compute, arm64"] == pytest.approx(
        (0.25 * 0.003 + 0.5 * 0.005) * PRICES.lambda_gb_second_arm64
    )
    assert cold["DynamoDB writes"] == pytest.approx(PRICES.dynamodb_wru)
    assert cold["SES outbound mail"] == pytest.approx(PRICES.ses_outbound_message)
    assert cold["API Gateway HTTP API"] == pytest.approx(PRICES.http_api_request)
    assert cold["KMS (settings decryption)"] == pytest.approx(2 * PRICES.kms_request)
    assert warm["KMS (settings decryption)"] == 0
