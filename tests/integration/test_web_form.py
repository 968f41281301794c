"""POST /forms/{form_id} and friends, handler against moto."""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError

from frontdesk import clock, runtime
from frontdesk.clock import shifted_environment
from frontdesk.config import get_settings
from frontdesk.forms import web
from frontdesk.http import HttpRequest
from frontdesk.tickets.model import MessageKind, TicketStatus
from functions.web_form import app
from tests.integration.conftest import Aws, api_event, tickets_of

POST = "POST /forms/{form_id}"
JSON = {"Content-Type": "application/json"}


def post_json(context, payload, headers=None, form="contact"):
    body = json.dumps(payload).encode()
    event = api_event("POST", POST, f"/forms/{form}", body, {**JSON, **(headers or {})})
    response = app.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None, response


def form_event(fields: dict[str, str]) -> dict[str, object]:
    """A browser's post of the support form."""
    body = urlencode(fields).encode()
    return api_event(
        "POST", POST, "/forms/contact", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )


def unique_payload(tag: str) -> dict[str, str]:
    return {"name": "Ana Souza", "email": f"{tag}@example.org", "message": f"My order {tag} has not arrived."}


def test_json_post_creates_one_ticket_with_its_first_message(aws: Aws, function_env, lambda_context):
    # Given a customer's support request with a custom field
    payload = {**unique_payload("first-post"), "subject": "Where is my order?", "order_number": 1234}

    # When it is posted
    status, body, response = post_json(lambda_context, payload, {"Accept-Language": "ru-RU,ru;q=0.9"})

    # Then one ticket exists, with its message, requester, language and custom field
    assert status == 201
    assert response["headers"]["Content-Type"] == "application/json"
    found = runtime.ticket_store().get_ticket_with_messages(body["reference"])
    assert found is not None
    ticket, messages = found
    assert ticket.status is TicketStatus.NEW
    assert ticket.subject == "Where is my order?"
    assert ticket.requester.email == "first-post@example.org"
    assert ticket.language == "ru"  # the browser's language, which Frontdesk writes, wins over the text's
    assert ticket.custom_fields == {"order_number": "1234"}
    assert [m.kind for m in messages] == [MessageKind.CUSTOMER]
    assert messages[0].body_text == payload["message"]
    assert tickets_of("email:first-post@example.org")[0].reference == ticket.reference


def test_same_idempotency_key_returns_the_original_ticket(aws: Aws, function_env, lambda_context):
    payload = unique_payload("retry")
    key = {"Idempotency-Key": "retry-7f3a"}

    first = post_json(lambda_context, payload, key)
    second = post_json(lambda_context, payload, key)

    assert first[0] == 201
    assert second[0] == 200
    assert second[2]["headers"]["Idempotent-Replayed"] == "true"
    assert second[1]["reference"] == first[1]["reference"]
    assert len(tickets_of("email:retry@example.org")) == 1


def test_reused_idempotency_key_with_other_content_is_refused(aws: Aws, function_env, lambda_context):
    key = {"Idempotency-Key": "reused-key-1"}
    assert post_json(lambda_context, unique_payload("reuse-a"), key)[0] == 201

    status, body, _ = post_json(lambda_context, unique_payload("reuse-b"), key)

    assert status == 422
    assert body == {
        "errors": [{"field": "Idempotency-Key", "message": "was already used for a different request"}]
    }
    assert tickets_of("email:reuse-b@example.org") == []


def test_identical_post_without_a_key_is_one_ticket(aws: Aws, function_env, lambda_context):
    payload = unique_payload("double-click")
    first = post_json(lambda_context, payload)
    second = post_json(lambda_context, payload)
    assert (first[0], second[0]) == (201, 200)
    assert first[1]["reference"] == second[1]["reference"]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"name": "Ana", "message": "hello"}, 422, "email"),
        ({"name": "Ana", "email": "not-an-address", "message": "hello"}, 422, "email"),
        ({"name": "Ana", "email": "ana@example.org", "message": "   "}, 422, "message"),
        (
            {"name": "Ana\r\nBcc: victim@example.com", "email": "ana@example.org", "message": "hi"},
            422,
            "name",
        ),
        ({"name": "Ana", "email": "ana@example.org\nBcc: x@example.com", "message": "hi"}, 422, "email"),
        (
            {"name": "Ana", "email": "ana@example.org", "subject": "Hi\rthere", "message": "hi"},
            422,
            "subject",
        ),
        ({"name": "Ana", "email": "ana@example.org", "message": "x" * 20_001}, 422, "message"),
        ({"name": "Ana", "email": "ana@example.org", "message": "hi", "meta": {"a": 1}}, 422, "meta"),
    ],
)
def test_bad_json_fields_get_field_errors_and_store_nothing(
    aws: Aws, function_env, lambda_context, payload, status, field
):
    before = len(aws.items())
    got_status, body, _ = post_json(lambda_context, payload)
    assert got_status == status
    assert field in [error["field"] for error in body["errors"]]
    assert all(set(error) == {"field", "message"} for error in body["errors"])
    assert len(aws.items()) == before


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b'{"name": "Ana", "email": ', "application/json", 400, "body"),
        (b"[1, 2]", "application/json", 400, "body"),
        (b"hello", "text/plain", 415, "Content-Type"),
        (
            json.dumps({"name": "A", "email": "a@example.org", "message": "m" * (1024 * 1024)}).encode(),
            "application/json",
            413,
            "body",
        ),
    ],
)
def test_malformed_or_oversized_bodies_are_refused(
    aws: Aws, function_env, lambda_context, body, content_type, status, field
):
    before = len(aws.items())
    event = api_event(
        "POST", POST, "/forms/contact", body, {"Content-Type": content_type, "Accept": "application/json"}
    )
    response = app.lambda_handler(event, lambda_context)
    assert response["statusCode"] == status
    assert json.loads(response["body"])["errors"][0]["field"] == field
    assert len(aws.items()) == before


def test_unknown_form_is_404(aws: Aws, function_env, lambda_context):
    status, body, _ = post_json(lambda_context, unique_payload("nowhere"), form="no-such-form")
    assert status == 404
    assert body["errors"][0]["field"] == "form_id"


def test_browser_post_redirects_to_the_thank_you_page(aws: Aws, function_env, lambda_context):
    fields = {
        "name": "Bao Nguyen",
        "email": "bao@example.org",
        "message": "Xin chào, tôi cần giúp đỡ.",
        "submission_id": "s-1",
    }
    event = form_event(fields)
    assert event["isBase64Encoded"] is True  # as HTTP APIs deliver form posts

    response = app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 303
    location = response["headers"]["Location"]
    assert location.startswith("/forms/contact/thanks?reference=FD-")
    reference = location.rsplit("=", 1)[1]
    thanks = app.lambda_handler(
        api_event(
            "GET", "GET /forms/{form_id}/thanks", "/forms/contact/thanks", query={"reference": reference}
        ),
        lambda_context,
    )
    assert thanks["statusCode"] == 200
    assert reference in thanks["body"]
    assert "Content-Security-Policy" in thanks["headers"]


def test_browser_post_with_errors_gets_the_form_back_with_messages(aws: Aws, function_env, lambda_context):
    fields = {"name": "<b>Eve</b>", "email": "eve@", "message": "", "submission_id": "keep-me"}
    event = form_event(fields)

    response = app.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 422
    page = response["body"]
    assert 'id="email-error"' in page and 'id="message-error"' in page
    assert 'aria-invalid="true"' in page
    assert "&lt;b&gt;Eve&lt;/b&gt;" in page and "<b>Eve</b>" not in page  # the value is kept, escaped
    assert 'value="keep-me"' in page  # a corrected resubmission is still deduplicated


def test_honeypot_post_creates_nothing(aws: Aws, function_env, lambda_context):
    fields = {
        "name": "Bot",
        "email": "bot@example.org",
        "message": "cheap pills",
        "website": "http://spam.example",
    }
    before = len(aws.items())
    event = form_event(fields)
    response = app.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 303
    assert "reference=" not in response["headers"]["Location"]
    assert len(aws.items()) == before


def test_form_page_is_served(aws: Aws, function_env, lambda_context):
    response = app.lambda_handler(api_event("GET", "GET /forms/{form_id}", "/forms/contact"), lambda_context)
    assert response["statusCode"] == 200
    assert '<label for="email">' in response["body"]
    assert "script" not in response["headers"]["Content-Security-Policy"]


def test_concurrent_distinct_posts_get_distinct_tickets(aws: Aws, function_env, lambda_context):
    payloads = [unique_payload(f"crowd-{n}") for n in range(20)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda p: post_json(lambda_context, p), payloads))
    references = [body["reference"] for status, body, _ in results if status == 201]
    assert len(references) == 20
    assert len(set(references)) == 20


def test_concurrent_duplicates_make_one_ticket(aws: Aws, function_env, lambda_context):
    payload = unique_payload("stampede")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda _: post_json(lambda_context, payload, {"Idempotency-Key": "stampede"}), range(8))
        )
    assert sorted(status for status, _, _ in results) == [200] * 7 + [201]
    assert len({body["reference"] for _, body, _ in results}) == 1
    assert len(tickets_of("email:stampede@example.org")) == 1


class UnavailableStore:
    def create_ticket(self, *args, **kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "busy"}}, "Tx"
        )


def test_an_unreachable_table_is_503_and_the_browser_keeps_the_text(aws: Aws, function_env, lambda_context):
    fields = {
        "name": "Ana",
        "email": "ana@example.org",
        "message": "Please keep this text",
        "submission_id": "s-503",
    }
    event = form_event(fields)
    request = HttpRequest.from_event(event)
    now = clock.now()

    page = web.submit_form(request, settings=get_settings(), store=UnavailableStore(), now=now)  # type: ignore[arg-type]

    assert page["statusCode"] == 503
    assert page["headers"]["Retry-After"] == "5"
    assert "Please keep this text" in page["body"]
    assert "We could not save your message just now" in page["body"]
    json_request = HttpRequest.from_event(
        api_event("POST", POST, "/forms/contact", json.dumps(fields).encode(), JSON)
    )
    answer = web.submit_form(json_request, settings=get_settings(), store=UnavailableStore(), now=now)  # type: ignore[arg-type]
    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["errors"][0]["field"] == "form"


def post_from(context, address: str, tag: str, headers: dict[str, str] | None = None):
    body = json.dumps(unique_payload(tag)).encode()
    event = api_event("POST", POST, "/forms/contact", body, {**JSON, **(headers or {})})
    event["requestContext"]["http"]["sourceIp"] = address
    response = app.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"]), response["headers"]


def test_one_network_gets_its_hourly_quota_of_new_tickets_then_429(
    aws: Aws, function_env, lambda_context, monkeypatch
):
    monkeypatch.setenv("FRONTDESK_MAX_FORM_TICKETS_PER_NETWORK_PER_HOUR", "3")
    get_settings.cache_clear()
    # Three addresses of one IPv6 /64 are one subscriber's network.
    network = ["2001:db8:5:7::1", "2001:db8:5:7::2", "2001:db8:5:7:ffff::9"]
    first = post_from(lambda_context, network[0], "quota-1", {"Idempotency-Key": "quota-key-1"})
    assert first[0] == 201
    assert post_from(lambda_context, network[1], "quota-2")[0] == 201
    assert post_from(lambda_context, network[2], "quota-3")[0] == 201

    status, body, headers = post_from(lambda_context, network[0], "quota-4")

    assert status == 429
    assert body == {
        "errors": [
            {
                "field": "form",
                "message": "too many messages from your network this hour; please try again later",
            }
        ]
    }
    assert 1 <= int(headers["Retry-After"]) <= 3600
    assert tickets_of("email:quota-4@example.org") == []
    # A repeat of an accepted post is still answered with its ticket, quota or not.
    replay = post_from(lambda_context, network[0], "quota-1", {"Idempotency-Key": "quota-key-1"})
    assert (replay[0], replay[1]["reference"]) == (200, first[1]["reference"])
    # Another network, and the next hour, are counted afresh.
    assert post_from(lambda_context, "2001:db8:5:8::1", "quota-5")[0] == 201
    assert post_from(lambda_context, "198.51.100.20", "quota-6")[0] == 201
    set_clock = clock.now().replace(minute=0, second=0) + timedelta(hours=1, minutes=1)
    for name, value in shifted_environment(set_clock).items():
        monkeypatch.setenv(name, value)
    clock.reset()
    assert post_from(lambda_context, network[0], "quota-7")[0] == 201


def test_the_quota_refusal_is_a_form_page_in_the_customers_language(
    aws: Aws, function_env, lambda_context, monkeypatch
):
    monkeypatch.setenv("FRONTDESK_MAX_FORM_TICKETS_PER_NETWORK_PER_HOUR", "1")
    get_settings.cache_clear()
    fields = {**unique_payload("quota-page-1"), "locale": "ru"}
    event = form_event(fields)
    event["requestContext"]["http"]["sourceIp"] = "203.0.113.77"  # type: ignore[index]
    assert app.lambda_handler(event, lambda_context)["statusCode"] == 303

    again = form_event({**fields, "email": "quota-page-2@example.org"})
    again["requestContext"]["http"]["sourceIp"] = "203.0.113.77"  # type: ignore[index]
    page = app.lambda_handler(again, lambda_context)

    assert page["statusCode"] == 429
    assert "Retry-After" in page["headers"]
    assert "Слишком много сообщений из вашей сети" in page["body"]
    assert "quota-page-2@example.org" in page["body"]  # what was typed is kept
