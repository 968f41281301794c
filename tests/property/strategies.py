"""Hostile input for the property suites: text, JSON, headers and API Gateway events."""

from __future__ import annotations

import base64
import copy
import json
import operator
import re
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

# Characters that have broken parsers, headers and stores elsewhere: NUL, CR, LF and other
# controls, NEL, the line and paragraph separators, bidi overrides and isolates, zero-width and
# byte-order marks, noncharacters, lone surrogates, and the punctuation of headers and markup.
NASTY = (
    "\x00\r\n\t\x0b\x0c\x1b\x7f\x85\x9f\u2028\u2029\u202e\u2066\u200b\ufeff\ufffd\ufffe\uffff"
    "\ud800\udbff\udc00\udfff\U0010ffff"
    "=?<>\"'&%;:,@\\/ "
)
NASTY_SNIPPETS = (
    "\r\nBcc: victim@example.com",
    "=?utf-8?b?QWRtaW4=?=",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "%(limit)s",
    "../../etc/passwd",
    "ana@example.org",
    "Ana Souza",
    "1" * 30,
    "-1",
    "NaN",
)


def texts(alphabet: st.SearchStrategy[str], min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Strings of `alphabet`, lone surrogates kept (st.text silently leaves them out)."""
    return st.lists(alphabet, min_size=min_size, max_size=max_size).map("".join)


# Every code point, lone surrogates included; the nasty ones often, or they would be found rarely.
any_char = st.characters(exclude_categories=()) | st.sampled_from(NASTY)
short_text = texts(any_char)
nasty_text = texts(st.sampled_from(NASTY) | st.characters(codec="ascii"))
# Long runs: hypothesis's own long texts are slow to make; repetition is as good for limits.
huge_text = st.builds(operator.mul, texts(any_char, 1, 3), st.integers(1_000, 70_000))
# Digits past int()'s limit of 4,300, and a few short of it.
long_number = st.integers(4_000, 4_400).map(lambda digits: "9" * digits)
hostile_text = st.one_of(short_text, nasty_text, st.sampled_from(NASTY_SNIPPETS), huge_text, long_number)

# Past JavaScript's and int64's ranges, and long enough to overflow keys of 1 and 2 KB (up to
# 4,300 digits: as long as json.dumps will write).
big_integers = st.sampled_from(
    [2**53 + 1, 2**63, -(2**63) - 1, 10**1_100, -(10**2_100), 10**4_299]
) | st.integers(20, 4_299).map(lambda digits: 10**digits)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    big_integers,
    st.floats(),  # NaN and the infinities too: json.dumps writes them, json.loads reads them
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(short_text, children, max_size=5),
    max_leaves=25,
)


def deeply_nested(depth: int, kind: str) -> bytes:
    """JSON nested `depth` deep: far past the recursion limit, yet small."""
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


nested_json = st.builds(deeply_nested, st.integers(500, 60_000), st.sampled_from(["array", "object"]))


def json_bytes(value: Any, ascii_only: bool) -> bytes:
    """`value` as a client might send it: \\uXXXX escapes, or raw UTF-8 (a lone surrogate then
    becomes bytes no UTF-8 decoder takes, except json.loads(bytes), which lets them pass)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _extremes_like(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.booleans() | st.none()
    if isinstance(value, int):
        return big_integers | st.integers() | st.floats()
    if isinstance(value, str):
        return hostile_text
    return json_values


def _spots(document: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a JSON document, depth first."""
    spots: list[tuple[Any, Any]] = []
    stack = [document]
    while stack:
        node = stack.pop()
        keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
        for key in keys:
            spots.append((node, key))
            stack.append(node[key])
    return spots


@st.composite
def mutated_json(draw: st.DrawFn, base: Any, max_mutations: int = 4) -> Any:
    """A real payload with a few of its members replaced by hostile values, deleted, or given
    company: what gets past the first checks of a parser, unlike random JSON."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_mutations))):
        spots = _spots(document)
        if not spots:
            return draw(json_values)
        container, key = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["extreme", "extreme", "replace", "delete", "add", "wrap"]))
        if action == "extreme":  # the same type, at its limits: past the type checks, into the code
            container[key] = draw(_extremes_like(container[key]))
        elif action == "replace":
            container[key] = draw(json_values)
        elif action == "delete":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[draw(short_text)] = draw(json_values)
        elif action == "add":
            container.append(draw(json_values))
        else:  # the member where a list or an object of it is expected, or the other way round
            container[key] = [container[key]] if draw(st.booleans()) else {"value": container[key]}
    return document


def one_in(chances: int) -> st.SearchStrategy[bool]:
    """True about once in `chances` draws. False comes first: hypothesis favours the first
    element (its simplest), as st.integers favours its bounds."""
    return st.sampled_from([False] * (chances - 1) + [True])


# Members that platforms use as ids, which become keys of the ticket table.
_ID_MEMBER = re.compile(r"(?:^|_)(?:id|sid|mid|ts)$|^(?:from|to|user|channel|team|wamid)$", re.IGNORECASE)


@st.composite
def with_hostile_ids(draw: st.DrawFn, base: Any) -> Any:
    """A real payload with some of its id members of another type or of any size."""
    document = copy.deepcopy(base)
    spots = [
        (container, key)
        for container, key in _spots(document)
        if isinstance(key, str) and _ID_MEMBER.search(key)
    ]
    if not spots:
        return document
    for container, key in draw(st.lists(st.sampled_from(spots), min_size=1, max_size=3, unique_by=id)):
        container[key] = draw(big_integers | hostile_text | json_scalars)
    return document


# -- HTTP ----------------------------------------------------------------------------------------

header_names = st.sampled_from(
    [
        "content-type",
        "accept",
        "accept-language",
        "idempotency-key",
        "host",
        "x-forwarded-proto",
        "user-agent",
        "x-frontdesk-signature",
        "x-frontdesk-timestamp",
        "x-telegram-bot-api-secret-token",
        "x-slack-signature",
        "x-slack-request-timestamp",
        "x-hub-signature-256",
        "x-twilio-signature",
    ]
) | st.text(st.characters(codec="ascii", exclude_characters=":\r\n"), min_size=1, max_size=20)
header_values = st.one_of(short_text, nasty_text, st.sampled_from(NASTY_SNIPPETS))
garbage_headers = st.dictionaries(header_names, header_values, max_size=6)

MEDIA_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "text/html",
    "application/xml",
    "application/octet-stream",
)


@st.composite
def content_types(draw: st.DrawFn) -> str | None:
    """None, a media type in any case with odd parameters, or any text at all."""
    kind = draw(st.sampled_from(["none", "plain", "parameters", "garbage"]))
    if kind == "none":
        return None
    if kind == "garbage":
        return draw(header_values)
    media = draw(st.sampled_from(MEDIA_TYPES))
    media = draw(st.sampled_from([media, media.upper(), f" {media} ", media.title()]))
    if kind == "plain":
        return media
    parameters = draw(
        st.lists(
            st.sampled_from(["charset=utf-8", "charset=latin-1", "charset=utf-16", "charset=", "boundary="])
            | header_values,
            max_size=3,
        )
    )
    return "; ".join([media, *parameters])


def api_event(
    method: str,
    route: str,
    path_parameters: dict[str, str],
    body: bytes,
    headers: dict[str, str],
    *,
    base64_encoded: bool,
    query: dict[str, str] | None = None,
    domain: str = "support.example.com",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event. The path is built from the route with its
    parameters percent-encoded, as clients send them; the body is base64 or text, as API Gateway
    passes it (text it cannot decode as UTF-8 comes with replacement characters)."""
    path = route
    for name, value in path_parameters.items():
        path = path.replace("{" + name + "}", quote(value.encode("utf-8", "surrogatepass"), safe=""))
    raw_query = "&".join(
        f"{quote(k.encode('utf-8', 'surrogatepass'))}={quote(v.encode('utf-8', 'surrogatepass'))}"
        for k, v in (query or {}).items()
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "property",
            "domainName": domain,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1"},
            "requestId": "property-request",
            "routeKey": f"{method} {route}",
            "stage": "$default",
        },
        "isBase64Encoded": base64_encoded and bool(body),
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    if query:
        event["queryStringParameters"] = query
    if body:
        event["body"] = base64.b64encode(body).decode() if base64_encoded else body.decode("utf-8", "replace")
    return event
