"""AWS clients, created on first use and kept for the life of the execution environment.

Created lazily so that tests (moto) and the local stack (AWS_ENDPOINT_URL) are in place before
the first client exists. The endpoint is the only thing that differs between AWS, tests and the
local stack: boto3 reads AWS_ENDPOINT_URL itself.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_sesv2 import SESV2Client
    from mypy_boto3_ssm import SSMClient

# Standard retry mode backs off on throttling and 5xx; three attempts keep a stuck call
# well inside an API request's time budget.
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=3, read_timeout=10)


@cache
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sesv2() -> SESV2Client:
    # One attempt: botocore would retry a send after a server error or a lost answer, and SES may
    # have delivered it already. notify.mailer retries what certainly was not sent.
    return boto3.client(
        "sesv2", config=_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
    )


@cache
def s3() -> S3Client:
    return boto3.client("s3", config=_CONFIG)


@cache
def ssm() -> SSMClient:
    return boto3.client("ssm", config=_CONFIG)


@cache
def scheduler() -> EventBridgeSchedulerClient:
    return boto3.client("scheduler", config=_CONFIG)


@cache
def events() -> EventBridgeClient:
    return boto3.client("events", config=_CONFIG)


def read_ssm_parameters(names: list[str]) -> dict[str, str]:
    """The values of SSM parameters (SecureString ones decrypted), in one call."""
    answer = ssm().get_parameters(Names=names, WithDecryption=True)
    if answer.get("InvalidParameters"):
        raise ValueError(f"SSM parameters not found: {', '.join(answer['InvalidParameters'])}")
    values = {parameter["Name"]: parameter.get("Value") for parameter in answer["Parameters"]}
    missing = [name for name in names if values.get(name) is None]
    if missing:
        raise ValueError(f"SSM parameters without a value: {', '.join(missing)}")
    return {name: value for name, value in values.items() if value is not None}


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints or mocks)."""
    for factory in (dynamodb, s3, sesv2, ssm, scheduler, events):
        factory.cache_clear()
