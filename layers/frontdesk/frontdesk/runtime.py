"""What a running function is wired to: the store and mailer its settings name, built once."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from frontdesk import aws
from frontdesk.config import get_settings
from frontdesk.tickets.store import TicketStore

# The rest is imported where it is built: a function imports only what its path uses, and
# imports are most of a cold start (the chat senders alone cost the web form a tenth of one).
if TYPE_CHECKING:
    from frontdesk.chat.outbound import ChatSender
    from frontdesk.mail.storage import MailBucket
    from frontdesk.notify.effects import Outbox
    from frontdesk.notify.mailer import SesMailer


@cache
def ticket_store() -> TicketStore:
    return TicketStore(get_settings().tickets_table_name, aws.dynamodb())


@cache
def mailer() -> SesMailer:
    from frontdesk.notify.mailer import SesMailer

    settings = get_settings()
    return SesMailer(aws.sesv2(), settings.message_id_domain, settings.ses_configuration_set)


@cache
def chat_sender() -> ChatSender:
    from frontdesk.chat.outbound import ChatSender

    return ChatSender()


@cache
def mail_bucket() -> MailBucket:
    from frontdesk.mail.storage import MailBucket

    settings = get_settings()
    if not settings.mail_bucket_name:
        raise RuntimeError("MAIL_BUCKET_NAME is not set: this function has no mail bucket")
    return MailBucket(aws.s3(), settings.mail_bucket_name, settings.raw_mail_prefix)


@cache
def outbox() -> Outbox:
    """What the stream consumer sends through; surveys and events only where the template wired
    their scheduler and bus."""
    from frontdesk.events import EventPublisher
    from frontdesk.notify.effects import Outbox
    from frontdesk.surveys.schedule import SurveyScheduler

    settings = get_settings()
    scheduler = None
    if settings.survey_schedule_group and settings.survey_sender_arn and settings.survey_scheduler_role_arn:
        scheduler = SurveyScheduler(
            aws.scheduler(),
            settings.survey_schedule_group,
            settings.survey_sender_arn,
            settings.survey_scheduler_role_arn,
        )
    publisher = EventPublisher(aws.events(), settings.event_bus_name) if settings.event_bus_name else None
    return Outbox(ticket_store(), mailer(), chat_sender(), scheduler, publisher)


def reset() -> None:
    """Forget everything built from settings and clients (tests)."""
    ticket_store.cache_clear()
    mailer.cache_clear()
    chat_sender.cache_clear()
    mail_bucket.cache_clear()
    outbox.cache_clear()
    get_settings.cache_clear()
    aws.reset_clients()
