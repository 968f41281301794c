"""MIME parsing: charsets, encoded headers, HTML-only mail, attachments and their limits, nested
and broken messages. Built messages for exact cases, the corpus for real ones."""

import base64
from email.message import EmailMessage
from pathlib import Path

import pytest

from frontdesk.mail.message import MailLimits
from frontdesk.mail.parse import parse_email

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "email"
CORPUS_MAIL = sorted(path for path in CORPUS.rglob("*") if path.is_file())


def raw_mail(body: bytes, content_type: str, subject: bytes = b"Hello", extra: bytes = b"") -> bytes:
    return (
        b"From: Ana <ana@example.org>\r\nTo: support@example.com\r\nSubject: " + subject + b"\r\n"
        b"Message-ID: <first@example.org>\r\nMIME-Version: 1.0\r\n"
        + extra
        + b"Content-Type: "
        + content_type.encode()
        + b"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + body
    )


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("koi8-r", "Принтер не печатает"),
        ("windows-1251", "Принтер не печатает"),
        ("iso-8859-2", "Zażółć gęślą jaźń"),
        ("shift_jis", "プリンターが動きません"),
        ("euc-kr", "프린터가 작동하지 않습니다"),
        ("big5", "印表機無法列印"),
    ],
)
def test_bodies_in_their_declared_charset(charset: str, text: str):
    mail = parse_email(raw_mail(text.encode(charset), f"text/plain; charset={charset}"))
    assert mail.text.strip() == text


def test_gb2312_labelled_mail_with_gbk_characters_is_read_as_gb18030():
    text = "打印机坏了 喆"  # 喆 is in GBK, not in GB2312
    mail = parse_email(raw_mail(text.encode("gbk"), "text/plain; charset=gb2312"))
    assert mail.text.strip() == text


def test_a_wrong_charset_label_falls_back_without_crashing():
    mail = parse_email(raw_mail("Grüße".encode(), "text/plain; charset=x-no-such-charset"))
    assert mail.text.strip() == "Grüße"
    assert "unknown charset" in mail.defects


def test_encoded_words_in_subject_and_names_are_decoded():
    subject = b"=?windows-1251?B?" + base64.b64encode("Не работает".encode("windows-1251")) + b"?="
    raw = raw_mail(b"hi", "text/plain", subject=subject).replace(
        b"From: Ana", b"From: =?utf-8?Q?Ana_S=C3=A1?="
    )
    mail = parse_email(raw)
    assert mail.subject == "Не работает"
    assert mail.sender is not None and mail.sender.name == "Ana Sá"


def test_iso_2022_jp_corpus_mail():
    mail = parse_email((CORPUS / "mikel-mail/multi_charset/japanese_iso_2022.eml").read_bytes())
    assert mail.subject == "まみむめも"
    assert mail.text.startswith("すみません。")


def test_html_only_mail_becomes_text_without_its_script():
    html = (
        b"<html><body><p>Hello <b>team</b></p><script>alert('x')</script><ul><li>one</li></ul></body></html>"
    )
    mail = parse_email(raw_mail(html, "text/html; charset=utf-8"))
    assert "Hello team" in mail.text and "one" in mail.text
    assert "alert" not in mail.text and "<" not in mail.text


def test_subject_line_breaks_and_controls_become_spaces():
    mail = parse_email(raw_mail(b"x", "text/plain", subject=b"=?utf-8?Q?a=0D=0ABcc:_x@evil.test=00?="))
    assert "\r" not in mail.subject and "\n" not in mail.subject and "\x00" not in mail.subject


def test_references_folded_over_lines_with_junk_between_ids():
    extra = b"References: <a@x>\r\n junk, <b@y>\r\n\t<c@z> (comment)\r\nIn-Reply-To: c@z\r\n"
    mail = parse_email(raw_mail(b"x", "text/plain", extra=extra))
    assert mail.references == ("<a@x>", "<b@y>", "<c@z>")
    assert mail.message_id == "<first@example.org>"


def attachments_mail(count: int, size: int, filename: str = "file.bin") -> bytes:
    message = EmailMessage()
    message["From"] = "ana@example.org"
    message["Subject"] = "files"
    message.set_content("see attached")
    for index in range(count):
        message.add_attachment(
            bytes([index % 256]) * size, maintype="application", subtype="pdf", filename=filename
        )
    return message.as_bytes()


def test_attachments_have_safe_names_types_and_bytes():
    mail = parse_email(attachments_mail(1, 10, filename="../../etc/passwd"))
    (attachment,) = mail.attachments
    assert (attachment.filename, attachment.content_type, attachment.data) == (
        "passwd",
        "application/pdf",
        b"\0" * 10,
    )
    assert mail.text.strip() == "see attached"


def test_attachments_over_the_limits_are_listed_not_kept():
    limits = MailLimits(max_attachments=2, max_attachment_bytes=1000, max_total_attachment_bytes=10_000)
    many = parse_email(attachments_mail(3, 10), limits)
    assert len(many.attachments) == 2
    assert [s.reason for s in many.skipped_attachments] == ["too_many"]
    large = parse_email(attachments_mail(1, 5000), limits)
    assert large.attachments == ()
    (skipped,) = large.skipped_attachments
    assert skipped.reason == "too_large" and skipped.size >= 5000


def test_nesting_beyond_the_limit_stops_with_a_defect():
    inner = b"Content-Type: text/plain\r\n\r\ndeep text\r\n"
    for depth in range(15):
        boundary = f"b{depth}".encode()
        inner = (
            b"Content-Type: multipart/mixed; boundary="
            + boundary
            + b"\r\n\r\n--"
            + boundary
            + b"\r\n"
            + inner
            + b"\r\n--"
            + boundary
            + b"--\r\n"
        )
    mail = parse_email(b"From: a@example.org\r\nMIME-Version: 1.0\r\n" + inner, MailLimits(max_depth=5))
    assert any("nesting" in defect for defect in mail.defects)
    assert "deep text" not in mail.text


def test_a_forwarded_message_is_kept_as_eml_and_lends_its_text():
    inner = EmailMessage()
    inner["Subject"] = "Original question"
    inner.set_content("the forwarded words")
    outer = EmailMessage()
    outer["From"] = "ana@example.org"
    outer.add_attachment(inner)
    mail = parse_email(outer.as_bytes())
    assert [a.filename for a in mail.attachments] == ["Original question.eml"]
    assert "the forwarded words" in mail.text


def test_raw_8bit_headers_are_repaired_not_kept_as_surrogates():
    mail = parse_email(raw_mail(b"x", "text/plain", subject="Grüße".encode()))
    mail.subject.encode("utf-8")  # no lone surrogates left
    assert mail.subject == "Grüße"


@pytest.mark.parametrize("path", CORPUS_MAIL, ids=[str(p.relative_to(CORPUS)) for p in CORPUS_MAIL])
def test_every_corpus_message_and_its_truncations_parse(path: Path):
    data = path.read_bytes()
    for cut in (len(data), len(data) // 2, len(data) // 3, 200):
        mail = parse_email(data[:cut])
        assert "\x00" not in mail.text
        mail.text.encode("utf-8")
        mail.subject.encode("utf-8")


@pytest.mark.parametrize(
    "data", [b"", b"\x00\xff" * 100, b"Content-Type: multipart/mixed\r\n\r\n--", b"From:\r\n\r\n"]
)
def test_garbage_never_raises(data: bytes):
    parse_email(data)
