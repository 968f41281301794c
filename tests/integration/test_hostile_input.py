"""What a stranger can send, through the real handlers against moto: customer text that tries to
add mail headers, a huge attachment, mail too large to read, huge and deeply nested JSON, and
bytes that are not UTF-8. Each is a 4xx, a logged rejection or a ticket; never a 5xx or a crash,
and the mail Frontdesk sends carries exactly the headers it meant to."""

from __future__ import annotations

import base64
import email
import email.message
import email.policy
import json
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from frontdesk import runtime
from frontdesk.mail import storage
from frontdesk.tickets.model import AcknowledgementState, DeliveryState
from functions.agent_api import app as agent_api
from functions.chat_webhook import app as chat_webhook
from functions.web_form import app as web_form
from tests.integration.conftest import REGION, Aws, api_event, settle

# The mail room and its log capture are test_inbound_email's fixtures, used here as they are.
from tests.integration.test_inbound_email import Mailroom, logs, mailroom  # noqa: F401

TELEGRAM_SECRET = "local-telegram-secret-token"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
# The headers an acknowledgement or a reply may have, each once: nothing else, and never a Bcc.
EXPECTED_HEADERS = {
    "from",
    "to",
    "reply-to",
    "subject",
    "date",
    "in-reply-to",
    "references",
    "auto-submitted",
    "x-auto-response-suppress",
    "mime-version",
    "content-type",
    "content-language",
}


def raw_sent_to(address: str) -> list[bytes]:
    """The raw messages sent to `address`, as SES got them (moto keeps the bytes)."""
    found = []
    for sent in list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages):
        raw = getattr(sent, "raw_data", None)
        if raw is None:
            continue
        data = raw.encode() if isinstance(raw, str) else raw
        if address.encode() in data.split(b"\r\n\r\n", 1)[0]:
            found.append(data)
    return found


def header_names(raw: bytes) -> list[str]:
    """The header fields of the top-level header block, lower case, in order (a line that does
    not start with white space starts a field)."""
    block = raw.split(b"\r\n\r\n", 1)[0]
    names = []
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue
        names.append(line.split(b":", 1)[0].decode("ascii").strip().lower())
    return names


def assert_exactly_the_intended_headers(raw: bytes, address: str) -> EmailMessage:
    """One To (the customer), no Bcc or Cc, no header Frontdesk does not set, no bare CR or LF,
    and a 7-bit header block; the parsed message."""
    block = raw.split(b"\r\n\r\n", 1)[0]
    assert block.isascii()
    assert b"\r" not in block.replace(b"\r\n", b"") and b"\n" not in block.replace(b"\r\n", b"")
    names = header_names(raw)
    assert len(names) == len(set(names)), names
    assert set(names) <= EXPECTED_HEADERS, set(names) - EXPECTED_HEADERS
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    (to,) = parsed["To"].addresses
    assert to.addr_spec == address
    assert parsed["Bcc"] is None and parsed["Cc"] is None
    for name in ("Subject", "To", "From", "Reply-To", "In-Reply-To", "References"):
        value = str(parsed.get(name, ""))
        assert "\r" not in value and "\n" not in value and "=?" not in value, (name, value)
    for name in ("To", "From", "Reply-To"):  # the text "Bcc: ..." may stay in the subject, as text
        assert INJECTED not in str(parsed.get(name, "")), name
    return parsed


def agent_reply(context: Any, reference: str, text: str) -> None:
    event = api_event(
        "POST",
        "POST /tickets/{reference}/replies",
        f"/tickets/{reference}/replies",
        json.dumps({"text": text}).encode(),
        {"Content-Type": "application/json"},
    )
    assert agent_api.lambda_handler(event, context)["statusCode"] == 201


# -- CR/LF and encoded-word header injection ------------------------------------------------------

INJECTED = "victim@example.net"


@pytest.mark.parametrize(
    "first_line",
    [
        pytest.param(f"=?utf-8?q?Hi=0D=0ABcc:_{INJECTED}?=", id="encoded-crlf"),
        pytest.param(f"=?utf-8?b?SGkNCkJjYzogdmljdGltQGV4YW1wbGUubmV0?= and {INJECTED}", id="encoded-b"),
        pytest.param(f"Hi \u202eBcc: {INJECTED}", id="bidi-override"),
    ],
)
def test_a_form_message_whose_first_line_becomes_the_subject_cannot_add_headers(
    aws: Aws, stream: Any, lambda_context: Any, first_line: str
) -> None:
    # Given a form post without a subject: the message's first line becomes the ticket's subject,
    # and the acknowledgement's
    address = f"inject-{uuid.uuid4().hex[:8]}@example.org"
    body = {"name": "Ana", "email": address, "message": f"{first_line}\nThe rest of my question."}
    event = api_event("POST", "POST /forms/{form_id}", "/forms/contact", json.dumps(body).encode(), JSON)
    response = web_form.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 201
    reference = json.loads(response["body"])["reference"]
    settle(stream)

    # Then the acknowledgement went out, with exactly the intended headers
    ticket = runtime.ticket_store().get_ticket(reference)
    assert ticket is not None and ticket.acknowledgement is not None
    assert ticket.acknowledgement.state is AcknowledgementState.SENT, ticket.acknowledgement.failure
    (raw,) = raw_sent_to(address)
    parsed = assert_exactly_the_intended_headers(raw, address)
    assert reference in str(parsed["Subject"])
    assert INJECTED not in str(parsed["To"])


def email_with_headers(subject_header: str, from_header: str, message_id: str | None = None) -> bytes:
    """A mail whose Subject and From are written as given (already encoded)."""
    lines = [
        f"From: {from_header}",
        "To: support@example.com",
        f"Subject: {subject_header}",
        f"Message-ID: {message_id or make_msgid(domain='mail.example.org')}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "My printer is on fire.",
        "",
    ]
    return "\r\n".join(lines).encode()


@pytest.mark.parametrize(
    ("subject_header", "display_name", "message_id"),
    [
        pytest.param(
            f"=?utf-8?q?Order=0D=0ABcc:_{INJECTED}?=", "=?utf-8?q?Eve=0D=0ABcc:_x?=", None, id="crlf"
        ),
        pytest.param(f"=?utf-8?q?Order=0ABcc:_{INJECTED}?=", "=?utf-8?q?Eve=0Ax?=", None, id="bare-lf"),
        pytest.param(f"=?utf-8?q?Order=0DBcc:_{INJECTED}?=", "=?utf-8?q?Eve=0Dx?=", None, id="bare-cr"),
        pytest.param(
            f"=?utf-8?q?Order=E2=80=A8Bcc:_{INJECTED}?=", "=?utf-8?q?Eve=E2=80=A9x?=", None, id="u2028-u2029"
        ),
        pytest.param(f"=?utf-8?q?Order=C2=85Bcc:_{INJECTED}?=", "=?utf-8?q?Eve=C2=85x?=", None, id="nel"),
        pytest.param(
            # Encoded words that decode to encoded words: Python 3.11's header parser would decode
            # these a second time when the value is set, and write the CR LF out.
            "=?utf-8?b?PT91dGYtOD9xPz0wRD0wQUJjYzpfdmljdGltQGV4YW1wbGUubmV0Pz0=?=",
            "=?utf-8?b?PT91dGYtOD9xPz0wRD0wQUJjYzpfeEB5Pz0=?=",
            "<=?utf-8?q?=0D=0ABcc:_x@y?=@mail.example.org>",
            id="encoded-word-in-encoded-word",
        ),
        pytest.param(
            f"=?utf-8?q?Invoice_=E2=80=AEfdp.exe_Bcc:_{INJECTED}?=",
            "=?utf-8?q?Eve_=E2=80=AEfdp?=",
            None,
            id="bidi",
        ),
    ],
)
def test_mail_whose_subject_or_sender_name_hides_line_breaks_is_answered_with_exactly_our_headers(
    mailroom: Mailroom,  # noqa: F811
    aws: Aws,
    stream: Any,
    lambda_context: Any,
    subject_header: str,
    display_name: str,
    message_id: str | None,
) -> None:
    # Given mail whose decoded Subject and From name carry line breaks, bidi controls or text that
    # looks like an encoded word
    address = f"mail-inject-{uuid.uuid4().hex[:8]}@example.org"
    raw = email_with_headers(subject_header, f"{display_name} <{address}>", message_id)
    outcome = mailroom.deliver(raw, sender=address)
    assert outcome["outcome"] == "created"
    reference = outcome["reference"]
    settle(stream)

    # When an agent answers too
    agent_reply(lambda_context, reference, "We are on it.")
    settle(stream)

    # Then both the acknowledgement and the reply went out, with exactly the intended headers
    ticket, messages = runtime.ticket_store().get_ticket_with_messages(reference)  # type: ignore[misc]
    assert ticket.acknowledgement is not None
    assert ticket.acknowledgement.state is AcknowledgementState.SENT, ticket.acknowledgement.failure
    replies = [message for message in messages if message.delivery is not None]
    assert [message.delivery for message in replies] == [DeliveryState.SENT]
    sent = raw_sent_to(address)
    assert len(sent) == 2
    for raw_sent in sent:
        parsed = assert_exactly_the_intended_headers(raw_sent, address)
        assert reference in str(parsed["Subject"])


# -- attachments and mail too large to read -------------------------------------------------------


def test_a_huge_attachment_is_skipped_by_its_encoded_size_without_being_decoded(
    mailroom: Mailroom,  # noqa: F811
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given mail with an attachment over the configured limit (10 MiB), base64 encoded
    decoded: list[int] = []
    get_payload: Any = email.message.Message.get_payload

    def counting(self: Any, i: int | None = None, decode: bool = False) -> Any:
        if decode and isinstance(self._payload, str):
            decoded.append(len(self._payload))
        return get_payload(self, i, decode)

    monkeypatch.setattr(email.message.Message, "get_payload", counting)
    message = EmailMessage()
    message["From"] = "Ana <big-attachment@example.org>"
    message["To"] = "support@example.com"
    message["Subject"] = "The log file"
    message["Message-ID"] = make_msgid(domain="mail.example.org")
    message.set_content("The log is attached.")
    message.add_attachment(b"\x00" * (11 * 1024 * 1024), "application", "zip", filename="logs.zip")
    message.add_attachment(b"small", "text", "plain", filename="note.txt")

    # When it arrives
    outcome = mailroom.deliver(message, sender="big-attachment@example.org")

    # Then the ticket has the small file, the big one is listed as skipped, and its 15 MB of
    # base64 were never decoded
    assert outcome["outcome"] == "created"
    found = runtime.ticket_store().get_ticket_with_messages(outcome["reference"])
    assert found is not None
    (first,) = found[1]
    stored = [(item.filename, item.skipped, item.key is not None) for item in first.attachments]
    assert stored == [("note.txt", None, True), ("logs.zip", "too_large", False)]
    assert first.attachments[1].size >= 11 * 1024 * 1024
    assert decoded and max(decoded) < 1024 * 1024


def test_mail_too_large_to_read_is_a_logged_rejection_not_a_failed_invocation(
    mailroom: Mailroom,  # noqa: F811
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a limit of 2 KB on raw mail (40 MB in production: SES never delivers more)
    monkeypatch.setattr(storage, "MAX_RAW_BYTES", 2_048)
    message = EmailMessage()
    message["From"] = "big@example.org"
    message["To"] = "support@example.com"
    message["Subject"] = "Too big"
    message.set_content("x" * 4_096)
    before = len(aws.items())

    # When it arrives, the function does not fail (a failure would be retried, then dead-lettered)
    outcome = mailroom.deliver(message, sender="big@example.org")

    # Then it is logged as rejected, and nothing is stored
    assert outcome["outcome"] == "rejected"
    assert outcome["reason"] == "raw mail too large"
    assert len(aws.items()) == before


def test_mail_that_is_not_utf8_becomes_a_readable_ticket(mailroom: Mailroom, aws: Aws) -> None:  # noqa: F811
    raw = (
        b"From: =?utf-8?q?Ana_=FF=FE?= <bad-bytes@example.org>\r\n"
        b"To: support@example.com\r\n"
        b"Subject: Caf\xe9 \xff\xfe order\r\n"
        b"Message-ID: <bad-bytes@mail.example.org>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"Hello \xff\xfe\xc3 world\r\n"
    )

    outcome = mailroom.deliver(raw, sender="bad-bytes@example.org")

    assert outcome["outcome"] == "created"
    found = runtime.ticket_store().get_ticket_with_messages(outcome["reference"])
    assert found is not None
    ticket, (message,) = found
    assert "order" in ticket.subject and "Hello" in message.body_text and "world" in message.body_text
    for text in (ticket.subject, message.body_text, ticket.requester.name or ""):
        text.encode("utf-8")  # nothing unencodable was stored


# -- huge and deeply nested JSON, bytes that are not UTF-8 ----------------------------------------


def with_raw_body(event: dict[str, Any], body: bytes) -> dict[str, Any]:
    """The event carrying `body` byte for byte (base64), whatever its content type: how API
    Gateway passes on a body it cannot hand over as UTF-8 text."""
    return {**event, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def post_form(context: Any, body: bytes, content_type: str) -> dict[str, Any]:
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    event = api_event("POST", "POST /forms/{form_id}", "/forms/contact", body, headers)
    return web_form.lambda_handler(with_raw_body(event, body), context)  # type: ignore[no-any-return]


def post_telegram(context: Any, body: bytes) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    event = api_event("POST", "POST /chat/{provider}", "/chat/telegram", body, headers)
    return chat_webhook.lambda_handler(with_raw_body(event, body), context)  # type: ignore[no-any-return]


DEEP_ARRAY = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
HUGE_JSON = json.dumps({"name": "Ana", "email": "a@example.org", "message": "m" * (2 * 1024 * 1024)}).encode()


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        pytest.param(DEEP_ARRAY[:60_000], "application/json", 400, "is not valid JSON", id="deep-array"),
        pytest.param(DEEP_OBJECT[:60_000], "application/json", 400, "is not valid JSON", id="deep-object"),
        pytest.param(HUGE_JSON, "application/json", 413, "is larger than", id="huge"),
        pytest.param(DEEP_ARRAY, "application/json", 413, "is larger than", id="huge-and-deep"),
        pytest.param(
            b'{"name": "Ana \xff", "email": "a@example.org"}',
            "application/json",
            400,
            "JSON",
            id="json-not-utf8",
        ),
        pytest.param(
            b"name=Ana%FF&email=a%40example.org",
            "application/x-www-form-urlencoded",
            400,
            "UTF-8",
            id="percent-ff",
        ),
        pytest.param(
            b"name=Ana\xc3&email=a%40example.org",
            "application/x-www-form-urlencoded",
            400,
            "UTF-8",
            id="raw-c3",
        ),
    ],
)
def test_the_form_refuses_huge_deep_or_non_utf8_bodies_with_a_clear_4xx(
    aws: Aws,
    function_env: None,
    lambda_context: Any,
    body: bytes,
    content_type: str,
    status: int,
    message: str,
) -> None:
    before = len(aws.items())

    response = post_form(lambda_context, body, content_type)

    assert response["statusCode"] == status
    (error,) = json.loads(response["body"])["errors"]
    assert error["field"] == "body" and message in error["message"]
    assert len(aws.items()) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param(DEEP_ARRAY[:200_000], 400, id="deep-array"),
        pytest.param(DEEP_OBJECT[:200_000], 400, id="deep-object"),
        pytest.param(b'{"update_id": 1, "message": ' * 5_000, 400, id="deep-truncated"),
        pytest.param(b"[" * (300 * 1024), 413, id="huge"),
        pytest.param(b'{"update_id": 1, "message": {"text": "\xff\xfe"}}', 400, id="not-utf8"),
    ],
)
def test_the_chat_webhook_refuses_huge_deep_or_non_utf8_bodies_with_a_4xx(
    aws: Aws, function_env: None, lambda_context: Any, body: bytes, status: int
) -> None:
    before = len(aws.items())

    response = post_telegram(lambda_context, body)

    assert response["statusCode"] == status
    assert "error" in json.loads(response["body"])
    assert len(aws.items()) == before
