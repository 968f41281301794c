"""Outgoing mail: header values that cannot be injected, Unicode that survives, RFC 3834 marks."""

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from frontdesk.notify.email import OutgoingEmail, UnsafeHeaderError, mailbox

DATE = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
PERSIAN_TEXT = "\n".join(["سلام زهرا", "درخواست شما دریافت شد.", ""])


def outgoing(
    subject: str = "We have your request",
    name: str | None = "Ana Souza",
    *,
    auto_submitted: str | None = "auto-replied",
    **extra,
) -> OutgoingEmail:
    return OutgoingEmail(
        sender=mailbox("support@example.com", "Frontdesk Support"),
        to=(mailbox("ana@example.org", name),),
        subject=subject,
        text="Hello Ana,\nwe have your request.\n",
        html="<p>Hello Ana,</p><p>we have your request.</p>",
        language="en",
        date=DATE,
        auto_submitted=auto_submitted,
        **extra,
    )


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_block(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


# -- mailbox ---------------------------------------------------------------------------------------


def test_mailbox_splits_the_address_and_keeps_the_name():
    address = mailbox("ana.souza@example.org", "Ana Souza")

    assert address.username == "ana.souza"
    assert address.domain == "example.org"
    assert address.display_name == "Ana Souza"
    assert address.addr_spec == "ana.souza@example.org"


def test_mailbox_without_a_name_has_an_empty_display_name():
    assert mailbox("ana@example.org").display_name == ""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Eve\r\nBcc: victim@example.com", id="CRLF"),
        pytest.param("Eve\nBcc: victim@example.com", id="LF"),
        pytest.param("Eve\rBcc: victim@example.com", id="CR"),
        pytest.param("Eve\x00", id="NUL"),
        pytest.param("Eve\u2028Bcc", id="line-separator"),
        pytest.param("Eve \u202eexe.fdp", id="bidi-override"),
    ],
)
def test_mailbox_refuses_a_display_name_that_breaks_a_header(name: str):
    with pytest.raises(UnsafeHeaderError):
        mailbox("eve@example.org", name)


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("no-at-sign", id="no-at"),
        pytest.param("@example.org", id="no-local-part"),
        pytest.param("ana@", id="no-domain"),
        pytest.param("", id="empty"),
        pytest.param("ana@example.org\r\nBcc: x@example.com", id="CRLF"),
    ],
)
def test_mailbox_refuses_an_address_that_is_not_one(address: str):
    with pytest.raises(UnsafeHeaderError):
        mailbox(address)


def test_unsafe_header_error_is_a_value_error():
    assert issubclass(UnsafeHeaderError, ValueError)


# -- OutgoingEmail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param("Hi\r\nBcc: victim@example.com", id="CRLF"),
        pytest.param("Hi\nX-Evil: 1", id="LF"),
        pytest.param("Hi\rX-Evil: 1", id="CR"),
        pytest.param("Hi\u0085X-Evil: 1", id="NEL"),
        pytest.param("Hi \u202eexe.fdp", id="bidi-override"),
    ],
)
def test_a_subject_that_breaks_a_header_line_is_refused(subject: str):
    with pytest.raises(UnsafeHeaderError, match=r"^subject "):
        outgoing(subject=subject).to_bytes()


def test_in_reply_to_and_extra_headers_are_checked_too():
    with pytest.raises(UnsafeHeaderError, match=r"^In-Reply-To "):
        outgoing(in_reply_to="<a@example.com>\r\nBcc: x@example.com").to_bytes()
    with pytest.raises(UnsafeHeaderError, match=r"^X-Ticket "):
        outgoing(extra_headers={"X-Ticket": "FD-1\nBcc: x@example.com"}).to_bytes()


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        pytest.param("Привет, ваш запрос принят", "Олег Петров", id="cyrillic"),
        pytest.param("درخواست شما دریافت شد", "زهرا احمدی", id="persian"),
        pytest.param("Заявка " * 20, "Олег", id="long-folded"),
        pytest.param("🌻 Ticket received", "Ana 🌻", id="emoji"),
        pytest.param("Plain ASCII", 'Souza, Ana "Nana"', id="quoted-specials"),
    ],
)
def test_unicode_subject_and_display_name_are_encoded_and_parse_back_equal(subject: str, name: str):
    # When
    raw = outgoing(subject=subject, name=name).to_bytes()

    # Then: the header block is 7-bit ASCII (RFC 2047 encoded words), and it decodes back exactly
    assert header_block(raw).isascii()
    parsed = parse(raw)
    assert parsed["Subject"] == subject
    to = parsed["To"].addresses
    assert len(to) == 1
    assert to[0].display_name == name
    assert to[0].addr_spec == "ana@example.org"


def test_a_cyrillic_subject_is_sent_as_an_encoded_word():
    raw = outgoing(subject="Привет").to_bytes()

    assert b"=?utf-8?" in header_block(raw)
    assert "Привет".encode() not in raw


def test_a_subject_that_looks_like_an_encoded_word_is_refused():
    # Given ASCII text that a mail reader would decode to "\u202etxt.exe"
    subject = "Invoice =?utf-8?q?=E2=80=AEtxt.exe?="

    # When / Then: it never reaches a header, where readers would decode it
    with pytest.raises(UnsafeHeaderError):
        outgoing(subject=subject).to_bytes()


def test_a_display_name_that_looks_like_an_encoded_word_is_refused():
    with pytest.raises(UnsafeHeaderError):
        outgoing(name="=?utf-8?q?=E2=80=AESupport?=").to_bytes()


def test_the_standard_headers_are_set():
    parsed = parse(
        outgoing(in_reply_to="<a@example.com>", references=("<a@example.com>", "<b@x>")).to_bytes()
    )

    assert parsed["From"].addresses[0].display_name == "Frontdesk Support"
    assert parsed["From"].addresses[0].addr_spec == "support@example.com"
    assert parsed["Date"].datetime == DATE
    assert parsed["In-Reply-To"] == "<a@example.com>"
    assert parsed["References"] == "<a@example.com> <b@x>"
    assert parsed["Content-Language"] == "en"
    assert parsed["MIME-Version"] == "1.0"


def test_an_automatic_reply_says_so_and_asks_robots_not_to_answer():
    parsed = parse(outgoing(auto_submitted="auto-replied").to_bytes())

    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"


def test_a_personal_reply_has_no_auto_submitted_headers():
    parsed = parse(outgoing(auto_submitted=None).to_bytes())

    assert parsed["Auto-Submitted"] is None
    assert parsed["X-Auto-Response-Suppress"] is None


def test_the_message_has_a_text_and_an_html_alternative():
    # Given a body in Persian, to show the parts are UTF-8
    message = OutgoingEmail(
        sender=mailbox("support@example.com"),
        to=(mailbox("zahra@example.org", "زهرا"),),
        subject="سلام",
        text=PERSIAN_TEXT,
        html="<p>سلام زهرا</p>",
        language="fa",
        date=DATE,
    )

    # When
    parsed = parse(message.to_bytes())

    # Then
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert isinstance(plain, EmailMessage) and isinstance(html, EmailMessage)
    assert plain.get_content_charset() == "utf-8"
    # (SMTP line endings are CRLF, inside encoded parts too)
    assert plain.get_content().replace("\r\n", "\n") == PERSIAN_TEXT
    assert html.get_content().replace("\r\n", "\n") == "<p>سلام زهرا</p>\n"
    assert parsed["Content-Language"] == "fa"


def test_every_line_ends_with_crlf():
    raw = outgoing().to_bytes()

    assert b"\n" not in raw.replace(b"\r\n", b"")
