"""Sending through SES at most once: only what SES certainly refused is tried again."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from frontdesk import aws
from frontdesk.notify.mailer import PermanentSendError, SesMailer, UncertainSendError
from tests.unit.test_email import outgoing


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("frontdesk.notify.mailer.time.sleep", lambda seconds: None)


def stubbed() -> tuple[SesMailer, Stubber]:
    client = boto3.client("sesv2", region_name="us-east-1")
    return SesMailer(client, "email.amazonses.com"), Stubber(client)


def test_a_throttled_send_is_tried_again_and_sent_once():
    mailer, stub = stubbed()
    stub.add_client_error("send_email", "TooManyRequestsException", http_status_code=429)
    stub.add_client_error("send_email", "TooManyRequestsException", http_status_code=429)
    stub.add_response("send_email", {"MessageId": "0100-abc"})

    with stub:
        assert mailer.send(outgoing()) == "<0100-abc@email.amazonses.com>"
    stub.assert_no_pending_responses()


def test_throttled_on_every_attempt_raises_for_the_callers_retry():
    mailer, stub = stubbed()
    for _ in range(3):
        stub.add_client_error("send_email", "TooManyRequestsException", http_status_code=429)

    with stub, pytest.raises(ClientError):
        mailer.send(outgoing())
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_an_uncertain_send_and_not_tried_again(status: int):
    mailer, stub = stubbed()
    stub.add_client_error("send_email", "InternalFailure", http_status_code=status)

    with stub, pytest.raises(UncertainSendError) as raised:
        mailer.send(outgoing())
    # Recorded like a refusal by every caller (acknowledgements, replies, surveys): never resent.
    assert isinstance(raised.value, PermanentSendError) and raised.value.code == "send_outcome_unknown"


class Client:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send_email(self, **arguments: Any) -> dict[str, Any]:
        self.calls += 1
        raise self.error


def test_a_lost_answer_is_an_uncertain_send():
    client = Client(ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    with pytest.raises(UncertainSendError):
        SesMailer(client, "email.amazonses.com").send(outgoing())  # type: ignore[arg-type]
    assert client.calls == 1


def test_no_connection_is_certainly_not_sent():
    client = Client(EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com"))
    with pytest.raises(EndpointConnectionError):
        SesMailer(client, "email.amazonses.com").send(outgoing())  # type: ignore[arg-type]


def test_a_refusal_is_permanent_and_a_quota_refusal_is_for_later():
    mailer, stub = stubbed()
    stub.add_client_error("send_email", "MessageRejected", http_status_code=400)
    stub.add_client_error("send_email", "LimitExceededException", http_status_code=400)

    with stub:
        with pytest.raises(PermanentSendError) as raised:
            mailer.send(outgoing())
        assert raised.value.code == "MessageRejected"
        with pytest.raises(ClientError):  # the daily quota: no use trying again at once
            mailer.send(outgoing())
    stub.assert_no_pending_responses()


def test_the_ses_client_makes_one_attempt_per_call(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset_clients()
    try:
        assert retries(aws.sesv2()) == 1
        assert retries(aws.dynamodb()) == 3
    finally:
        aws.reset_clients()


def retries(client: Any) -> int:
    """The attempts a client makes per call (botocore's total_max_attempts)."""
    return int(client.meta.config.retries["total_max_attempts"])
