"""Survey links: `/surveys/<token>`, where the token says which resolution of which ticket is being
rated, until when, and in which language, signed with HMAC-SHA256.

A forged, altered or expired token is refused by arithmetic alone, before any database read, so
guessing links costs an attacker nothing but costs Frontdesk nothing either. The token holds no
personal data: a reference, two Unix times and a language tag.

    FD-7K2M-9QXA.1764066600123456.1765276200.ru.<43 characters of base64url signature>

(the resolution's time in microseconds, which tells it apart from a later one, and the expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

# Keeps these signatures apart from anything else the same key might ever sign.
_PURPOSE = b"frontdesk/survey-link/v1\x00"
_TOKEN = re.compile(
    r"(?P<reference>[A-Z]{1,6}(?:-[0-9A-Z]{4}){1,4})\.(?P<resolved>\d{1,17})\.(?P<expires>\d{1,11})"
    r"\.(?P<language>[a-z]{2,3})\.(?P<signature>[A-Za-z0-9_-]{43})"
)
MAX_TOKEN_LENGTH = 160
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class InvalidSurveyTokenError(Exception):
    """Not a token Frontdesk signed: malformed, altered, or signed with a key it no longer has."""


class ExpiredSurveyTokenError(Exception):
    """A genuine link whose time is up; `language` is the customer's, for the page that says so."""

    def __init__(self, language: str) -> None:
        super().__init__("survey link expired")
        self.language = language


class SurveyLink(NamedTuple):
    reference: str
    resolved_at: datetime  # which resolution: a reopened and resolved again ticket is asked again
    expires_at: datetime
    language: str


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, _PURPOSE + payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_link(link: SurveyLink, key: bytes) -> str:
    payload = ".".join(
        (
            link.reference,
            str((link.resolved_at - _EPOCH) // _MICROSECOND),
            str(int(link.expires_at.timestamp())),
            link.language,
        )
    )
    return f"{payload}.{_signature(key, payload)}"


def read_link(token: str, keys: Sequence[bytes], now: datetime) -> SurveyLink:
    """The link a token stands for, if one of `keys` signed it and it has not expired."""
    match = _TOKEN.fullmatch(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if match is None:
        raise InvalidSurveyTokenError("malformed")
    payload = token[: match.start("signature") - 1]
    given = match["signature"]
    # Every key is tried (no early exit) and compared in constant time.
    genuine = False
    for key in keys:
        genuine |= hmac.compare_digest(_signature(key, payload), given)
    if not genuine:
        raise InvalidSurveyTokenError("bad signature")
    expires_at = datetime.fromtimestamp(int(match["expires"]), UTC)
    if now >= expires_at:
        raise ExpiredSurveyTokenError(match["language"])
    return SurveyLink(
        reference=match["reference"],
        resolved_at=_EPOCH + int(match["resolved"]) * _MICROSECOND,
        expires_at=expires_at,
        language=match["language"],
    )
