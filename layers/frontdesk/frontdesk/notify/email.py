"""One outgoing email, built with the standard library's email package.

Header values never come from customers unchecked: display names and subjects are refused if
they could break a header line, and addresses are set through headerregistry.Address.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from types import MappingProxyType
from typing import NamedTuple

from frontdesk.text import single_line_problem


class UnsafeHeaderError(ValueError):
    """A value meant for a mail header could break out of its line."""


def _checked(value: str, what: str) -> str:
    if problem := single_line_problem(value):
        raise UnsafeHeaderError(f"{what} {problem}")
    return value


def mailbox(address: str, name: str | None = None) -> Address:
    """An address with an optional display name, both checked for header safety."""
    _checked(address, "address")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise UnsafeHeaderError("address must look like name@domain")
    return Address(display_name=_checked(name or "", "display name"), username=local, domain=domain)


class OutgoingEmail(NamedTuple):
    sender: Address
    to: tuple[Address, ...]
    subject: str
    text: str
    html: str
    language: str
    date: datetime
    reply_to: tuple[Address, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    # RFC 3834: automatic replies say so, and ask other robots not to answer them.
    auto_submitted: str | None = None
    extra_headers: Mapping[str, str] = MappingProxyType({})

    def to_mime(self) -> EmailMessage:
        message = EmailMessage(policy=SMTP)
        message["From"] = self.sender
        message["To"] = self.to
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        message["Subject"] = _checked(self.subject, "subject")
        message["Date"] = format_datetime(self.date)
        if self.in_reply_to:
            message["In-Reply-To"] = _checked(self.in_reply_to, "In-Reply-To")
        if self.references:
            message["References"] = _checked(" ".join(self.references), "References")
        if self.auto_submitted:
            message["Auto-Submitted"] = self.auto_submitted
            message["X-Auto-Response-Suppress"] = "All"
        for name, value in self.extra_headers.items():
            message[name] = _checked(value, name)
        message.set_content(self.text, subtype="plain", charset="utf-8")
        message.add_alternative(self.html, subtype="html", charset="utf-8")
        # After the body: set_content() drops any Content-* header set before it.
        message["Content-Language"] = _checked(self.language, "language")
        return message

    def to_bytes(self) -> bytes:
        return self.to_mime().as_bytes()
