"""Cost per 1,000 tickets, modelled from measured figures and published prices.

Measured: the AWS calls of each path with their DynamoDB parameters and the sizes of the items
they wrote (bench/aws_calls.py on moto), the stream consumer's invocations per path, each
function's cold start and warm time and the bytes it logs (bench/cold_start.py), and each
function's memory size (infra/template.yaml). Modelled: one ticket's life as bench/aws_calls.py
drives it (a form post, its acknowledgement, one agent reply and its delivery, the resolution,
the survey mail and its answer), priced with the list prices below.

DynamoDB capacity follows its documented rules: a write costs 1 WRU per KB of the item (2 in a
transaction), plus 1 per KB in each global secondary index that holds it; a strongly consistent
read 1 RRU per 4 KB (2 in a transaction); an item's size is the one it has once its path is done
(an update is billed by the larger of its before and after sizes).
Lambda is billed per GB-second including the init phase (since 2025-08-01); "cold" prices every
invocation at its measured cold start (init and handling), an upper bound, "warm" at its warm
handling time rounded up to the next millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.aws_calls import FUNCTION_OF_PATH

PRICES_DATE = "2026-11-22"
PRICES_SOURCE = "AWS list prices, us-east-1 (aws.amazon.com/<service>/pricing), read on " + PRICES_DATE


@dataclass(frozen=True)
class Prices:
    lambda_gb_second_arm64: float = 0.0000133334
    lambda_request: float = 0.20 / 1e6
    dynamodb_wru: float = 0.625 / 1e6  # on-demand, after the 2024-11-01 cut
    dynamodb_rru: float = 0.125 / 1e6
    http_api_request: float = 1.00 / 1e6  # first 300 M a month
    ses_outbound_message: float = 0.10 / 1000
    ses_inbound_message: float = 0.10 / 1000  # plus $0.09 per 1,000 256 KB chunks (not reached here)
    s3_put: float = 0.005 / 1000
    s3_get: float = 0.0004 / 1000
    eventbridge_event: float = 1.00 / 1e6
    scheduler_invocation: float = 1.00 / 1e6
    kms_request: float = 0.03 / 10000  # the SecureString's decryption, once per cold start
    logs_ingested_gb: float = 0.50


PRICES = Prices()

HTTP_PATHS = {"new form ticket", "agent reply (agent API)", "resolution (agent API)", "survey answer"}
# What "a ticket" costs, two ways: its arrival (the form post and the acknowledgement), and its
# whole life as bench/aws_calls.py drives it.
SCOPES = {
    "arrival: form post and acknowledgement": ("new form ticket", "acknowledgement (stream)"),
    "whole life: arrival, one agent reply, resolution, survey and answer": (
        "new form ticket",
        "acknowledgement (stream)",
        "agent reply (agent API)",
        "agent reply delivery (stream)",
        "resolution (agent API)",
        "resolution (stream)",
        "survey send",
        "survey answer",
    ),
}
GSI_HASH_KEYS = ("gsi1pk", "gsi2pk")  # RequesterIndex, StatusIndex (infra/template.yaml)


def item_size(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it: names plus values (low-level JSON shape)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return math.ceil(len(str(inner).lstrip("-").replace(".", "")) / 2) + 1
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(str(inner)) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _value_size(element) for name, element in inner.items())
    return 1


@dataclass
class Capacity:
    wru: float = 0.0
    rru: float = 0.0


Key = tuple[str, str]


def capacity(calls: Sequence[tuple[str, Mapping[str, Any]]], items: Mapping[Key, dict[str, Any]]) -> Capacity:
    """The read and write units of a path's DynamoDB calls."""
    used = Capacity()
    for operation, params in calls:
        if operation == "TransactWriteItems":
            for action in params["TransactItems"]:
                (kind, body), *_ = action.items()
                _charge(used, kind, body, items, transactional=True)
        elif operation == "BatchGetItem":
            for request in params["RequestItems"].values():
                for key in request["Keys"]:
                    _charge(used, "Get", {"Key": key}, items, transactional=False)
        elif operation == "Query":
            used.rru += 1  # one page of small items
        else:  # PutItem, UpdateItem, DeleteItem, GetItem
            _charge(used, operation.removesuffix("Item"), params, items, transactional=False)
    return used


def _charge(
    used: Capacity,
    kind: str,
    body: Mapping[str, Any],
    items: Mapping[Key, dict[str, Any]],
    *,
    transactional: bool,
) -> None:
    factor = 2 if transactional else 1
    if kind == "Put":
        item: Mapping[str, Any] = body["Item"]
    else:
        key = body["Key"]
        item = items.get((key["pk"]["S"], key["sk"]["S"]), dict(key))
    if kind in ("Get", "ConditionCheck"):
        used.rru += factor * max(1, math.ceil(item_size(item) / 4096))
        return
    kilobytes = max(1, math.ceil(item_size(item) / 1024))
    used.wru += factor * kilobytes + sum(kilobytes for name in GSI_HASH_KEYS if name in item)


@dataclass(frozen=True)
class FunctionFigures:
    cold_ms: float
    warm_ms: float
    memory_mb: int
    log_bytes: int


@dataclass
class Line:
    what: str
    quantity: str
    dollars: float


def ticket_cost(
    paths: Mapping[str, Any],
    items: Mapping[tuple[str, str], dict[str, Any]],
    functions: Mapping[str, FunctionFigures],
    *,
    scope: Sequence[str],
    warm: bool,
    prices: Prices = PRICES,
) -> list[Line]:
    """One ticket's cost, line by line: the paths in `scope`, as bench/aws_calls.py measured them."""
    invocations: dict[str, int] = {}
    for path in scope:
        function = FUNCTION_OF_PATH[path]
        calls = paths.get(path)
        if calls is not None:
            invocations[function] = invocations.get(function, 0) + calls.invocations
    gb_seconds = 0.0
    log_bytes = 0
    for function, count in invocations.items():
        figures = functions[function]
        billed_ms = math.ceil(figures.warm_ms) if warm else figures.cold_ms
        gb_seconds += count * figures.memory_mb / 1024 * billed_ms / 1000
        log_bytes += count * figures.log_bytes
    requests = sum(invocations.values())
    used = Capacity()
    operations: list[str] = []
    for path in scope:
        calls = paths.get(path)
        if calls is None:
            continue
        path_capacity = capacity(calls.dynamodb, calls.items_after or items)
        used.wru += path_capacity.wru
        used.rru += path_capacity.rru
        operations += list(calls)
    mails = operations.count("sesv2:SendEmail")
    events = operations.count("events:PutEvents")
    schedules = operations.count("scheduler:CreateSchedule")
    http = sum(1 for path in HTTP_PATHS if path in paths and path in scope)
    cold_starts = 0 if warm else requests
    return [
        Line("Lambda compute, arm64", f"{gb_seconds:.3f} GB-s", gb_seconds * prices.lambda_gb_second_arm64),
        Line("Lambda requests", f"{requests} invocations", requests * prices.lambda_request),
        Line("DynamoDB writes", f"{used.wru:.0f} WRU", used.wru * prices.dynamodb_wru),
        Line("DynamoDB reads", f"{used.rru:.0f} RRU", used.rru * prices.dynamodb_rru),
        Line("API Gateway HTTP API", f"{http} requests", http * prices.http_api_request),
        Line("CloudWatch Logs ingestion", f"{log_bytes:,} bytes", log_bytes / 1e9 * prices.logs_ingested_gb),
        Line("EventBridge events", f"{events} events", events * prices.eventbridge_event),
        Line("EventBridge Scheduler", f"{schedules} invocations", schedules * prices.scheduler_invocation),
        Line("KMS (settings decryption)", f"{cold_starts} requests", cold_starts * prices.kms_request),
        Line("SES outbound mail", f"{mails} messages", mails * prices.ses_outbound_message),
    ]


def markdown(title: str, cold: list[Line], warm: list[Line]) -> str:
    def total(lines: list[Line], ses: bool) -> str:
        return f"${sum(line.dollars for line in lines if ses or not line.what.startswith('SES')) * 1000:.4f}"

    out = [
        f"Cost per 1,000 tickets, {title} ({PRICES_SOURCE})",
        "",
        "| item | per ticket | every invocation cold | every invocation warm |",
        "|---|---|---:|---:|",
    ]
    for line, warm_line in zip(cold, warm, strict=True):
        cells = [line.what, line.quantity, f"${line.dollars * 1000:.4f}", f"${warm_line.dollars * 1000:.4f}"]
        out.append("| " + " | ".join(cells) + " |")
    out.append(
        f"| **total excluding SES's per-mail price** | | **{total(cold, False)}** "
        f"| **{total(warm, False)}** |"
    )
    out.append(f"| **total with SES** | | **{total(cold, True)}** | **{total(warm, True)}** |")
    return "\n".join(out)
