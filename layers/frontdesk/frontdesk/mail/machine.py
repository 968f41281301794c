"""Loop protection: was an inbound mail written by a machine, so Frontdesk must not acknowledge it?

Acknowledging a bounce, an out-of-office reply, a newsletter or our own mail coming back starts
mail loops and backscatter. `classify` looks at headers and the SMTP envelope only, never at the
subject or body: header rules are cheap, hard to trip by accident, and say what they matched.

A verdict only says "do not answer this automatically"; whether the mail still becomes a ticket
is the caller's decision. Once one rule matches, the mail is machine mail whatever else it carries,
so the order of the rules only decides the label. Hence (first match wins):

1. OWN_MAIL: From or envelope sender is one of our own addresses or domains. Our mail coming back
   to us is the tightest loop (ack -> our inbox -> ack ...), and it is the only verdict on which a
   caller may reasonably drop the mail altogether, so it must not hide behind another label.
2. DELIVERY_REPORT, specific evidence: multipart/report (DSNs, read receipts, ARF abuse reports),
   X-Failed-Recipients, a MAILER-DAEMON or postmaster sender. Bounces often also carry
   Auto-Submitted or Precedence: bulk, so these go before the header rules below.
3. AUTO_REPLY: RFC 3834 Auto-Submitted (anything but "no") and the de-facto autoresponder headers.
4. MAILING_LIST: List-Id (RFC 2919) or Precedence: list. Before BULK because list software also
   sets Precedence: bulk on posts, and List-Id is the standard, more specific statement.
5. BULK: Precedence: bulk/junk, or List-Unsubscribe without a List-Id (a newsletter: a list in
   name only, nobody posts to it).
6. AUTO_REPLY, weak: X-Auto-Response-Suppress asking for no out-of-office/auto replies. It is a
   request, not proof of a machine (Exchange puts it on its own OOF replies and NDRs; notification
   systems on everything they send), but our acknowledgement is exactly such an auto reply, so we
   honour it. Late, so that lists and bulk senders that also set it keep their better label.
7. DELIVERY_REPORT, weak: an empty envelope sender ("MAIL FROM:<>"). RFC 5321 reserves it for
   notifications, so nothing sent with it may be answered; but RFC 3834 auto replies and read
   receipts use it too, so it only decides the label when nothing more specific matched.
"""

import re
from collections.abc import Callable, Collection
from enum import StrEnum
from typing import NamedTuple

from frontdesk.mail.addresses import domain_key, mailbox_key
from frontdesk.mail.message import ParsedEmail


class MachineKind(StrEnum):
    DELIVERY_REPORT = "delivery_report"  # bounces, delay warnings, read receipts, abuse reports
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation, autoresponders, other auto-generated mail
    BULK = "bulk"  # newsletters and other one-to-many mail
    MAILING_LIST = "mailing_list"  # a post relayed by list software
    OWN_MAIL = "own_mail"  # sent from one of Frontdesk's own addresses or domains


class MachineVerdict(NamedTuple):
    kind: MachineKind
    reason: str  # which rule matched, e.g. "Auto-Submitted: auto-replied"; never text or addresses


# The headers `classify` reads (lower case): the parser must keep these in ParsedEmail.headers.
LOOP_HEADERS = frozenset(
    {
        "auto-submitted",
        "content-type",
        "list-id",
        "list-unsubscribe",
        "precedence",
        "return-path",
        "x-apple-action",
        "x-auto-response-suppress",
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-failed-recipients",
        "x-mail-autoreply",
    }
)

# multipart/report of any report-type; the bare report parts are rare at top level but just as automatic.
_REPORT_TYPES = frozenset(
    {
        "multipart/report",
        "message/delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
    }
)
_DAEMON_MAILBOXES = frozenset({"mailer-daemon", "postmaster"})
# Vendor headers whose mere presence marks an autoresponder; the value is free text, if any.
_AUTORESPONDER_HEADERS = (
    ("x-autoreply", "X-Autoreply"),
    ("x-autorespond", "X-Autorespond"),
    ("x-autoresponder", "X-Autoresponder"),
    ("x-mail-autoreply", "X-Mail-Autoreply"),
)
_NEGATIVE = frozenset({"no", "false", "off", "0"})
_SUPPRESSED_REPLIES = frozenset({"all", "oof", "autoreply"})
# A header keyword we are willing to repeat in a log line; anything else is "(other)".
_LOGGABLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
_KEYWORD = re.compile(r"\s*([^\s;(,]*)")
_REPORT_TYPE = re.compile(r";\s*report-type\s*=\s*\"?([A-Za-z0-9._-]+)", re.IGNORECASE)
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>")


class _Mail(NamedTuple):
    """The mail with the addresses the rules compare already normalised."""

    parsed: ParsedEmail
    sender: str  # From, lower case; "" when missing
    envelope: str | None  # lower case; "" is the null sender, None when unknown
    own_mailboxes: frozenset[str]
    own_domains: frozenset[str]

    def values(self, name: str) -> tuple[str, ...]:
        return self.parsed.headers.get(name, ())

    def keywords(self, name: str) -> list[str]:
        return [_keyword(value) for value in self.values(name)]


_Rule = Callable[[_Mail], MachineVerdict | None]


def classify(
    mail: ParsedEmail,
    *,
    envelope_sender: str | None,
    own_addresses: Collection[str],
    own_domains: Collection[str],
) -> MachineVerdict | None:
    """Why `mail` must not get an automatic answer, or None for mail that looks written by a person.

    `envelope_sender` is the SMTP MAIL FROM (SES: mail.source); "" or "<>" is a bounce's null
    sender. None means unknown: the Return-Path header, which records it, is used instead.
    `own_domains` match exactly (no subdomains): list the domains Frontdesk sends from, not a company
    domain whose people may write to support themselves.
    """
    envelope = envelope_sender if envelope_sender is not None else mail.header("return-path")
    facts = _Mail(
        parsed=mail,
        sender=mail.sender.normalized if mail.sender else "",
        envelope=_bare_address(envelope) if envelope is not None else None,
        own_mailboxes=frozenset(filter(None, (mailbox_key(_bare_address(a)) for a in own_addresses))),
        own_domains=frozenset(domain_key(d.strip().lstrip("@")) for d in own_domains if d.strip()),
    )
    for rule in _RULES:
        verdict = rule(facts)
        if verdict is not None:
            return verdict
    return None


def _own_mail(mail: _Mail) -> MachineVerdict | None:
    for label, address in (("From", mail.sender), ("envelope sender", mail.envelope)):
        mailbox = mailbox_key(address or "")
        if not mailbox:
            continue
        if mailbox in mail.own_mailboxes:
            return MachineVerdict(MachineKind.OWN_MAIL, f"{label}: own address")
        if mailbox.rpartition("@")[2] in mail.own_domains:
            return MachineVerdict(MachineKind.OWN_MAIL, f"{label}: own domain")
    return None


def _delivery_report(mail: _Mail) -> MachineVerdict | None:
    media_type = mail.parsed.content_type.split(";", 1)[0].strip().lower()
    if media_type in _REPORT_TYPES:
        return MachineVerdict(MachineKind.DELIVERY_REPORT, _report_reason(mail, media_type))
    if mail.values("x-failed-recipients"):
        return MachineVerdict(MachineKind.DELIVERY_REPORT, "X-Failed-Recipients")
    for label, address in (("From", mail.sender), ("envelope sender", mail.envelope)):
        local = _local_part(address or "")
        if local in _DAEMON_MAILBOXES:
            return MachineVerdict(MachineKind.DELIVERY_REPORT, f"{label}: {local}")
    return None


def _auto_reply(mail: _Mail) -> MachineVerdict | None:
    for keyword in mail.keywords("auto-submitted"):
        # RFC 3834: "no" is the only value a person's mail may carry; even an empty or garbled value
        # means software added the field.
        if keyword != "no":
            return MachineVerdict(MachineKind.AUTO_REPLY, f"Auto-Submitted: {_loggable(keyword)}")
    for name, label in _AUTORESPONDER_HEADERS:
        if any(keyword not in _NEGATIVE for keyword in mail.keywords(name)):
            return MachineVerdict(MachineKind.AUTO_REPLY, label)
    if any(keyword in ("auto_reply", "auto-reply") for keyword in mail.keywords("precedence")):
        return MachineVerdict(MachineKind.AUTO_REPLY, "Precedence: auto_reply")
    # iCloud vacation replies carry no Auto-Submitted; this is their only marker.
    if "vacation" in mail.keywords("x-apple-action"):
        return MachineVerdict(MachineKind.AUTO_REPLY, "X-Apple-Action: vacation")
    return None


def _mailing_list(mail: _Mail) -> MachineVerdict | None:
    if mail.values("list-id"):
        return MachineVerdict(MachineKind.MAILING_LIST, "List-Id")
    if "list" in mail.keywords("precedence"):
        return MachineVerdict(MachineKind.MAILING_LIST, "Precedence: list")
    return None


def _bulk(mail: _Mail) -> MachineVerdict | None:
    for keyword in mail.keywords("precedence"):
        if keyword in ("bulk", "junk"):
            return MachineVerdict(MachineKind.BULK, f"Precedence: {keyword}")
    if mail.values("list-unsubscribe"):
        return MachineVerdict(MachineKind.BULK, "List-Unsubscribe")
    return None


def _asks_for_no_auto_reply(mail: _Mail) -> MachineVerdict | None:
    for value in mail.values("x-auto-response-suppress"):
        # A comma-separated list of Exchange classes; DR, NDR, RN, NRN are about receipts only.
        for token in re.split(r"[\s,;]+", value.lower()):
            if token in _SUPPRESSED_REPLIES:
                return MachineVerdict(MachineKind.AUTO_REPLY, f"X-Auto-Response-Suppress: {token}")
    return None


def _null_sender(mail: _Mail) -> MachineVerdict | None:
    if mail.envelope == "":
        return MachineVerdict(MachineKind.DELIVERY_REPORT, "empty envelope sender")
    return None


_RULES: tuple[_Rule, ...] = (
    _own_mail,
    _delivery_report,
    _auto_reply,
    _mailing_list,
    _bulk,
    _asks_for_no_auto_reply,
    _null_sender,
)


def _keyword(value: str) -> str:
    """The first word of a header value, lower case: "Auto-Replied; x=y" -> "auto-replied"."""
    match = _KEYWORD.match(value)
    return match[1].lower() if match else ""  # the pattern matches any string; this is for mypy


def _loggable(keyword: str) -> str:
    if not keyword:
        return "(empty)"
    return keyword if _LOGGABLE.fullmatch(keyword) else "(other)"


def _report_reason(mail: _Mail, media_type: str) -> str:
    # The report-type parameter (delivery-status, feedback-report, ...) is only on the raw header.
    for value in mail.values("content-type"):
        match = _REPORT_TYPE.search(value)
        if match and _LOGGABLE.fullmatch(match[1].lower()):
            return f"{media_type}; report-type={match[1].lower()}"
    return media_type


def _bare_address(value: str) -> str:
    """The address inside angle brackets if any, trimmed and lower case; "<>" gives ""."""
    match = _ANGLE_ADDRESS.search(value)
    return (match[1] if match else value).strip().lower()


def _local_part(address: str) -> str:
    # A bare "MAILER-DAEMON" (local delivery) has no domain at all.
    return address.rpartition("@")[0] if "@" in address else address
