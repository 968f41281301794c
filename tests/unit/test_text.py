"""Text rules: what may appear in one-line fields (mail headers) and in message bodies."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.text import (
    excerpt,
    header_safe,
    multiline_problem,
    normalise_multiline,
    single_line_problem,
)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Ana\rBcc: x@example.com", id="CR"),
        pytest.param("Ana\nBcc: x@example.com", id="LF"),
        pytest.param("Ana\r\nBcc: x@example.com", id="CRLF"),
        pytest.param("Ana\x00", id="NUL"),
        pytest.param("Ana\tSouza", id="TAB"),
        pytest.param("Ana\x7f", id="DEL"),
        pytest.param("Ana\u0085Souza", id="NEL"),
        pytest.param("Ana\u2028Souza", id="LINE SEPARATOR"),
        pytest.param("Ana\u2029Souza", id="PARAGRAPH SEPARATOR"),
    ],
)
def test_single_line_problem_refuses_line_breaks_and_control_characters(value: str):
    assert single_line_problem(value) == "must be a single line without control characters"


@pytest.mark.parametrize(
    "char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]
)
def test_single_line_problem_refuses_bidirectional_overrides_and_isolates(char: str):
    # Given a name that would display reversed, e.g. "Invoice <RLO>fdp.exe"
    value = f"Invoice {char}fdp.exe"

    # When / Then
    assert single_line_problem(value) == "must not contain bidirectional control characters"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Олег Петров", id="Cyrillic"),
        pytest.param("زهرا احمدی", id="Persian"),
        pytest.param("Nguyễn Bảo", id="Vietnamese"),
        pytest.param("山田 太郎", id="Japanese"),
        pytest.param("Ana 🌻", id="emoji"),
        pytest.param("O'Brien-Smith, Jr. <ok>", id="punctuation"),
        pytest.param("", id="empty"),
    ],
)
def test_single_line_problem_accepts_ordinary_text_in_any_script(value: str):
    assert single_line_problem(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("one\r\ntwo", "one\ntwo"),
        ("one\rtwo", "one\ntwo"),
        ("one\ntwo", "one\ntwo"),
        ("one\r\n\r\ntwo\r", "one\n\ntwo\n"),
        ("one\n\rtwo", "one\n\ntwo"),
        ("no newline", "no newline"),
    ],
)
def test_normalise_multiline_turns_every_line_ending_into_lf(value: str, expected: str):
    assert normalise_multiline(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "first line\nsecond line",
        "tab\tseparated",
        "\n".join(["Привет", "سلام"]),
        "emoji 🌻",
        "line\u2028separator",
        "",
    ],
)
def test_multiline_problem_accepts_newlines_tabs_and_any_script(value: str):
    assert multiline_problem(value) is None


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("a\x00b", id="NUL"),
        pytest.param("a\x1bb", id="ESC"),
        pytest.param("a\x7fb", id="DEL"),
        pytest.param("a\u0085b", id="NEL"),
        pytest.param("a\x0bb", id="VT"),
        pytest.param("a\rb", id="CR-not-normalised"),
        pytest.param("a\ud800b", id="lone-surrogate"),
    ],
)
def test_multiline_problem_refuses_other_control_characters(value: str):
    assert multiline_problem(value) == "must not contain control characters"


@pytest.mark.parametrize("value", ["", "short", "x" * 50])
def test_excerpt_leaves_text_within_the_limit_unchanged(value: str):
    assert excerpt(value, 50) == value


def test_excerpt_cuts_at_the_last_word_boundary_and_adds_an_ellipsis():
    # Given text longer than the limit, with spaces between words
    text = "word " * 100

    # When
    cut = excerpt(text, 50)

    # Then: ten whole words (49 characters) and the ellipsis, no dangling space
    assert cut == ("word " * 10).rstrip() + "…"
    assert len(cut) == 50


def test_excerpt_of_exactly_one_character_too_many_still_cuts():
    assert excerpt("alpha beta gamma", 15) == "alpha beta…"


def test_excerpt_cuts_mid_word_when_no_space_is_near():
    # Given one long word: no boundary within the last 40 characters
    text = "a" * 200

    # When / Then
    assert excerpt(text, 100) == "a" * 100 + "…"


def test_excerpt_does_not_look_further_back_than_forty_characters():
    # Given a space 60 characters before the limit and none after it
    text = "start " + "b" * 200

    # When / Then: cutting there would lose too much, so it cuts mid-word
    assert excerpt(text, 66) == "start " + "b" * 60 + "…"


def test_excerpt_with_a_small_limit_still_cuts_at_a_near_word_boundary():
    # Given a limit of 30 and a space 4 characters in (well within 40 of the limit)
    text = "aaaa " + "b" * 40

    # When / Then
    assert excerpt(text, 30) == "aaaa…"


# -- header_safe: customer text that will be a mail header, whatever it holds ----------------------


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        pytest.param("Ana\r\nBcc: x@example.com", "Ana Bcc: x@example.com", id="CRLF"),
        pytest.param("Ana\nBcc: x", "Ana Bcc: x", id="LF"),
        pytest.param("Ana\rBcc: x", "Ana Bcc: x", id="CR"),
        pytest.param("Ana\u0085Bcc\u2028x\u2029y", "Ana Bcc x y", id="NEL-LS-PS"),
        pytest.param("Invoice \u202efdp.exe", "Invoice fdp.exe", id="bidi-override"),
        pytest.param("=?utf-8?q?=0D=0ABcc:_x?=", "= ?utf-8?q?=0D=0ABcc:_x?=", id="encoded-word"),
        pytest.param("a=?=?b?=", "a= ?= ?b?=", id="adjacent-encoded-word-starts"),
        pytest.param("  Zahra\u200f  Ahmadi\t", "Zahra\u200f Ahmadi", id="marks-kept-space-collapsed"),
        pytest.param("Олег 🌻", "Олег 🌻", id="unicode-kept"),
    ],
)
def test_header_safe_makes_any_text_a_safe_header_value(value: str, safe: str):
    assert header_safe(value) == safe
    assert single_line_problem(header_safe(value)) is None


@given(st.text())
def test_header_safe_output_is_always_a_valid_single_line(value: str):
    assert single_line_problem(header_safe(value)) is None
