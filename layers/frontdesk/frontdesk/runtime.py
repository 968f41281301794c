"""What a running function is wired to: the store and mailer its settings name, built once."""

from __future__ import annotations

from functools import cache

from frontdesk import aws
from frontdesk.chat.outbound import ChatSender
from frontdesk.config import get_settings
from frontdesk.mail.storage import MailBucket
from frontdesk.notify.mailer import SesMailer
from frontdesk.tickets.store import TicketStore


@cache
def ticket_store() -> TicketStore:
    return TicketStore(get_settings().tickets_table_name, aws.dynamodb())


@cache
def mailer() -> SesMailer:
    settings = get_settings()
    return SesMailer(aws.sesv2(), settings.message_id_domain, settings.ses_configuration_set)


@cache
def chat_sender() -> ChatSender:
    return ChatSender()


@cache
def mail_bucket() -> MailBucket:
    settings = get_settings()
    if not settings.mail_bucket_name:
        raise RuntimeError("MAIL_BUCKET_NAME is not set: this function has no mail bucket")
    return MailBucket(aws.s3(), settings.mail_bucket_name, settings.raw_mail_prefix)


def reset() -> None:
    """Forget everything built from settings and clients (tests)."""
    ticket_store.cache_clear()
    mailer.cache_clear()
    chat_sender.cache_clear()
    mail_bucket.cache_clear()
    get_settings.cache_clear()
    aws.reset_clients()
