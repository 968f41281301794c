"""The email parser and the mail intake under hostile input.

parse_email documents that it never raises: broken mail gives a ParsedEmail with `defects`. The
properties hold it to more: its last line of defence ("parser failure", which loses the sender and
the text) is never reached, and what it returns keeps every promise of ParsedEmail. The intake
turns any mail into a ticket, a reply, or a logged rejection, never an exception (SES would retry
it for hours, then drop it on the failure destination). Mail is random bytes, and real mail from
tests/corpus/email damaged the ways real mail is damaged."""

from __future__ import annotations

import re
import unicodedata
from email.message import EmailMessage
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from frontdesk.mail.intake import MailOutcome, receive_mail
from frontdesk.mail.message import MailLimits, ParsedEmail
from frontdesk.mail.parse import MAX_STRUCTURED_HEADER_CHARS, parse_email
from frontdesk.mail.receipt import MailReceipt, Verdict
from functions.inbound_email import app
from tests.property.conftest import CORPUS, NOW, Desk
from tests.property.strategies import any_char, hostile_text, json_values, short_text, texts
from tests.unit.test_mail_parse import assert_well_formed, structured_header_lengths

EMAIL = CORPUS / "email"
MAIL = sorted(str(path.relative_to(EMAIL)) for path in EMAIL.rglob("*") if path.is_file())
SUPPORT = "support@example.com"  # the local configuration's sender address, a mailbox
CUSTOMER = "customer@example.org"
SEED_MESSAGE_ID = "<seed-1@mail.example.org>"
_HEADER_LINE = re.compile(rb"(?m)^[A-Za-z][A-Za-z0-9-]*:[^\r\n]*\r?\n")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp", "Cs"})
SMALL_LIMITS = MailLimits(max_attachments=3, max_attachment_bytes=2_000, max_total_attachment_bytes=4_000)


# -- damaging mail the ways mail gets damaged ------------------------------------------------------

ugly_bytes = st.binary(max_size=200) | st.sampled_from(
    [
        b"\xff\xfe\xc0\xaf",
        b"\r\n\r\n",
        b"\r",
        b"\n.\r\n",
        b"\x00",
        b"=?",
        b"?=",
        b"--",
        b"\r\n--",
        b"=\r\n",
        b"\t",
    ]
)
garbage_charsets = st.sampled_from(
    ["", "x-unknown", "utf-7", "utf-16", "utf-32", "unicode-escape", "idna", "rot13", "zlib", "base64"]
) | texts(any_char, max_size=12)
encoded_words = st.builds(
    "=?{}?{}?{}?=".format,
    garbage_charsets,
    st.sampled_from(["B", "Q", "b", "q", "X", ""]),
    st.sampled_from(["////", "=FF=FE=C0", "QQ", "", "===", "_=0D=0A_Bcc:_x@example.com"]) | short_text,
)
header_names = st.sampled_from(
    [
        "Subject",
        "From",
        "To",
        "Cc",
        "Reply-To",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Date",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Content-Language",
        "MIME-Version",
        "Auto-Submitted",
        "Precedence",
        "List-Id",
        "Return-Path",
    ]
)
header_values = st.one_of(
    hostile_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
    encoded_words.map(lambda text: text.encode("utf-8", "surrogatepass")),
    ugly_bytes,
    st.sampled_from(
        [
            b"multipart/mixed; boundary=",
            b'multipart/alternative; boundary="unclosed',
            b"message/rfc822",
            b"text/plain; charset=utf-8; format=flowed; delsp=yes",
            b"text/html; charset=",
            b"base64",
            b"quoted-printable",
            b"attachment; filename*=utf-8''%FF%FE%2F..%2F",
            b'"=?utf-8?b?QWRtaW4=?=" <admin@example.com>',
            b"Mon, 31 Dec 9999 23:59:59 -2359",
            b"Thu, 01 Jan 0001 00:00:00 +2359",
        ]
    ),
)

# What threading reads: In-Reply-To, References and Message-ID, as ids of any length and script.
# Lengths around the 998-character limit of a Message-ID, in characters of 1 to 4 bytes.
message_ids = st.one_of(
    st.builds(
        lambda char, count: b"<" + char.encode("utf-8", "surrogatepass") * count + b"@example.org>",
        st.sampled_from(["a", "\u00e9", "\u20ac", "\U0001f600", "\u202e", "\x00", " "]) | any_char,
        st.sampled_from([1, 300, 700, 984, 1_200]),
    ),
    st.sampled_from([b"", b"<>", b"<@>", b"no-brackets@example.org", b"<a@b> " * 500, b"<a@b" * 300]),
)
# The same, but each one a header line: a raw line break inside would end the header block there
# (and leave the mail without its From), which is another test's subject.
one_line_message_ids = message_ids.filter(lambda value: b"\r" not in value and b"\n" not in value)


def _header_block_end(raw: bytes) -> int:
    found = re.search(rb"\r?\n\r?\n", raw)
    return found.start() if found else len(raw)


@st.composite
def damaged(draw: st.DrawFn, raw: bytes) -> bytes:
    """`raw` after a few of the things that happen to mail on its way."""
    for _ in range(draw(st.integers(1, 3))):
        action = draw(
            st.sampled_from(
                [
                    "splice",
                    "truncate",
                    "add-header",
                    "duplicate-header",
                    "charset",
                    "boundary",
                    "nest",
                    "encoding",
                    "long-header",
                    "bare-lines",
                    "ids",
                    "ids",
                ]
            )
        )
        at = draw(st.integers(0, len(raw)))
        head = _header_block_end(raw)
        if action == "splice":
            raw = raw[:at] + draw(ugly_bytes) + raw[at:]
        elif action == "truncate":
            raw = raw[:at] if draw(st.booleans()) else raw[at:]
        elif action == "add-header":
            name = draw(header_names).encode()
            raw = name + b": " + draw(header_values) + b"\r\n" + raw
        elif action == "duplicate-header" and (lines := _HEADER_LINE.findall(raw[:head])):
            line = draw(st.sampled_from(lines))
            raw = raw[:head] + b"\r\n" + line.rstrip(b"\r\n") + raw[head:]
        elif action == "charset":
            charset = b"charset=" + draw(garbage_charsets).encode("utf-8", "surrogatepass")
            raw = re.sub(
                rb"(?i)charset=\"?[^\s;\"]*\"?",
                charset.replace(b"\\", b"\\\\"),  # literally: no group references
                raw,
                count=draw(st.integers(0, 3)),
            )
        elif action == "boundary" and (boundaries := re.findall(rb'boundary="?([^\s";]+)', raw)):
            boundary = draw(st.sampled_from(boundaries))
            replacement = draw(st.sampled_from([b"", b"x", boundary + b"--", boundary[:-1], b"\xff\xfe"]))
            raw = raw.replace(b"--" + boundary, b"--" + replacement, draw(st.integers(1, 3)))
        elif action == "nest":
            raw = nested(
                raw, draw(st.integers(1, 150)), draw(st.sampled_from([b"multipart/mixed", b"message/rfc822"]))
            )
        elif action == "encoding":
            encoding = draw(
                st.sampled_from([b"base64", b"quoted-printable", b"x-uuencode", b"8bit", b"\xff"])
            )
            raw = (
                b"Content-Transfer-Encoding: " + encoding + b"\r\n" + raw[:at] + b"=ZZ==\r\n=\r\n" + raw[at:]
            )
        elif action == "long-header":
            name = draw(header_names).encode()
            raw = name + b": " + b"a" * draw(st.sampled_from([998, 10_000, 300_000])) + b"\r\n" + raw
        elif action == "ids":
            name = draw(st.sampled_from([b"Message-ID", b"In-Reply-To", b"References"]))
            raw = name + b": " + draw(message_ids) + b"\r\n" + raw
        else:  # lines that end the header block early, or carry no name
            raw = (
                raw[:at]
                + draw(st.sampled_from([b"\r\n \r\n", b"\nno colon here\n", b"Subject :x\r\n"]))
                + raw[at:]
            )
    return raw


def nested(inner: bytes, depth: int, kind: bytes) -> bytes:
    """`inner` wrapped `depth` times in multiparts (or forwarded messages)."""
    for level in range(depth):
        if kind == b"message/rfc822":
            inner = b"Content-Type: message/rfc822\r\n\r\n" + inner
        else:
            boundary = b"b%d" % level
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
    return b"From: " + CUSTOMER.encode() + b"\r\nMIME-Version: 1.0\r\n" + inner


corpus_mail = st.sampled_from(MAIL).map(lambda name: (EMAIL / name).read_bytes())
mail = st.one_of(corpus_mail.flatmap(damaged), corpus_mail.flatmap(damaged), st.binary(max_size=3_000))
damaged_mail = corpus_mail.flatmap(damaged)


def seed_mail() -> bytes:
    message = EmailMessage()
    message["From"] = f"Ana Souza <{CUSTOMER}>"
    message["To"] = SUPPORT
    message["Subject"] = "My printer is on fire"
    message["Message-ID"] = SEED_MESSAGE_ID
    message.set_content("Hello,\nmy printer is on fire.\nAna")
    return message.as_bytes()


# -- what every parse and every intake must give -------------------------------------------------


DEFAULT_LIMITS = MailLimits()


def assert_parsed(parsed: ParsedEmail, limits: MailLimits = DEFAULT_LIMITS) -> None:
    assert_well_formed(parsed, limits)
    failures = [defect for defect in parsed.defects if defect.startswith("parser failure")]
    assert not failures, failures  # the last line of defence: everything was lost


def single_line(value: str | None) -> bool:
    return not any(unicodedata.category(char) in _LINE_BREAKING for char in value or "")


def receipt(recipients: tuple[str, ...], verdict: Verdict, sender: str) -> MailReceipt:
    return MailReceipt(
        ses_message_id="0123456789abcdef0123456789abcdef-property",
        envelope_sender=sender,
        recipients=recipients,
        received_at=NOW,
        spam=verdict,
        virus=Verdict.PASS,
        spf=verdict,
        dkim=verdict,
        dmarc=verdict,
    )


# -- the properties ----------------------------------------------------------------------------------


@given(raw=st.binary(max_size=5_000))
def test_any_bytes_parse_to_a_well_formed_email(raw: bytes) -> None:
    assert_parsed(parse_email(raw))


@given(raw=mail, small_limits=st.booleans())
def test_damaged_real_mail_parses_to_a_well_formed_email(raw: bytes, small_limits: bool) -> None:
    limits = SMALL_LIMITS if small_limits else MailLimits()
    parsed = parse_email(raw, limits)
    event(f"defects {bool(parsed.defects)}, sender {parsed.sender is not None}")
    assert_parsed(parsed, limits)


@given(
    name=header_names | st.sampled_from(["X-Anything", "Resent-From", "Sender"]),
    unit=texts(st.sampled_from('(),;:<>@"\\=?. a\t') | any_char, min_size=1, max_size=4),
    size=st.sampled_from([1_000, 16_000, 64_000, 300_000]),
    nested=st.booleans(),
)
def test_a_long_header_of_any_text_is_parsed_in_good_time(
    name: str, unit: str, size: int, nested: bool
) -> None:
    """The stdlib's header parser takes time that grows with the square of a structured header's
    length: one header must not take the function's minute (and its retries' minutes). What it is
    given is counted, not timed."""
    value = (unit * (size // len(unit) + 1))[:size].encode("utf-8", "surrogatepass")
    header = name.encode() + b": " + value + b"\r\n"
    if nested:  # in a part, where the parser reads Content-Type and Content-Disposition itself
        raw = (
            b"From: " + CUSTOMER.encode() + b"\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
            b"--x\r\n" + header + b"\r\nsome text\r\n--x--\r\n"
        )
    else:
        raw = header + b"From: " + CUSTOMER.encode() + b"\r\n\r\nsome text\r\n"
    with structured_header_lengths() as lengths:
        parsed = parse_email(raw)
    assert_parsed(parsed)
    assert max(lengths, default=0) <= MAX_STRUCTURED_HEADER_CHARS


@given(
    raw=damaged_mail,
    reply=st.booleans(),
    recipients=st.sampled_from(
        [(SUPPORT,), ("Support+tag@Example.COM",), ("nobody",), (SUPPORT, "other@example.net")]
    ),
    verdict=st.sampled_from(list(Verdict)),
    sender=st.sampled_from([CUSTOMER, "", "MAILER-DAEMON@example.net"]),
)
def test_any_mail_becomes_a_ticket_a_reply_or_a_logged_rejection(
    desk: Desk, raw: bytes, reply: bool, recipients: tuple[str, ...], verdict: Verdict, sender: str
) -> None:
    store = desk.fresh()
    settings = desk.settings
    seeded = receive_mail(
        receipt((SUPPORT,), Verdict.PASS, CUSTOMER).model_copy(update={"ses_message_id": "seed"}),
        seed_mail(),
        store=store,
        bucket=desk.bucket,
        settings=settings,
        now=NOW,
    )
    assert seeded.outcome is MailOutcome.CREATED
    if reply:  # a reply to the seeded ticket, as far as the damage left its headers
        raw = f"In-Reply-To: {SEED_MESSAGE_ID}\r\nFrom: {CUSTOMER}\r\n".encode() + raw

    result = receive_mail(
        receipt(recipients, verdict, sender), raw, store=store, bucket=desk.bucket, settings=settings, now=NOW
    )

    event(f"{result.outcome.value}")
    assert result.outcome in set(MailOutcome)
    tickets = len(store.tickets)
    if result.outcome is MailOutcome.CREATED:
        assert tickets == 2 and result.reference in store.tickets
    elif result.outcome is MailOutcome.APPENDED:
        assert tickets == 1 and len(store.messages[seeded.reference or ""]) == 2
    else:
        assert tickets == 1 and store.message_count == 1, result
    for ticket in store.tickets.values():
        assert ticket.subject and single_line(ticket.subject)
        assert single_line(ticket.requester.name) and single_line(ticket.requester.email)


@given(
    headers=st.lists(
        st.tuples(st.sampled_from([b"Message-ID", b"In-Reply-To", b"References"]), one_line_message_ids),
        max_size=3,
    ),
    subject=hostile_text,
    # Past the 2 KB the header parser is given (parse.py reads only the <address> then), short of
    # the 64 KB after which a From is not read at all.
    name=hostile_text.map(lambda name: name[:8_000]),
)
def test_any_threading_headers_on_a_plain_mail_become_a_ticket_or_a_reply(
    desk: Desk, headers: list[tuple[bytes, bytes]], subject: str, name: str
) -> None:
    """What threading looks up and stores (Message-IDs) comes from the sender: ids of any length
    and script must neither fail the lookup nor the write."""
    store = desk.fresh()
    first = receive_mail(
        receipt((SUPPORT,), Verdict.PASS, CUSTOMER).model_copy(update={"ses_message_id": "seed"}),
        seed_mail(),
        store=store,
        bucket=desk.bucket,
        settings=desk.settings,
        now=NOW,
    )
    # As bytes: the display name (quoted, as a client writes it) and subject go in raw (RFC 6532),
    # their line breaks made spaces.
    quoted = '"' + re.sub(r"[\r\n]", " ", name).replace("\\", "\\\\").replace('"', '\\"') + '"'
    shown = quoted.encode("utf-8", "surrogatepass")
    about = re.sub(r"[\r\n]", " ", subject).encode("utf-8", "surrogatepass")
    raw = b"".join(header + b": " + value + b"\r\n" for header, value in headers) + (
        b"From: " + shown + b" <" + CUSTOMER.encode() + b">\r\nTo: " + SUPPORT.encode() + b"\r\n"
        b"Subject: " + about + b"\r\n\r\nOrder 1234 has still not arrived.\r\n"
    )
    result = receive_mail(
        receipt((SUPPORT,), Verdict.PASS, CUSTOMER),
        raw,
        store=store,
        bucket=desk.bucket,
        settings=desk.settings,
        now=NOW,
    )
    event(result.outcome.value)
    assert result.outcome in (MailOutcome.CREATED, MailOutcome.APPENDED), result
    assert result.reference in store.tickets and first.reference in store.tickets


@given(
    records=st.lists(json_values, max_size=3)
    | st.lists(st.fixed_dictionaries({"eventSource": st.just("aws:ses"), "ses": json_values}), max_size=2),
    raw=mail,
)
def test_the_inbound_handler_never_raises_on_any_event(
    desk: Desk, context: Any, records: list[Any], raw: bytes
) -> None:
    """Whatever the event (SES's, damaged, or none at all), the handler logs and counts what it
    cannot use: an exception would make Lambda retry the whole event."""
    desk.fresh(raw)
    valid = {
        "eventSource": "aws:ses",
        "ses": {
            "mail": {"messageId": "property-1", "source": CUSTOMER, "timestamp": NOW.isoformat()},
            "receipt": {"timestamp": NOW.isoformat(), "recipients": [SUPPORT]},
        },
    }
    app.lambda_handler({"Records": [*records, valid]}, context)
    app.lambda_handler({"Records": records}, context)
    app.lambda_handler(records, context)  # not even an object
