"""inbound_email against moto: mail stored as SES stores it, events shaped as SES sends them
(built by the local stack's own receipt code), acknowledgements through the real stream."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from frontdesk import clock, runtime
from frontdesk.tickets.model import AcknowledgementState, TicketStatus
from frontdesk_tools.local.smtp import receipt_event, ses_message_id
from functions.inbound_email import app as inbound_email
from functions.mail_feedback import app as mail_feedback
from tests.integration.conftest import Aws, move, settle, tickets_of

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SUPPORT = "support@example.com"


class LogRecords(logging.Handler):
    """What Frontdesk's logger says, as records (its own handler writes JSON to stdout)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs() -> Iterator[LogRecords]:
    handler = LogRecords()
    frontdesk_logger = logging.getLogger("frontdesk")
    frontdesk_logger.addHandler(handler)
    yield handler
    frontdesk_logger.removeHandler(handler)


@pytest.fixture
def mailroom(aws: Aws, function_env: None, lambda_context: Any, logs: LogRecords) -> Mailroom:
    return Mailroom(aws, lambda_context, logs)


class Mailroom:
    """Delivers mail the way an SES receipt rule does: S3 first, then the function."""

    def __init__(self, aws: Aws, context: Any, logs: LogRecords) -> None:
        self.aws = aws
        self.context = context
        self.logs = logs
        self.bucket = aws.stack.physical_ids["MailBucket"]

    def event(self, raw: bytes, *, sender: str, recipients: list[str], message_id: str) -> dict[str, Any]:
        return receipt_event(
            raw,
            message_id=message_id,
            envelope_sender=sender,
            recipients=recipients,
            function_arn="arn:aws:lambda:us-east-1:123456789012:function:inbound-email",
            now=clock.now(),
        )

    def deliver(
        self,
        raw: bytes | EmailMessage,
        *,
        sender: str = "customer@example.org",
        recipients: list[str] | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Deliver one message; returns the function's log line about it."""
        data = raw.as_bytes() if isinstance(raw, EmailMessage) else raw
        message_id = message_id or ses_message_id()
        self.aws.client("s3").put_object(Bucket=self.bucket, Key=f"inbound/{message_id}", Body=data)
        event = self.event(data, sender=sender, recipients=recipients or [SUPPORT], message_id=message_id)
        self.logs.records.clear()
        inbound_email.lambda_handler(event, self.context)
        return self.outcome(message_id)

    def outcome(self, message_id: str) -> dict[str, Any]:
        (record,) = [r for r in self.logs.records if getattr(r, "ses_message_id", None) == message_id]
        return vars(record)


def mail(
    subject: str = "Printer on fire",
    body: str = "Hello,\nmy printer is on fire.\nAna",
    sender: str = "Ana Souza <customer@example.org>",
    to: str = SUPPORT,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def reply_to(
    email: dict[str, Any], body: str, sender: str = "Ana Souza <customer@example.org>", **headers: str
):
    message = mail(subject="Re: " + email["subject"], body=body, sender=sender, **headers)
    if "In_Reply_To" not in headers and "References" not in headers:
        message["In-Reply-To"] = email["message_id"]
        message["References"] = email["message_id"]
    return message


def sent_to(aws: Aws, address: str) -> list[dict[str, Any]]:
    return [email for email in aws.sent() if address in email["to"]]


def ticket(reference: str):
    found = runtime.ticket_store().get_ticket_with_messages(reference)
    assert found is not None
    return found


# -- the corpus -------------------------------------------------------------------------------

CORPUS_MAIL = sorted(path for path in (CORPUS / "email").rglob("*") if path.is_file())


@pytest.mark.parametrize("path", CORPUS_MAIL, ids=[str(p.relative_to(CORPUS / "email")) for p in CORPUS_MAIL])
def test_every_corpus_message_ends_as_a_ticket_a_reply_or_a_logged_rejection(mailroom: Mailroom, path: Path):
    outcome = mailroom.deliver(path.read_bytes(), sender="sender@example.net")
    assert outcome["outcome"] in {"created", "appended", "rejected", "quarantined"}
    if outcome["outcome"] in {"created", "appended"}:
        _, messages = ticket(outcome["reference"])
        assert any(m.raw_mail_key and m.raw_mail_key.endswith(outcome["ses_message_id"]) for m in messages)
    else:
        assert outcome["reason"]


# -- new tickets ------------------------------------------------------------------------------


def test_russian_windows_1251_mail_becomes_a_readable_ticket_and_is_acknowledged_in_thread(
    mailroom: Mailroom, aws: Aws, stream
):
    message = mail(
        subject="Не работает принтер",
        body="Здравствуйте!\nПринтер не печатает с понедельника.\nСпасибо, Иван",
        sender="Иван Петров <ivan-1251@example.ru>",
    )
    message.set_content(
        "Здравствуйте!\nПринтер не печатает с понедельника.\nСпасибо, Иван", charset="windows-1251"
    )
    message.replace_header(
        "Subject", "=?windows-1251?B?" + _b64("Не работает принтер", "windows-1251") + "?="
    )
    assert b"windows-1251" in message.as_bytes()
    outcome = mailroom.deliver(message)
    assert outcome["outcome"] == "created"
    settle(stream)

    stored, messages = ticket(outcome["reference"])
    assert stored.subject == "Не работает принтер"
    assert stored.requester.name == "Иван Петров"
    assert "Принтер не печатает с понедельника." in messages[0].body_text
    (ack,) = sent_to(aws, "ivan-1251@example.ru")
    assert ack["headers"]["In-Reply-To"] == message["Message-ID"]
    assert message["Message-ID"] in ack["headers"]["References"]
    assert outcome["reference"] in ack["subject"]
    # Replies may come back through the signed reply address, whoever sends them.
    assert (
        ack["headers"]["Reply-To"]
        .lower()
        .startswith(f"frontdesk support <support+{outcome['reference'].lower()}.")
    )


def _b64(text: str, charset: str) -> str:
    import base64

    return base64.b64encode(text.encode(charset)).decode()


def test_repeated_delivery_of_one_message_is_one_ticket(mailroom: Mailroom):
    message = mail(sender="twice@example.org")
    first = mailroom.deliver(message, message_id="repeated-ses-id-1")
    second = mailroom.deliver(message, message_id="repeated-ses-id-1")
    assert first["outcome"] == "created"
    assert second["outcome"] == "duplicate"
    assert second["reference"] == first["reference"]


def test_concurrent_deliveries_of_one_message_create_one_ticket(mailroom: Mailroom, aws: Aws):
    data = mail(sender="racing@example.org").as_bytes()
    aws.client("s3").put_object(Bucket=mailroom.bucket, Key="inbound/racing-ses-id", Body=data)
    event = mailroom.event(
        data, sender="racing@example.org", recipients=[SUPPORT], message_id="racing-ses-id"
    )
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            inbound_email.lambda_handler(event, mailroom.context)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=invoke) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    tickets = tickets_of("email:racing@example.org")
    assert len(tickets) == 1


def test_attachments_are_stored_under_the_ticket(mailroom: Mailroom, aws: Aws):
    message = mail(sender="files@example.org")
    message.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="../invoice 42.pdf"
    )
    outcome = mailroom.deliver(message)
    _, (first,) = ticket(outcome["reference"])
    (attachment,) = first.attachments
    assert attachment.filename == "invoice 42.pdf"
    assert attachment.size == len(b"%PDF-1.4 invoice")
    assert attachment.key is not None and attachment.key.startswith(f"tickets/{outcome['reference']}/")
    body = aws.client("s3").get_object(Bucket=mailroom.bucket, Key=attachment.key)["Body"].read()
    assert body == b"%PDF-1.4 invoice"


def test_mailbox_routing_follows_the_envelope_not_the_to_header(mailroom: Mailroom):
    message = mail(sender="routed@example.org", to="someone-else@example.com")
    outcome = mailroom.deliver(message, recipients=["billing@example.com"])
    stored, _ = ticket(outcome["reference"])
    assert stored.source == "billing@example.com"


# -- threading --------------------------------------------------------------------------------


def new_acknowledged_ticket(mailroom: Mailroom, aws: Aws, stream, address: str, **headers: str):
    outcome = mailroom.deliver(mail(sender=f"Ana <{address}>", **headers))
    settle(stream)
    (ack,) = sent_to(aws, address)
    return outcome["reference"], ack


def test_reply_by_in_reply_to_joins_the_ticket_without_a_second_acknowledgement(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "thread-irt@example.org")
    answer = reply_to(
        ack, "Thanks! It works now.\n\nOn Monday Frontdesk wrote:\n> old text", "Ana <thread-irt@example.org>"
    )
    outcome = mailroom.deliver(answer)
    settle(stream)
    assert outcome["outcome"] == "appended" and outcome["reference"] == reference
    assert outcome["reason"] == "in_reply_to"
    _, messages = ticket(reference)
    assert messages[-1].body_text == "Thanks! It works now."
    assert "old text" in (messages[-1].full_text or "")
    assert len(sent_to(aws, "thread-irt@example.org")) == 1


def test_reply_by_references_only_joins_the_ticket(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "thread-refs@example.org")
    answer = reply_to(
        ack, "More details.", "thread-refs@example.org", References=f"<x@elsewhere> {ack['message_id']}"
    )
    outcome = mailroom.deliver(answer)
    assert (outcome["outcome"], outcome["reference"], outcome["reason"]) == (
        "appended",
        reference,
        "references",
    )


def test_reply_by_subject_reference_only_joins_the_ticket(mailroom, aws, stream):
    reference, _ = new_acknowledged_ticket(mailroom, aws, stream, "thread-subject@example.org")
    answer = mail(subject=f"About [{reference.lower()}] again", sender="thread-subject@example.org")
    outcome = mailroom.deliver(answer)
    assert (outcome["outcome"], outcome["reference"], outcome["reason"]) == ("appended", reference, "subject")


def test_the_customers_own_follow_up_joins_their_ticket(mailroom, aws, stream):
    first = mail(sender="follow-up@example.org")
    reference = mailroom.deliver(first)["reference"]
    second = mail(
        subject="Re: Printer on fire", body="Forgot: it is a laser printer.", sender="follow-up@example.org"
    )
    second["In-Reply-To"] = first["Message-ID"]
    assert mailroom.deliver(second)["reference"] == reference


def test_a_stranger_quoting_the_thread_starts_a_new_ticket(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "owner@example.org")
    intruder = reply_to(ack, "I am not the customer.", "mallory@example.net")
    outcome = mailroom.deliver(intruder)
    assert outcome["outcome"] == "created" and outcome["reference"] != reference
    assert outcome["reason"] == "sender_not_participant"


def test_anyone_writing_to_the_signed_reply_address_joins_the_ticket(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "signed@example.org")
    reply_address = ack["headers"]["Reply-To"].split("<")[1].rstrip(">")
    colleague = mail(subject="Re: printer", body="I am Ana's colleague.", sender="colleague@example.org")
    outcome = mailroom.deliver(colleague, recipients=[reply_address])
    assert (outcome["outcome"], outcome["reference"], outcome["reason"]) == (
        "appended",
        reference,
        "reply_address",
    )
    forged = reply_address.replace(reference, "FD-0000-0000")
    assert forged != reply_address
    assert mailroom.deliver(colleague, recipients=[forged])["outcome"] == "created"


def test_a_cc_d_colleague_may_reply(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(
        mailroom, aws, stream, "with-cc@example.org", Cc="Boss <boss@example.org>"
    )
    outcome = mailroom.deliver(reply_to(ack, "Please hurry.", "boss@example.org"))
    assert (outcome["outcome"], outcome["reference"]) == ("appended", reference)


def test_reply_to_a_resolved_ticket_reopens_it_within_the_window(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "reopen@example.org")
    move(reference, TicketStatus.RESOLVED, clock.now() - timedelta(days=2))
    outcome = mailroom.deliver(reply_to(ack, "It is broken again.", "reopen@example.org"))
    settle(stream)
    assert (outcome["outcome"], outcome["reference"]) == ("appended", reference)
    stored, _ = ticket(reference)
    assert stored.status is TicketStatus.OPEN and stored.resolved_at is None
    assert len(sent_to(aws, "reopen@example.org")) == 1


def test_reply_after_the_window_starts_a_linked_ticket(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "late@example.org")
    move(reference, TicketStatus.RESOLVED, clock.now() - timedelta(days=30))
    outcome = mailroom.deliver(reply_to(ack, "Same problem, a month later.", "late@example.org"))
    settle(stream)
    assert outcome["outcome"] == "created" and outcome["reason"] == "reopen_window_passed"
    new, _ = ticket(outcome["reference"])
    assert new.linked_reference == reference
    assert ticket(reference)[0].status is TicketStatus.RESOLVED
    assert len(sent_to(aws, "late@example.org")) == 2  # the new ticket is acknowledged


# -- loops and noise --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "tag"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto_reply"),
        ({"X_Autoreply": "yes"}, "auto_reply"),
        ({"X_Autorespond": "Out of office"}, "auto_reply"),
        ({"Precedence": "bulk"}, "bulk"),
        ({"Precedence": "junk"}, "bulk"),
        ({"List_Id": "Customers <customers.example.org>"}, "mailing_list"),
    ],
)
def test_machine_mail_is_recorded_tagged_and_never_acknowledged(mailroom, aws, stream, headers, tag):
    address = f"robot-{tag}-{len(headers)}-{next(iter(headers.values()))[:3].lower()}@example.org"
    outcome = mailroom.deliver(mail(sender=address, **headers))
    settle(stream)
    stored, _ = ticket(outcome["reference"])
    assert tag in stored.tags
    assert (
        stored.acknowledgement is not None and stored.acknowledgement.state is AcknowledgementState.SUPPRESSED
    )
    assert sent_to(aws, address) == []


def test_an_out_of_office_reply_joins_quietly_and_does_not_reopen(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "away@example.org")
    move(reference, TicketStatus.RESOLVED, clock.now())
    outcome = mailroom.deliver(
        reply_to(ack, "I am away until Monday.", "away@example.org", Auto_Submitted="auto-replied")
    )
    settle(stream)
    assert (outcome["outcome"], outcome["reference"]) == ("appended", reference)
    assert ticket(reference)[0].status is TicketStatus.RESOLVED
    assert len(sent_to(aws, "away@example.org")) == 1


@pytest.mark.parametrize(
    ("envelope_sender", "sender", "why"),
    [
        ("", "someone@example.org", "delivery_report"),
        ("MAILER-DAEMON@mx.example.net", "MAILER-DAEMON@mx.example.net", "delivery_report"),
        ("postmaster@example.net", "postmaster@example.net", "delivery_report"),
        ("support@example.com", "Frontdesk <support@example.com>", "own_mail"),
    ],
)
def test_bounces_and_our_own_mail_are_rejected_with_a_reason(mailroom, aws, envelope_sender, sender, why):
    outcome = mailroom.deliver(mail(sender=sender), sender=envelope_sender)
    assert outcome["outcome"] == "rejected"
    assert outcome["reason"].startswith(why)


def test_delivery_status_reports_are_rejected(mailroom):
    outcome = mailroom.deliver(
        (CORPUS / "email/cpython/msg_05.txt").read_bytes(), sender="someone@example.net"
    )
    assert outcome["outcome"] == "rejected" and outcome["reason"].startswith("delivery_report")


def test_acknowledgements_per_sender_are_limited_per_hour(mailroom, aws, stream):
    for number in range(5):
        mailroom.deliver(mail(subject=f"Question {number}", sender="chatty@example.org"))
    settle(stream)
    assert len(sent_to(aws, "chatty@example.org")) == 3
    tickets = tickets_of("email:chatty@example.org")
    states = Counter(t.acknowledgement.state if t.acknowledgement else None for t in tickets)
    assert states == {AcknowledgementState.SENT: 3, AcknowledgementState.SUPPRESSED: 2}


def test_a_bounced_address_gets_no_acknowledgement(mailroom, aws, stream, lambda_context):
    notification = json.loads((CORPUS / "events/fx-private-relay/hard_bounce_sns_body.json").read_text())
    bounce = json.loads(notification["Message"])
    bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] = "Bounced@Example.org"
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {**notification, "Message": json.dumps(bounce)}}]}
    mail_feedback.lambda_handler(event, lambda_context)
    assert runtime.ticket_store().is_suppressed("bounced@example.org", clock.now())

    outcome = mailroom.deliver(mail(sender="bounced@example.org"))
    settle(stream)
    assert sent_to(aws, "bounced@example.org") == []
    stored, _ = ticket(outcome["reference"])
    assert stored.acknowledgement is not None and stored.acknowledgement.reason == "suppressed_address"


# -- SES verdicts -----------------------------------------------------------------------------


def test_a_virus_is_quarantined_without_a_ticket(mailroom, aws):
    message = mail(sender="infected@example.org", X_SES_Virus_Verdict="FAIL")
    outcome = mailroom.deliver(message)
    assert outcome["outcome"] == "quarantined"
    tags = aws.client("s3").get_object_tagging(
        Bucket=mailroom.bucket, Key=f"inbound/{outcome['ses_message_id']}"
    )
    assert {"Key": "frontdesk-quarantine", "Value": "virus"} in tags["TagSet"]
    assert tickets_of("email:infected@example.org") == []


@pytest.mark.parametrize(
    ("header", "tag"),
    [("X_SES_Spam_Verdict", "spam"), ("X_SES_DMARC_Verdict", "dmarc_fail")],
)
def test_spam_and_dmarc_failures_are_tagged_and_not_acknowledged(mailroom, aws, stream, header, tag):
    address = f"suspect-{tag.replace('_', '-')}@example.org"
    outcome = mailroom.deliver(mail(sender=address, **{header: "FAIL"}))
    settle(stream)
    stored, _ = ticket(outcome["reference"])
    assert tag in stored.tags
    assert sent_to(aws, address) == []


def test_a_forged_sender_cannot_join_a_ticket_by_its_headers(mailroom, aws, stream):
    reference, ack = new_acknowledged_ticket(mailroom, aws, stream, "victim@example.org")
    forged = reply_to(
        ack, "Please change my delivery address.", "victim@example.org", X_SES_DMARC_Verdict="FAIL"
    )
    outcome = mailroom.deliver(forged)
    assert outcome["outcome"] == "created" and outcome["reference"] != reference


def test_spf_and_dkim_failures_are_tagged(mailroom):
    outcome = mailroom.deliver(
        mail(sender="loose@example.org", X_SES_SPF_Verdict="FAIL", X_SES_DKIM_Verdict="FAIL")
    )
    stored, _ = ticket(outcome["reference"])
    assert {"spf_fail", "dkim_fail"} <= set(stored.tags)


# -- bad events -------------------------------------------------------------------------------


def test_an_event_that_is_not_an_ses_receipt_is_logged_and_dropped(mailroom, logs):
    inbound_email.lambda_handler({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, mailroom.context)
    inbound_email.lambda_handler({"unexpected": True}, mailroom.context)
    said = [record.getMessage() for record in logs.records]
    assert "not an SES receipt record" in said and "event without Records" in said


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    yield
    runtime.reset()


# -- language and time zone -------------------------------------------------------------------


def test_a_kazakh_mail_is_answered_in_kazakh_with_times_in_the_senders_offset(mailroom, aws, stream):
    body = "Сәлеметсіз бе! Менің шотым бұғатталды, кіре алмай тұрмын. Көмектесіңізші."
    message = mail(subject="Шот бұғатталды", body=body, sender="Айгүл <aigul@example.kz>")
    message["Date"] = "Sat, 28 Nov 2026 23:00:00 +0500"
    reference = mailroom.deliver(message)["reference"]
    settle(stream)

    found, _ = ticket(reference)
    assert (found.language, found.time_zone) == ("kk", "+05:00")
    (email,) = sent_to(aws, "aigul@example.kz")
    assert email["headers"]["Content-Language"] == "kk"
    assert '<html lang="kk" dir="ltr">' in email["html"]
    # Due Monday 11:30 in Berlin (24 business hours after the clock's Wednesday 10:30): 15:30 at +05:00.
    assert "2026 ж. 30 қараша, дүйсенбі, 15:30 (UTC+05:00)" in " ".join(email["text"].split())


def test_content_language_is_a_hint_that_wins_over_detection(mailroom, aws, stream):
    message = mail(
        body="Hello, my order never arrived. Can you check please?", sender="Boris <boris@example.org>"
    )
    message["Content-Language"] = "ru"  # after the body: set_content() drops Content-* headers
    reference = mailroom.deliver(message)["reference"]
    settle(stream)

    found, _ = ticket(reference)
    assert found.language == "ru"
    (email,) = sent_to(aws, "boris@example.org")
    assert email["headers"]["Content-Language"] == "ru"
