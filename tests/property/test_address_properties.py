"""Frontdesk checks plain addresses itself and leaves the rest to email_validator (whose import
costs a third of a cold start). These properties hold the shortcut to the library: whatever it
accepts, email_validator accepts and normalizes to the same string; whatever it refuses, the
library judges, so `normalized_address` answers exactly as email_validator does."""

from __future__ import annotations

import email_validator
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from hypothesis import event, example, given
from hypothesis import strategies as st

from frontdesk.mail.addresses import (
    _PLAIN_ADDRESS,
    ROLE_MAILBOXES,
    SPECIAL_USE_DOMAINS,
    InvalidAddressError,
    _plain_address,
    normalized_address,
)

# Near-misses of plain addresses: the shapes the shortcut must not get wrong.
_PIECES = st.sampled_from(
    ["a", "Z", "0", "-", "_", ".", "..", "@", "+", "'", "xn--", "--", "é", " ", "\n", "test", "local",
     "Support", "POSTMASTER", "com", "x" * 63, "y" * 64, "\u0430", "\u200b", "[1.2.3.4]", '"'],
)  # fmt: skip
_NEAR_ADDRESSES = st.lists(_PIECES, min_size=1, max_size=12).map("".join)
_PLAIN_SHAPED = st.from_regex(_PLAIN_ADDRESS, fullmatch=True)


def _library(value: str) -> str | None:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@given(st.one_of(_PLAIN_SHAPED, _NEAR_ADDRESSES, st.text(max_size=80)))
@example("help@Support.Example.COM")
@example("Support@example.org")
@example("a@b.test")
@example("a@b.localhost")
@example("ab--cd@ab--cd.com")
@example("a@" + "x" * 63 + ".com")
@example("y" * 65 + "@example.com")
def test_the_shortcut_agrees_with_email_validator(value: str) -> None:
    shortcut = _plain_address(value)
    event("shortcut" if shortcut is not None else "left to the library")
    if shortcut is not None:
        assert _library(value) == shortcut
    expected = _library(value)
    if expected is None:
        try:
            normalized_address(value)
        except InvalidAddressError:
            return
        raise AssertionError(f"{value!r} was accepted; email_validator refuses it")
    assert normalized_address(value) == expected


def test_the_shortcut_takes_the_addresses_nearly_everyone_has() -> None:
    for value in ("ana.souza+orders@example.org", "help@support.example.com", "o'brien@Example.IE"):
        assert _plain_address(value) is not None, value


def test_its_lists_are_the_librarys() -> None:
    assert set(SPECIAL_USE_DOMAINS) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    assert set(CASE_INSENSITIVE_MAILBOX_NAMES) == ROLE_MAILBOXES
