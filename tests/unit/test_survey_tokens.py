"""Survey links: signed, expiring, refused by arithmetic alone when forged or expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.surveys.tokens import (
    MAX_TOKEN_LENGTH,
    ExpiredSurveyTokenError,
    InvalidSurveyTokenError,
    SurveyLink,
    read_link,
    sign_link,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
LINK = SurveyLink(
    reference="FD-7K2M-9QXA",
    resolved_at=datetime(2026, 11, 25, 9, 0, 1, 123456, tzinfo=UTC),
    expires_at=NOW + timedelta(days=14),
    language="fa",
)


def test_a_signed_link_reads_back_exactly() -> None:
    token = sign_link(LINK, KEY)
    assert read_link(token, [KEY], NOW) == LINK
    # The resolution keeps its microseconds: it names the survey item.
    assert read_link(token, [KEY], NOW).resolved_at.microsecond == 123456
    assert len(token) <= MAX_TOKEN_LENGTH
    assert token.startswith("FD-7K2M-9QXA.")


def test_any_configured_key_verifies_so_keys_can_rotate() -> None:
    token = sign_link(LINK, OTHER_KEY)
    assert read_link(token, [KEY, OTHER_KEY], NOW) == LINK
    with pytest.raises(InvalidSurveyTokenError):
        read_link(token, [KEY], NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token.replace("FD-7K2M-9QXA", "FD-7K2M-9QXB"),  # another ticket
        lambda token: token.replace(".fa.", ".ru."),  # another language
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # signature
        lambda token: token.split(".", 1)[0],  # truncated
        lambda token: token + "x",
        lambda token: "",
        lambda token: "../../etc/passwd",
        lambda token: token.replace(".", "%2E"),
        lambda token: "A" * 10_000,
    ],
)
def test_altered_tokens_are_refused(tamper: object) -> None:
    token = tamper(sign_link(LINK, KEY))  # type: ignore[operator]
    with pytest.raises(InvalidSurveyTokenError):
        read_link(token, [KEY], NOW)


def test_a_later_expiry_cannot_be_written_in() -> None:
    token = sign_link(LINK, KEY)
    reference, resolved, expires, language, signature = token.split(".")
    longer = ".".join([reference, resolved, str(int(expires) + 86_400 * 365), language, signature])
    with pytest.raises(InvalidSurveyTokenError):
        read_link(longer, [KEY], NOW)


def test_an_expired_link_is_told_apart_in_the_customers_language() -> None:
    token = sign_link(LINK, KEY)
    assert read_link(token, [KEY], LINK.expires_at - timedelta(seconds=1)) == LINK
    with pytest.raises(ExpiredSurveyTokenError) as expired:
        read_link(token, [KEY], LINK.expires_at)
    assert expired.value.language == "fa"


def test_no_keys_accept_nothing() -> None:
    with pytest.raises(InvalidSurveyTokenError):
        read_link(sign_link(LINK, KEY), [], NOW)
