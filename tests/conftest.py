"""Shared test setup: no test may reach real AWS."""

import os

import pytest

# Set before any boto3 client exists (clients are created lazily by frontdesk.aws).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture
def lambda_context():
    from frontdesk_tools.local.worker import LocalLambdaContext

    return LocalLambdaContext("test-function", timeout_seconds=10, memory_mb=256, request_id="req-1")
