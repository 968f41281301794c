"""The property suites call the functions' handlers in process, with the local stack's
configuration, a fixed clock, and in-memory fakes for the table and the bucket (tests/property/fakes.py):
no AWS, no moto. Each example gets a fresh table, so what one example stored never decides another's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frontdesk import clock
from frontdesk.config import Settings, read_config_file
from tests.conftest import OPEN_INSTANT
from tests.property.fakes import FakeMailBucket, FakeTicketStore

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
NOW = OPEN_INSTANT


def desk_settings() -> Settings:
    """The local stack's configuration (its chat secrets sign the webhooks here)."""
    document = read_config_file(ROOT / "tools" / "frontdesk_tools" / "local" / "default-config.toml")
    return Settings.model_validate(
        {**document, "tickets_table_name": "fake-tickets", "mail_bucket_name": "fake-mail"}
    )


class Desk:
    """What the handlers are wired to while a suite runs: `fresh()` before each example."""

    def __init__(self) -> None:
        self.settings = desk_settings()
        self.store = FakeTicketStore()
        self.bucket = FakeMailBucket()

    def __repr__(self) -> str:  # what hypothesis prints of a failing example's arguments
        return "Desk()"

    def fresh(self, raw_mail: bytes = b"") -> FakeTicketStore:
        self.store = FakeTicketStore()
        self.bucket = FakeMailBucket(raw_mail)
        return self.store


@pytest.fixture(scope="module")
def desk() -> Iterator[Desk]:
    """Every handler's settings, table, bucket and clock, for a whole module (hypothesis runs
    many examples per test; function-scoped fixtures would be shared between them anyway)."""
    from functions.chat_webhook import app as chat_webhook
    from functions.inbound_email import app as inbound_email
    from functions.web_form import app as web_form

    wired = Desk()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", lambda: NOW)
        for module in (web_form, chat_webhook, inbound_email):
            patch.setattr(module, "get_settings", lambda: wired.settings)
            patch.setattr(module, "ticket_store", lambda: wired.store)
        patch.setattr(inbound_email, "mail_bucket", lambda: wired.bucket)
        yield wired


@pytest.fixture(scope="module")
def context() -> Any:
    from frontdesk_tools.local.worker import LocalLambdaContext

    return LocalLambdaContext("property", timeout_seconds=10, memory_mb=256, request_id="req-property")
