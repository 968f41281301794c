"""An inbound email as the rest of Frontdesk sees it, after MIME parsing (parse.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple


class MailAddress(NamedTuple):
    """One mailbox from a header: the address as written and its decoded display name."""

    email: str
    name: str = ""

    @property
    def normalized(self) -> str:
        return self.email.strip().lower()


class MailAttachment(NamedTuple):
    """A file that came with the mail (attached, or inline like a pasted image)."""

    filename: str  # safe to use as the last part of an S3 key: no '/', no control characters
    content_type: str  # e.g. "image/png", lower case
    data: bytes
    inline: bool = False
    content_id: str | None = None  # without the angle brackets


class SkippedAttachment(NamedTuple):
    """A part over the size or count limits: recorded on the message, not stored."""

    filename: str
    content_type: str
    size: int
    reason: str  # "too_large", "too_many", "total_too_large"


class MailLimits(NamedTuple):
    max_attachments: int = 20
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_total_attachment_bytes: int = 25 * 1024 * 1024
    max_body_chars: int = 100_000
    max_depth: int = 10  # nested multiparts and message/rfc822 parts


class ParsedEmail(NamedTuple):
    message_id: str | None  # "<id@host>", None when missing or malformed
    in_reply_to: tuple[str, ...]  # each "<id@host>"
    references: tuple[str, ...]  # each "<id@host>", oldest first
    subject: str  # decoded; one line (line breaks and control characters become spaces)
    sender: MailAddress | None  # From:
    reply_to: tuple[MailAddress, ...]
    to: tuple[MailAddress, ...]
    cc: tuple[MailAddress, ...]
    date: datetime | None  # aware, when the Date header parses
    text: str  # the body as plain text ("\n" line ends); HTML-only mail converted to text
    content_type: str  # of the top-level entity, lower case, e.g. "multipart/report"
    language: str | None = None  # primary subtag of Content-Language, lower case
    # Header values the loop rules need, by lower-case name (decoded, as strings).
    headers: Mapping[str, tuple[str, ...]] = MappingProxyType({})
    attachments: tuple[MailAttachment, ...] = ()
    skipped_attachments: tuple[SkippedAttachment, ...] = ()
    defects: tuple[str, ...] = ()  # what was wrong with the MIME, for logs (never the content)

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        values = self.headers.get(name.lower())
        return values[0] if values else None
