"""Which ticket an inbound email belongs to: threading that is safe as well as eager.

A reply joins a ticket found by its headers (In-Reply-To, then References, newest first), by the
reference in its subject, or by the signed reply address it was sent to. Finding a ticket is not
enough: the sender must be one of its participants, or the mail must have arrived on a signed
reply address of that ticket (only recipients of our mail know it). Otherwise anyone who quotes
a reference, or replies to a newsletter many customers got, would write into someone else's
ticket. A forged sender (DMARC failed) can join only through a signed address. This is checked
on the ticket as read, or by the conditions of the write that adds the mail to it
(`may_join_unread`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from frontdesk.mail.message import ParsedEmail
from frontdesk.tickets.model import Ticket, TicketStatus
from frontdesk.tickets.reference import normalise_reference, reference_pattern
from frontdesk.tickets.store import TicketStore

MAX_HEADER_IDS = 50  # a References header can be long; the newest ids matter


class ThreadReason(StrEnum):
    REPLY_ADDRESS = "reply_address"
    IN_REPLY_TO = "in_reply_to"
    REFERENCES = "references"
    SUBJECT = "subject"
    NOT_FOUND = "not_found"
    SENDER_NOT_PARTICIPANT = "sender_not_participant"
    REOPEN_WINDOW_PASSED = "reopen_window_passed"


class ThreadDecision(NamedTuple):
    ticket: Ticket | None  # join this ticket; None: start a new one
    reason: ThreadReason
    reopen: bool = False
    linked_reference: str | None = None  # the earlier ticket a new one follows up


def header_message_ids(mail: ParsedEmail) -> list[str]:
    """Message-IDs the mail answers, most telling first: In-Reply-To, then References newest first."""
    ordered = [*mail.in_reply_to, *reversed(mail.references)]
    return list(dict.fromkeys(ordered))[:MAX_HEADER_IDS]


def subject_reference(subject: str, prefix: str) -> str | None:
    # Case-insensitive: some clients and people change the case of what they quote.
    bounded = rf"(?<![A-Z0-9]){reference_pattern(prefix).pattern}(?![A-Z0-9])"
    match = re.search(bounded, subject.upper())
    return normalise_reference(match.group(0), prefix) if match else None


class ThreadCandidate(NamedTuple):
    reference: str | None  # the ticket the mail names, if any; not yet checked
    reason: ThreadReason


def find_thread(
    mail: ParsedEmail,
    *,
    sender: str,
    signed_reference: str | None,
    sender_forged: bool,
    quiet: bool,
    store: TicketStore,
    reference_prefix: str,
    reopen_window: timedelta,
    now: datetime,
) -> ThreadDecision:
    """Decide where `mail` goes. `quiet` mail (auto-replies, spam) joins but never reopens."""
    candidate = thread_candidate(mail, signed_reference, store, reference_prefix)
    ticket = store.get_ticket(candidate.reference) if candidate.reference else None
    return decide_thread(
        ticket,
        candidate.reason,
        sender=sender,
        signed_reference=signed_reference,
        sender_forged=sender_forged,
        quiet=quiet,
        reopen_window=reopen_window,
        now=now,
    )


def may_join_unread(candidate: ThreadCandidate, *, signed_reference: str | None, sender_forged: bool) -> bool:
    """Whether the mail may be added to the candidate's ticket without reading it first, by a write
    whose conditions check what `decide_thread` would for a join: the ticket is neither resolved
    nor closed, and unless the mail came by the ticket's signed address, the sender is one of its
    participants. A forged sender joins only by a signed address, so that case is read first."""
    if candidate.reference is None:
        return False
    return candidate.reference == signed_reference or not sender_forged


def decide_thread(
    ticket: Ticket | None,
    reason: ThreadReason,
    *,
    sender: str,
    signed_reference: str | None,
    sender_forged: bool,
    quiet: bool,
    reopen_window: timedelta,
    now: datetime,
) -> ThreadDecision:
    """Where mail goes that names `ticket` (as read, or as a refused write found it)."""
    if ticket is None:
        return ThreadDecision(None, ThreadReason.NOT_FOUND)
    trusted_route = signed_reference == ticket.reference
    participants = set(ticket.participants) or {(ticket.requester.email or "").lower()}
    if not trusted_route and (sender_forged or sender.lower() not in participants):
        return ThreadDecision(None, ThreadReason.SENDER_NOT_PARTICIPANT)
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED) or quiet:
        return ThreadDecision(ticket, reason)
    within_window = (
        ticket.status is TicketStatus.RESOLVED
        and ticket.resolved_at is not None
        and now - ticket.resolved_at <= reopen_window
    )
    if within_window:
        return ThreadDecision(ticket, reason, reopen=True)
    return ThreadDecision(None, ThreadReason.REOPEN_WINDOW_PASSED, linked_reference=ticket.reference)


def thread_candidate(
    mail: ParsedEmail, signed_reference: str | None, store: TicketStore, prefix: str
) -> ThreadCandidate:
    """The ticket the mail names, most trusted first: its signed reply address, its headers'
    Message-IDs (one read of their index items), the reference in its subject."""
    if signed_reference:
        return ThreadCandidate(signed_reference, ThreadReason.REPLY_ADDRESS)
    ids = header_message_ids(mail)
    if ids:
        found = store.find_references_by_email_message_ids(ids)
        for message_id in ids:
            if message_id in found:
                reason = (
                    ThreadReason.IN_REPLY_TO if message_id in mail.in_reply_to else ThreadReason.REFERENCES
                )
                return ThreadCandidate(found[message_id], reason)
    if from_subject := subject_reference(mail.subject, prefix):
        return ThreadCandidate(from_subject, ThreadReason.SUBJECT)
    return ThreadCandidate(None, ThreadReason.NOT_FOUND)
