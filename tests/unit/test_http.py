"""The HTTP edge: API Gateway events in, language and content negotiation."""

import base64
import json
from typing import Any

import pytest

from frontdesk.http import HttpRequest, json_response, redirect_response
from frontdesk.language.tags import ranked_languages


@pytest.mark.parametrize(
    ("header", "language"),
    [
        pytest.param("ru-RU,en;q=0.8", "ru", id="first-without-weight"),
        pytest.param("en;q=0.5, fa;q=0.9", "fa", id="highest-weight-wins"),
        pytest.param("de", "de", id="single"),
        pytest.param("  pt-BR ; q=0.7 ,  en ; q=0.3 ", "pt", id="spaces"),
        pytest.param("en;q=0.8, fr;q=0.8", "en", id="tie-keeps-first"),
        pytest.param("*, fr;q=0.5", "fr", id="wildcard-skipped"),
        pytest.param("en;q=0, de;q=0.1", "de", id="zero-weight-loses"),
        pytest.param("fa;q=abc, en;q=0.3", "en", id="garbage-weight-skipped"),
        pytest.param("fa;q=, en;q=0.3", "en", id="empty-weight-skipped"),
        pytest.param(",,en,,", "en", id="empty-parts"),
    ],
)
def test_accept_language_ranks_the_heaviest_tag_first(header: str, language: str):
    assert ranked_languages(header)[0] == language


@pytest.mark.parametrize("header", [None, "", "*", " , ", "*;q=0.5", "fa;q=abc"])
def test_accept_language_without_a_usable_tag_ranks_nothing(header: str | None):
    assert ranked_languages(header) == []


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("fa;q=nan, en;q=0.5", id="nan"),
        pytest.param("fa;q=inf, en;q=0.5", id="inf"),
        pytest.param("fa;q=2, en;q=0.5", id="above-one"),
    ],
)
def test_accept_language_skips_out_of_range_q_values(header: str):
    assert ranked_languages(header) == ["en"]


def test_accept_language_never_ranks_a_language_the_client_refuses():
    assert ranked_languages("fa;q=0") == []


def http_event(**overrides):
    event = {
        "version": "2.0",
        "routeKey": "POST /forms/{form_id}",
        "rawPath": "/forms/contact",
        "rawQueryString": "",
        "headers": {"Content-Type": "application/json", "Accept-Language": "fa", "X-Custom": "Value"},
        "pathParameters": {"form_id": "contact"},
        "queryStringParameters": {"reference": "FD-7K3M-Q9TX"},
        "requestContext": {"http": {"method": "POST", "path": "/forms/contact"}},
        "body": '{"name": "Олег"}',
        "isBase64Encoded": False,
    }
    event.update(overrides)
    return event


def test_from_event_reads_an_http_api_event():
    request = HttpRequest.from_event(http_event())

    assert request.route_key == "POST /forms/{form_id}"
    assert request.method == "POST"
    assert request.path == "/forms/contact"
    assert request.path_parameters == {"form_id": "contact"}
    assert request.query == {"reference": "FD-7K3M-Q9TX"}
    assert request.headers == {
        "content-type": "application/json",
        "accept-language": "fa",
        "x-custom": "Value",
    }
    assert request.body == '{"name": "Олег"}'.encode()


def test_from_event_decodes_a_base64_body():
    raw = b"name=%D0%9E&email=o%40example.org" + b"\xff"
    event = http_event(body=base64.b64encode(raw).decode(), isBase64Encoded=True)

    assert HttpRequest.from_event(event).body == raw


def test_header_lookup_is_case_insensitive():
    request = HttpRequest.from_event(http_event())

    assert request.header("Content-Type") == "application/json"
    assert request.header("ACCEPT-LANGUAGE") == "fa"
    assert request.header("authorization") is None


def test_from_event_copes_with_a_bare_event():
    request = HttpRequest.from_event({})

    assert request.method == ""
    assert request.path == ""
    assert request.headers == {}
    assert request.query == {}
    assert request.path_parameters == {}
    assert request.body == b""


def test_from_event_falls_back_to_the_context_path():
    event = http_event()
    del event["rawPath"]

    assert HttpRequest.from_event(event).path == "/forms/contact"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"Content-Type": "application/json"}, True, id="json-post"),
        pytest.param({"Content-Type": "Application/JSON; charset=utf-8"}, True, id="json-post-params"),
        pytest.param({"Accept": "application/json"}, True, id="accept-json"),
        pytest.param({"Accept": "application/json, text/html;q=0.5"}, True, id="accept-json-first"),
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, False, id="form-post"),
        pytest.param(
            {"Accept": "text/html,application/xhtml+xml,application/json;q=0.9"}, False, id="browser"
        ),
        pytest.param({}, False, id="no-headers"),
    ],
)
def test_prefers_json(headers: dict[str, str], expected: bool):
    request = HttpRequest.from_event(http_event(headers=headers))

    assert request.prefers_json() is expected


def test_json_response_keeps_unicode_and_forbids_caching():
    response = json_response(201, {"reference": "FD-7K3M-Q9TX", "name": "Олег"}, {"X-Extra": "1"})

    assert response["statusCode"] == 201
    assert response["headers"] == {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "X-Extra": "1",
    }
    assert "Олег" in response["body"]
    assert json.loads(response["body"]) == {"reference": "FD-7K3M-Q9TX", "name": "Олег"}


def test_redirect_response_is_a_303_see_other():
    assert redirect_response("/forms/contact/thanks") == {
        "statusCode": 303,
        "headers": {"Location": "/forms/contact/thanks", "Cache-Control": "no-store"},
        "body": "",
    }


# -- the API's own origin, and survey posts from other sites ----------------------------------------


def page_event(
    headers: dict[str, str], domain: str | None = "abc.execute-api.us-east-1.amazonaws.com"
) -> dict[str, Any]:
    context: dict[str, Any] = {"http": {"method": "POST", "path": "/surveys/t"}}
    if domain:
        context["domainName"] = domain
    return {"routeKey": "POST /surveys/{token}", "headers": headers, "requestContext": context}


def test_the_own_origin_is_the_gateways_domain_over_https_unless_it_says_http():
    request = HttpRequest.from_event(page_event({"Host": "ignored.example"}))
    assert request.own_origin() == "https://abc.execute-api.us-east-1.amazonaws.com"
    local = HttpRequest.from_event(page_event({"host": "127.0.0.1:8080", "x-forwarded-proto": "http"}, None))
    assert local.own_origin() == "http://127.0.0.1:8080"


def survey_settings(page_base_url: str | None = None):
    from frontdesk.config import Settings

    return Settings.model_validate(
        {
            "sender_address": "support@example.com",
            "support_domain": "example.com",
            "tickets_table_name": "tickets",
            "surveys": {"page_base_url": page_base_url} if page_base_url else {},
        }
    )


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        pytest.param({"Sec-Fetch-Site": "cross-site"}, True, id="cross-site"),
        pytest.param({"Sec-Fetch-Site": "same-site"}, True, id="same-site"),
        pytest.param(
            {"Sec-Fetch-Site": "CROSS-SITE", "Origin": "https://abc.execute-api.us-east-1.amazonaws.com"},
            True,
            id="fetch-metadata-wins",
        ),
        pytest.param({"Sec-Fetch-Site": "same-origin", "Origin": "null"}, False, id="chromium-own-post"),
        pytest.param({"Sec-Fetch-Site": "none"}, False, id="user-initiated"),
        pytest.param({"Origin": "https://evil.example"}, True, id="foreign-origin"),
        pytest.param({"Origin": "null"}, True, id="opaque-origin"),
        pytest.param({"Origin": "https://abc.execute-api.us-east-1.amazonaws.com"}, False, id="own-origin"),
        pytest.param(
            {"Origin": "https://ABC.execute-api.us-east-1.amazonaws.com:443"},
            False,
            id="own-origin-spelled-out",
        ),
        pytest.param(
            {"Origin": "http://abc.execute-api.us-east-1.amazonaws.com"}, True, id="own-host-other-scheme"
        ),
        pytest.param(
            {"Origin": "https://abc.execute-api.us-east-1.amazonaws.com:8443"}, True, id="own-host-other-port"
        ),
        pytest.param({"Origin": "https://help.example.com"}, False, id="configured-page-url"),
        pytest.param({"Origin": "https://[::1"}, True, id="malformed-origin"),
        pytest.param({}, False, id="neither-header"),
    ],
)
def test_a_survey_post_from_another_site_is_refused(headers: dict[str, str], refused: bool):
    from frontdesk.surveys.page import cross_site_post

    request = HttpRequest.from_event(page_event(headers))
    settings = survey_settings("https://help.example.com/surveys-base")

    assert (cross_site_post(request, settings) is not None) is refused
