"""What a running function is wired to: the store and mailer its settings name, built once."""

from __future__ import annotations

from functools import cache

from frontdesk import aws
from frontdesk.config import get_settings
from frontdesk.notify.mailer import SesMailer
from frontdesk.tickets.store import TicketStore


@cache
def ticket_store() -> TicketStore:
    return TicketStore(get_settings().tickets_table_name, aws.dynamodb())


@cache
def mailer() -> SesMailer:
    settings = get_settings()
    return SesMailer(aws.sesv2(), settings.message_id_domain, settings.ses_configuration_set)


def reset() -> None:
    """Forget everything built from settings and clients (tests)."""
    ticket_store.cache_clear()
    mailer.cache_clear()
    get_settings.cache_clear()
    aws.reset_clients()
