"""A support-form post, from raw body bytes to a validated InboundMessage.

Two encodings: application/x-www-form-urlencoded (a plain HTML form, no JavaScript) and
application/json (a website's own code). Both go through the same pydantic model, so a field is
checked the same way whichever way it came.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from frontdesk.forms.posted import BadSubmissionError, FieldError, field_error
from frontdesk.forms.settings import FormSettings
from frontdesk.hours.zones import known_time_zone
from frontdesk.intake.message import InboundMessage
from frontdesk.language.catalogs import translatable
from frontdesk.language.tags import primary_language, ranked_languages, unique
from frontdesk.mail.addresses import InvalidAddressError, normalized_address
from frontdesk.text import first_line_subject, multiline_problem, normalise_multiline, single_line_problem
from frontdesk.tickets.model import Channel, Requester

HONEYPOT_FIELD = "website"
SUBMISSION_FIELD = "submission_id"
RESERVED_FIELDS = frozenset(
    {"name", "email", "subject", "message", "locale", "time_zone", HONEYPOT_FIELD, SUBMISSION_FIELD}
)
_CUSTOM_FIELD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
MAX_SINGLE_LINE = 200
MAX_CUSTOM_VALUE = 2_000
SUBJECT_FROM_MESSAGE_CHARS = 80


def _single_line(value: str, limit: int = MAX_SINGLE_LINE) -> str:
    if problem := single_line_problem(value):
        raise PydanticCustomError("single_line", problem)
    if len(value) > limit:
        raise PydanticCustomError(
            "too_long", translatable("use %(limit)s characters or fewer"), {"limit": limit}
        )
    return value


class FormSubmission(BaseModel):
    """What a support form may carry. Any other field is kept as a custom field."""

    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True)

    name: str
    email: str
    subject: str = ""
    message: str
    locale: str | None = None
    time_zone: str | None = None  # IANA name from the browser, e.g. Intl's resolvedOptions().timeZone
    website: str = ""  # the honeypot: people never see it, bots fill it in
    submission_id: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value:
            raise PydanticCustomError("required", translatable("enter your name"))
        return _single_line(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value:
            raise PydanticCustomError("required", translatable("enter your email address"))
        _single_line(value, 254)
        try:
            return normalized_address(value)
        except InvalidAddressError:
            raise PydanticCustomError(
                "email", translatable("enter an email address in the form name@example.com")
            ) from None

    @field_validator("subject")
    @classmethod
    def _subject(cls, value: str) -> str:
        return _single_line(value)

    @field_validator("message")
    @classmethod
    def _message(cls, value: str, info: ValidationInfo) -> str:
        value = normalise_multiline(value).strip()
        if not value:
            raise PydanticCustomError("required", translatable("enter your message"))
        if problem := multiline_problem(value):
            raise PydanticCustomError("control_characters", problem)
        limit = int((info.context or {}).get("max_message_chars", 20_000))
        if len(value) > limit:
            raise PydanticCustomError(
                "too_long", translatable("use %(limit)s characters or fewer"), {"limit": limit}
            )
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value and not _LOCALE.fullmatch(value):
            raise PydanticCustomError("locale", translatable("must be a language tag such as en or pt-BR"))
        return value or None

    @field_validator("time_zone")
    @classmethod
    def _time_zone(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not known_time_zone(value):
            raise PydanticCustomError(
                "time_zone", translatable("must be a time zone name such as Europe/Berlin")
            )
        return value

    @field_validator("submission_id")
    @classmethod
    def _submission_id(cls, value: str | None) -> str | None:
        if value and not _IDEMPOTENCY_KEY.fullmatch(value):
            raise PydanticCustomError(
                "submission_id", translatable("must be 1 to 255 visible ASCII characters")
            )
        return value or None

    @model_validator(mode="after")
    def _custom_fields(self, info: ValidationInfo) -> FormSubmission:
        limit = int((info.context or {}).get("max_custom_fields", 20))
        extra = self.model_extra or {}
        if len(extra) > limit:
            raise PydanticCustomError(
                "custom_fields", translatable("too many fields: at most %(limit)s"), {"limit": limit}
            )
        return self

    @property
    def is_spam(self) -> bool:
        return bool(self.website)

    def custom_fields(self) -> dict[str, str]:
        """Extra fields as text; `check_custom_fields` has vetted them."""
        return {name: _custom_text(value) for name, value in (self.model_extra or {}).items()}

    def derived_subject(self) -> str:
        """The subject given, or the message's first line when there was none."""
        if self.subject:
            return self.subject
        return first_line_subject(self.message, SUBJECT_FROM_MESSAGE_CHARS)


def _custom_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.strip() if isinstance(value, str) else str(value)


def check_custom_fields(fields: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for name, value in fields.items():
        if name in RESERVED_FIELDS:
            continue
        if not _CUSTOM_FIELD_NAME.fullmatch(name):
            errors.append(FieldError.of(name[:64], translatable("is not a valid field name")))
        elif value is None or isinstance(value, dict | list):
            errors.append(FieldError.of(name, translatable("must be text")))
        elif len(text := _custom_text(value)) > MAX_CUSTOM_VALUE:
            errors.append(
                FieldError.of(name, translatable("use %(limit)s characters or fewer"), limit=MAX_CUSTOM_VALUE)
            )
        elif problem := multiline_problem(normalise_multiline(text)):
            errors.append(FieldError.of(name, problem))
    return errors


def validate_submission(
    fields: Mapping[str, Any], form: FormSettings, max_message_chars: int
) -> FormSubmission:
    """The validated submission, or BadSubmissionError(422) listing every field at fault."""
    errors = check_custom_fields(fields)
    try:
        submission = FormSubmission.model_validate(
            fields,
            context={"max_message_chars": max_message_chars, "max_custom_fields": form.max_custom_fields},
        )
    except ValidationError as invalid:
        errors = _field_errors(invalid) + errors
        raise BadSubmissionError(422, errors) from None
    if errors:
        raise BadSubmissionError(422, errors)
    return submission


_MISSING_MESSAGES = {
    "name": translatable("enter your name"),
    "email": translatable("enter your email address"),
    "message": translatable("enter your message"),
}


_OUR_ERRORS = frozenset(
    {"required", "single_line", "too_long", "email", "control_characters", "locale", "time_zone"}
    | {"submission_id", "custom_fields"}
)


def _field_errors(invalid: ValidationError) -> list[FieldError]:
    errors = []
    for detail in invalid.errors(include_url=False):
        field = str(detail["loc"][0]) if detail["loc"] else "body"
        if detail["type"] == "missing":
            errors.append(FieldError.of(field, _MISSING_MESSAGES.get(field, translatable("is required"))))
        elif detail["type"] == "string_type":
            errors.append(FieldError.of(field, translatable("must be text")))
        elif detail["type"] in _OUR_ERRORS:
            # Our own errors carry %(name)s templates, which pydantic leaves alone.
            errors.append(FieldError.of(field, detail["msg"], **detail.get("ctx", {})))
        else:
            errors.append(FieldError(field=field, message=detail["msg"]))
    return errors


def check_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value):
        raise field_error(400, "Idempotency-Key", "must be 1 to 255 visible ASCII characters")
    return value


def to_inbound_message(
    submission: FormSubmission,
    *,
    form_id: str,
    form: FormSettings,
    idempotency_key: str | None,
    accept_language: str | None,
    now: datetime,
) -> InboundMessage:
    """The submission as an InboundMessage. Without a client key the content is the key, so an
    identical post repeated within the duplicate window is the same ticket."""
    custom = submission.custom_fields()
    message = InboundMessage(
        channel=Channel.WEB_FORM,
        source=form_id,
        idempotency_key="",
        requester=Requester(name=submission.name, email=submission.email),
        subject=submission.derived_subject(),
        body_text=submission.message,
        received_at=now,
        language_hints=tuple(
            unique([primary_language(submission.locale), *ranked_languages(accept_language)])
        ),
        queue=form.queue,
        priority=form.priority,
        tags=form.tags,
        calendar=form.calendar,
        custom_fields=custom,
        time_zone=submission.time_zone,
    )
    key = idempotency_key or submission.submission_id
    key = f"key:{key}" if key else f"content:{message.fingerprint}"
    return message._replace(idempotency_key=key)
