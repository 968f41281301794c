"""A posted body (a form or JSON): its fields, and the field-level errors a post is refused with.

Shared by the support forms and the survey page, and kept apart from the form's own rules so that
the survey function does not import intake.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field, field_validator

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class FieldError(BaseModel):
    field: str
    message: str  # English, as JSON clients get it
    # For pages: the message's catalog id and its values, so it can be shown in the page's language.
    msgid: str | None = Field(None, exclude=True)
    params: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @field_validator("field")
    @classmethod
    def _encodable(cls, field: str) -> str:
        # The name is the client's, echoed: a JSON key can be a lone surrogate ("\ud800"), which
        # no response body or log line can carry as UTF-8.
        return _LONE_SURROGATE.sub("\ufffd", field)

    @classmethod
    def of(cls, field: str, msgid: str, **params: Any) -> FieldError:
        return cls(field=field, message=msgid % params if params else msgid, msgid=msgid, params=params)


class BadSubmissionError(Exception):
    """The post cannot be accepted; `status` is the HTTP status that says why."""

    def __init__(self, status: int, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.status = status
        self.errors = errors


def field_error(status: int, field: str, message: str) -> BadSubmissionError:
    return BadSubmissionError(status, [FieldError.of(field, message)])


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_body(content_type: str | None, body: bytes, max_fields: int) -> dict[str, Any]:
    """The posted fields, or BadSubmissionError (400 malformed, 415 unsupported type)."""
    media = media_type(content_type)
    if media == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise field_error(400, "body", "is not valid JSON") from None
        if not isinstance(data, dict):
            raise field_error(400, "body", "must be a JSON object")
        if len(data) > max_fields:
            raise field_error(413, "body", f"has more than {max_fields} fields")
        return data
    if media == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                max_num_fields=max_fields,
                errors="strict",  # %FF must fail like a raw invalid byte does
            )
        except UnicodeDecodeError:
            raise field_error(400, "body", "is not UTF-8 text") from None
        except ValueError:
            raise field_error(413, "body", f"has more than {max_fields} fields") from None
        fields: dict[str, Any] = {}
        for name, value in pairs:
            if name in fields:
                raise field_error(422, name, "was sent more than once")
            fields[name] = value
        return fields
    raise field_error(415, "Content-Type", "must be application/x-www-form-urlencoded or application/json")
