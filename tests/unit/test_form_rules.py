"""The rules a support-form post must pass, and the text rules behind them."""

from datetime import UTC, datetime

import pytest

from frontdesk.forms.posted import BadSubmissionError, decode_body
from frontdesk.forms.settings import FormSettings
from frontdesk.forms.submission import to_inbound_message, validate_submission
from frontdesk.intake.message import InboundMessage
from frontdesk.text import excerpt, single_line_problem
from frontdesk.tickets.reference import ALPHABET, new_reference, normalise_reference, reference_pattern

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALID = {"name": "Ana Souza", "email": "Ana@Example.ORG", "message": "Line one\r\nLine two"}


@pytest.mark.parametrize("value", ["a\rb", "a\nb", "a\x00b", "a\u0085b", "a\u2028b", "a\u2029b", "a\u202eb"])
def test_line_breaking_characters_are_refused_in_one_line_fields(value: str):
    assert single_line_problem(value) is not None


@pytest.mark.parametrize("value", ["Олег Петров", "زهرا احمدی", "Nguyễn Bảo", "Ana 🌻", "O'Brien-Smith"])
def test_ordinary_names_in_any_script_are_fine(value: str):
    assert single_line_problem(value) is None


def test_excerpt_cuts_at_a_word_and_says_so():
    assert excerpt("short", 10) == "short"
    cut = excerpt("word " * 100, 50)
    assert cut.endswith("…") and len(cut) <= 51 and not cut[:-1].endswith(" ")


def test_references_are_well_formed_distinct_and_forgiving_when_typed():
    references = {new_reference("FD") for _ in range(500)}
    assert len(references) == 500
    assert all(reference_pattern("FD").fullmatch(ref) for ref in references)
    assert all(set(ref[3:].replace("-", "")) <= set(ALPHABET) for ref in references)
    assert normalise_reference(" fd-7k3m-q9tx ", "FD") == "FD-7K3M-Q9TX"
    assert normalise_reference("FD-7K3M-Q9TO", "FD") == "FD-7K3M-Q9T0"  # O typed for 0
    assert normalise_reference("XX-7K3M-Q9TX", "FD") is None
    assert normalise_reference("FD-7K3M", "FD") is None


def test_a_valid_post_is_normalised():
    submission = validate_submission({**VALID, "order": 5521, "gift": True}, FormSettings(), 20_000)
    assert submission.email == "Ana@example.org"  # the domain is case-insensitive, the local part is not
    assert submission.message == "Line one\nLine two"
    assert submission.custom_fields() == {"order": "5521", "gift": "true"}
    assert submission.derived_subject() == "Line one"
    assert not submission.is_spam


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": ""}, "email"),
        ({"email": "ana@"}, "email"),
        ({"message": " \n "}, "message"),
        ({"message": "a\x00b"}, "message"),
        ({"message": "x" * 101}, "message"),
        ({"name": "Ana\r\nBcc: x@example.com"}, "name"),
        ({"name": 5}, "name"),
        ({"subject": "Hi\nthere"}, "subject"),
        ({"bad name!": "x"}, "bad name!"),
        ({"meta": {"a": 1}}, "meta"),
    ],
)
def test_each_fault_is_reported_on_its_field(change, field):
    with pytest.raises(BadSubmissionError) as refused:
        validate_submission({**VALID, **change}, FormSettings(), 100)
    assert refused.value.status == 422
    assert field in [error.field for error in refused.value.errors]


def test_several_faults_are_reported_together():
    with pytest.raises(BadSubmissionError) as refused:
        validate_submission({"name": "", "email": "x", "message": ""}, FormSettings(), 100)
    assert {error.field for error in refused.value.errors} == {"name", "email", "message"}


def test_too_many_custom_fields_are_refused():
    extra = {f"field{n}": "x" for n in range(3)}
    with pytest.raises(BadSubmissionError):
        validate_submission({**VALID, **extra}, FormSettings(max_custom_fields=2), 100)


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{", 400),
        ("application/json", b"[1]", 400),
        ("application/json", b"[" * 100_000, 400),
        ("application/x-www-form-urlencoded", b"name=\xff", 400),
        ("application/x-www-form-urlencoded", b"name=a&name=b", 422),
        ("application/x-www-form-urlencoded", b"&".join(b"f%d=1" % n for n in range(100)), 413),
        ("text/plain", b"hello", 415),
        ("multipart/form-data; boundary=x", b"--x--", 415),
    ],
)
def test_undecodable_bodies_are_refused(content_type: str, body: bytes, status: int):
    with pytest.raises(BadSubmissionError) as refused:
        decode_body(content_type, body, max_fields=64)
    assert refused.value.status == status


def test_without_a_key_the_content_is_the_key():
    submission = validate_submission({**VALID, "locale": "pt-BR"}, FormSettings(), 100)

    def message(key: str | None, accept_language: str | None) -> InboundMessage:
        return to_inbound_message(
            submission,
            form_id="contact",
            form=FormSettings(),
            idempotency_key=key,
            accept_language=accept_language,
            now=NOW,
        )

    first, again, keyed = message(None, None), message(None, "ru"), message("k-1", None)
    assert first.idempotency_key == again.idempotency_key and first.idempotency_key.startswith("content:")
    assert keyed.idempotency_key == "key:k-1"
    assert first.language_hints == ("pt",)
    assert again.language_hints == ("pt", "ru")
