"""Frontdesk's own chat webhook, for a site's backend that forwards its visitors' chat messages.

The scheme is server to server: a browser cannot keep the secret. Each site gets a shared secret.

Request::

    POST <the chat webhook URL>/generic
    Content-Type: application/json
    X-Frontdesk-Timestamp: 1767261600
    X-Frontdesk-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>

    {
      "event_id": "msg-8812",                     required, 1-200 visible ASCII characters; the same
                                                  for every retry of one message (the dedupe key)
      "conversation_id": "chat-5521",             required, 1-200 characters; one ticket per open
                                                  conversation
      "author": {
        "id": "visitor-42",                       required, 1-200 characters
        "name": "Ana Souza",                      optional
        "email": "ana@example.org"                optional; dropped when it is not a valid address
      },
      "text": "Where is my invoice?",             required, not blank; cut at 20,000 characters
      "locale": "pt-BR",                          optional language tag, a hint for the answer
      "sent_at": "2026-01-01T10:00:00+01:00"      optional ISO-8601 with an offset; default: receipt
    }

- The timestamp is Unix seconds at signing; requests more than 300 seconds away from our clock are
  refused (401), so a captured request cannot be replayed later. Sign the exact bytes you send.
- 401: missing or wrong signature, stale timestamp. 400: malformed JSON or fields; the field errors
  come as {"field": "author.id", "message": "..."} pairs (InvalidPayloadError.errors).
- The acknowledgement comes back in the response: 200 {"reply": "<text>"}.

Signing in Python::

    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers = {"X-Frontdesk-Timestamp": timestamp, "X-Frontdesk-Signature": f"v1={digest}"}
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from frontdesk.chat.providers.base import (
    ChatMessage,
    InlineReply,
    Parsed,
    ProviderSecrets,
    WebhookRejectedError,
    WebhookRequest,
)
from frontdesk.chat.providers.payloads import (
    VISIBLE_ASCII_ID,
    checked_timestamp,
    clean_name,
    clean_text,
    encodable,
    hmac_sha256_hex,
    language_tag,
    load_json_object,
    rejected,
    same,
    signing_key,
)
from frontdesk.mail.addresses import InvalidAddressError, normalized_address
from frontdesk.tickets.model import Channel

_CONTROL_OR_SURROGATE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FIELD_MESSAGES = {
    "missing": "is required",
    "string_type": "must be a string",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "string_too_short": "must not be empty",
}


def _identifier(value: str) -> str:
    if _CONTROL_OR_SURROGATE.search(value):
        raise PydanticCustomError("identifier", "must not contain control characters")
    return value


def _message_text(value: str) -> str:
    text = clean_text(value)  # the same stripping and cut as every other provider's texts
    if text is None:
        raise PydanticCustomError("blank", "must not be empty")
    return text


Identifier = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_identifier)]
_INVALID_SENT_AT = "must be an ISO-8601 date and time with an offset"


class GenericAuthor(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, str_strip_whitespace=True)

    id: Identifier
    name: str | None = None
    email: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return clean_name(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        # A visitor's typo should not lose their message: an invalid address is dropped.
        if not value or len(value) > 254:
            return None
        try:
            return normalized_address(value)
        except InvalidAddressError:
            return None


class GenericPayload(BaseModel):
    """The body of a generic webhook request (see the module's docstring)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, str_strip_whitespace=True)

    event_id: str
    conversation_id: Identifier
    author: GenericAuthor
    text: Annotated[str, AfterValidator(_message_text)]
    locale: str | None = None
    sent_at: datetime | None = None

    @field_validator("event_id")
    @classmethod
    def _event_id(cls, value: str) -> str:
        if not VISIBLE_ASCII_ID.fullmatch(value):
            raise PydanticCustomError("event_id", "must be 1 to 200 visible ASCII characters")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value and not language_tag(value):
            raise PydanticCustomError("locale", "must be a language tag such as en or pt-BR")
        return value or None

    @field_validator("sent_at", mode="before")
    @classmethod
    def _sent_at(cls, value: object) -> datetime | None:
        # Only text: pydantic's lax datetime would also take a number as Unix time.
        if value is None:
            return None
        if not isinstance(value, str):
            raise PydanticCustomError("sent_at", _INVALID_SENT_AT)
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.utcoffset() is None:
                raise ValueError("naive")
            return parsed.astimezone(UTC)
        except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
            raise PydanticCustomError("sent_at", _INVALID_SENT_AT) from None


class InvalidPayloadError(WebhookRejectedError):
    """400 invalid_payload, with what is wrong per field: [{"field": "author.id", "message": ...}].
    The messages name the rule, never the value sent."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(400, "invalid_payload", errors)


def _field_errors(invalid: ValidationError) -> list[dict[str, str]]:
    errors = []
    for detail in invalid.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in detail["loc"]) or "body"
        message = _FIELD_MESSAGES.get(detail["type"], detail["msg"])
        if detail["type"] == "string_too_long":
            message = f"must be at most {detail.get('ctx', {}).get('max_length')} characters"
        errors.append({"field": field, "message": message})
    return errors


class GenericProvider:
    name = "generic"
    answers_inline = True

    def verify(self, request: WebhookRequest, secrets: ProviderSecrets) -> None:
        key = signing_key(secrets)
        signature = request.header("X-Frontdesk-Signature")
        timestamp = request.header("X-Frontdesk-Timestamp")
        if not signature:
            raise rejected(401, "missing_signature")
        timestamp = checked_timestamp(timestamp, request.received_at)
        expected = "v1=" + hmac_sha256_hex(key, timestamp.encode("ascii") + b"." + request.body)
        if not same(expected, signature):
            raise rejected(401, "bad_signature")

    def parse(self, request: WebhookRequest) -> Parsed:
        data = load_json_object(request.body)
        try:
            payload = GenericPayload.model_validate(data)
        except ValidationError as invalid:
            raise InvalidPayloadError(_field_errors(invalid)) from None
        message = ChatMessage(
            provider=self.name,
            event_id=payload.event_id,
            conversation_id=f"generic:{payload.conversation_id}",
            author_id=f"generic:{payload.author.id}",
            text=payload.text,
            sent_at=payload.sent_at or request.received_at,
            author_name=payload.author.name,
            email=payload.author.email,
            language_hint=payload.locale,
            channel=Channel.CHAT,
        )
        return [encodable(message)]

    def inline_reply(self, message: ChatMessage, text: str) -> InlineReply | None:
        return InlineReply(200, json.dumps({"reply": text}), "application/json")
