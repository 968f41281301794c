"""Logs of a whole flow carry references and ids, never what customers wrote, their addresses or
the desk's secrets: every line the functions print (stdout and stderr) and every log record's
fields are searched."""

import json
import logging
from typing import Any

import pytest

from frontdesk.config import read_config_file
from frontdesk.observability import logger
from frontdesk_tools.local.stack import DEFAULT_CONFIG
from tests.integration.conftest import Aws, settle
from tests.integration.test_agent_api import create_ticket, reply
from tests.integration.test_chat_webhook import generic_headers, post
from tests.integration.test_inbound_email import LogRecords, Mailroom, mail

SECRET_FIELDS = {"signing_secret", "verify_token", "api_token", "reply_address_key", "signing_keys"}


def secrets_in(value: Any) -> list[str]:
    """Every secret of the configuration the stack runs with."""
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if key in SECRET_FIELDS:
                found += item if isinstance(item, list) else [item]
            else:
                found += secrets_in(item)
        return found
    return []


def test_a_whole_flow_logs_no_customer_text_address_or_secret(
    aws: Aws, stream, lambda_context, capfd: pytest.CaptureFixture[str]
):
    records, mailroom_records = LogRecords(), LogRecords()  # the mailroom clears its own
    records.setFormatter(logger.registered_formatter)  # the JSON lines Lambda would print
    for handler in (records, mailroom_records):
        logging.getLogger("frontdesk").addHandler(handler)
    try:
        # a form, a mail, a chat message, an agent's reply, each acknowledged or sent
        reference = create_ticket(lambda_context, "privacyform7731", subject="Quarterly statement 7731")
        Mailroom(aws, lambda_context, mailroom_records).deliver(
            mail(
                subject="Broken hinge 4410",
                body="The hinge of cabinet 4410 snapped off.\nZoe",
                sender="Zoe Privatename <zoe.privatename@example.net>",
            ),
            sender="zoe.privatename@example.net",
        )
        body = json.dumps(
            {
                "event_id": "privacy-evt-1",
                "conversation_id": "privacy-chat-1",
                "author": {
                    "id": "visitor-9911",
                    "name": "Quinn Chatname",
                    "email": "quinn.chatname@example.com",
                },
                "text": "My parcel 9911 never arrived at the depot",
            }
        ).encode()
        assert post(lambda_context, "generic", body, generic_headers(body))["statusCode"] == 200
        assert reply(lambda_context, reference, "We refunded statement 7731 in full today.")[0] == 201
        settle(stream)
    finally:
        for handler in (records, mailroom_records):
            logging.getLogger("frontdesk").removeHandler(handler)

    printed = "\n".join([*capfd.readouterr(), *(records.format(record) for record in records.records)])
    assert reference in printed  # the logs do say which ticket
    private = [
        "privacyform7731",  # the form's address (its local part)
        "Help with privacyform7731",
        "Quarterly statement 7731",
        "cabinet 4410",
        "Broken hinge",
        "zoe.privatename",
        "Privatename",
        "quinn.chatname",
        "Chatname",
        "parcel 9911",
        "refunded statement",
        *secrets_in(read_config_file(DEFAULT_CONFIG)),
    ]
    assert len(private) > 15
    leaked = [text for text in private if text in printed]
    assert not leaked, f"in the logs: {leaked}"
