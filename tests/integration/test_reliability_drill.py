"""A small run of bench/reliability.py on the tests' stack: every channel's messages delivered
three times at once from many threads, once without faults and once with 30% of the handlers'
DynamoDB, S3 and SES calls failing (throttled, or a server error before or after the request is
applied); then the failure queues and the stored mail replayed. One ticket per message, none
lost, no email or chat acknowledgement twice. Every call is also checked against the functions'
declared permissions (declared_permissions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.reliability import Stack, install_injector, remove_injector, run_drill
from tests.integration.conftest import Aws


@pytest.fixture
def drill_stack(aws: Aws, function_env: None) -> Iterator[Stack]:
    yield Stack(aws.server, aws.template, aws.stack, install_injector())
    remove_injector()


@pytest.mark.parametrize("fault_rate", [0.0, 0.3])
def test_duplicated_deliveries_under_faults_make_one_ticket_each_and_lose_nothing(
    drill_stack: Stack, fault_rate: float
) -> None:
    figures = run_drill(drill_stack, fault_rate, messages=4, copies=3, threads=8, seed=11)

    assert figures.events_sent == 4 * 3 * 3
    assert figures.tickets_created == figures.distinct_messages == 12
    assert (figures.duplicates, figures.lost) == (0, 0)
    assert (figures.emails_sent_twice, figures.chat_acknowledged_twice) == (0, 0)
    if fault_rate:
        assert figures.faults_injected > 0  # the faults happened, and were survived
    else:
        assert figures.acknowledgements_missing == 0
