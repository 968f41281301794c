"""Every HTML page Frontdesk serves, on every route that serves one and in each of its states
(found, not found, refused, gone, answered twice, posted from another site...), carries the same
security headers: a Content-Security-Policy that lets no script run (no 'unsafe-inline', no
host; a nonce would be the only way in), nosniff, no referrer, and no framing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from frontdesk import clock
from frontdesk.http import HttpRequest
from frontdesk_tools.local.scheduler import SchedulePump
from frontdesk_tools.local.streams import StreamPump
from functions.surveys import app as surveys
from functions.web_form import app as web_form
from tests.integration.conftest import Aws, api_event
from tests.integration.test_surveys import page, scheduler, sent_survey_token  # noqa: F401

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}


def assert_secure_page(response: dict[str, Any]) -> None:
    headers = response["headers"]
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    policy: dict[str, list[str]] = {}
    for directive in headers["Content-Security-Policy"].split(";"):
        if directive.strip():
            name, *sources = directive.split()
            policy[name] = sources
    # Scripts fall back to default-src: only 'none', or nonces, never inline or any host.
    scripts = policy.get("script-src", policy["default-src"])
    assert scripts, "no source list for scripts"
    assert all(source == "'none'" or source.startswith("'nonce-") for source in scripts), scripts
    assert policy["default-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy.get("style-src", [])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert "<script" not in response["body"].lower()


def form_post(context: Any, fields: dict[str, str], **headers: str) -> dict[str, Any]:
    event = api_event(
        "POST", "POST /forms/{form_id}", "/forms/contact", urlencode(fields).encode(), {**FORM, **headers}
    )
    return web_form.lambda_handler(event, context)  # type: ignore[no-any-return]


def form_get(context: Any, route: str, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    event = api_event("GET", route, path, headers={"Accept": "text/html"}, query=query)
    return web_form.lambda_handler(event, context)  # type: ignore[no-any-return]


def unique_fields() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {"name": "Ana", "email": f"page-{tag}@example.org", "message": f"Question {tag}"}


FORM_PAGES: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "form": ("GET /forms/{form_id}", lambda c: form_get(c, "GET /forms/{form_id}", "/forms/contact")),
    "form-in-persian": (
        "GET /forms/{form_id}",
        lambda c: form_get(c, "GET /forms/{form_id}", "/forms/contact", {"lang": "fa"}),
    ),
    "form-not-found": ("GET /forms/{form_id}", lambda c: form_get(c, "GET /forms/{form_id}", "/forms/nope")),
    "thanks": (
        "GET /forms/{form_id}/thanks",
        lambda c: form_get(
            c, "GET /forms/{form_id}/thanks", "/forms/contact/thanks", {"reference": "<script>x</script>"}
        ),
    ),
    "thanks-not-found": (
        "GET /forms/{form_id}/thanks",
        lambda c: form_get(c, "GET /forms/{form_id}/thanks", "/forms/nope/thanks"),
    ),
    "post-with-errors": (
        "POST /forms/{form_id}",
        lambda c: form_post(c, {"name": "<script>x</script>", "email": "x", "message": ""}),
    ),
    "post-too-large": ("POST /forms/{form_id}", lambda c: form_post(c, {"message": "m" * 70_000})),
    "post-not-utf8": (
        "POST /forms/{form_id}",
        lambda c: web_form.lambda_handler(
            api_event("POST", "POST /forms/{form_id}", "/forms/contact", b"name=%FF", FORM), c
        ),
    ),
    "post-to-unknown-form": (
        "POST /forms/{form_id}",
        lambda c: web_form.lambda_handler(
            api_event("POST", "POST /forms/{form_id}", "/forms/nope", b"name=Ana", FORM), c
        ),
    ),
}


@pytest.mark.parametrize("case", FORM_PAGES)
def test_every_form_page_carries_the_security_headers(
    aws: Aws, function_env: None, lambda_context: Any, case: str
) -> None:
    _, respond = FORM_PAGES[case]
    response = respond(lambda_context)
    assert response["statusCode"] in (200, 400, 404, 413, 422), response["statusCode"]
    assert_secure_page(response)


def test_the_quota_and_store_refusals_are_secure_pages_too(
    aws: Aws, function_env: None, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "down"}}, "TransactWriteItems")

    with monkeypatch.context() as patched:
        patched.setattr("frontdesk.forms.web.accept", unavailable)
        response = form_post(lambda_context, unique_fields())
    assert response["statusCode"] == 503
    assert_secure_page(response)

    # One network's hourly quota used up.
    from frontdesk.config import get_settings

    with monkeypatch.context() as environment:
        environment.setenv("FRONTDESK_MAX_FORM_TICKETS_PER_NETWORK_PER_HOUR", "3")
        get_settings.cache_clear()
        network = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
        statuses = []
        for _ in range(4):
            body = urlencode(unique_fields()).encode()
            event = api_event("POST", "POST /forms/{form_id}", "/forms/contact", body, FORM)
            event["requestContext"]["http"]["sourceIp"] = network
            statuses.append((response := web_form.lambda_handler(event, lambda_context))["statusCode"])
    get_settings.cache_clear()
    assert statuses[-1] == 429, statuses
    assert_secure_page(response)


def survey_post(context: Any, token: str, form: dict[str, str], **headers: str) -> dict[str, Any]:
    return page(context, "POST", token, form, headers=headers)


SURVEY_PAGES: dict[str, tuple[str, int, Callable[[Any, str], dict[str, Any]]]] = {
    "survey": ("GET /surveys/{token}", 200, lambda c, t: page(c, "GET", t, query={"csat": "3"})),
    "survey-not-found": ("GET /surveys/{token}", 404, lambda c, t: page(c, "GET", t[:-3] + "AAA")),
    "answer-not-found": ("POST /surveys/{token}", 404, lambda c, t: survey_post(c, t[:-3] + "AAA", {})),
    "answer-with-errors": ("POST /surveys/{token}", 400, lambda c, t: survey_post(c, t, {"csat": "9"})),
    "answer-too-large": ("POST /surveys/{token}", 413, lambda c, t: survey_post(c, t, {"c": "x" * 40_000})),
    "answer-from-another-site": (
        "POST /surveys/{token}",
        403,
        lambda c, t: survey_post(c, t, {"csat": "5"}, **{"Sec-Fetch-Site": "cross-site"}),
    ),
    "answer-recorded": ("POST /surveys/{token}", 200, lambda c, t: survey_post(c, t, {"csat": "5"})),
    "answered-twice": (
        "POST /surveys/{token}",
        409,
        lambda c, t: (survey_post(c, t, {"csat": "5"}), survey_post(c, t, {"csat": "1"}))[1],
    ),
    "survey-already-answered": (
        "GET /surveys/{token}",
        200,
        lambda c, t: (survey_post(c, t, {"csat": "5"}), page(c, "GET", t))[1],
    ),
}


@pytest.mark.parametrize("case", SURVEY_PAGES)
def test_every_survey_page_carries_the_security_headers(
    aws: Aws,
    stream: StreamPump,
    scheduler: SchedulePump,  # noqa: F811
    lambda_context: Any,
    case: str,
) -> None:
    _, status, respond = SURVEY_PAGES[case]
    _, token = sent_survey_token(aws, stream, scheduler, lambda_context, f"page-{uuid.uuid4().hex[:8]}")
    response = respond(lambda_context, token)
    assert response["statusCode"] == status
    assert_secure_page(response)


def test_an_expired_survey_link_is_a_secure_page(
    aws: Aws,
    stream: StreamPump,
    scheduler: SchedulePump,  # noqa: F811
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, token = sent_survey_token(aws, stream, scheduler, lambda_context, f"page-{uuid.uuid4().hex[:8]}", "fa")
    monkeypatch.setenv("FRONTDESK_CLOCK_START", (clock.now() + timedelta(days=15)).isoformat())
    monkeypatch.setenv("FRONTDESK_CLOCK_ORIGIN", repr(datetime.now().timestamp()))
    clock.reset()
    for method in ("GET", "POST"):
        response = page(lambda_context, method, token, {"csat": "5"} if method == "POST" else None)
        assert response["statusCode"] == 410
        assert_secure_page(response)


def test_the_cases_cover_every_route_that_serves_a_page() -> None:
    covered = {route for route, _ in FORM_PAGES.values()} | {route for route, *_ in SURVEY_PAGES.values()}
    assert covered == set(web_form.ROUTES) | set(surveys.ROUTES)


def test_a_json_client_gets_json_not_a_page(aws: Aws, function_env: None, lambda_context: Any) -> None:
    event = api_event(
        "POST", "POST /forms/{form_id}", "/forms/contact", b"{}", {"Content-Type": "application/json"}
    )
    response = web_form.lambda_handler(event, lambda_context)
    assert response["headers"]["Content-Type"] == "application/json"
    assert json.loads(response["body"])["errors"]
    assert HttpRequest.from_event(event).prefers_json()
