"""What an acknowledgement says: the promise of a first answer (in or out of hours, by the
ticket's target or the desk's measured median), by email or in a chat conversation.

Apart from the sending (acknowledgement.py), so that a chat webhook answering inline renders its
text without importing the email and platform senders.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from frontdesk.config import Settings
from frontdesk.hours.service_levels import desk_status, first_response_due, response_target
from frontdesk.hours.zones import time_zone
from frontdesk.language.catalogs import answer_language
from frontdesk.language.formatting import format_duration, format_moment
from frontdesk.rendering import render
from frontdesk.tickets.model import Ticket


class AcknowledgementContent(NamedTuple):
    subject: str
    text: str
    html: str
    language: str


def answer_language_of(ticket: Ticket, settings: Settings) -> str:
    """The language the acknowledgement is written in: the ticket's, when Frontdesk has it."""
    return answer_language([ticket.language], settings.default_language)


def timing_context(
    ticket: Ticket, settings: Settings, language: str, now: datetime, measured: timedelta | None = None
) -> dict[str, Any]:
    """What the templates say about time: open or closed, when we reopen, when we will answer.

    The promise is the ticket's response target, or with `measured` the desk's recent median.
    Times are shown in the customer's time zone when known, else in the calendar's.
    """
    calendar = settings.hours.calendar(ticket.calendar)
    target = response_target(settings.hours.response_targets, ticket.channel, ticket.priority)
    due_at = ticket.first_response_due_at
    if measured is not None:
        target, due_at = measured, first_response_due(ticket.created_at, measured, calendar)
    status = desk_status(
        now=now, created_at=ticket.created_at, due_at=due_at, target=target, calendar=calendar
    )
    zone = time_zone(ticket.time_zone) or (time_zone(calendar.time_zone) if calendar else None)
    note = settings.hours.urgent_note
    return {
        "desk_open": status.open_now,
        "reopens": format_moment(status.reopens_at, zone, language) if status.reopens_at else "",
        "promise_within": format_duration(status.within, language) if status.within else "",
        "promise_by": format_moment(status.due_at, zone, language) if status.due_at else "",
        "urgent_note": "" if status.open_now else note.get(language, note.get(settings.default_language, "")),
        "promise_measured": measured is not None and status.due_at is not None,
    }


def compose(
    ticket: Ticket, settings: Settings, now: datetime, measured: timedelta | None = None
) -> AcknowledgementContent:
    language = answer_language_of(ticket, settings)
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        "requester_name": ticket.requester.name or "",
        "subject": ticket.subject,
        "excerpt": ticket.excerpt,
        **timing_context(ticket, settings, language, now, measured),
    }
    subject = render("email/acknowledgement.subject.txt.j2", lang=language, **context).strip()
    return AcknowledgementContent(
        subject=subject,
        text=render("email/acknowledgement.txt.j2", lang=language, **context),
        html=render("email/acknowledgement.html.j2", lang=language, **context),
        language=language,
    )


def compose_chat_reply(
    ticket: Ticket, settings: Settings, now: datetime, measured: timedelta | None = None
) -> tuple[str, str]:
    """The acknowledgement a chat channel sends in the conversation, and its language: the same
    promise as the email, in hours or out of hours."""
    language = answer_language_of(ticket, settings)
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        **timing_context(ticket, settings, language, now, measured),
    }
    return render("chat/acknowledgement.txt.j2", lang=language, **context).strip(), language
