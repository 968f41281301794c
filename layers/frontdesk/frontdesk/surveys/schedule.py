"""When a ticket is resolved its survey is scheduled; when it is reopened first, cancelled.

The survey item in the table is the truth: one per resolution (a conditional put), moved on by
conditional updates. The EventBridge Scheduler one-time schedule only wakes the sender at the
right time; its name is derived from the resolution, so a retried stream record finds it there
already, and the sender checks the item and the ticket again before anything goes out, so a
schedule that outlives a reopening (a failed delete) sends nothing.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from frontdesk.chat.reach import can_reach, reply_window_closes_at
from frontdesk.config import Settings
from frontdesk.language.catalogs import answer_language
from frontdesk.observability import logger
from frontdesk.tickets.model import Survey, SurveyState, Ticket, TicketStatus
from frontdesk.tickets.store import TicketStore

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def schedule_name(reference: str, resolved_at: datetime) -> str:
    """One name per resolution (Scheduler allows 64 characters of [0-9A-Za-z-_.])."""
    return f"survey-{reference}-{(resolved_at - _EPOCH) // timedelta(microseconds=1)}"


class SurveyScheduler:
    """One-time schedules that invoke the survey sender with the resolution to ask about."""

    def __init__(
        self, client: EventBridgeSchedulerClient, group: str, target_arn: str, role_arn: str
    ) -> None:
        self._client = client
        self._group = group
        self._target_arn = target_arn
        self._role_arn = role_arn

    def create(self, survey: Survey, at: datetime) -> None:
        try:
            self._client.create_schedule(
                Name=schedule_name(survey.reference, survey.resolved_at),
                GroupName=self._group,
                ScheduleExpression=f"at({at.astimezone(UTC):%Y-%m-%dT%H:%M:%S})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={
                    "Arn": self._target_arn,
                    "RoleArn": self._role_arn,
                    "Input": json.dumps(sender_input(survey)),
                    # Failing to invoke is retried by Scheduler; the function's own failures by
                    # Lambda's asynchronous retries and its on-failure destination.
                    "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 86_400},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":
                raise  # the stream retries the record
            # Created by an earlier try of this record.

    def delete(self, survey: Survey) -> None:
        try:
            self._client.delete_schedule(
                Name=schedule_name(survey.reference, survey.resolved_at), GroupName=self._group
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise


def sender_input(survey: Survey) -> dict[str, Any]:
    return {"reference": survey.reference, "resolved_at": survey.resolved_at.isoformat()}


def survey_exclusion(ticket: Ticket, settings: Settings, at: datetime) -> str | None:
    """Why this ticket gets no survey if it were sent at `at`; None when it may have one."""
    if ticket.first_responded_at is None:
        return "no_human_reply"  # closed without an agent ever answering: nothing to rate
    if skipped := set(ticket.tags) & set(settings.surveys.skip_tags):
        return "tagged_" + sorted(skipped)[0]
    if (closes_at := reply_window_closes_at(ticket)) is not None and at >= closes_at:
        return "reply_window_closed"
    if not can_reach(ticket, settings, at):
        return "unreachable"
    return None


def on_resolved(
    ticket: Ticket, *, store: TicketStore, scheduler: SurveyScheduler, settings: Settings, now: datetime
) -> Survey | None:
    """A ticket became resolved: schedule its survey after the configured delay, or record why
    there will be none. None when surveys are off."""
    if not settings.surveys.enabled or ticket.resolved_at is None:
        return None
    send_at = ticket.resolved_at + settings.surveys.delay
    reason = survey_exclusion(ticket, settings, send_at)
    survey = store.schedule_survey(
        Survey(
            reference=ticket.reference,
            resolved_at=ticket.resolved_at,
            state=SurveyState.SKIPPED if reason else SurveyState.SCHEDULED,
            send_at=send_at,
            language=answer_language([ticket.language], settings.default_language),
            reason=reason,
        )
    )
    if survey.state is SurveyState.SCHEDULED:
        # The record may come late (a stream backlog): a time already past fires a moment from now.
        at = max(send_at, now + timedelta(seconds=1))
        scheduler.create(survey, datetime.fromtimestamp(math.ceil(at.timestamp()), UTC))
    logger.info(
        "survey scheduled" if survey.state is SurveyState.SCHEDULED else "no survey",
        extra={"reference": ticket.reference, "state": survey.state.value, "reason": survey.reason},
    )
    return survey


def on_reopened(before: Ticket, after: Ticket, *, store: TicketStore, scheduler: SurveyScheduler) -> bool:
    """A resolved ticket was reopened (not closed: closing a resolved ticket keeps its survey):
    cancel the survey of that resolution if it has not gone out. True when one was cancelled."""
    if before.resolved_at is None or after.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return False
    survey = Survey(
        reference=before.reference,
        resolved_at=before.resolved_at,
        state=SurveyState.SCHEDULED,
        send_at=before.resolved_at,
        language=before.language,
    )
    cancelled = store.move_survey(
        survey.reference,
        survey.resolved_at,
        SurveyState.CANCELLED,
        expected=SurveyState.SCHEDULED,
        reason="reopened",
    )
    scheduler.delete(survey)  # also when not cancelled here: a retried record finds it gone
    if cancelled:
        logger.info("survey cancelled", extra={"reference": before.reference})
    return cancelled
