"""Shared test setup: no test may reach real AWS."""

import gc
import os
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

# Set before any boto3 client exists (clients are created lazily by frontdesk.aws).
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
)
os.environ.pop("AWS_PROFILE", None)

# Property suites (tests/property) run on a fixed budget: the same examples on every run, so CI
# is reproducible and a failure can be replayed; no deadline, because shared machines are noisy.
# HYPOTHESIS_PROFILE=deep searches longer and differently each run, for a local hunt.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=5_000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Instants the handlers' clock is set to (the local stack's --clock, FRONTDESK_CLOCK_START in
# process), so what acknowledgements promise does not depend on when the tests run. The default
# configuration's desk is open Mon-Thu 09:00-17:00 and Fri 09:00-16:00, Berlin time.
OPEN_INSTANT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Berlin
CLOSED_INSTANT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # a Saturday, 23:00 in Berlin


@pytest.fixture
def lambda_context():
    from frontdesk_tools.local.worker import LocalLambdaContext

    return LocalLambdaContext("test-function", timeout_seconds=10, memory_mb=256, request_id="req-1")


def pytest_unconfigure(config: pytest.Config) -> None:
    # A whole run leaves gigabytes of moto state in this process; the interpreter's last garbage
    # collection walked all of it and kept CI waiting minutes after the summary. Frozen objects
    # are left out of that walk (they are still freed with their modules).
    gc.freeze()
