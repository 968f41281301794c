"""What a change in the ticket table sets off. The stream consumer is Frontdesk's outbox: intake
only writes, and every email, chat answer, survey schedule and integration event follows from a
committed change."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from frontdesk.chat.outbound import ChatSender
from frontdesk.config import Settings
from frontdesk.events import (
    EventPublisher,
    IntegrationEvent,
    survey_answered,
    ticket_created,
    ticket_resolved,
)
from frontdesk.notify.acknowledgement import AckOutcome, acknowledge
from frontdesk.notify.mailer import SesMailer
from frontdesk.notify.replies import DeliveryOutcome, deliver_reply
from frontdesk.observability import count_by, logger
from frontdesk.surveys.schedule import SurveyScheduler, on_reopened, on_resolved
from frontdesk.tickets.model import MessageKind, Survey, SurveyState, TicketStatus
from frontdesk.tickets.store import TicketStore, message_from_image, survey_from_image, ticket_from_image


class Outbox(NamedTuple):
    """Where effects go: the stores and services a stream record may call on."""

    store: TicketStore
    mailer: SesMailer
    chat_sender: ChatSender
    scheduler: SurveyScheduler | None = None  # None: surveys cannot be scheduled (not configured)
    publisher: EventPublisher | None = None  # None: no bus configured, nothing published


def on_table_change(
    event_name: str,
    new_image: Mapping[str, Any] | None,
    old_image: Mapping[str, Any] | None,
    *,
    outbox: Outbox,
    settings: Settings,
    now: datetime,
) -> AckOutcome | DeliveryOutcome | Survey | bool | None:
    """Carry out the effect of one stream record; None when the change needs none."""
    if not new_image:
        return None
    if event_name == "INSERT":
        return _on_insert(new_image, outbox=outbox, settings=settings, now=now)
    if event_name == "MODIFY" and old_image:
        return _on_modify(old_image, new_image, outbox=outbox, settings=settings, now=now)
    return None


def _on_insert(
    image: Mapping[str, Any], *, outbox: Outbox, settings: Settings, now: datetime
) -> AckOutcome | DeliveryOutcome | None:
    ticket = ticket_from_image(image)
    if ticket is not None and ticket.status is TicketStatus.NEW:
        # Counted here, once per committed ticket whatever the intake (a redelivered record may
        # count again, as it may publish again).
        count_by("TicketsByChannel", channel=ticket.channel.value)
        outcome = acknowledge(
            ticket,
            store=outbox.store,
            mailer=outbox.mailer,
            settings=settings,
            now=now,
            chat_sender=outbox.chat_sender,
        )
        _publish(outbox, ticket_created(ticket))
        return outcome
    message = message_from_image(image)
    if message is not None and message.kind is MessageKind.AGENT_REPLY:
        return deliver_reply(
            message,
            store=outbox.store,
            mailer=outbox.mailer,
            chat_sender=outbox.chat_sender,
            settings=settings,
            now=now,
        )
    return None


def _on_modify(
    old: Mapping[str, Any], new: Mapping[str, Any], *, outbox: Outbox, settings: Settings, now: datetime
) -> Survey | bool | None:
    before, after = ticket_from_image(old), ticket_from_image(new)
    if before is not None and after is not None:
        if before.status is not TicketStatus.RESOLVED and after.status is TicketStatus.RESOLVED:
            survey = None
            if outbox.scheduler is not None:
                survey = on_resolved(
                    after, store=outbox.store, scheduler=outbox.scheduler, settings=settings, now=now
                )
            elif settings.surveys.enabled:
                logger.warning("surveys are enabled but no scheduler is configured")
            _publish(outbox, ticket_resolved(after))
            return survey
        if before.status is TicketStatus.RESOLVED and after.status is not TicketStatus.RESOLVED:
            if outbox.scheduler is None:
                return False
            return on_reopened(before, after, store=outbox.store, scheduler=outbox.scheduler)
        return None
    was, survey = survey_from_image(old), survey_from_image(new)
    if (
        was is not None
        and survey is not None
        and was.state is not SurveyState.ANSWERED
        and survey.state is SurveyState.ANSWERED
    ):
        _publish(outbox, survey_answered(survey))
        return True
    return None


def _publish(outbox: Outbox, event: IntegrationEvent) -> None:
    if outbox.publisher is not None:
        outbox.publisher.publish(event)
