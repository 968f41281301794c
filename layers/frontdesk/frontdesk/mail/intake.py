"""Inbound email to tickets: parse, screen, thread, store files, then one transaction.

What happens to each kind of mail (nothing disappears without a log line and a metric):

| mail                                     | outcome                                          |
|------------------------------------------|--------------------------------------------------|
| SES virus verdict FAIL                   | quarantined: raw message tagged, no ticket       |
| Frontdesk's own mail coming back         | rejected (a loop), logged and counted            |
| delivery reports, bounces (DSN, MDN)     | rejected, logged and counted                     |
| auto-replies, bulk and list mail         | ticket or reply, tagged, never acknowledged,     |
|                                          | never reopens a resolved ticket                  |
| SES spam verdict FAIL                    | tagged "spam", not acknowledged (configurable)   |
| DMARC FAIL                               | tagged, not acknowledged (no backscatter to a    |
|                                          | forged sender), joins tickets only via a signed  |
|                                          | reply address                                    |
| SPF or DKIM FAIL                         | tagged                                           |
| no usable From address                   | rejected, logged and counted                     |
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from frontdesk.config import Settings
from frontdesk.hours.zones import offset_name
from frontdesk.intake import Accepted, InboundMessage, accept, append
from frontdesk.intake.routing import route
from frontdesk.mail.addresses import InvalidAddressError, mailbox_key, normalized_address
from frontdesk.mail.machine import MachineKind, classify
from frontdesk.mail.message import MailAddress, MailLimits, ParsedEmail
from frontdesk.mail.parse import parse_email
from frontdesk.mail.receipt import MailReceipt, Verdict
from frontdesk.mail.reply import extract_reply
from frontdesk.mail.reply_address import verify_reply_address
from frontdesk.mail.settings import MailboxSettings
from frontdesk.mail.storage import MailBucket, attachment_key
from frontdesk.mail.threads import (
    ThreadDecision,
    ThreadReason,
    decide_thread,
    find_thread,
    may_join_unread,
    thread_candidate,
)
from frontdesk.text import excerpt
from frontdesk.tickets.model import Channel, Requester, StoredAttachment
from frontdesk.tickets.reference import reference_from_seed
from frontdesk.tickets.store import TicketChangedError, TicketStore

# SES retries an invocation for up to six hours, and ops may replay raw mail from S3 much later:
# a delivery stays recognisable for longer than any of that.
MAIL_IDEMPOTENCY_WINDOW = timedelta(days=30)
MAX_SUBJECT_CHARS = 250
MAX_NAME_CHARS = 100
MAX_PARTICIPANTS = 50
_DECISION_ATTEMPTS = 3

# Machine mail that must not become a ticket at all.
_REJECTED_KINDS = frozenset({MachineKind.OWN_MAIL, MachineKind.DELIVERY_REPORT})


class MailOutcome(StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"


class MailResult(NamedTuple):
    outcome: MailOutcome
    reference: str | None = None
    reason: str | None = None  # why it was rejected, or how it was threaded; never content
    tags: tuple[str, ...] = ()


def receive_mail(
    receipt: MailReceipt,
    raw: bytes,
    *,
    store: TicketStore,
    bucket: MailBucket,
    settings: Settings,
    now: datetime,
) -> MailResult:
    if receipt.virus is Verdict.FAIL:
        return MailResult(MailOutcome.QUARANTINED, reason="virus")
    options = settings.email
    limits = MailLimits(
        max_attachments=options.max_attachments,
        max_attachment_bytes=options.max_attachment_bytes,
        max_total_attachment_bytes=options.max_total_attachment_bytes,
    )
    mail = parse_email(raw, limits)
    machine = classify(
        mail,
        envelope_sender=receipt.envelope_sender,
        own_addresses=_own_addresses(settings),
        own_domains=options.own_domains,
    )
    if machine and machine.kind in _REJECTED_KINDS:
        return MailResult(MailOutcome.REJECTED, reason=f"{machine.kind}: {machine.reason}")
    sender = _sender(mail)
    if sender is None:
        return MailResult(MailOutcome.REJECTED, reason="no usable From address")

    mailbox_address, mailbox = _route(receipt.recipients, settings)
    signed_reference = _signed_reference(receipt.recipients, settings)
    tags = _tags(receipt, machine.kind if machine else None)
    suppressed = _acknowledgement_suppressed(receipt, machine.kind if machine else None, settings)
    quiet = machine is not None or receipt.spam is Verdict.FAIL

    message_id = hashlib.sha256(f"ses:{receipt.ses_message_id}".encode()).hexdigest()[:16]
    full_text, truncated = _capped(mail.text.strip(), settings.max_message_chars)
    new_text = extract_reply(full_text).strip() or full_text
    stored: dict[str, tuple[StoredAttachment, ...]] = {}  # by reference: upload once per decision

    def inbound_for(reference: str, linked_reference: str | None) -> InboundMessage:
        if reference not in stored:
            stored[reference] = _store_attachments(mail, bucket, reference, message_id)
        return InboundMessage(
            channel=Channel.EMAIL,
            source=mailbox_address,
            idempotency_key=receipt.ses_message_id,
            requester=Requester(name=sender.name or None, email=sender.email),
            subject=_subject(mail),
            body_text=new_text,
            received_at=receipt.received_at,
            language_hints=(mail.language,) if mail.language else (),
            time_zone=_time_zone(mail),
            queue=mailbox.queue,
            calendar=mailbox.calendar,
            priority=mailbox.priority,
            tags=tuple(dict.fromkeys((*mailbox.tags, *tags))),
            message_id=message_id,
            email_message_id=mail.message_id,
            participants=_participants(mail, sender.email, receipt.recipients, settings),
            full_text=full_text if full_text != new_text else None,
            truncated=truncated,
            attachments=stored[reference],
            raw_mail_key=bucket.raw_key(receipt.ses_message_id),
            linked_reference=linked_reference,
            acknowledgement_suppressed=suppressed,
        )

    forged = receipt.dmarc is Verdict.FAIL
    reopen_window = timedelta(days=options.reopen_window_days)
    decision: ThreadDecision | None = None
    candidate = thread_candidate(mail, signed_reference, store, settings.reference_prefix)
    if (
        candidate.reference
        and may_join_unread(candidate, signed_reference=signed_reference, sender_forged=forged)
        and not mail.attachments  # stored under the ticket before the write: only once it is known
    ):
        # Most replies join an open ticket they belong to: added without reading it first.
        try:
            accepted = append(
                inbound_for(candidate.reference, None),
                candidate.reference,
                expected_status=None,
                participant=None if candidate.reference == signed_reference else sender.email.lower(),
                store=store,
                now=now,
                idempotency_window=MAIL_IDEMPOTENCY_WINDOW,
            )
            return _result(accepted, candidate.reason, tags)
        except TicketChangedError as refused:
            # Resolved, closed, gone, or not the sender's: the full decision, on what the write found.
            decision = decide_thread(
                refused.found,
                candidate.reason,
                sender=sender.email,
                signed_reference=signed_reference,
                sender_forged=forged,
                quiet=quiet,
                reopen_window=reopen_window,
                now=now,
            )

    for _ in range(_DECISION_ATTEMPTS):
        if decision is None:
            decision = find_thread(
                mail,
                sender=sender.email,
                signed_reference=signed_reference,
                sender_forged=forged,
                quiet=quiet,
                store=store,
                reference_prefix=settings.reference_prefix,
                reopen_window=reopen_window,
                now=now,
            )
        reference = (
            decision.ticket.reference
            if decision.ticket
            else reference_from_seed(settings.reference_prefix, receipt.ses_message_id)
        )
        inbound = inbound_for(reference, decision.linked_reference)
        try:
            accepted = _commit(inbound, decision, reference, store=store, settings=settings, now=now)
        except TicketChangedError:
            decision = None  # resolved, reopened or deleted meanwhile: decide again on what is there now
            continue
        return _result(accepted, decision.reason, tags)
    raise RuntimeError("the ticket kept changing while a reply was added to it")


def _commit(
    inbound: InboundMessage,
    decision: ThreadDecision,
    reference: str,
    *,
    store: TicketStore,
    settings: Settings,
    now: datetime,
) -> Accepted:
    if decision.ticket:
        return append(
            inbound,
            decision.ticket.reference,
            expected_status=decision.ticket.status,
            store=store,
            now=now,
            idempotency_window=MAIL_IDEMPOTENCY_WINDOW,
            reopen=decision.reopen,
        )
    return accept(
        route(inbound, settings, now),
        store=store,
        now=now,
        reference_prefix=settings.reference_prefix,
        default_language=settings.default_language,
        idempotency_window=MAIL_IDEMPOTENCY_WINDOW,
        first_reference=reference,
    )


def _result(accepted: Accepted, reason: ThreadReason, tags: tuple[str, ...]) -> MailResult:
    if accepted.created:
        outcome = MailOutcome.CREATED
    elif accepted.appended:
        outcome = MailOutcome.APPENDED
    else:
        outcome = MailOutcome.DUPLICATE
    return MailResult(outcome, accepted.reference, reason=reason.value, tags=tags)


def _time_zone(mail: ParsedEmail) -> str | None:
    """The sender's UTC offset from the Date header. +00:00 says nothing: servers stamp UTC."""
    offset = offset_name(mail.date) if mail.date else None
    return offset if offset not in (None, "+00:00") else None


def _own_addresses(settings: Settings) -> set[str]:
    return {settings.sender_address.lower(), *settings.email.mailboxes}


def _sender(mail: ParsedEmail) -> MailAddress | None:
    """The From address, if it is a real, header-safe address (it becomes an acknowledgement's To)."""
    if mail.sender is None:
        return None
    try:
        address = normalized_address(mail.sender.email)
    except InvalidAddressError:
        return None
    return MailAddress(email=address, name=" ".join(mail.sender.name.split())[:MAX_NAME_CHARS])


def _route(recipients: tuple[str, ...], settings: Settings) -> tuple[str, MailboxSettings]:
    """The mailbox the mail came to, from the envelope recipients (never the To: header)."""
    bases = [mailbox_key(address) for address in recipients]
    for base in bases:
        if base in settings.email.mailboxes:
            return base, settings.email.mailboxes[base]
    return bases[0], MailboxSettings()


def _signed_reference(recipients: tuple[str, ...], settings: Settings) -> str | None:
    """The reference a recipient's signed reply address names, checked with the current key and
    then the keys it replaced (replies to mail sent before a rotation still find their ticket)."""
    if settings.email.reply_address_key is None:
        return None
    keys = [settings.email.reply_address_key, *settings.email.previous_reply_address_keys]
    for address in recipients:
        for key in keys:
            reference = verify_reply_address(
                address, base_address=settings.sender_address, key=key.get_secret_value().encode()
            )
            if reference:
                return reference
    return None


def _tags(receipt: MailReceipt, machine: MachineKind | None) -> tuple[str, ...]:
    tags = [machine.value] if machine else []
    for name, verdict in (
        ("spam", receipt.spam),
        ("dmarc_fail", receipt.dmarc),
        ("spf_fail", receipt.spf),
        ("dkim_fail", receipt.dkim),
    ):
        if verdict is Verdict.FAIL:
            tags.append(name)
    return tuple(tags)


def _acknowledgement_suppressed(
    receipt: MailReceipt, machine: MachineKind | None, settings: Settings
) -> str | None:
    if machine:
        return machine.value
    if receipt.spam is Verdict.FAIL and not settings.email.acknowledge_spam:
        return "spam"
    if receipt.dmarc is Verdict.FAIL:
        return "dmarc_fail"
    return None


def _subject(mail: ParsedEmail) -> str:
    return excerpt(mail.subject, MAX_SUBJECT_CHARS) or "(no subject)"


def _capped(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _participants(
    mail: ParsedEmail, sender: str, recipients: tuple[str, ...], settings: Settings
) -> tuple[str, ...]:
    """Who may write into the ticket: the sender and the people they copied, never ourselves."""
    ours = _own_addresses(settings) | {mailbox_key(address) for address in recipients}
    people = [sender.lower()] + [address.normalized for address in (*mail.to, *mail.cc)]
    return tuple(
        address for address in dict.fromkeys(people) if mailbox_key(address) not in ours and "@" in address
    )[:MAX_PARTICIPANTS]


def _store_attachments(
    mail: ParsedEmail, bucket: MailBucket, reference: str, message_id: str
) -> tuple[StoredAttachment, ...]:
    stored = []
    for index, attachment in enumerate(mail.attachments):
        key = attachment_key(reference, message_id, index, attachment.filename)
        bucket.put_attachment(key, attachment.data, attachment.content_type, attachment.filename)
        stored.append(
            StoredAttachment(
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=len(attachment.data),
                key=key,
                inline=attachment.inline,
                content_id=attachment.content_id,
            )
        )
    for skipped in mail.skipped_attachments:
        stored.append(
            StoredAttachment(
                filename=skipped.filename,
                content_type=skipped.content_type,
                size=skipped.size,
                skipped=skipped.reason,
            )
        )
    return tuple(stored)
