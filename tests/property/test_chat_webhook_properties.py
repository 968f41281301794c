"""The chat webhook's handler under hostile input, for every provider adapter.

Who is not the platform gets a 4xx and stores nothing. What the platform signs, however malformed,
gets a 2xx or 4xx, never a 5xx (a platform retries a 5xx for hours or days) and never an
exception. Bodies are random bytes, random JSON, and the platforms' own payloads from
tests/corpus/webhooks with members replaced, removed or added, so the examples reach past the
adapters' first checks."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import unicodedata
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from frontdesk.chat.providers.payloads import decode_utf8
from functions.chat_webhook import app
from tests.property.conftest import CORPUS, NOW, Desk, desk_settings
from tests.property.fakes import FakeTicketStore
from tests.property.strategies import (
    api_event,
    content_types,
    garbage_headers,
    header_values,
    hostile_text,
    json_bytes,
    json_values,
    mutated_json,
    nested_json,
    one_in,
    short_text,
    with_hostile_ids,
)

PROVIDERS = ("generic", "telegram", "slack", "meta", "twilio")
ROUTE = "/chat/{provider}"
DOMAIN = "support.example.com"
SECRETS = {
    name: provider.signing_secret.get_secret_value()
    for name, provider in desk_settings().chat.providers.items()
}
META_VERIFY_TOKEN = "local-meta-verify-token"  # tools/frontdesk_tools/local/default-config.toml
WEBHOOKS = CORPUS / "webhooks"
STAMP = int(NOW.timestamp())
_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp", "Cs"})


# -- the platforms' payloads, dated now (older ones are refused as stale, correctly) -------------


def _dated(document: Any) -> Any:
    """The document with its platform timestamps moved to NOW, in each platform's format."""
    if isinstance(document, list):
        return [_dated(item) for item in document]
    if not isinstance(document, dict):
        return document
    dated = {key: _dated(value) for key, value in document.items()}
    for key, value in dated.items():
        if key == "date" and isinstance(value, int):  # Telegram: seconds
            dated[key] = STAMP
        elif key == "timestamp" and isinstance(value, int):  # Messenger: milliseconds
            dated[key] = STAMP * 1000
        elif key == "timestamp" and isinstance(value, str):  # WhatsApp: seconds, as text
            dated[key] = str(STAMP)
        elif key in ("ts", "event_ts") and isinstance(value, str):  # Slack: "seconds.micros"
            dated[key] = f"{STAMP}.000100"
        elif key == "event_time" and isinstance(value, int):
            dated[key] = STAMP
    return dated


def _json(path: str) -> Any:
    return _dated(json.loads((WEBHOOKS / path).read_text("utf-8-sig")))


def _whatsapp(file: str, *cases: str) -> list[Any]:
    cases_of = json.loads((WEBHOOKS / "whatsapp" / "pywa" / file).read_text("utf-8-sig"))
    return [_dated(cases_of[case]) for case in cases]


BASES: dict[str, list[Any]] = {
    "generic": [
        {
            "event_id": "msg-8812",
            "conversation_id": "chat-5521",
            "author": {"id": "visitor-42", "name": "Ana Souza", "email": "ana@example.org"},
            "text": "Where is my invoice?",
            "locale": "pt-BR",
            "sent_at": NOW.isoformat(),
        }
    ],
    "telegram": [
        _json(str(path.relative_to(WEBHOOKS))) for path in sorted(WEBHOOKS.glob("telegram/*/*.json"))
    ],
    "slack": [
        _json("slack/botbuilder-dotnet/MessageBody.json"),
        _json("slack/botbuilder-dotnet/URLVerificationBody.json"),
        _json("slack/botbuilder-dotnet/ReactionAddedEvent.json"),
        _json("slack/zulip/message_with_normal_text.json"),
    ],
    "meta": [
        _json("messenger/botbuilder-dotnet/Payload.json"),
        _json("messenger/botbuilder-dotnet/PayloadWithStandby.json"),
        *_whatsapp("message.json", "text", "reply", "image"),
        *_whatsapp("message_status.json", "sent"),
    ],
}
TWILIO_FORMS = [
    parse_qsl((WEBHOOKS / "twilio" / "botbuilder-dotnet" / name).read_text().strip(), keep_blank_values=True)
    for name in ("NoMediaPayload.txt", "MediaPayload.txt")
]
JSON = "application/json"
CONTENT_TYPES = {"twilio": "application/x-www-form-urlencoded"}


# -- signing, as each platform does -----------------------------------------------------------------


def url_of(provider: str) -> str:
    """The URL public_url() rebuilds from the event: https, the API's domain, the path."""
    return f"https://{DOMAIN}/chat/{provider}"


def twilio_params(body: bytes) -> list[tuple[str, str]]:
    """The POST parameters Twilio signs: the form as the adapter will read it; none when the body
    is no form at all (the adapter refuses it as unverifiable then, correctly)."""
    try:
        return parse_qsl(decode_utf8(body), keep_blank_values=True, errors="strict")
    except Exception:
        return []


def signature_headers(provider: str, body: bytes, secret: str, stamp: int = STAMP) -> dict[str, str]:
    """The headers the platform signs `body` with (written out from the platforms' docs, not
    taken from the adapters)."""
    key = secret.encode()
    if provider == "generic":
        digest = hmac.new(key, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return {"x-frontdesk-timestamp": str(stamp), "x-frontdesk-signature": f"v1={digest}"}
    if provider == "telegram":
        return {"x-telegram-bot-api-secret-token": secret}
    if provider == "slack":
        digest = hmac.new(key, f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": f"v0={digest}"}
    if provider == "meta":
        return {"x-hub-signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()}
    signed = url_of(provider) + "".join(name + value for name, value in sorted(twilio_params(body)))
    mac = hmac.new(key, signed.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return {"x-twilio-signature": base64.b64encode(mac).decode()}


def post(provider: str, body: bytes, headers: dict[str, str], base64_encoded: bool = False) -> dict[str, Any]:
    return api_event(
        "POST", ROUTE, {"provider": provider}, body, headers, base64_encoded=base64_encoded, domain=DOMAIN
    )


# -- what every answer must be ---------------------------------------------------------------------


def single_line(value: str | None) -> bool:
    return not any(unicodedata.category(char) in _LINE_BREAKING for char in value or "")


def assert_well_formed(response: dict[str, Any]) -> None:
    status = response["statusCode"]
    event(f"status {status}")
    assert isinstance(status, int) and 200 <= status < 500, f"status {status}: {response.get('body')!r:.300}"
    body = response["body"]
    assert isinstance(body, str)
    body.encode("utf-8")
    content_type = response["headers"]["Content-Type"]
    if content_type == "application/json":
        assert isinstance(json.loads(body), dict)
    elif content_type == "text/xml":
        ElementTree.fromstring(body)  # noqa: S314 (our own TwiML, parsed to check it is XML)
    else:
        assert content_type == "text/plain" and _CHALLENGE.fullmatch(body), (content_type, body[:100])


def assert_stored_cleanly(response: dict[str, Any], store: FakeTicketStore) -> None:
    """Refused: nothing stored. Accepted: what is stored is fit for pages, headers and replies
    (the fake store has checked that DynamoDB would take it)."""
    event(f"tickets {len(store.tickets)}, messages {store.message_count}")
    if response["statusCode"] >= 400:
        assert not store.tickets and not store.messages and not store.conversations, response["statusCode"]
    for ticket in store.tickets.values():
        assert ticket.subject and single_line(ticket.subject)
        assert single_line(ticket.requester.name) and ticket.requester.handle
        assert ticket.conversation_id and store.conversations[ticket.conversation_id] == ticket.reference
    for messages in store.messages.values():
        assert all(
            message.body_text and message.body_text == message.body_text.strip() for message in messages
        )


# -- strategies ------------------------------------------------------------------------------------


@st.composite
def signed_bodies(draw: st.DrawFn, provider: str) -> bytes:
    """What a platform might sign: a mutated real payload mostly, else anything."""
    kind = draw(st.sampled_from(["mutated"] * 4 + ["json", "nested", "bytes"]))
    if kind == "mutated" and provider == "twilio":
        return twilio_form(draw)
    if kind == "mutated":
        document = draw(mutated_json(draw(st.sampled_from(BASES[provider]))))
        return json_bytes(document, draw(st.booleans()))
    if kind == "json":
        return json_bytes(draw(json_values), draw(st.booleans()))
    if kind == "nested":
        return draw(nested_json)
    return draw(st.binary(max_size=1_000))


def twilio_form(draw: st.DrawFn) -> bytes:
    fields = list(draw(st.sampled_from(TWILIO_FORMS)))
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, max(0, len(fields) - 1)))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "repeat"]))
        if action == "replace" and fields:
            fields[index] = (fields[index][0], draw(hostile_text))
        elif action == "delete" and fields:
            del fields[index]
        elif action == "add":
            fields.append((draw(short_text), draw(hostile_text)))
        elif fields:
            fields.append((fields[index][0], draw(hostile_text)))
    return urlencode(fields, errors="surrogatepass").encode("ascii")


# -- the properties ----------------------------------------------------------------------------------


@given(
    provider=st.sampled_from([*PROVIDERS, ""]).flatmap(lambda name: st.just(name) if name else short_text),
    method=st.sampled_from(["POST", "POST", "GET"]),
    body_kind=st.sampled_from(["corpus", "mutated", "bytes"]),
    signature=st.sampled_from(["none", "garbage", "wrong-secret", "stale"]),
    data=st.data(),
)
def test_requests_not_signed_by_the_platform_are_4xx_and_store_nothing(
    desk: Desk, context: Any, provider: str, method: str, body_kind: str, signature: str, data: st.DataObject
) -> None:
    store = desk.fresh()
    bases = BASES.get(provider, BASES["generic"])
    if body_kind == "bytes":
        body = data.draw(st.binary(max_size=1_000))
    elif provider == "twilio":
        body = urlencode(data.draw(st.sampled_from(TWILIO_FORMS))).encode()
    else:
        base = data.draw(st.sampled_from(bases))
        body = json_bytes(data.draw(mutated_json(base)) if body_kind == "mutated" else base, True)
    headers = data.draw(garbage_headers)
    if signature == "wrong-secret":
        headers.update(signature_headers(provider, body, "not-the-secret-0123"))
    elif signature == "stale":  # the right secret, ten minutes ago (a captured request replayed)
        stale = STAMP - int(timedelta(minutes=10).total_seconds())
        wrong = provider not in ("generic", "slack")  # no timestamp to be stale: sign wrongly
        headers.update(
            signature_headers(
                provider, body, "not-the-secret-0123" if wrong else SECRETS.get(provider, "x"), stale
            )
        )
    elif signature == "none":
        for name in list(headers):
            if name.startswith(("x-frontdesk", "x-telegram", "x-slack", "x-hub", "x-twilio")):
                del headers[name]
    headers.setdefault("content-type", CONTENT_TYPES.get(provider, "application/json"))
    query = data.draw(
        st.dictionaries(
            st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge"]) | short_text,
            header_values,
            max_size=3,
        )
    )
    event_ = api_event(
        method,
        ROUTE,
        {"provider": provider},
        body,
        headers,
        base64_encoded=data.draw(st.booleans()),
        query=query,
        domain=DOMAIN,
    )

    response = app.lambda_handler(event_, context)

    assert_well_formed(response)
    assert 400 <= response["statusCode"] < 500, response
    assert not store.tickets and not store.messages and not store.sightings


@pytest.mark.parametrize("provider", PROVIDERS)
@given(data=st.data())
def test_any_body_the_platform_signs_is_2xx_or_4xx(
    desk: Desk, context: Any, provider: str, data: st.DataObject
) -> None:
    store = desk.fresh()
    body = data.draw(signed_bodies(provider))
    headers = {**data.draw(garbage_headers), **signature_headers(provider, body, SECRETS[provider])}
    content_type = data.draw(content_types()) if data.draw(one_in(6)) else CONTENT_TYPES.get(provider, JSON)
    headers.pop("content-type", None)
    if content_type is not None:
        headers["content-type"] = content_type
    response = app.lambda_handler(post(provider, body, headers, data.draw(st.booleans())), context)
    assert_well_formed(response)
    assert_stored_cleanly(response, store)


@pytest.mark.parametrize("provider", PROVIDERS)
@given(data=st.data())
def test_signed_payloads_with_ids_of_any_type_and_size_are_2xx_or_4xx(
    desk: Desk, context: Any, provider: str, data: st.DataObject
) -> None:
    """Ids become the table's keys (conversation, requester, inbound event), which DynamoDB limits
    to 1 and 2 KB: JSON integers have no bound, and strings need one."""
    store = desk.fresh()
    if provider == "twilio":
        fields = dict(data.draw(st.sampled_from(TWILIO_FORMS)))
        for name in data.draw(
            st.lists(st.sampled_from(["MessageSid", "From", "To", "AccountSid"]), min_size=1)
        ):
            fields[name] = data.draw(hostile_text)
        body = urlencode(list(fields.items()), errors="surrogatepass").encode("ascii")
    else:
        document = data.draw(with_hostile_ids(data.draw(st.sampled_from(BASES[provider]))))
        body = json_bytes(document, data.draw(st.booleans()))
    headers = {
        **signature_headers(provider, body, SECRETS[provider]),
        "content-type": CONTENT_TYPES.get(provider, JSON),
    }
    response = app.lambda_handler(post(provider, body, headers), context)
    assert_well_formed(response)
    assert_stored_cleanly(response, store)


@given(
    challenge=st.sampled_from(["1158201444", "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmd", ""]).flatmap(
        lambda challenge: st.just(challenge) if challenge else hostile_text
    ),
    mode=st.sampled_from(["subscribe"] * 3 + ["unsubscribe", ""]).flatmap(
        lambda mode: st.just(mode) if mode else short_text
    ),
)
def test_the_meta_handshake_echoes_only_a_plain_challenge(
    desk: Desk, context: Any, challenge: str, mode: str
) -> None:
    desk.fresh()
    query = {"hub.mode": mode, "hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": challenge}
    event_ = api_event(
        "GET", ROUTE, {"provider": "meta"}, b"", {}, base64_encoded=False, query=query, domain=DOMAIN
    )
    response = app.lambda_handler(event_, context)
    assert_well_formed(response)
    if response["statusCode"] == 200:
        assert response["body"] == challenge and mode == "subscribe"


@given(data=st.data())
def test_the_same_signed_request_twice_is_stored_once(desk: Desk, context: Any, data: st.DataObject) -> None:
    """A platform's retry, or a replay of a captured request, never makes a second ticket or
    message, and is never a 5xx."""
    store = desk.fresh()
    provider = data.draw(st.sampled_from(PROVIDERS))
    body = data.draw(signed_bodies(provider))
    headers = {
        **signature_headers(provider, body, SECRETS[provider]),
        "content-type": CONTENT_TYPES.get(provider, "application/json"),
    }
    first = app.lambda_handler(post(provider, body, headers), context)
    stored = (len(store.tickets), store.message_count)
    second = app.lambda_handler(post(provider, body, copy.deepcopy(headers)), context)
    assert_well_formed(first)
    assert_well_formed(second)
    assert (len(store.tickets), store.message_count) == stored
