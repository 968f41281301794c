"""Mail to a ticket's customer: from the desk, with a signed Reply-To, threaded under the
ticket's earlier mail so the customer's client shows one conversation."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from typing import Literal

from frontdesk.config import Settings
from frontdesk.mail.reply_address import signed_reply_address
from frontdesk.notify.email import OutgoingEmail, mailbox
from frontdesk.text import header_safe, single_line_problem
from frontdesk.tickets.model import Ticket


def customer_email(
    ticket: Ticket,
    settings: Settings,
    *,
    subject: str,
    text: str,
    html: str,
    language: str,
    now: datetime,
    auto_submitted: Literal["auto-replied", "auto-generated"] | None,
) -> OutgoingEmail:
    """`auto_submitted` (RFC 3834) marks mail no person wrote: an acknowledgement answers the
    customer's message (auto-replied), a survey follows from a ticket's change (auto-generated);
    None for an agent's reply.

    The customer's words that reach headers (their name, the subject the templates built around
    theirs) are made header-safe here, so no name or subject can keep mail from going out; the
    checks in OutgoingEmail stay as the last line for everything else."""
    assert ticket.requester.email is not None
    reply_to: tuple[Address, ...] = ()
    if key := settings.email.reply_address_key:
        address = signed_reply_address(
            settings.sender_address, ticket.reference, key.get_secret_value().encode()
        )
        reply_to = (mailbox(address, settings.desk_name),)
    # The ticket's Message-IDs, oldest first: the customer's mail, then ours (a form ticket has
    # none until its acknowledgement went out).
    # Ids taken from the customer's mail: one that could not be a header is left out of the thread.
    message_ids = tuple(id_ for id_ in ticket.email_message_ids if single_line_problem(id_) is None)
    threaded = bool(message_ids)
    return OutgoingEmail(
        sender=mailbox(settings.sender_address, settings.desk_name),
        to=(mailbox(ticket.requester.email, header_safe(ticket.requester.name or "")),),
        reply_to=reply_to,
        subject=header_safe(subject),
        text=text,
        html=html,
        language=language,
        date=now,
        in_reply_to=message_ids[-1] if threaded else None,
        references=message_ids,
        auto_submitted=auto_submitted,
    )
