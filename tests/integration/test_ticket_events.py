"""The stream consumer: one acknowledgement per ticket, however often a record is delivered."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from frontdesk import clock, runtime
from frontdesk.config import get_settings
from frontdesk.notify.acknowledgement import AckOutcome, acknowledge
from frontdesk.tickets.model import AcknowledgementState, MessageKind
from functions.ticket_events import app as ticket_events
from functions.web_form import app as web_form
from tests.conftest import CLOSED_INSTANT
from tests.integration.conftest import Aws, api_event, settle


def create_ticket(context, tag: str, name: str = "Ana Souza") -> str:
    body = json.dumps(
        {"name": name, "email": f"{tag}@example.org", "message": f"Hello from {tag}.\nSecond line."}
    )
    event = api_event(
        "POST", "POST /forms/{form_id}", "/forms/contact", body.encode(), {"Content-Type": "application/json"}
    )
    response = web_form.lambda_handler(event, context)
    assert response["statusCode"] == 201
    return str(json.loads(response["body"])["reference"])


def emails_to(aws: Aws, address: str) -> list[dict[str, Any]]:
    return [email for email in aws.sent() if address in email["to"]]


def test_new_ticket_gets_one_acknowledgement_with_its_reference(aws: Aws, stream, lambda_context):
    reference = create_ticket(lambda_context, "ack-once")
    settle(stream)

    (email,) = emails_to(aws, "ack-once@example.org")
    assert reference in email["subject"]
    # Wednesday 10:30 in Berlin plus 24 business hours (Mon-Thu 9-17, Fri 9-16) is Monday 11:30.
    text = " ".join(email["text"].split())
    assert "will answer by Monday, November 30, 2026, 11:30 AM (Central European Standard Time)." in text
    assert "away" not in email["text"]
    assert "> Hello from ack-once." in email["text"]
    assert email["headers"]["Auto-Submitted"] == "auto-replied"
    assert email["headers"]["Content-Language"] == "en"
    # The Message-ID customers will reply to is recorded for threading.
    ticket, messages = runtime.ticket_store().get_ticket_with_messages(reference)  # type: ignore[misc]
    assert ticket.acknowledgement is not None
    assert ticket.acknowledgement.state is AcknowledgementState.SENT
    assert ticket.acknowledgement.email_message_id == email["message_id"]
    assert email["message_id"] in ticket.email_message_ids
    assert runtime.ticket_store().find_reference_by_email_message_id(email["message_id"]) == reference
    assert [m.kind for m in messages] == [MessageKind.CUSTOMER, MessageKind.ACKNOWLEDGEMENT]


def test_redelivered_stream_records_send_nothing_more(aws: Aws, stream, lambda_context):
    create_ticket(lambda_context, "redelivered")
    settle(stream)
    delivered = [event for event in stream.function.invocations if "redelivered" in json.dumps(event)]
    assert delivered

    # When the stream delivers the same records again (Lambda retries whole batches)
    for event in delivered:
        assert ticket_events.lambda_handler(event, lambda_context) == {"batchItemFailures": []}

    assert len(emails_to(aws, "redelivered@example.org")) == 1


def test_only_new_tickets_reach_the_consumer(aws: Aws, stream, lambda_context):
    create_ticket(lambda_context, "filtered")
    settle(stream)
    records = [record for event in stream.function.invocations for record in event["Records"]]
    assert records
    assert {record["eventName"] for record in records} == {"INSERT"}
    assert {record["dynamodb"]["NewImage"]["entity"]["S"] for record in records} == {"ticket"}


class ThrottledMailer:
    def send(self, email):
        raise ClientError(
            {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "SendEmail"
        )


def test_a_failed_send_releases_the_claim_so_the_retry_can_send(aws: Aws, function_env, lambda_context):
    reference = create_ticket(lambda_context, "throttled")
    store = runtime.ticket_store()
    ticket = store.get_ticket(reference)
    assert ticket is not None
    now = clock.now()

    with pytest.raises(ClientError):
        acknowledge(ticket, store=store, mailer=ThrottledMailer(), settings=get_settings(), now=now)  # type: ignore[arg-type]
    assert store.get_ticket(reference).acknowledgement is None  # type: ignore[union-attr]

    outcome = acknowledge(ticket, store=store, mailer=runtime.mailer(), settings=get_settings(), now=now)
    assert outcome is AckOutcome.SENT
    assert acknowledge(ticket, store=store, mailer=runtime.mailer(), settings=get_settings(), now=now) is (
        AckOutcome.ALREADY_CLAIMED
    )
    assert len(emails_to(aws, "throttled@example.org")) == 1


def test_a_refused_sender_is_recorded_not_retried(
    aws: Aws, function_env, stream, lambda_context, monkeypatch
):
    # Given a sender whose domain SES has not verified
    monkeypatch.setenv("FRONTDESK_SENDER_ADDRESS", "help@unverified.example.net")
    runtime.reset()
    reference = create_ticket(lambda_context, "refused")
    settle(stream)

    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.acknowledgement is not None
    assert ticket.acknowledgement.state is AcknowledgementState.FAILED
    assert ticket.acknowledgement.failure == "MessageRejected"
    assert emails_to(aws, "refused@example.org") == []
    responses = [
        ticket_events.lambda_handler(event, lambda_context) for event in stream.function.invocations[-1:]
    ]
    assert responses == [{"batchItemFailures": []}]


def test_out_of_hours_the_acknowledgement_says_when_the_desk_reopens(
    aws: Aws, stream, lambda_context, set_clock
):
    set_clock(CLOSED_INSTANT)  # Saturday 23:00 in Berlin
    reference = create_ticket(lambda_context, "saturday-night")
    settle(stream)

    (email,) = emails_to(aws, "saturday-night@example.org")
    text = " ".join(email["text"].split())
    assert "Our team is away at the moment." in text
    assert "We are back on Monday, November 30, 2026, 9:00 AM (Central European Standard Time)" in text
    # 24 business hours from Monday 09:00: Mon 8 h, Tue 8 h, Wed 8 h.
    assert "will answer by Wednesday, December 2, 2026, 5:00 PM" in text
    assert "If your request is urgent, call us on +49 30 1234 5678" in text
    assert 'id="out-of-hours"' in email["html"]
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None
    assert ticket.calendar == "office"
    assert ticket.first_response_due_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("vi", "Xin chào, tôi không thể đăng nhập vào tài khoản của mình từ hôm qua. Vui lòng giúp tôi."),
        ("kk", "Сәлеметсіз бе, мен кеше тапсырыс бердім, бірақ әлі ештеңе келген жоқ. Көмектесіңізші."),
        ("ru", "Здравствуйте, я вчера сделал заказ, но до сих пор ничего не пришло. Помогите, пожалуйста."),
        ("fa", "سلام، من دیروز سفارش دادم اما هنوز چیزی به دستم نرسیده است. لطفا کمک کنید."),
    ],
)
def test_a_message_without_hints_is_answered_in_its_own_language(
    aws: Aws, stream, lambda_context, language: str, message: str
):
    body = json.dumps({"name": "Customer", "email": f"lang-{language}@example.org", "message": message})
    event = api_event(
        "POST", "POST /forms/{form_id}", "/forms/contact", body.encode(), {"Content-Type": "application/json"}
    )
    reference = json.loads(web_form.lambda_handler(event, lambda_context)["body"])["reference"]
    settle(stream)

    (email,) = emails_to(aws, f"lang-{language}@example.org")
    assert email["headers"]["Content-Language"] == language
    assert f'<html lang="{language}" dir="{"rtl" if language == "fa" else "ltr"}">' in email["html"]
    assert reference in email["subject"]
    assert "Thank you" not in email["text"]
