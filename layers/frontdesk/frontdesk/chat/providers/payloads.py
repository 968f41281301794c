"""What chat platforms' payloads are made of, read without surprises: JSON objects and forms of
bounded size, ids, one-line names and texts, platform timestamps, and constant-time signature
checks. Every adapter uses these; none of them raises anything but WebhookRejectedError."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from frontdesk.chat.providers.base import (
    MAX_WEBHOOK_BYTES,
    TIMESTAMP_TOLERANCE_SECONDS,
    ChatMessage,
    ProviderSecrets,
    WebhookRejectedError,
)

MAX_TEXT_CHARS = 20_000
MAX_NAME_CHARS = 200
MAX_FORM_FIELDS = 200

# -- helpers shared by every adapter ---------------------------------------------------------------

VISIBLE_ASCII_ID = re.compile(r"[\x21-\x7e]{1,200}")
_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_UNIX_SECONDS = re.compile(r"(\d{1,12})(?:\.(\d{1,9}))?")
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,6}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL_RUNS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Bidirectional overrides and isolates can make a name display as another.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_LATEST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: beyond it datetime overflows


def rejected(status: int, reason: str) -> WebhookRejectedError:
    return WebhookRejectedError(status, reason)


def signing_key(secrets: ProviderSecrets) -> bytes:
    """The secret as HMAC key. An empty secret would accept anything anyone signs: refuse instead."""
    if not secrets.signing_secret:
        raise rejected(401, "no_secret_configured")
    return secrets.signing_secret.encode("utf-8")


def same(expected: str, given: str) -> bool:
    """Constant-time equality. Header values may be any text: compare_digest takes only ASCII str,
    so both sides go in as UTF-8 bytes (surrogatepass: even broken text must not raise)."""
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def checked_timestamp(value: str | None, received_at: datetime) -> str:
    """The signed Unix-seconds timestamp header, if it is within the tolerance of our clock; else 401."""
    if not value:
        raise rejected(401, "missing_timestamp")
    if not (value.isascii() and value.isdigit() and len(value) <= 12):
        raise rejected(401, "bad_timestamp")
    if abs(received_at.timestamp() - int(value)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise rejected(401, "stale_timestamp")
    return value


def decode_utf8(body: bytes) -> str:
    if len(body) > MAX_WEBHOOK_BYTES:
        raise rejected(400, "too_large")
    try:
        # utf-8-sig: a byte-order mark (added by some .NET relays) is not an error.
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise rejected(400, "not_utf8") from None


def load_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400: bad bytes, bad JSON, absurd nesting, or not an object."""
    text = decode_utf8(body)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # ValueError also covers ints of more than 4300 digits
        raise rejected(400, "malformed_json") from None
    if not isinstance(data, dict):
        raise rejected(400, "not_an_object")
    return data


def form_fields(body: bytes) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as (name, value) pairs in order, or 400."""
    try:
        return parse_qsl(
            decode_utf8(body),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",  # %FF must fail like a raw invalid byte does
        )
    except UnicodeDecodeError:
        raise rejected(400, "not_utf8") from None
    except ValueError:  # more than MAX_FORM_FIELDS
        raise rejected(400, "malformed_form") from None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def as_object(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def member(value: object, name: str) -> object:
    """value[name] when value is a JSON object that has it, else None: for nested optional fields."""
    return value.get(name) if isinstance(value, dict) else None


def string_id(value: object) -> str | None:
    """An id sent as a string: 1 to 200 visible ASCII characters, as every platform's are."""
    return value if isinstance(value, str) and VISIBLE_ASCII_ID.fullmatch(value) else None


def challenge_token(value: object) -> str | None:
    """A setup challenge fit to echo back (Meta's are digits, Slack's letters and digits): only
    URL-safe characters, so the echo can never become markup or a header."""
    return value if isinstance(value, str) and _CHALLENGE.fullmatch(value) else None


def platform_id(value: object) -> str | None:
    """An id sent as a number (Telegram's) or a string, as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        # Bounded like a string id: JSON integers are not, and ids become table keys (2 KB at most).
        return string_id(str(value))
    return string_id(value)


def clean_text(value: object) -> str | None:
    """A message text stripped and cut to MAX_TEXT_CHARS, or None when there is none."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:MAX_TEXT_CHARS].rstrip() or None


def clean_name(*parts: object) -> str | None:
    """A display name from its parts: single line, cut to MAX_NAME_CHARS, None when empty."""
    words = " ".join(part.strip() for part in parts if isinstance(part, str))
    name = _CONTROL_RUNS.sub(" ", _BIDI_CONTROLS.sub("", words)).strip()
    return name[:MAX_NAME_CHARS].rstrip() or None


def language_tag(value: object) -> str | None:
    """A platform's language code ("en", "pt-br") when it looks like one."""
    return value if isinstance(value, str) and _LANGUAGE_TAG.fullmatch(value) else None


def unix_time(value: object, *, millis: bool = False) -> datetime | None:
    """A platform timestamp (seconds, or milliseconds for Meta; a number or a string such as
    Slack's "1719209506.817929") as aware UTC, or None when absent or absurd."""
    micros: int
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        micros = value * (1_000 if millis else 1_000_000)
    elif isinstance(value, float) and math.isfinite(value):  # JSON allows NaN and Infinity
        micros = int(value * (1_000 if millis else 1_000_000))
    elif isinstance(value, str) and (match := _UNIX_SECONDS.fullmatch(value)):
        whole, fraction = match.group(1), (match.group(2) or "")
        unit = 1_000 if millis else 1_000_000
        micros = int(whole) * unit + int((fraction + "000000000")[:9]) * unit // 1_000_000_000
    else:
        return None
    if not 0 < micros <= _LATEST_TIMESTAMP * 1_000_000:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def encodable(message: ChatMessage) -> ChatMessage:
    """JSON escapes can carry lone surrogates ("\\ud800"), which no store or log can encode as
    UTF-8: replace them rather than fail later, far from the request."""

    def fix(value: str) -> str:
        return _LONE_SURROGATE.sub("\ufffd", value)

    changes: dict[str, Any] = {
        name: fix(value)
        for name, value in message._asdict().items()
        if isinstance(value, str) and _LONE_SURROGATE.search(value)
    }
    if any(_LONE_SURROGATE.search(key + value) for key, value in message.reply_to.items()):
        changes["reply_to"] = {fix(key): fix(value) for key, value in message.reply_to.items()}
    return message._replace(**changes) if changes else message


# -- the generic scheme ----------------------------------------------------------------------------
