"""The support form's handler under hostile input: whatever is posted, the answer is a 2xx, 3xx or
4xx with a well-formed body, and a ticket exists exactly when the answer says one was made."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from hypothesis import event, given
from hypothesis import strategies as st

from functions.web_form import app
from tests.property.conftest import Desk
from tests.property.fakes import FakeTicketStore
from tests.property.strategies import (
    api_event,
    content_types,
    garbage_headers,
    header_values,
    hostile_text,
    json_bytes,
    json_values,
    nasty_text,
    nested_json,
    one_in,
    short_text,
    texts,
)

FORM_ROUTE = "/forms/{form_id}"
VALID = {
    "name": "Ana Souza",
    "email": "ana@example.org",
    "message": "My order 1234 has not arrived.",
    "subject": "Where is my order?",
    "locale": "pt-BR",
    "time_zone": "Europe/Berlin",
    "submission_id": "s-1f3a",
}
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp", "Cs"})  # controls (CR, LF, NUL...), separators, surrogates
_LOCATION = re.compile(r"/forms/[^\s\x00-\x1f\x7f]*")

# Weighted by repetition: most examples must reach the form's validation to test anything there.
form_ids = st.sampled_from(["contact"] * 8 + ["Contact", "contact/", "nope", ""]).flatmap(
    lambda form_id: st.just(form_id) if form_id else st.text(min_size=1, max_size=20)
)


# Text people write: any script, emoji, combining marks, bidi text; tabs and line breaks where
# the field is multi-line. Valid, yet not what the code was written against.
_one_line_chars = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
one_line_text = texts(_one_line_chars | st.sampled_from("\u00a0\u200b\u0301\u05d0\U0001f600"), 1, 120)
multi_line_text = texts(_one_line_chars | st.sampled_from("\t\n\r\n\u00a0\u0301\u05d0\U0001f600"), 1, 400)
VARIED: dict[str, st.SearchStrategy[Any]] = {
    "name": one_line_text,
    "email": st.sampled_from(
        [
            "a+tag@example.org",
            "ANA@EXAMPLE.ORG",
            "ana@bücher.example",
            "δοκιμή@παράδειγμα.δοκιμή",
            "x" * 64 + "@example.org",
        ]
    ),
    "message": multi_line_text,
    "subject": one_line_text,
    "locale": st.sampled_from(["en", "pt_BR", "zh-Hant-TW", "kk", "fa-IR", "de-CH-1996", "xx"]),
    "time_zone": st.sampled_from(
        ["UTC", "America/Argentina/Buenos_Aires", "Etc/GMT+12", "Asia/Kathmandu", "Factory"]
    ),
    "submission_id": texts(st.characters(min_codepoint=0x21, max_codepoint=0x7E), 1, 255),
}


@st.composite
def submissions(draw: st.DrawFn) -> dict[str, Any]:
    """A form's fields, each valid, valid but unusual, missing or hostile, and maybe extra fields
    (the honeypot too): enough posts get through to exercise the ticket's creation."""
    fields: dict[str, Any] = {}
    for name, valid in VALID.items():
        choice = draw(st.sampled_from(["valid"] * 2 + ["varied"] * 5 + ["absent", "hostile"]))
        if choice == "valid":
            fields[name] = valid
        elif choice == "varied":
            fields[name] = draw(VARIED[name])
        elif choice == "hostile":
            fields[name] = draw(json_values)
    if draw(one_in(5)):
        extra_names = (
            st.sampled_from(["order_number", "website", "x.y-z", "a" * 65]) | short_text | nasty_text
        )
        fields.update(draw(st.dictionaries(extra_names, json_values, min_size=1, max_size=3)))
    return fields


def form_encoded(fields: dict[str, Any], repeat: bool) -> bytes:
    pairs = [(name, value if isinstance(value, str) else json.dumps(value)) for name, value in fields.items()]
    if repeat and pairs:
        pairs.append(pairs[0])
    # surrogatepass: a lone surrogate becomes %ED%A0%80, percent-escapes that are not UTF-8
    return urlencode(pairs, errors="surrogatepass").encode("ascii")


def multipart(fields: dict[str, Any], boundary: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return "".join([*parts, f"--{boundary}--\r\n"]).encode("utf-8", "surrogatepass")


@st.composite
def posts(draw: st.DrawFn) -> tuple[bytes, str | None]:
    """A body and the Content-Type it is sent with: mostly the matching one, sometimes any."""
    kinds = ["json"] * 4 + ["form"] * 3 + ["multipart", "json-value", "nested", "bytes", "huge"]
    kind = draw(st.sampled_from(kinds))
    fields = draw(submissions())
    if kind == "json":
        body, content_type = json_bytes(fields, draw(st.booleans())), "application/json"
    elif kind == "form":
        body, content_type = form_encoded(fields, draw(st.booleans())), "application/x-www-form-urlencoded"
    elif kind == "multipart":
        body, content_type = multipart(fields, "b0und"), "multipart/form-data; boundary=b0und"
    elif kind == "json-value":
        body, content_type = json_bytes(draw(json_values), draw(st.booleans())), "application/json"
    elif kind == "nested":
        body, content_type = draw(nested_json), "application/json"
    elif kind == "bytes":
        body, content_type = draw(st.binary(max_size=2_000)), None
    else:
        body, content_type = json_bytes({**fields, "message": "x" * 70_000}, True), "application/json"
    if content_type is None or draw(one_in(8)):
        content_type = draw(content_types())
    return body, content_type


@st.composite
def form_requests(draw: st.DrawFn) -> dict[str, Any]:
    body, content_type = draw(posts())
    headers = draw(garbage_headers)
    for name, value, usual in (
        ("content-type", content_type, [content_type]),
        ("accept", None, [None, "application/json", "text/html", "*/*"]),
        ("accept-language", None, [None, "ru-RU,ru;q=0.9,en;q=0.5"]),
        ("idempotency-key", None, [None, "retry-7f3a"]),
    ):
        value = draw(header_values) if draw(one_in(6)) else draw(st.sampled_from(usual))
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return api_event(
        "POST",
        FORM_ROUTE,
        {"form_id": draw(form_ids)},
        body,
        headers,
        base64_encoded=draw(st.booleans()),
    )


# -- what every answer must be ---------------------------------------------------------------------


def single_line(value: str | None) -> bool:
    return not any(unicodedata.category(char) in _LINE_BREAKING for char in value or "")


def assert_well_formed(response: dict[str, Any]) -> None:
    """A 2xx, 3xx or 4xx, with headers fit for HTTP and a body fit for its content type."""
    status = response["statusCode"]
    event(f"status {status}")  # --hypothesis-show-statistics: how far the examples got
    assert isinstance(status, int) and 200 <= status < 500, f"status {status}: {response.get('body')!r:.300}"
    for name, value in response["headers"].items():
        assert isinstance(value, str) and value.isascii() and single_line(value), (name, value)
    body = response["body"]
    assert isinstance(body, str)
    body.encode("utf-8")  # a lone surrogate cannot go out as an HTTP body
    content_type = response["headers"].get("Content-Type", "")
    if content_type.startswith("application/json"):
        document = json.loads(body)
        assert isinstance(document, dict)
        for error in document.get("errors", []):
            assert set(error) == {"field", "message"}, error
            assert isinstance(error["field"], str) and isinstance(error["message"], str)
    elif content_type.startswith("text/html"):
        assert body.lstrip().lower().startswith("<!doctype html"), body[:100]
    if status == 303:
        assert _LOCATION.fullmatch(response["headers"]["Location"]), response["headers"]["Location"]


def assert_tickets_match(response: dict[str, Any], store: FakeTicketStore) -> None:
    """A ticket exists when the answer says so, and only then; what it stores is clean."""
    status, headers = response["statusCode"], response["headers"]
    if status in (200, 201):
        reference = json.loads(response["body"])["reference"]
        assert list(store.tickets) == [reference]
    elif status == 303 and "reference" in (query := parse_qs(urlsplit(headers["Location"]).query)):
        assert list(store.tickets) == query["reference"]
    else:  # rejected, or the honeypot's silent thank-you
        assert not store.tickets and not store.messages, status
    for ticket in store.tickets.values():
        assert single_line(ticket.subject) and ticket.subject
        assert single_line(ticket.requester.name) and single_line(ticket.requester.email)
        assert all(single_line(name) for name in ticket.custom_fields)
        for message in store.messages[ticket.reference]:
            assert "\r" not in message.body_text and message.body_text.strip()


# -- the properties ----------------------------------------------------------------------------------


@given(request=form_requests())
def test_any_post_is_answered_2xx_to_4xx_and_a_ticket_exists_only_when_accepted(
    desk: Desk, context: Any, request: dict[str, Any]
) -> None:
    store = desk.fresh()
    response = app.lambda_handler(request, context)
    assert_well_formed(response)
    assert_tickets_match(response, store)


@given(
    fields=submissions(),
    encoding=st.sampled_from(["json-escaped", "json-raw", "form", "form-repeated"]),
    accept=st.sampled_from(["application/json", "text/html"]),
)
def test_any_fields_posted_by_a_form_or_a_script_are_a_ticket_or_field_errors(
    desk: Desk, context: Any, fields: dict[str, Any], encoding: str, accept: str
) -> None:
    store = desk.fresh()
    if encoding.startswith("json"):
        body, content_type = json_bytes(fields, encoding == "json-escaped"), "application/json"
    else:
        body, content_type = (
            form_encoded(fields, encoding == "form-repeated"),
            "application/x-www-form-urlencoded",
        )
    headers = {"content-type": content_type, "accept": accept}
    response = app.lambda_handler(
        api_event("POST", FORM_ROUTE, {"form_id": "contact"}, body, headers, base64_encoded=False), context
    )
    assert_well_formed(response)
    assert_tickets_match(response, store)
    # 400 only for percent-escapes that are no UTF-8; 413 for a post over the size limit
    assert response["statusCode"] in (200, 201, 303, 400, 413, 422), response["body"][:300]


@given(
    route=st.sampled_from(["/forms/{form_id}", "/forms/{form_id}/thanks"]),
    form_id=form_ids,
    query=st.dictionaries(st.sampled_from(["lang", "reference"]) | short_text, header_values, max_size=3),
    headers=garbage_headers,
)
def test_any_page_request_is_a_page_or_a_404(
    desk: Desk, context: Any, route: str, form_id: str, query: dict[str, str], headers: dict[str, str]
) -> None:
    desk.fresh()
    event = api_event("GET", route, {"form_id": form_id}, b"", headers, base64_encoded=False, query=query)
    response = app.lambda_handler(event, context)
    assert_well_formed(response)
    assert response["statusCode"] in (200, 404)


@given(value=hostile_text | json_values, field=st.sampled_from([*VALID, "order_number"]) | short_text)
def test_one_hostile_field_in_a_valid_post_is_a_ticket_or_a_field_error(
    desk: Desk, context: Any, value: Any, field: str
) -> None:
    store = desk.fresh()
    body = json_bytes({**VALID, field: value}, ascii_only=True)
    event = api_event(
        "POST",
        FORM_ROUTE,
        {"form_id": "contact"},
        body,
        {"content-type": "application/json"},
        base64_encoded=False,
    )
    response = app.lambda_handler(event, context)
    assert_well_formed(response)
    assert_tickets_match(response, store)
    assert response["statusCode"] in (201, 413, 422), response["body"][:300]
