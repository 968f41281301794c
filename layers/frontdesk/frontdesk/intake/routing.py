"""Routing a new ticket before it is stored: its language, triage (priority, queue, tags,
calendar) and when its first answer is due."""

from __future__ import annotations

from datetime import datetime

from frontdesk.config import Settings
from frontdesk.hours.service_levels import first_response_due, response_target
from frontdesk.intake.message import InboundMessage
from frontdesk.language.catalogs import available_languages
from frontdesk.language.choice import choose_language
from frontdesk.observability import logger
from frontdesk.triage import TriageFacts, triage


def route(message: InboundMessage, settings: Settings, now: datetime) -> InboundMessage:
    """`message` with language, priority, queue, tags, calendar and due time decided.

    The channel's own settings (a form's or mailbox's queue, priority, tags and calendar) are the
    starting point; triage rules may change them. Pure apart from the clock it is given.
    """
    choice = choose_language(
        message.language_hints,
        f"{message.subject}\n{message.body_text}",
        available=available_languages(),
        default=settings.default_language,
    )
    facts = TriageFacts(
        channel=message.channel,
        source=message.source,
        language=choice.language,
        subject=message.subject,
        body=message.body_text,
        queue=message.queue,
    )
    result = triage(facts, settings.triage, priority=message.priority, tags=message.tags)
    calendar_name = settings.hours.calendar_name(result.calendar or message.calendar)
    target = response_target(settings.hours.response_targets, message.channel, result.priority)
    due = first_response_due(now, target, settings.hours.calendar(calendar_name))
    logger.info(
        "ticket routed",
        extra={
            "language": choice.language,
            "language_source": choice.source.value,
            "priority": result.priority.value,
            "queue": result.queue,
            "rules": list(result.rules),
        },
    )
    return message._replace(
        language=choice.language,
        priority=result.priority,
        queue=result.queue,
        tags=result.tags,
        calendar=calendar_name,
        first_response_due_at=due,
    )
