"""A support-form post: decoding the body, validating the fields, and the InboundMessage it becomes."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from frontdesk.forms.posted import BadSubmissionError, FieldError, decode_body
from frontdesk.forms.settings import FormSettings
from frontdesk.forms.submission import (
    FormSubmission,
    check_idempotency_key,
    to_inbound_message,
    validate_submission,
)
from frontdesk.intake.message import InboundMessage
from frontdesk.tickets.model import Channel, Priority, Requester

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALID: dict[str, Any] = {"name": "Ana Souza", "email": "ana@example.org", "message": "My order is late."}


def refused(call) -> BadSubmissionError:
    with pytest.raises(BadSubmissionError) as caught:
        call()
    return caught.value


def fields_at_fault(error: BadSubmissionError) -> list[str]:
    return [field_error.field for field_error in error.errors]


def validate(fields: dict[str, Any], max_message_chars: int = 20_000) -> FormSubmission:
    return validate_submission(fields, FormSettings(), max_message_chars)


# -- decode_body ---------------------------------------------------------------------------------


def test_decode_body_reads_a_json_object():
    body = json.dumps({"name": "Олег", "order": 5521, "gift": True}).encode()

    assert decode_body(JSON, body, 10) == {"name": "Олег", "order": 5521, "gift": True}


def test_decode_body_ignores_content_type_parameters_and_case():
    assert decode_body("Application/JSON; charset=utf-8", b'{"a": "b"}', 10) == {"a": "b"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"{not json", id="invalid"),
        pytest.param(b"", id="empty"),
        pytest.param(b'{"a": "\xff"}', id="invalid-utf8"),
        pytest.param(b"[" * 100_000, id="deeply-nested-arrays"),
        pytest.param(b'{"a":' * 100_000, id="deeply-nested-objects"),
    ],
)
def test_decode_body_refuses_malformed_json_with_400(body: bytes):
    error = refused(lambda: decode_body(JSON, body, 10))

    assert error.status == 400
    assert fields_at_fault(error) == ["body"]
    assert error.errors[0].message == "is not valid JSON"


@pytest.mark.parametrize("body", [b"[]", b'["a", "b"]', b'"text"', b"42", b"null", b"true"])
def test_decode_body_refuses_json_that_is_not_an_object_with_400(body: bytes):
    error = refused(lambda: decode_body(JSON, body, 10))

    assert error.status == 400
    assert error.errors[0].message == "must be a JSON object"


def test_decode_body_refuses_a_json_object_with_too_many_fields_with_413():
    body = json.dumps({f"f{i}": "x" for i in range(11)}).encode()

    error = refused(lambda: decode_body(JSON, body, 10))

    assert error.status == 413
    assert fields_at_fault(error) == ["body"]


def test_decode_body_accepts_a_json_object_with_exactly_the_maximum_fields():
    body = json.dumps({f"f{i}": "x" for i in range(10)}).encode()

    assert len(decode_body(JSON, body, 10)) == 10


def test_decode_body_reads_urlencoded_fields_including_utf8_and_blanks():
    body = b"name=%D0%9E%D0%BB%D0%B5%D0%B3+%D0%9F&email=o%40example.org&website=&note=a%26b%3Dc"

    assert decode_body(FORM, body, 10) == {
        "name": "Олег П",
        "email": "o@example.org",
        "website": "",
        "note": "a&b=c",
    }


def test_decode_body_reads_raw_utf8_in_urlencoded_fields():
    assert decode_body(FORM, "name=زهرا".encode(), 10) == {"name": "زهرا"}


def test_decode_body_refuses_urlencoded_bytes_that_are_not_utf8_with_400():
    error = refused(lambda: decode_body(FORM, b"name=\xff\xfe", 10))

    assert error.status == 400
    assert error.errors[0].message == "is not UTF-8 text"


def test_decode_body_refuses_percent_encoded_bytes_that_are_not_utf8_with_400():
    error = refused(lambda: decode_body(FORM, b"name=Ana%FF", 10))

    assert error.status == 400


def test_decode_body_refuses_a_repeated_urlencoded_field_with_422():
    error = refused(lambda: decode_body(FORM, b"email=a%40example.org&email=b%40example.org", 10))

    assert error.status == 422
    assert fields_at_fault(error) == ["email"]
    assert error.errors[0].message == "was sent more than once"


def test_decode_body_refuses_too_many_urlencoded_fields_with_413():
    body = "&".join(f"f{i}=x" for i in range(11)).encode()

    error = refused(lambda: decode_body(FORM, body, 10))

    assert error.status == 413
    assert fields_at_fault(error) == ["body"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=----x",
        "application/xml",
        "application/jsonx",
        "",
        None,
    ],
)
def test_decode_body_refuses_other_content_types_with_415(content_type: str | None):
    error = refused(lambda: decode_body(content_type, b'{"name": "Ana"}', 10))

    assert error.status == 415
    assert fields_at_fault(error) == ["Content-Type"]


# -- validate_submission: faults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"email": None}, "email", id="email-null"),
        pytest.param({"email": ""}, "email", id="email-empty"),
        pytest.param({"email": "ana"}, "email", id="email-no-at"),
        pytest.param({"email": "ana@"}, "email", id="email-no-domain"),
        pytest.param({"email": "ana@@example.org"}, "email", id="email-two-ats"),
        pytest.param({"email": "Ana <ana@example.org>"}, "email", id="email-with-display-name"),
        pytest.param({"email": "ana@example.org\r\nBcc: x@example.com"}, "email", id="email-crlf"),
        pytest.param({"message": ""}, "message", id="message-empty"),
        pytest.param({"message": " \r\n\t "}, "message", id="message-whitespace"),
        pytest.param({"message": "x" * 101}, "message", id="message-too-long"),
        pytest.param({"message": "a\x00b"}, "message", id="message-nul"),
        pytest.param({"message": "a\x1b[31mb"}, "message", id="message-escape"),
        pytest.param({"message": ["a"]}, "message", id="message-list"),
        pytest.param({"name": ""}, "name", id="name-empty"),
        pytest.param({"name": "Ana\r\nBcc: x@example.com"}, "name", id="name-crlf"),
        pytest.param({"name": "Ana\u202eSouza"}, "name", id="name-bidi"),
        pytest.param({"name": 5}, "name", id="name-number"),
        pytest.param({"name": "x" * 201}, "name", id="name-too-long"),
        pytest.param({"subject": "Hi\r\nBcc: x@example.com"}, "subject", id="subject-crlf"),
        pytest.param({"subject": "Hi\nthere"}, "subject", id="subject-lf"),
        pytest.param({"subject": "Hi\u2028there"}, "subject", id="subject-line-separator"),
        pytest.param({"locale": "not a locale"}, "locale", id="locale"),
        pytest.param({"submission_id": "has spaces"}, "submission_id", id="submission-id"),
        pytest.param({"meta": {"a": 1}}, "meta", id="custom-object"),
        pytest.param({"tags": ["a", "b"]}, "tags", id="custom-list"),
        pytest.param({"order": None}, "order", id="custom-null"),
        pytest.param({"order": "a\x00b"}, "order", id="custom-control"),
        pytest.param({"order": "x" * 2_001}, "order", id="custom-too-long"),
        pytest.param({"bad name!": "x"}, "bad name!", id="custom-name-invalid"),
        pytest.param({"_private": "x"}, "_private", id="custom-name-underscore-first"),
    ],
)
def test_each_fault_is_a_422_on_its_own_field(change: dict[str, Any], field: str):
    error = refused(lambda: validate({**VALID, **change}, max_message_chars=100))

    assert error.status == 422
    assert fields_at_fault(error) == [field]


@pytest.mark.parametrize(
    ("missing", "message"),
    [("name", "enter your name"), ("email", "enter your email address"), ("message", "enter your message")],
)
def test_a_missing_required_field_is_reported_in_words(missing: str, message: str):
    fields = {name: value for name, value in VALID.items() if name != missing}

    error = refused(lambda: validate(fields))

    assert error.status == 422
    assert [(e.field, e.message) for e in error.errors] == [(missing, message)]


def test_a_non_string_name_says_it_must_be_text():
    error = refused(lambda: validate({**VALID, "name": 5}))

    assert [(e.field, e.message) for e in error.errors] == [("name", "must be text")]


def test_a_message_over_the_limit_says_the_limit():
    error = refused(lambda: validate({**VALID, "message": "x" * 501}, max_message_chars=500))

    assert [(e.field, e.message) for e in error.errors] == [("message", "use 500 characters or fewer")]


def test_a_message_of_exactly_the_limit_is_accepted_after_trimming():
    submission = validate({**VALID, "message": "  " + "x" * 500 + "\r\n"}, max_message_chars=500)

    assert submission.message == "x" * 500


def test_a_long_invalid_custom_field_name_is_reported_shortened():
    name = "bad name " * 20

    error = refused(lambda: validate({**VALID, name: "x"}))

    assert fields_at_fault(error) == [name[:64]]


def test_a_field_named_by_a_lone_surrogate_is_reported_in_text_a_response_can_carry():
    # Found by tests/property: {"\ud800": ""} posted as JSON came back in the 422's body as a lone
    # surrogate, which cannot be sent as UTF-8.
    error = refused(lambda: validate({**VALID, "\ud800": ""}))

    assert "\ufffd" in fields_at_fault(error)
    json.dumps([field_error.model_dump() for field_error in error.errors], ensure_ascii=False).encode()


def test_too_many_custom_fields_is_a_422():
    # Given one custom field more than the form allows (FormSettings().max_custom_fields == 20)
    custom = {f"field{i}": "x" for i in range(21)}

    error = refused(lambda: validate({**VALID, **custom}))

    assert error.status == 422
    assert [(e.field, e.message) for e in error.errors] == [("body", "too many fields: at most 20")]


def test_the_custom_field_limit_comes_from_the_form():
    form = FormSettings(max_custom_fields=1)

    error = refused(lambda: validate_submission({**VALID, "a": "1", "b": "2"}, form, 20_000))

    assert error.errors[0].message == "too many fields: at most 1"
    assert validate_submission({**VALID, "a": "1"}, form, 20_000).custom_fields() == {"a": "1"}


def test_several_faults_are_reported_together_one_error_per_field():
    # Given a post where almost everything is wrong
    fields = {
        "name": 5,
        "email": "not-an-address",
        "subject": "Hi\r\nBcc: x@example.com",
        "message": "   ",
        "meta": {"nested": True},
        "bad name!": "x",
    }

    # When
    error = refused(lambda: validate(fields))

    # Then
    assert error.status == 422
    assert sorted(fields_at_fault(error)) == sorted(
        ["name", "email", "subject", "message", "meta", "bad name!"]
    )
    assert len(error.errors) == len(set(fields_at_fault(error)))


def test_the_error_text_lists_every_field():
    error = refused(lambda: validate({"name": "", "email": "x", "message": ""}))

    assert str(error).startswith("name: enter your name; email: ")
    assert "message: enter your message" in str(error)


# -- validate_submission: valid posts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("ana@example.org", "ana@example.org"),
        ("Ana@Example.ORG", "Ana@example.org"),
        ("  ana@EXAMPLE.org  ", "ana@example.org"),
    ],
)
def test_the_email_domain_is_lower_cased_and_the_local_part_kept(given: str, normalised: str):
    assert validate({**VALID, "email": given}).email == normalised


def test_a_valid_post_is_normalised():
    # Given
    fields = {
        "name": "  Олег Петров ",
        "email": "Oleg@Example.ORG",
        "message": "\r\nLine one\r\nLine two\rLine three\r\n",
        "order": 5521,
        "amount": 12.5,
        "gift": True,
        "express": False,
        "note": "  keep me  ",
    }

    # When
    submission = validate(fields)

    # Then
    assert submission.name == "Олег Петров"
    assert submission.email == "Oleg@example.org"
    assert submission.message == "Line one\nLine two\nLine three"
    assert submission.custom_fields() == {
        "order": "5521",
        "amount": "12.5",
        "gift": "true",
        "express": "false",
        "note": "keep me",
    }
    assert submission.subject == ""
    assert submission.locale is None
    assert not submission.is_spam


def test_reserved_fields_are_not_custom_fields():
    submission = validate(
        {**VALID, "subject": "Hi", "locale": "pt-BR", "website": "", "submission_id": "abc"}
    )

    assert submission.custom_fields() == {}
    assert submission.submission_id == "abc"
    assert submission.locale == "pt-BR"


def test_an_empty_submission_id_or_locale_is_none():
    submission = validate({**VALID, "submission_id": "", "locale": ""})

    assert submission.submission_id is None
    assert submission.locale is None


def test_a_filled_honeypot_marks_the_post_as_spam():
    assert validate({**VALID, "website": "http://spam.example"}).is_spam is True
    assert validate({**VALID, "website": ""}).is_spam is False


def test_the_subject_given_is_the_subject():
    assert validate({**VALID, "subject": "Refund"}).derived_subject() == "Refund"


@pytest.mark.parametrize(
    ("message", "subject"),
    [
        pytest.param("My order is late.", "My order is late.", id="one-line"),
        pytest.param("\n\n   \nSecond line first\nthird", "Second line first", id="blank-lines-skipped"),
        pytest.param("  padded  \nnext", "padded", id="stripped"),
        pytest.param("\n".join(["Привет, заказ 42", "ещё"]), "Привет, заказ 42", id="cyrillic"),
    ],
)
def test_without_a_subject_the_first_non_empty_line_is_the_subject(message: str, subject: str):
    assert validate({**VALID, "message": message}).derived_subject() == subject


def test_a_long_first_line_is_shortened_at_a_word_with_an_ellipsis():
    # Given a first line of 200 characters
    message = "word " * 40 + "\nsecond line"

    # When
    subject = validate({**VALID, "message": message}).derived_subject()

    # Then: at most 80 characters and the ellipsis, cut after a whole word
    assert subject == ("word " * 16).rstrip() + "…"
    assert len(subject) <= 81


def test_a_derived_subject_is_a_single_line():
    # Given a first line with a tab (allowed in messages, not in one-line fields)
    subject = validate({**VALID, "message": "Order\t42 is late"}).derived_subject()

    assert subject == "Order 42 is late"  # a tab is a space, not glued to the next word


# -- idempotency keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("has space", id="inner-space"),
        pytest.param("k" * 256, id="256-chars"),
        pytest.param("clé", id="non-ascii"),
        pytest.param("key\r\n", id="crlf"),
    ],
)
def test_check_idempotency_key_refuses_bad_keys_with_400(key: str):
    error = refused(lambda: check_idempotency_key(key))

    assert error.status == 400
    assert fields_at_fault(error) == ["Idempotency-Key"]


@pytest.mark.parametrize("key", ["k", "k" * 255, "550e8400-e29b-41d4-a716-446655440000", "a!~{}"])
def test_check_idempotency_key_accepts_visible_ascii(key: str):
    assert check_idempotency_key(key) == key


def test_check_idempotency_key_passes_no_key_through():
    assert check_idempotency_key(None) is None


# -- to_inbound_message ----------------------------------------------------------------------------


def inbound(
    fields: dict[str, Any],
    *,
    key: str | None = None,
    accept_language: str | None = None,
    form: FormSettings | None = None,
    now: datetime = NOW,
) -> InboundMessage:
    form = form or FormSettings(queue="billing", priority=Priority.HIGH, tags=("web",))
    return to_inbound_message(
        validate(fields),
        form_id="contact",
        form=form,
        idempotency_key=key,
        accept_language=accept_language,
        now=now,
    )


def test_to_inbound_message_carries_the_submission_and_the_form_settings():
    message = inbound({**VALID, "email": "Ana@Example.ORG", "order": 7})

    assert message.channel is Channel.WEB_FORM
    assert message.source == "contact"
    assert message.requester == Requester(name="Ana Souza", email="Ana@example.org")
    assert message.subject == "My order is late."
    assert message.body_text == "My order is late."
    assert message.received_at == NOW
    assert message.queue == "billing"
    assert message.priority is Priority.HIGH
    assert message.tags == ("web",)
    assert message.custom_fields == {"order": "7"}
    assert message.calendar is None
    assert message.time_zone is None


def test_the_form_calendar_goes_with_the_message():
    form = FormSettings(calendar="office")

    assert inbound(VALID, form=form).calendar == "office"


def test_the_language_is_left_for_routing_to_decide():
    message = inbound({**VALID, "locale": "ru"}, accept_language="ru")

    assert message.language is None
    assert message.first_response_due_at is None


def test_an_explicit_key_becomes_the_idempotency_key():
    assert inbound(VALID, key="abc-123").idempotency_key == "key:abc-123"


def test_the_submission_id_is_the_key_when_no_header_key_is_given():
    assert inbound({**VALID, "submission_id": "form-9"}).idempotency_key == "key:form-9"


def test_the_header_key_wins_over_the_submission_id():
    assert inbound({**VALID, "submission_id": "form-9"}, key="header-1").idempotency_key == "key:header-1"


def test_without_a_key_the_content_fingerprint_is_the_key():
    message = inbound(VALID)

    assert message.idempotency_key == f"content:{message.fingerprint}"
    assert len(message.fingerprint) == 64


def test_the_same_content_gives_the_same_key_at_another_time():
    first = inbound(VALID, now=NOW)
    again = inbound(dict(VALID), now=datetime(2026, 3, 1, 12, 5, tzinfo=UTC))

    assert first.idempotency_key == again.idempotency_key


def test_the_same_content_gives_the_same_key_whatever_language_or_time_zone_the_browser_says():
    first = inbound(VALID, accept_language="en")
    again = inbound({**VALID, "locale": "ru", "time_zone": "Asia/Almaty"}, accept_language="ru, kk;q=0.5")

    assert first.idempotency_key == again.idempotency_key


@pytest.mark.parametrize(
    "change",
    [{"message": "Another message."}, {"email": "bob@example.org"}, {"subject": "Other"}, {"order": "1"}],
)
def test_other_content_gives_another_key(change: dict[str, Any]):
    assert inbound(VALID).idempotency_key != inbound({**VALID, **change}).idempotency_key


@pytest.mark.parametrize(
    ("locale", "accept_language", "hints"),
    [
        pytest.param("pt-BR", None, ("pt",), id="locale-primary-subtag"),
        pytest.param("pt_BR", None, ("pt",), id="locale-underscore"),
        pytest.param("EN", None, ("en",), id="locale-lower-cased"),
        pytest.param(None, "ru-RU", ("ru",), id="accept-language"),
        pytest.param("fa", "en-GB", ("fa", "en"), id="locale-first"),
        pytest.param(None, "en;q=0.5, fa;q=0.9, kk", ("kk", "fa", "en"), id="by-weight"),
        pytest.param("ru", "ru-RU, en;q=0.8", ("ru", "en"), id="deduplicated"),
        pytest.param(None, "en-US, en;q=0.9, ru;q=0.8", ("en", "ru"), id="one-per-language"),
        pytest.param(None, "de;q=0, vi", ("vi",), id="unacceptable-dropped"),
        pytest.param(None, None, (), id="none"),
        pytest.param(None, "*", (), id="wildcard"),
    ],
)
def test_the_language_hints_are_the_locale_then_accept_language_by_weight(
    locale: str | None, accept_language: str | None, hints: tuple[str, ...]
):
    fields = {**VALID, "locale": locale} if locale else VALID

    assert inbound(fields, accept_language=accept_language).language_hints == hints


# -- the customer's time zone ----------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Tehran", "America/Argentina/Buenos_Aires", "UTC"])
def test_a_known_time_zone_is_kept_and_goes_with_the_message(zone: str):
    assert validate({**VALID, "time_zone": zone}).time_zone == zone
    assert inbound({**VALID, "time_zone": zone}).time_zone == zone


def test_an_empty_time_zone_is_none():
    assert validate({**VALID, "time_zone": ""}).time_zone is None


def test_the_time_zone_is_not_a_custom_field():
    assert validate({**VALID, "time_zone": "Asia/Almaty"}).custom_fields() == {}


@pytest.mark.parametrize(
    "zone",
    [
        pytest.param("Mars/Olympus_Mons", id="unknown"),
        pytest.param("+03:00", id="offset"),
        pytest.param("../../etc/passwd", id="path"),
        pytest.param("/etc/localtime", id="absolute-path"),
        pytest.param("Europe/Berlin\r\nX: 1", id="crlf"),
        pytest.param("A/" + "b" * 70, id="too-long"),
        pytest.param("Europe", id="a-folder-of-zones"),
    ],
)
def test_a_time_zone_that_is_not_one_is_a_422_on_its_field(zone: str):
    error = refused(lambda: validate({**VALID, "time_zone": zone}))

    assert error.status == 422
    assert [(e.field, e.message) for e in error.errors] == [
        ("time_zone", "must be a time zone name such as Europe/Berlin")
    ]


# -- errors that pages can translate ---------------------------------------------------------------


def test_an_error_carries_its_catalog_id_and_values_for_pages():
    error = refused(lambda: validate({**VALID, "message": "x" * 501}, max_message_chars=500)).errors[0]

    assert error.message == "use 500 characters or fewer"
    assert error.msgid == "use %(limit)s characters or fewer"
    assert error.params == {"limit": 500}


@pytest.mark.parametrize(
    ("change", "msgid"),
    [
        pytest.param({"name": ""}, "enter your name", id="required"),
        pytest.param({"email": "ana"}, "enter an email address in the form name@example.com", id="email"),
        pytest.param(
            {"name": "Ana\nB"}, "must be a single line without control characters", id="single-line"
        ),
        pytest.param({"message": "a\x00b"}, "must not contain control characters", id="control"),
        pytest.param({"locale": "not a locale"}, "must be a language tag such as en or pt-BR", id="locale"),
        pytest.param({"order": None}, "must be text", id="custom-not-text"),
        pytest.param({"bad name!": "x"}, "is not a valid field name", id="custom-name"),
    ],
)
def test_each_error_of_ours_has_a_catalog_id(change: dict[str, Any], msgid: str):
    error = refused(lambda: validate({**VALID, **change})).errors[0]

    assert error.msgid == msgid
    assert error.message == msgid


def test_json_clients_get_only_the_field_and_the_english_message():
    error = FieldError.of("message", "use %(limit)s characters or fewer", limit=500)

    assert error.model_dump() == {"field": "message", "message": "use 500 characters or fewer"}
    assert json.loads(error.model_dump_json()) == {
        "field": "message",
        "message": "use 500 characters or fewer",
    }


def test_an_error_without_values_is_its_catalog_id():
    error = FieldError.of("name", "enter your name")

    assert (error.field, error.message, error.msgid, error.params) == (
        "name",
        "enter your name",
        "enter your name",
        {},
    )
