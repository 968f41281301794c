"""Raw MIME to ParsedEmail: every corpus message, charsets, bodies, attachments, limits, hostile input."""

import base64
import email.message
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from frontdesk.mail.message import MailAddress, MailLimits, ParsedEmail
from frontdesk.mail.parse import MAX_HEADER_CHARS, MAX_HEADERS, MAX_STRUCTURED_HEADER_CHARS, parse_email

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "email"
CORPUS_FILES = sorted(path for path in CORPUS.rglob("*") if path.is_file())
UNSAFE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
UNSAFE_FILENAME = re.compile(r"[/\\\x00-\x1f\x7f]")
DEFAULT_LIMITS = MailLimits()


def corpus(name: str) -> ParsedEmail:
    return parse_email((CORPUS / name).read_bytes())


def assert_well_formed(parsed: ParsedEmail, limits: MailLimits = DEFAULT_LIMITS) -> None:
    """What every caller may rely on, whatever the input was."""
    assert isinstance(parsed, ParsedEmail)
    assert not UNSAFE_TEXT.search(parsed.text)
    assert "\r" not in parsed.text
    assert len(parsed.text) <= limits.max_body_chars
    assert not re.search(r"[\x00-\x1f\x7f]", parsed.subject)
    assert parsed.subject == parsed.subject.strip()
    assert parsed.content_type == parsed.content_type.lower() and "/" in parsed.content_type
    for message_id in (parsed.message_id, *parsed.in_reply_to, *parsed.references):
        if message_id is not None:
            assert re.fullmatch(r"<[^<>\s]+>", message_id) and len(message_id) <= 998
    for address in (parsed.sender, *parsed.reply_to, *parsed.to, *parsed.cc):
        if address is not None:
            assert "@" in address.email and not re.search(r"\s", address.email)
    assert parsed.date is None or parsed.date.tzinfo is not None
    assert len(parsed.attachments) <= limits.max_attachments
    assert sum(len(attachment.data) for attachment in parsed.attachments) <= limits.max_total_attachment_bytes
    for attachment in parsed.attachments:
        assert attachment.filename and len(attachment.filename) <= 120
        assert not UNSAFE_FILENAME.search(attachment.filename)
        assert len(attachment.data) <= limits.max_attachment_bytes
        assert attachment.content_type == attachment.content_type.lower()
    for name, values in parsed.headers.items():
        assert name == name.lower()
        assert all(len(value) <= MAX_HEADER_CHARS for value in values)
    for text in (parsed.text, parsed.subject, *parsed.defects, *(a.filename for a in parsed.attachments)):
        text.encode("utf-8")  # no lone surrogates


def build(*, subject: str | None = "Hello", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Ana Example <ana@example.org>"
    message["To"] = "support@frontdesk.example"
    if subject is not None:
        message["Subject"] = subject
    message["Message-ID"] = "<1@example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def with_header(message: EmailMessage, line: str) -> bytes:
    """The message's bytes with a header line added as written (EmailMessage would re-encode it)."""
    return line.encode("latin-1") + b"\r\n" + message.as_bytes()


# --- every corpus message ----------------------------------------------------------------------------


def test_the_corpus_is_there():
    assert len(CORPUS_FILES) >= 118


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: str(path.relative_to(CORPUS)))
def test_every_corpus_message_parses(path: Path):
    parsed = parse_email(path.read_bytes())
    assert_well_formed(parsed)
    assert not any(defect.startswith("parser failure") for defect in parsed.defects)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: str(path.relative_to(CORPUS)))
def test_corpus_messages_cut_short_or_mangled_never_raise(path: Path):
    raw = path.read_bytes()
    rng = random.Random(path.name)  # noqa: S311 (repeatable test data)
    for cut in {1, 7, len(raw) // 5, len(raw) // 2, len(raw) - 3, rng.randrange(len(raw) + 1)}:
        junk = rng.randbytes(40)
        for variant in (raw[:cut], raw[cut:], raw[:cut] + junk + raw[cut:]):
            parsed = parse_email(variant)
            assert_well_formed(parsed)
            assert not any(defect.startswith("parser failure") for defect in parsed.defects)


def test_random_bytes_never_raise():
    rng = random.Random(20240611)  # noqa: S311 (repeatable test data)
    prefixes = (b"", b"From: a@b.example\r\n", b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n")
    for _ in range(300):
        raw = rng.choice(prefixes) + rng.randbytes(rng.randrange(0, 3000))
        assert_well_formed(parse_email(raw))


@pytest.mark.parametrize("raw", [b"", b"\r\n", b"\x00" * 100, b"\xef\xbb\xbf", b"From:", b":\r\n\r\n", b"--"])
def test_degenerate_input(raw: bytes):
    parsed = parse_email(raw)
    assert_well_formed(parsed)
    assert parsed.sender is None


# --- charsets ------------------------------------------------------------------------------------------


def test_iso_2022_jp_body_and_utf8_encoded_words():
    parsed = corpus("mikel-mail/multi_charset/japanese_iso_2022.eml")
    assert parsed.subject == "まみむめも"
    assert parsed.text == "すみません。"
    assert [address.name for address in parsed.to] == ["みける"]


def test_iso_2022_jp_headers_and_body():
    parsed = corpus("mimekit/messages/japanese.txt")
    assert parsed.subject == "日本語メールテスト (testing Japanese emails)"
    assert "日本語が\n正常に\n送れているか" in parsed.text


def test_shift_jis_8bit_body():
    parsed = corpus("mikel-mail/multi_charset/japanese_shift_jis.eml")
    assert "このメールはテスト用のメールです。" in parsed.text
    assert "今後ともよろしくお願い申し上げます！" in parsed.text


def test_euc_kr_base64_body_and_subject():
    parsed = corpus("mikel-mail/plain_emails/raw_email.eml")
    assert parsed.subject == "NOTE: 한국말로 하는 것"
    assert parsed.text.startswith("대부분의 마찬가지로, 우리는 하나님을 믿습니다.")


def test_ks_c_5601_1987_encoded_words():
    parsed = corpus("webklex-php-imap/ks_c_5601-1987_headers.eml")
    assert parsed.subject == "RE: 회원님께 Ersi님이 메시지를 보냈습니다."
    assert parsed.sender is not None and parsed.sender.name == "김 현진"


def test_gb2312_html_body_in_base64():
    parsed = corpus("spamscope-mail-parser/mail_test_9")
    assert parsed.content_type == "text/html"
    assert parsed.subject.startswith("我把镜头拉近些")
    assert "我把镜头拉近些" in parsed.text
    assert "<" not in parsed.text


def test_utf8_body_labelled_gb2312_is_read_as_utf8():
    parsed = corpus("spamscope-mail-parser/mail_test_12")
    assert parsed.text.startswith("你好！我公司可代开各类增值税发票")
    assert "text not in its declared charset" in parsed.defects


def test_windows_1251_encoded_words():
    parsed = corpus("webklex-php-imap/mixed_filename.eml")
    assert parsed.subject == "Свежий прайс-лист"
    assert parsed.sender is not None and parsed.sender.name == "Прайсы || ПартКом"
    sender = corpus("mikel-mail/plain_emails/raw_email_bad_time.eml").sender
    assert sender is not None and sender.name == "Атиковa"


def test_raw_windows_1252_subject_and_encoded_display_name():
    parsed = corpus("mikel-mail/error_emails/invalid_subject_characters.eml")
    assert parsed.subject == "Formação FrenetikPolis: Mega Campanha Final Verão | Cursos de Setembro"
    assert parsed.sender is not None and parsed.sender.name == "Formação Frenetikpolis"
    assert [address.email for address in parsed.to] == [
        "martin@internet.ao",
        "iris@internet.ao",
        "support@maxnet.ao",
    ]


def test_raw_utf8_headers_rfc6532():
    parsed = corpus("mikel-mail/rfc6532/utf8_headers.eml")
    assert parsed.subject == "Säying Hello"
    assert parsed.sender is not None and (parsed.sender.email, parsed.sender.name) == (
        "jdöe@mächine.example",
        "Jöhn Doe",
    )


def test_quoted_printable_utf8_russian():
    parsed = corpus("flanker/bilingual-simple.eml")
    assert parsed.subject == "Simple text. How are you? Как ты поживаешь?"
    assert parsed.text == "This line is in English\nА эта линия по-русски."


def test_split_encoded_words_with_lower_case_hex():
    parsed = corpus("django-helpdesk/utf-nondecodable.eml")
    assert parsed.subject == "Fwd: Cyklozaměstnavatel - změna vyhodnocení"
    assert "Ahoj Johne," in parsed.text


def test_utf16_and_euc_jp_parts():
    parsed = corpus("stalwart-mail-parser/thirdparty/005.eml")
    assert parsed.text.startswith("Test message\n\nTest message\n\nTest message\n\n『世界人権宣言』")


def test_empty_parts_in_several_charsets():
    parsed = corpus("cpython/msg_08.txt")  # us-ascii, iso-8859-1, iso-8859-2, koi8-r: all empty
    assert parsed.text == ""
    assert parsed.attachments == ()
    assert not any("charset" in defect for defect in parsed.defects)


@pytest.mark.parametrize(
    ("label", "encoding", "text"),
    [
        ("koi8-r", "koi8-r", "Здравствуйте, заказ не пришёл."),
        ("windows-1251", "cp1251", "Здравствуйте, заказ не пришёл."),
        ("iso-8859-2", "iso-8859-2", "Dzień dobry, zamówienie nie dotarło. Příliš žluťoučký kůň."),
        ("iso-8859-15", "iso-8859-15", "Le prix est 10 € (œuvre)."),
        ("iso-2022-jp", "iso2022_jp", "注文が届きません。"),
        ("euc-kr", "euc-kr", "주문이 도착하지 않았습니다."),
        ("big5", "big5", "我的訂單沒有到。"),
        ("shift_jis", "shift_jis", "注文が届きません。"),
        # gb2312 is read as gb18030: 镕 is GBK, not GB 2312, and real "gb2312" mail carries it
        ("gb2312", "gbk", "朱镕基说订单没有到。"),
        ("GBK", "gbk", "朱镕基说订单没有到。"),
        # iso-8859-1 is read as windows-1252, as browsers do: 0x80 is the euro sign there
        ("iso-8859-1", "cp1252", "Café — 10 €"),
    ],
)
def test_body_charsets(label: str, encoding: str, text: str):
    message = build()
    message.set_content(text.encode(encoding), "text", "plain", cte="base64")
    message.set_param("charset", label)
    parsed = parse_email(message.as_bytes())
    assert parsed.text == text
    assert parsed.defects == ()


def test_windows_1251_subject_and_body():
    subject = "Вопрос по заказу №123"
    body = "Добрый день!\nМой заказ не пришёл. Помогите, пожалуйста."
    message = build(subject=None)
    message.set_content(body.encode("cp1251"), "text", "plain", cte="quoted-printable")
    message.set_param("charset", "windows-1251")
    encoded = base64.b64encode(subject.encode("cp1251")).decode()
    parsed = parse_email(with_header(message, f"Subject: =?windows-1251?B?{encoded}?="))
    assert parsed.subject == subject
    assert parsed.text == body


def test_raw_8bit_header_in_the_body_charset():
    message = build(subject=None)
    message.set_content("Текст".encode("cp1251"), "text", "plain", cte="8bit")
    message.set_param("charset", "windows-1251")
    raw = "Subject: Привет\r\n".encode("cp1251") + message.as_bytes()
    assert parse_email(raw).subject == "Привет"


def test_unknown_charset_label_falls_back_to_utf8():
    message = build()
    message.set_content("Grüße, ça va".encode(), "text", "plain", cte="8bit")
    message.set_param("charset", "x-no-such-charset")
    parsed = parse_email(message.as_bytes())
    assert parsed.text == "Grüße, ça va"
    assert "unknown charset" in parsed.defects


def test_wrong_charset_label_is_detected():
    pytest.importorskip("charset_normalizer")
    text = (
        "Добрый день! Я заказал у вас книгу две недели назад, но она до сих пор не пришла. "
        "Пожалуйста, проверьте, где находится моя посылка, и сообщите мне номер отслеживания."
    )
    message = build()
    message.set_content(text.encode("cp1251"), "text", "plain", cte="base64")
    message.set_param("charset", "utf-8")
    parsed = parse_email(message.as_bytes())
    assert parsed.text == text
    assert "text not in its declared charset" in parsed.defects


def test_a_codec_that_is_no_charset_is_refused():
    # Python's "zlib" codec would decompress: a charset label must never pick it.
    message = build()
    message.set_content(b"plain words", "text", "plain", cte="7bit")
    message.set_param("charset", "zlib")
    parsed = parse_email(message.as_bytes())
    assert parsed.text == "plain words"
    assert "unknown charset" in parsed.defects


# --- transfer encodings and bodies ---------------------------------------------------------------------


def test_seven_bit_quoted_printable_and_base64_of_any_case():
    parsed = corpus("cpython/msg_10.txt")
    assert parsed.text == (
        "This is a 7bit encoded message.\n\n¡This is a Quoted Printable encoded message!\n\n"
        "This is a Base64 encoded message.\n\nThis is a Base64 encoded message.\n\n"
        "This has no Content-Transfer-Encoding: header."
    )


def test_html_only_mail_becomes_text():
    parsed = corpus("flanker/long-links.eml")
    assert parsed.content_type == "text/html"
    assert parsed.text.startswith("http://www.longurlmaker.com/view/?id=")
    assert "<" not in parsed.text


def test_html_only_body_without_script_or_style():
    html = (
        "<html><head><style>p { color: red }</style><script>var secret = 'stolen';</script></head>"
        "<body><p>Hello &amp; welcome,</p><script>alert('x')</script><ul><li>one</li><li>two</li></ul>"
        "<p>Bye\x00</p></body></html>"
    )
    message = build()
    message.set_content(html, subtype="html")
    parsed = parse_email(message.as_bytes())
    assert "Hello & welcome," in parsed.text
    assert "* one" in parsed.text and "Bye" in parsed.text
    for hidden in ("secret", "stolen", "alert", "color", "<"):
        assert hidden not in parsed.text


def test_plain_alternative_preferred_and_related_images_kept():
    parsed = corpus("fx-private-relay/inline_image_incoming.email")
    assert parsed.text == "Here is an inline image:\n\n– Your Friend"
    (image,) = parsed.attachments
    assert (image.filename, image.content_type, image.inline) == ("clock-purple.png", "image/png", True)
    assert image.content_id == "0A0AD2F8-6672-45A8-8248-0AC6C7282970"
    assert image.data.startswith(b"\x89PNG")


def test_html_alternative_used_when_the_plain_one_is_empty():
    message = build()
    message.set_content("")
    message.add_alternative("<p>Only <b>here</b></p>", subtype="html")
    assert parse_email(message.as_bytes()).text == "Only here"


def test_inline_text_parts_join_in_order_and_text_attachments_stay_files():
    message = build()
    message.set_content("First part.")
    message.add_attachment("Second part.", disposition="inline")
    message.add_attachment("A log file.", filename="log.txt")
    message.add_attachment("Third part.", disposition="inline")
    parsed = parse_email(message.as_bytes())
    assert parsed.text == "First part.\n\nSecond part.\n\nThird part."
    assert [(a.filename, a.data.strip()) for a in parsed.attachments] == [("log.txt", b"A log file.")]


def test_mixed_html_and_plain_parts():
    parsed = corpus("spamscope-mail-parser/mail_test_14")
    assert parsed.text == "HTML here\n\nPlaintext here."
    assert [(a.content_type, a.inline) for a in parsed.attachments] == [("image/png", True)]


def test_format_flowed_soft_breaks_are_undone():
    message = build()
    message.set_content("Hello \r\nworld, this \r\nflows.\r\n> quoted \r\n> more\r\n-- \r\nAna\r\n")
    message.set_param("format", "flowed")
    parsed = parse_email(message.as_bytes())
    assert parsed.text == "Hello world, this flows.\n> quoted more\n-- \nAna"


def test_format_flowed_delsp():
    message = build()
    message.set_content("日本語の \r\n文章です。\r\n")
    message.set_param("format", "flowed")
    message.set_param("delsp", "yes")
    assert parse_email(message.as_bytes()).text == "日本語の文章です。"


def test_control_characters_and_line_ends_in_the_body():
    message = build()
    message.set_content(b"one\r\ntwo\rthree\x00\x07\x1b[31m\tfour\x7f\x85", "text", "plain", cte="base64")
    message.set_param("charset", "latin-1")
    assert parse_email(message.as_bytes()).text == "one\ntwo\nthree[31m\tfour…"


def test_body_is_capped_without_reading_all_of_it():
    message = build()
    message.set_content("ж" * 200_000)
    parsed = parse_email(message.as_bytes(), MailLimits(max_body_chars=1_000))
    assert parsed.text == "ж" * 1_000
    assert "body text longer than the limit; truncated" in parsed.defects


def test_language_from_content_language():
    assert corpus("mimekit/messages/issue358.txt").language == "it"
    assert corpus("django-helpdesk/all-special-chars.eml").language == "en"
    message = build()
    message.set_content("Hallo")
    message["Content-Language"] = "de-CH, en"
    assert parse_email(message.as_bytes()).language == "de"
    assert corpus("cpython/msg_07.txt").language is None


# --- headers -----------------------------------------------------------------------------------------


def test_subject_header_injection_becomes_one_line():
    message = build(subject=None)
    message.set_content("Hi")
    raw = with_header(message, "Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@example.com=09=01x?=\r\n\tfolded")
    parsed = parse_email(raw)
    assert parsed.subject == "Hello Bcc: victim@example.com x folded"
    assert parsed.to[0].email == "support@frontdesk.example"
    assert "bcc" not in parsed.headers


def test_encoded_subjects():
    assert corpus("mikel-mail/attachment_emails/attachment_with_quoted_filename.eml").subject == (
        "Eelanalüüsi päring"
    )
    assert corpus("mikel-mail/error_emails/bad_encoded_subject.eml").subject == "TEST"
    assert corpus("postal-mime/calendar-event.eml").subject.startswith("Invitation: Test event ⏰ @ Thu")


def test_references_folded_with_junk_between_ids():
    message = build(subject="Re: Order")
    message.set_content("Thanks")
    raw = with_header(
        message,
        "References: <first@example.org> junk, <second@example.org>\r\n"
        " (comment <not an id>) third@example.org\r\n\t<fourth@example.org>,<first@example.org>\r\n"
        f" <{'x' * 1000}@example.org> <with space@example.org>",
    )
    parsed = parse_email(raw)
    assert parsed.references == ("<first@example.org>", "<second@example.org>", "<fourth@example.org>")


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("<abc@host.example>", "<abc@host.example>"),
        ("abc@host.example", "<abc@host.example>"),
        ("  <abc@host.example> (comment)", "<abc@host.example>"),
        ("<a b@host.example>", None),
        ("no id here", None),
        (f"<{'a' * 997}@h>", None),
    ],
)
def test_message_id(message_id: str, expected: str | None):
    message = build()
    del message["Message-ID"]
    message.set_content("Hi")
    assert parse_email(with_header(message, f"Message-ID: {message_id}")).message_id == expected


def test_in_reply_to():
    assert corpus("webklex-php-imap/thread_re_my_topic.eml").in_reply_to == ("<123@example.com>",)
    assert corpus("mikel-mail/error_emails/empty_in_reply_to.eml").in_reply_to == ()
    message = build()
    message.set_content("Hi")
    assert parse_email(with_header(message, "In-Reply-To: bare@host.example")).in_reply_to == (
        "<bare@host.example>",
    )


def test_long_ids_folded_into_encoded_words():
    long_id = f"<{'k' * 60}-{'q' * 20}@email.amazonses.com>"
    message = build(subject="Re: Order", In_Reply_To=long_id, References=long_id)
    message.set_content("Thanks")
    raw = message.as_bytes()  # Python's email package may write these as =?utf-8?q?=3C...?= words
    parsed = parse_email(raw)
    assert parsed.in_reply_to == (long_id,) and parsed.references == (long_id,)


def test_addresses():
    parsed = corpus("webklex-php-imap/1366671050@github.com.eml")
    assert parsed.sender is not None and (parsed.sender.email, parsed.sender.name) == (
        "notifications@github.com",
        "Username",
    )
    assert [a.email for a in parsed.reply_to] == ["reply+aibuo5jooM2quaizuoyae0jeuk9queth@reply.github.com"]
    assert [a.email for a in parsed.cc] == ["subscribed@noreply.github.com"]
    assert corpus("webklex-php-imap/undisclosed_recipients_minus.eml").to == ()
    assert corpus("webklex-php-imap/missing_from.eml").sender is None
    # the unquoted comma in the display name makes Python read two mailboxes; one has no '@'
    norton = corpus("fx-private-relay/emperor_norton_incoming.email").sender
    assert norton is not None and norton.email == "norton@sf.us.example.com"
    nested = corpus("fx-private-relay/nested_brackets_service_incoming.email").sender
    assert nested is not None and nested.email == "hello@theservice.example.com"


def test_a_display_name_that_looks_like_an_address_is_not_the_sender():
    parsed = corpus("mimekit/messages/issue358.txt")  # From: jang.abcdef@xyzlinu <jang.abcdef@xyz...it>
    assert parsed.sender is not None and parsed.sender.email == "jang.abcdef@xyzlinux12345678.it"
    message = build()
    del message["From"]
    message.set_content("Pay this invoice")
    parsed = parse_email(with_header(message, "From: ceo@bank.example <me@evil.example>"))
    assert parsed.sender is not None and parsed.sender.email == "me@evil.example"


@pytest.mark.parametrize(
    ("from_header", "sender"),
    [
        ("ceo@bank.example (CEO) <me@evil.example>", "me@evil.example"),  # a comment in between
        ("ceo@bank.example <me@evil.example>, other@x.example", "me@evil.example"),  # stays first
        ("ceo@bank.example <mailto:me@evil.example>", None),  # no address in the brackets
        ("ceo@bank.example <@route.example:me@evil.example>", None),
    ],
)
def test_no_display_name_passes_for_the_sender(from_header: str, sender: str | None):
    message = build()
    del message["From"]
    message.set_content("Pay this invoice")
    parsed = parse_email(with_header(message, f"From: {from_header}"))
    assert (parsed.sender.email if parsed.sender else None) == sender


def test_an_address_made_of_an_encoded_word_is_refused():
    message = build()
    del message["From"]
    message.set_content("Hi")
    raw = with_header(message, "From: =?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?=")  # ceo@bank.example
    assert parse_email(raw).sender is None


def test_dates():
    assert corpus("cpython/msg_07.txt").date == datetime.fromisoformat("2001-04-20T19:35:02-04:00")
    assert corpus("mikel-mail/error_emails/bad_date_header2.eml").date is None  # "59:10"
    message = build(Date="Tue, 11 Jun 2024 10:00:00 -0000")
    message.set_content("Hi")
    assert parse_email(message.as_bytes()).date == datetime(2024, 6, 11, 10, tzinfo=UTC)


def test_headers_are_decoded_lower_case_and_capped():
    message = build()
    message.set_content("Hi")
    lines = [f"X-Filler-{index}: {'v' * 10}" for index in range(300)]
    raw = with_header(message, "\r\n".join([*lines, f"X-Long: {'y' * 5000}", "Auto-Submitted: auto-replied"]))
    parsed = parse_email(raw)
    assert sum(len(values) for values in parsed.headers.values()) <= 2 * MAX_HEADERS
    assert parsed.headers["x-filler-0"] == ("v" * 10,)
    assert "x-long" not in parsed.headers and "x-filler-299" not in parsed.headers
    # past the cap, the headers the loop rules read are still kept
    assert parsed.headers["auto-submitted"] == ("auto-replied",)
    assert parsed.header("subject") is None and parsed.subject == "Hello"  # the fields are read anyway
    assert any("more than 200 headers" in defect for defect in parsed.defects)
    long_value = parse_email(with_header(message, f"X-Long: {'y' * 5000}")).headers["x-long"][0]
    assert long_value == "y" * MAX_HEADER_CHARS


def test_loop_headers_are_there_for_the_rules():
    parsed = corpus("sisimai-set-of-emails/rfc3834-01.eml")
    assert parsed.header("Auto-Submitted") == "auto-replied"
    assert corpus("stalwart-mail-parser/thirdparty/014.eml").header("list-id") is not None


# --- attachments ---------------------------------------------------------------------------------------


def test_rfc2231_filenames_long_and_non_ascii():
    names = [
        attachment.filename
        for attachment in corpus("webklex-php-imap/attachment_long_filename.eml").attachments
    ]
    assert len(names) == 3
    assert names[0].startswith("Buchungsbestätigung- Rechnung-Geschäftsbedingungen") and names[0].endswith(
        ".pdf"
    )
    assert names[1].startswith("01_A€àä????@Z-0123456789") and names[1].endswith(".txt")
    assert names[2].startswith("02_A€àäąбيد@Z-0123456789") and names[2].endswith(".txt")
    assert all(len(name) <= 120 for name in names)


def test_encoded_word_filenames():
    (pdf,) = corpus("mikel-mail/attachment_emails/attachment_with_base64_encoded_name.eml").attachments
    assert (pdf.filename, pdf.content_type) == ("This is a test.pdf", "application/pdf")
    (jpeg,) = corpus("mikel-mail/attachment_emails/attachment_with_quoted_filename.eml").attachments
    assert jpeg.filename == "Eelanalüüsi päring.jpg"
    (text,) = corpus("mikel-mail/attachment_emails/attachment_nonascii_filename.eml").attachments
    assert text.filename == "ciële.txt"


def test_path_traversal_in_corpus_filenames():
    names = [attachment.filename for attachment in corpus("webklex-php-imap/issue-414.eml").attachments]
    assert names == ["MyFile.txt", "foo"]  # "../../example/MyFile.txt" and "php://foo"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("report\x00\x1f.pdf", "report.pdf"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),
        ("..", "attachment-1.pdf"),
        ("", "attachment-1.pdf"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_safe_filenames(filename: str, expected: str):
    message = build()
    message.set_content("See attached")
    message.add_attachment(b"%PDF-1.4", "application", "pdf", filename=filename or None)
    (attachment,) = parse_email(message.as_bytes()).attachments
    assert attachment.filename == expected


def test_inline_images_with_content_id_in_html_mail():
    parsed = corpus("mikel-mail/attachment_emails/attachment_message_rfc822_inline_image.eml")
    image, nested = parsed.attachments
    assert (image.filename, image.inline, image.content_id) == (
        "img.png",
        True,
        "emedfeb92f-a786-4718-a446-98db8afb53fb@kronos",
    )
    assert (nested.filename, nested.content_type, nested.inline) == (
        "Another PDF.eml",
        "message/rfc822",
        False,
    )


def test_attachment_only_mail():
    parsed = corpus("mikel-mail/attachment_emails/attachment_only_email.eml")
    assert parsed.text == ""
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("blah.gz", "application/x-gzip")]


def test_a_binary_non_mime_file_is_kept_as_a_file():
    parsed = corpus("spamscope-mail-parser/mail_outlook_1")  # an Outlook .msg, not MIME
    assert parsed.text == ""
    (attachment,) = parsed.attachments
    assert attachment.data.startswith(b"\xd0\xcf\x11\xe0")


def test_too_many_attachments():
    message = build()
    message.set_content("Files")
    for index in range(4):
        message.add_attachment(b"x" * (100 + index), "application", "octet-stream", filename=f"f{index}.bin")
    parsed = parse_email(message.as_bytes(), MailLimits(max_attachments=2))
    assert [a.filename for a in parsed.attachments] == ["f0.bin", "f1.bin"]
    assert [(s.filename, s.size, s.reason) for s in parsed.skipped_attachments] == [
        ("f2.bin", 102, "too_many"),
        ("f3.bin", 103, "too_many"),
    ]


def test_a_too_large_attachment_is_skipped_without_being_decoded(monkeypatch: pytest.MonkeyPatch):
    decoded: list[int] = []
    get_payload: Any = email.message.Message.get_payload

    def spy(self: Any, i: int | None = None, decode: bool = False) -> Any:
        if decode and isinstance(self._payload, str):
            decoded.append(len(self._payload))
        return get_payload(self, i, decode)

    monkeypatch.setattr(email.message.Message, "get_payload", spy)
    message = build()
    message.set_content("Files")
    message.add_attachment(b"s" * 500, "application", "pdf", filename="small.pdf")
    message.add_attachment(bytes(range(256)) * 100, "application", "pdf", filename="big.pdf")
    parsed = parse_email(message.as_bytes(), MailLimits(max_attachment_bytes=10_000))
    assert [a.filename for a in parsed.attachments] == ["small.pdf"]
    assert [(s.filename, s.content_type, s.size, s.reason) for s in parsed.skipped_attachments] == [
        ("big.pdf", "application/pdf", 25_600, "too_large")
    ]
    assert decoded and max(decoded) < 10_000  # the big part's 34,000 base64 characters never decoded


def test_attachments_over_the_total_limit():
    message = build()
    message.set_content("Files")
    for index in range(3):
        message.add_attachment(b"z" * 2_500, "image", "png", filename=f"{index}.png")
    parsed = parse_email(message.as_bytes(), MailLimits(max_total_attachment_bytes=6_000))
    assert [a.filename for a in parsed.attachments] == ["0.png", "1.png"]
    assert [(s.filename, s.size, s.reason) for s in parsed.skipped_attachments] == [
        ("2.png", 2_500, "total_too_large")
    ]


# --- nested messages and reports -----------------------------------------------------------------------


def test_forwarded_message_is_a_file_and_its_text_the_body_when_there_is_none():
    parsed = corpus("cpython/msg_46.txt")  # the whole mail is message/rfc822
    assert parsed.content_type == "message/rfc822"
    assert parsed.text == "Testing email forwarding with Groupwise 1.2.2010"
    (forwarded,) = parsed.attachments
    assert (forwarded.filename, forwarded.content_type) == ("GroupwiseForwardingTest.eml", "message/rfc822")
    inner = parse_email(forwarded.data)
    assert inner.subject == "GroupwiseForwardingTest"
    assert inner.sender is not None and inner.sender.email == "sender@example.net"


def test_forward_with_its_own_text_keeps_it():
    parsed = corpus("webklex-php-imap/four_nested_emails.eml")
    assert parsed.text == "3-third-content"
    assert [a.filename for a in parsed.attachments] == ["2-second-subject.eml"]
    inner = parse_email(parsed.attachments[0].data)
    assert [a.filename for a in inner.attachments] == ["1-first-subject.eml"]


def test_several_forwarded_messages():
    parsed = corpus("stalwart-mail-parser/thirdparty/015.eml")
    assert parsed.text.startswith("Hallo Stoiko,")
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"] * 3
    assert all(a.filename.endswith(".eml") for a in parsed.attachments)


def test_built_forward_without_a_subject():
    inner = build(subject=None)
    inner.set_content("The original text")
    outer = build(subject="Fwd")
    outer.set_content("")
    outer.add_attachment(inner)
    parsed = parse_email(outer.as_bytes())
    assert parsed.text == "The original text"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("forwarded.eml", "message/rfc822")]


def test_multipart_report_text_first_and_data_as_files():
    parsed = corpus("cpython/msg_05.txt")
    assert parsed.content_type == "multipart/report"
    assert parsed.text == "Yadda yadda yadda"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("attachment-1.txt", "text/plain"),
        ("forwarded.eml", "message/rfc822"),
    ]


def test_bounce_with_delivery_status_and_headers():
    parsed = corpus("flanker/bounce/mailbox-full.eml")
    assert parsed.text.startswith("*** ATTENTION ***")
    assert [a.content_type for a in parsed.attachments] == ["message/delivery-status", "text/rfc822-headers"]
    assert all(a.filename.endswith(".txt") for a in parsed.attachments)
    status = corpus("cpython/msg_16.txt").attachments[0]
    assert status.content_type == "message/delivery-status" and b"Action: failed" in status.data


def test_bounce_with_the_returned_message():
    parsed = corpus("sisimai-set-of-emails/lhost-amazonses-01.eml")
    assert parsed.text.startswith("The following message to <shironeko@example.co.jp> was undeliverable.")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("attachment-1.txt", "message/delivery-status"),
        ("TEST.eml", "message/rfc822"),
    ]


def test_digest_parts_are_messages():
    parsed = corpus("cpython/msg_02.txt")
    assert parsed.text.startswith("Send Ppp mailing list submissions to")
    assert len(parsed.attachments) == 5
    assert {a.content_type for a in parsed.attachments} == {"message/rfc822"}


# --- broken structure ----------------------------------------------------------------------------------


def test_missing_final_boundary():
    parsed = corpus("flanker/missing-final-boundary.eml")
    assert parsed.text == "Some body"
    assert "close boundary not found" in parsed.defects


def test_declared_boundary_never_used():
    parsed = corpus("spamscope-mail-parser/mail_malformed_3")
    assert "CLICK AQUI" in parsed.text
    assert "multipart boundary not found; read with the delimiter it uses" in parsed.defects


def test_boundary_on_a_continuation_line_without_semicolon():
    parsed = corpus("stalwart-mail-parser/malformed/017.eml")
    assert parsed.content_type == "multipart/mixed"
    (image,) = parsed.attachments
    assert (image.filename, image.data) == ("image001.png", b"hello world\n")


def test_non_standard_report_part_type():
    parsed = corpus("spamscope-mail-parser/mail_malformed_2")
    assert parsed.text.startswith("Your message has encountered delivery problems")
    assert [a.content_type for a in parsed.attachments] == [
        "message/delivery-status",
        "message/rfc822-headers",
    ]


def test_fuzz_mangled_header_block():
    parsed = corpus("stalwart-mail-parser/malformed/019.eml")  # starts with "Fro :"
    assert parsed.subject == "Sprint 3 multipart fixture"
    assert parsed.message_id == "<multi-001@example.test>"
    assert "space between a header name and its colon" in parsed.defects


def test_nested_message_that_is_no_message():
    parsed = corpus("stalwart-mail-parser/malformed/022.eml")
    assert parsed.text == "hello"
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [("forwarded.eml", "message/rfc822")]


def test_broken_header_folding_keeps_the_headers_after_it():
    parsed = corpus("mimekit/messages/issue358.txt")
    assert parsed.subject == "R: R: R: I: FR-selca LA selcaE"
    assert parsed.content_type == "multipart/alternative"
    assert parsed.text == "Test headers"
    stray = corpus("mikel-mail/plain_emails/raw_email_incorrect_header.eml")  # "quite Delivered-To: ..."
    assert stray.subject == "Stop adware/spyware once and for all."
    assert stray.sender is not None and stray.sender.email == "xxx@xxx.xxx"


def test_byte_order_mark_before_the_headers():
    parsed = corpus("mimekit/messages/feedback-report.txt")
    assert parsed.sender is not None and parsed.sender.email == "abusedesk@example.com"
    assert parsed.content_type == "multipart/report"


def test_headers_straight_into_the_body():
    parsed = corpus("cpython/msg_35.txt")
    assert parsed.subject == "here's something interesting"
    assert parsed.text == "counter to RFC 2822, there's no separating newline here"


# Found by tests/property/test_mail_properties.py: each of these lost the mail or a minute of time.


def test_a_carriage_return_alone_in_a_header_keeps_the_headers_after_it():
    raw = b"Message-ID: <\r@example.org>\r\nFrom: ana@example.org\r\nSubject: Hello\r\n\r\nBody\r\n"

    parsed = parse_email(raw)

    assert parsed.sender is not None and parsed.sender.email == "ana@example.org"
    assert (parsed.subject, parsed.text) == ("Hello", "Body")
    assert "carriage return without a line feed in the headers; made a space" in parsed.defects


def test_mail_whose_lines_end_in_a_carriage_return_alone_is_still_read():
    parsed = parse_email(b"From: ana@example.org\rSubject: Hello\r\rBody\n")

    assert parsed.sender is not None and (parsed.subject, parsed.text) == ("Hello", "Body")


def test_message_ids_are_limited_in_octets_as_table_keys_are():
    emoji_id = "<" + "\U0001f600" * 600 + "@example.org>"  # 614 characters, 2.4 KB
    raw = f"From: ana@example.org\r\nMessage-ID: {emoji_id}\r\nIn-Reply-To: {emoji_id}\r\n\r\nHi\r\n"

    parsed = parse_email(raw.encode())

    assert (parsed.message_id, parsed.in_reply_to) == (None, ())
    longest = "<" + "a" * 984 + "@example.org>"  # 998 octets
    raw = f"From: ana@example.org\r\nMessage-ID: {longest}\r\n\r\nHi\r\n"
    assert parse_email(raw.encode()).message_id == longest


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"From: " + b"(a)" * 21_000 + b" <ana@example.org>", id="from-of-comments"),
        pytest.param(b"To: " + b'"a"@b,' * 11_000, id="to-of-quoted-addresses"),
        pytest.param(b"Content-Type: text/plain; " + b";" * 64_000, id="content-type"),
        pytest.param(b"Content-Disposition: inline; " + b"(a)" * 21_000, id="content-disposition"),
    ],
)
def test_a_long_structured_header_reaches_the_stdlib_parser_cut_short(header: bytes):
    # The stdlib's parser takes time growing with the square of the length: these took minutes.
    with structured_header_lengths() as lengths:
        parsed = parse_email(header + b"\r\nFrom: ana@example.org\r\n\r\nBody\r\n")
    assert max(lengths) <= MAX_STRUCTURED_HEADER_CHARS
    assert_well_formed(parsed)
    assert parsed.text == "Body"


@contextmanager
def structured_header_lengths() -> Iterator[list[int]]:
    """The length of every structured value (addresses, Content-Type...) the stdlib's header
    parser is given while the block runs: a count, where a time limit would depend on the machine."""
    lengths: list[int] = []
    parse_header = HeaderRegistry.__call__

    def recording(registry: HeaderRegistry, name: str, value: str) -> BaseHeader:
        if not issubclass(registry[name], UnstructuredHeader):
            lengths.append(len(value))
        return parse_header(registry, name, value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HeaderRegistry, "__call__", recording)
        yield lengths


def test_a_long_display_name_still_gives_the_sender():
    parsed = parse_email(b"From: " + b"9" * 4_000 + b" <ana@example.org>\r\n\r\nBody\r\n")

    assert parsed.sender == MailAddress(email="ana@example.org", name="")
    assert "from header too long to parse; only its <addresses> read" in parsed.defects


def nested_multiparts(depth: int, text: str = "deepest text") -> bytes:
    part = EmailMessage()
    part.set_content(text)
    for _ in range(depth):
        container = EmailMessage()
        container["Content-Type"] = "multipart/mixed"
        container.attach(part)
        part = container
    part["From"] = "ana@example.org"
    part["Subject"] = "Deep"
    return part.as_bytes()


def test_nesting_within_the_limit_is_read():
    assert parse_email(nested_multiparts(8)).text == "deepest text"


def test_nesting_beyond_the_limit_is_not_read():
    parsed = parse_email(nested_multiparts(15))
    assert parsed.subject == "Deep"
    assert parsed.text == ""
    assert any("nested deeper than the limit" in defect for defect in parsed.defects)
    assert parse_email(nested_multiparts(5), MailLimits(max_depth=3)).text == ""


def test_absurd_nesting_stops_at_the_limit():
    lines = b"".join(
        b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(2_000)
    )
    raw = (
        b"From: ana@example.org\r\nSubject: Deep\r\n"
        + lines
        + b"Content-Type: text/plain\r\n\r\n"
        + b"x\r\n" * 50_000
    )
    # The stdlib alone takes minutes here (every line against every boundary); the parser stops
    # looking for boundaries past the depth limit. Its speed is bench/'s to measure, not a test's.
    parsed = parse_email(raw)
    assert parsed.subject == "Deep"
    assert "multiparts nested deeper than the limit; not read" in parsed.defects


def test_boundaries_quoted_in_a_body_are_left_alone():
    quoted = b"".join(b'> Content-Type: multipart/mixed; boundary="q%d"\r\n' % i for i in range(15))
    raw = (
        b"From: ana@example.org\r\nSubject: MIME question\r\n"
        b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n"
        b"--outer\r\nContent-Type: text/plain\r\n\r\nWhy does this fail:\r\n" + quoted + b"\r\n"
        b"--outer\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
        b"--alt\r\nContent-Type: text/plain\r\n\r\nSecond part\r\n--alt--\r\n--outer--\r\n"
    )
    parsed = parse_email(raw)
    assert '> Content-Type: multipart/mixed; boundary="q14"' in parsed.text
    assert parsed.text.endswith("Second part")
    assert parsed.defects == ()


def test_messages_nested_too_deep_for_the_parser():
    raw = b"hello\r\n"
    for level in range(1_500):
        raw = (
            b"From: ana@example.org\r\nSubject: level %d\r\nContent-Type: message/rfc822\r\n\r\n" % level
            + raw
        )
    parsed = parse_email(raw)
    assert parsed.subject == "level 1499"
    assert "messages nested too deep; nested messages kept as data" in parsed.defects
