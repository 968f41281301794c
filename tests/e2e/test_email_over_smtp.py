"""Email end to end: SMTP into the local stack, acknowledgement out through the outbox, and the
customer's reply back over SMTP onto the same ticket."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import RunningStack


def send(stack: RunningStack, message: EmailMessage, recipients: list[str] | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as smtp:
        smtp.send_message(message, to_addrs=recipients)


def table_items(stack: RunningStack, partition: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_endpoint, region_name="us-east-1")
    (table,) = [name for name in dynamodb.list_tables()["TableNames"] if name.endswith("-tickets")]
    response = dynamodb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": partition}},
        ConsistentRead=True,
    )
    return list(response["Items"])


def test_windows_1251_mail_is_acknowledged_in_thread_and_its_reply_lands_on_the_ticket(
    local_stack: RunningStack,
):
    original = EmailMessage()
    original["From"] = "Ivan Petrov <ivan.smtp@example.ru>"
    original["To"] = "support@example.com"
    original["Subject"] = "Не печатает принтер"
    original["Message-ID"] = make_msgid(domain="mail.example.ru")
    original.set_content("Здравствуйте!\nПринтер не печатает с понедельника.\nИван", charset="windows-1251")
    assert b"windows-1251" in original.as_bytes()
    send(local_stack, original)

    (ack,) = local_stack.wait_for_emails(lambda email: "ivan.smtp@example.ru" in email["to"], 1)
    assert ack["headers"]["In-Reply-To"] == original["Message-ID"]
    reference = ack["subject"].split("]")[0].lstrip("[")
    ticket_partition = f"TICKET#{reference}"
    (ticket,) = [item for item in table_items(local_stack, ticket_partition) if item["sk"]["S"] == "TICKET"]
    assert ticket["subject"]["S"] == "Не печатает принтер"
    bodies = [
        item["body_text"]["S"] for item in table_items(local_stack, ticket_partition) if "body_text" in item
    ]
    assert any("Принтер не печатает с понедельника." in body for body in bodies)

    reply = EmailMessage()
    reply["From"] = "Ivan Petrov <ivan.smtp@example.ru>"
    reply["To"] = ack["headers"]["Reply-To"]
    reply["Subject"] = "Re: " + ack["subject"]
    reply["Message-ID"] = make_msgid(domain="mail.example.ru")
    reply["In-Reply-To"] = ack["message_id"]
    reply["References"] = f"{original['Message-ID']} {ack['message_id']}"
    reply.set_content("Спасибо, заработало.\n\n> Your reference is ...", charset="windows-1251")
    send(local_stack, reply)

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        inbound = [
            item
            for item in table_items(local_stack, ticket_partition)
            if item.get("direction", {}).get("S") == "inbound"
        ]
        if len(inbound) == 2:
            break
        time.sleep(0.2)
    assert [item["body_text"]["S"] for item in inbound][-1] == "Спасибо, заработало."
    time.sleep(1.0)  # give the stream time to (wrongly) send something
    assert len(local_stack.wait_for_emails(lambda email: "ivan.smtp@example.ru" in email["to"], 2, 2)) == 1


def test_mail_for_an_address_no_rule_covers_is_refused_at_rcpt(local_stack: RunningStack):
    message = EmailMessage()
    message["From"] = "someone@example.org"
    message["To"] = "nobody@elsewhere.test"
    message["Subject"] = "hello"
    message.set_content("hi")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(local_stack, message)
