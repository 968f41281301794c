"""Sending a survey when its schedule fires: at most once, and only if it still should go.

Check, claim, send, record: one read (the survey and its ticket), a conditional claim, the send,
and a write recording it. The ticket must still be in the resolution the survey asks about
(resolved, or closed since), the survey still scheduled, and the customer reachable (a messaging
app's reply window still open); then a conditional claim makes a repeated invocation a no-op.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from aws_lambda_powertools.metrics import MetricUnit

from frontdesk.chat.outbound import ChatSender, PermanentChatError
from frontdesk.config import Settings
from frontdesk.notify.customer_mail import customer_email
from frontdesk.notify.email import UnsafeHeaderError
from frontdesk.notify.mailer import PermanentSendError, SesMailer
from frontdesk.observability import logger, metrics
from frontdesk.rendering import render
from frontdesk.surveys.schedule import survey_exclusion
from frontdesk.surveys.tokens import SurveyLink, sign_link
from frontdesk.tickets.model import CSAT_SCORES, Survey, SurveyState, Ticket, TicketStatus
from frontdesk.tickets.store import TicketStore


class SurveyOutcome(StrEnum):
    SENT = "sent"
    ALREADY = "already"  # sent, being sent, skipped or failed before
    CANCELLED = "cancelled"  # the ticket left that resolution
    SKIPPED = "skipped"
    FAILED = "failed"
    MISSING = "missing"  # no such survey (a schedule from a deleted ticket)


def survey_url(survey: Survey, settings: Settings, now: datetime) -> str:
    base = settings.surveys.page_base_url or settings.public_api_url
    if not base:
        raise PermanentSendError("no_page_url")  # neither the template nor the config says
    link = SurveyLink(
        reference=survey.reference,
        resolved_at=survey.resolved_at,
        expires_at=now + settings.surveys.link_valid_for,
        language=survey.language,
    )
    key = settings.surveys.signing_keys[0].get_secret_value().encode()
    return f"{base.rstrip('/')}/surveys/{sign_link(link, key)}"


def send_survey(
    reference: str,
    resolved_at: datetime,
    *,
    store: TicketStore,
    mailer: SesMailer,
    chat_sender: ChatSender,
    settings: Settings,
    now: datetime,
) -> SurveyOutcome:
    survey, ticket = store.get_survey_and_ticket(reference, resolved_at)
    if survey is None:
        logger.warning("survey to send not found", extra={"reference": reference})
        return SurveyOutcome.MISSING
    if survey.state is not SurveyState.SCHEDULED:
        return SurveyOutcome.ALREADY
    if (
        ticket is None
        or ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
        or ticket.resolved_at != resolved_at
    ):
        # Reopened (and perhaps resolved again: that resolution has its own survey).
        store.move_survey(
            reference, resolved_at, SurveyState.CANCELLED, expected=SurveyState.SCHEDULED, reason="reopened"
        )
        return SurveyOutcome.CANCELLED
    if not settings.surveys.enabled:
        reason: str | None = "surveys_disabled"
    else:
        reason = survey_exclusion(ticket, settings, now)
    if reason:
        store.move_survey(
            reference, resolved_at, SurveyState.SKIPPED, expected=SurveyState.SCHEDULED, reason=reason
        )
        logger.info("survey skipped", extra={"reference": reference, "reason": reason})
        return SurveyOutcome.SKIPPED
    if not store.move_survey(reference, resolved_at, SurveyState.SENDING, expected=SurveyState.SCHEDULED):
        return SurveyOutcome.ALREADY
    try:
        email_message_id = _send(
            ticket, survey, mailer=mailer, chat_sender=chat_sender, settings=settings, now=now
        )
    except (PermanentSendError, PermanentChatError, UnsafeHeaderError) as refused:
        code = getattr(refused, "code", "UnsafeHeader")
        store.move_survey(
            reference, resolved_at, SurveyState.FAILED, expected=SurveyState.SENDING, reason=code
        )
        logger.warning("survey cannot be sent", extra={"reference": reference, "code": code})
        metrics.add_metric(name="SurveyFailed", unit=MetricUnit.Count, value=1)
        return SurveyOutcome.FAILED
    except Exception:
        # Certainly not sent: back to scheduled, for the invocation's retry.
        store.move_survey(reference, resolved_at, SurveyState.SCHEDULED, expected=SurveyState.SENDING)
        raise
    store.finish_survey(survey, now, email_message_id)
    logger.info("survey sent", extra={"reference": reference, "channel": ticket.channel.value})
    metrics.add_metric(name="SurveySent", unit=MetricUnit.Count, value=1)
    return SurveyOutcome.SENT


def _send(
    ticket: Ticket,
    survey: Survey,
    *,
    mailer: SesMailer,
    chat_sender: ChatSender,
    settings: Settings,
    now: datetime,
) -> str | None:
    """Send the survey on the ticket's channel; the email's Message-ID, if it went by email."""
    url = survey_url(survey, settings, now)
    context = {
        "desk_name": settings.desk_name,
        "reference": ticket.reference,
        "subject": ticket.subject,
        "url": url,
        "scores": CSAT_SCORES,
        "valid_days": max(1, settings.surveys.link_valid_for.days),
    }
    if ticket.conversation_id:
        provider = settings.chat.providers.get(ticket.source)
        if provider is None:
            raise PermanentChatError("provider_not_configured")
        chat_sender.send(
            ticket, render("chat/survey.txt.j2", lang=survey.language, **context).strip(), provider
        )
        return None
    if not ticket.requester.email:
        raise PermanentChatError("no_address")
    email = customer_email(
        ticket,
        settings,
        subject=render("email/survey.subject.txt.j2", lang=survey.language, **context).strip(),
        text=render("email/survey.txt.j2", lang=survey.language, **context),
        html=render("email/survey.html.j2", lang=survey.language, **context),
        language=survey.language,
        now=now,
        auto_submitted="auto-generated",
    )
    return mailer.send(email)
