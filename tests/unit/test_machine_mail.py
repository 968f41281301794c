"""Loop protection: bounces, auto replies, lists, bulk mail and our own mail are never acknowledged."""

import contextlib
import email
import email.errors
import email.policy
from collections.abc import Mapping
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pytest

from frontdesk.mail.machine import LOOP_HEADERS, MachineKind, MachineVerdict, classify
from frontdesk.mail.message import MailAddress, ParsedEmail

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "email"
OWN_ADDRESSES = ("support@frontdesk.example", "Help Desk <Help@Desk.Example>")
OWN_DOMAINS = ("frontdesk.example",)

DR = MachineKind.DELIVERY_REPORT
AR = MachineKind.AUTO_REPLY
BULK = MachineKind.BULK
LIST = MachineKind.MAILING_LIST
OWN = MachineKind.OWN_MAIL


def mail(
    headers: Mapping[str, str | tuple[str, ...]] | None = None,
    *,
    sender: str | None = "ana@example.org",
    content_type: str = "text/plain",
) -> ParsedEmail:
    """A parsed mail with just what the loop rules read; header names as written, values as given."""
    values = {
        name.lower(): (value,) if isinstance(value, str) else value for name, value in (headers or {}).items()
    }
    return ParsedEmail(
        message_id="<1@example.org>",
        in_reply_to=(),
        references=(),
        subject="Hello",
        sender=MailAddress(sender, "Ana") if sender is not None else None,
        reply_to=(),
        to=(MailAddress("support@frontdesk.example"),),
        cc=(),
        date=None,
        text="Hello, my order did not arrive.",
        content_type=content_type,
        headers=values,
    )


def verdict(parsed: ParsedEmail, envelope_sender: str | None = "ana@example.org") -> MachineVerdict | None:
    return classify(
        parsed, envelope_sender=envelope_sender, own_addresses=OWN_ADDRESSES, own_domains=OWN_DOMAINS
    )


# --- ordinary mail ---------------------------------------------------------------------------------


def test_a_plain_mail_from_a_person_is_not_machine_mail():
    assert verdict(mail()) is None


def test_a_mail_without_from_envelope_or_headers_is_not_machine_mail():
    assert verdict(mail(sender=None), envelope_sender=None) is None


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "no"},
        {"Auto-Submitted": "No"},
        {"Auto-Submitted": "  no ; reason=person"},
        {"Auto-Submitted": "no (written by a person)"},
        {"Precedence": "first-class"},
        {"Precedence": ""},
        {"Precedence": "normal"},
        {"X-Autoreply": "no"},
        {"X-Autorespond": "False"},
        {"X-Auto-Response-Suppress": "DR, NDR, RN, NRN"},
        {"X-Auto-Response-Suppress": ""},
        {"X-Apple-Action": "FORWARD"},
        {"Return-Path": "<ana@example.org>"},
        {"Content-Type": "text/plain; report-type=delivery-status"},
        {"Auto-Submitted": ()},
        {"List-Id": ()},
    ],
)
def test_headers_that_say_nothing_about_a_machine_leave_a_mail_alone(headers):
    assert verdict(mail(headers)) is None


@pytest.mark.parametrize(
    "sender",
    ["postmaster-team@example.org", "daemon@example.org", "mailer@example.org", "no-reply@example.org"],
)
def test_only_the_exact_daemon_mailboxes_count_and_no_reply_is_no_rule(sender: str):
    assert verdict(mail(sender=sender), envelope_sender=sender) is None


# --- own mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("support@frontdesk.example", "From: own address"),
        ("SUPPORT@FrontDesk.Example", "From: own address"),
        (" support@frontdesk.example ", "From: own address"),
        ("support+FD-7K3M-Q9XA.abcdefghij@frontdesk.example", "From: own address"),
        ("agent.smith@frontdesk.example", "From: own domain"),
        ("help@desk.example", "From: own address"),
        ("Help+anything@DESK.example", "From: own address"),
        ("help@desk.example.", "From: own address"),
    ],
)
def test_mail_from_our_own_addresses_and_domains_is_own_mail(sender: str, reason: str):
    assert verdict(mail(sender=sender)) == MachineVerdict(OWN, reason)


@pytest.mark.parametrize(
    "envelope", ["bounces@frontdesk.example", "<support+x@frontdesk.example>", "HELP@desk.example"]
)
def test_an_envelope_sender_of_ours_is_own_mail(envelope: str):
    result = verdict(mail(), envelope_sender=envelope)

    assert result is not None
    assert result.kind is OWN
    assert result.reason.startswith("envelope sender: own ")


@pytest.mark.parametrize(
    "sender",
    [
        "support@mail.frontdesk.example",  # subdomains are not ours unless listed
        "support@frontdesk.example.evil",
        "support@evilfrontdesk.example",
        "support@frontdesk.exampl",
        "support@frontd\u0435sk.example",  # Cyrillic ie for e
        "help@desk.example.org",
        "other@desk.example",
        "frontdesk.example",
        "@frontdesk.example",
    ],
)
def test_look_alike_and_partial_addresses_are_not_own_mail(sender: str):
    assert verdict(mail(sender=sender)) is None


def test_own_domains_match_internationalised_domains_in_either_form():
    result = classify(
        mail(sender="info@xn--bcher-kva.example"),
        envelope_sender=None,
        own_addresses=(),
        own_domains=("Bücher.example",),
    )

    assert result == MachineVerdict(OWN, "From: own domain")


def test_own_mail_wins_over_every_other_rule():
    # our own acknowledgement coming back is the tightest loop, whatever else it carries
    parsed = mail(
        {"Auto-Submitted": "auto-replied", "List-Id": "<x.example>", "X-Failed-Recipients": "a@b.example"},
        sender="support@frontdesk.example",
        content_type="multipart/report",
    )

    assert verdict(parsed, envelope_sender="") == MachineVerdict(OWN, "From: own address")


def test_no_own_addresses_or_domains_means_no_own_mail():
    result = classify(
        mail(sender="support@frontdesk.example"), envelope_sender=None, own_addresses=(), own_domains=()
    )

    assert result is None


# --- delivery reports ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "header", "reason"),
    [
        ("multipart/report", None, "multipart/report"),
        ("MULTIPART/REPORT", None, "multipart/report"),
        ("multipart/report; report-type=delivery-status", None, "multipart/report"),
        (
            "multipart/report",
            'multipart/report; report-type="delivery-status";\n boundary="x"',
            "multipart/report; report-type=delivery-status",
        ),
        (
            "multipart/report",
            "multipart/report; boundary=x; Report-Type=Disposition-Notification",
            "multipart/report; report-type=disposition-notification",
        ),
        (
            "multipart/report",
            "multipart/report; report-type=feedback-report; boundary=x",
            "multipart/report; report-type=feedback-report",
        ),
        ("multipart/report", "multipart/report; report-type=<script>", "multipart/report"),
        ("message/delivery-status", None, "message/delivery-status"),
        ("message/feedback-report", None, "message/feedback-report"),
    ],
)
def test_any_report_is_a_delivery_report(content_type: str, header: str | None, reason: str):
    headers = {"Content-Type": header} if header else {}

    assert verdict(mail(headers, content_type=content_type)) == MachineVerdict(DR, reason)


def test_x_failed_recipients_is_a_delivery_report_even_as_plain_text():
    parsed = mail({"X-Failed-Recipients": "someone@example.net"})

    assert verdict(parsed) == MachineVerdict(DR, "X-Failed-Recipients")


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("MAILER-DAEMON@mx.example.net", "From: mailer-daemon"),
        ("mailer-daemon@googlemail.com", "From: mailer-daemon"),
        ("Mailer-Daemon@example.net", "From: mailer-daemon"),
        ("MAILER-DAEMON", "From: mailer-daemon"),
        ("postmaster@example.net", "From: postmaster"),
        ("PostMaster@example.net", "From: postmaster"),
    ],
)
def test_mail_from_a_mailer_daemon_or_postmaster_is_a_delivery_report(sender: str, reason: str):
    assert verdict(mail(sender=sender)) == MachineVerdict(DR, reason)


@pytest.mark.parametrize(
    ("envelope", "reason"),
    [
        ("MAILER-DAEMON@mx.example.net", "envelope sender: mailer-daemon"),
        ("<postmaster@example.net>", "envelope sender: postmaster"),
    ],
)
def test_an_envelope_sender_that_is_a_daemon_is_a_delivery_report(envelope: str, reason: str):
    assert verdict(mail(), envelope_sender=envelope) == MachineVerdict(DR, reason)


@pytest.mark.parametrize("envelope", ["", "<>", " <> ", "< >", "\t"])
def test_an_empty_envelope_sender_is_a_bounce(envelope: str):
    assert verdict(mail(), envelope_sender=envelope) == MachineVerdict(DR, "empty envelope sender")


@pytest.mark.parametrize("return_path", ["<>", " <> ", ""])
def test_without_an_envelope_the_return_path_header_stands_in(return_path: str):
    parsed = mail({"Return-Path": return_path})

    assert verdict(parsed, envelope_sender=None) == MachineVerdict(DR, "empty envelope sender")


def test_a_known_envelope_sender_overrides_the_return_path_header():
    # the header is content anyone can write; SES's envelope is what the SMTP session said
    parsed = mail({"Return-Path": "<>"})

    assert verdict(parsed, envelope_sender="ana@example.org") is None


def test_the_first_return_path_is_the_one_the_final_server_added():
    parsed = mail({"Return-Path": ("<ana@example.org>", "<>")})

    assert verdict(parsed, envelope_sender=None) is None


def test_a_bounce_that_also_says_auto_replied_is_a_delivery_report():
    # Exchange, Postfix and Google bounces carry Auto-Submitted and Precedence as well
    parsed = mail(
        {"Auto-Submitted": "auto-replied", "Precedence": "bulk", "List-Id": "<list.example>"},
        sender="postmaster@example.net",
        content_type="multipart/report",
    )

    result = verdict(parsed, envelope_sender="")

    assert result is not None
    assert result.kind is DR


# --- auto replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Replied", "Auto-Submitted: auto-replied"),
        ("  auto-generated  ", "Auto-Submitted: auto-generated"),
        ("auto-generated (failure)", "Auto-Submitted: auto-generated"),
        ("auto-replied; owner-email=ana@example.org", "Auto-Submitted: auto-replied"),
        ("auto-notified", "Auto-Submitted: auto-notified"),
        ("yes", "Auto-Submitted: yes"),
        ("", "Auto-Submitted: (empty)"),
        ("nope", "Auto-Submitted: nope"),
        ("ana@example.org", "Auto-Submitted: (other)"),
        ("<ana@example.org>", "Auto-Submitted: (other)"),
        ("x" * 100, "Auto-Submitted: (other)"),
    ],
)
def test_auto_submitted_with_anything_but_no_is_an_auto_reply(value: str, reason: str):
    assert verdict(mail({"Auto-Submitted": value})) == MachineVerdict(AR, reason)


def test_one_auto_submitted_value_other_than_no_is_enough():
    parsed = mail({"Auto-Submitted": ("no", "auto-replied")})

    assert verdict(parsed) == MachineVerdict(AR, "Auto-Submitted: auto-replied")


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Autoreply": "yes"}, "X-Autoreply"),
        ({"X-AutoReply": "YES"}, "X-Autoreply"),
        ({"X-Autoreply": ""}, "X-Autoreply"),
        ({"X-Autorespond": "Out of office until Monday"}, "X-Autorespond"),
        ({"X-Autoresponder": "1"}, "X-Autoresponder"),
        ({"X-Mail-Autoreply": "yes"}, "X-Mail-Autoreply"),
        ({"Precedence": "auto_reply"}, "Precedence: auto_reply"),
        ({"Precedence": " Auto_Reply "}, "Precedence: auto_reply"),
        ({"X-Apple-Action": "VACATION"}, "X-Apple-Action: vacation"),
    ],
)
def test_autoresponder_headers_mark_an_auto_reply(headers, reason: str):
    assert verdict(mail(headers)) == MachineVerdict(AR, reason)


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("All", "all"),
        ("OOF", "oof"),
        ("AutoReply", "autoreply"),
        ("DR, NDR, RN, NRN, OOF, AutoReply", "oof"),
        ("dr,autoreply", "autoreply"),
        ("  ALL  ", "all"),
    ],
)
def test_a_mail_that_asks_for_no_auto_reply_gets_none(value: str, token: str):
    parsed = mail({"X-Auto-Response-Suppress": value})

    assert verdict(parsed) == MachineVerdict(AR, f"X-Auto-Response-Suppress: {token}")


def test_an_exchange_out_of_office_with_an_empty_envelope_is_an_auto_reply_not_a_bounce():
    # rfc3834-02 in the corpus: no Auto-Submitted, only the suppress header and MAIL FROM:<>
    parsed = mail({"X-Auto-Response-Suppress": "All"})

    assert verdict(parsed, envelope_sender="") == MachineVerdict(AR, "X-Auto-Response-Suppress: all")


def test_an_rfc_3834_auto_reply_with_an_empty_envelope_is_an_auto_reply():
    parsed = mail({"Auto-Submitted": "auto-replied"})

    assert verdict(parsed, envelope_sender="<>") == MachineVerdict(AR, "Auto-Submitted: auto-replied")


def test_an_auto_reply_that_is_also_bulk_is_an_auto_reply():
    parsed = mail({"Auto-Submitted": "auto-replied", "Precedence": "bulk"})

    assert verdict(parsed) == MachineVerdict(AR, "Auto-Submitted: auto-replied")


# --- mailing lists and bulk ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "kind", "reason"),
    [
        ({"List-Id": "Shapelib Development <shapelib.lists.maptools.org>"}, LIST, "List-Id"),
        ({"List-Id": "garbled value without brackets"}, LIST, "List-Id"),
        ({"Precedence": "list"}, LIST, "Precedence: list"),
        ({"Precedence": "LIST"}, LIST, "Precedence: list"),
        ({"List-Id": "<a.example>", "Precedence": "bulk"}, LIST, "List-Id"),
        ({"List-Id": "<a.example>", "List-Unsubscribe": "<mailto:u@a.example>"}, LIST, "List-Id"),
        ({"List-Id": "<a.example>", "X-Auto-Response-Suppress": "All"}, LIST, "List-Id"),
        ({"Precedence": "bulk"}, BULK, "Precedence: bulk"),
        ({"Precedence": "Bulk (newsletter)"}, BULK, "Precedence: bulk"),
        ({"Precedence": "junk"}, BULK, "Precedence: junk"),
        ({"Precedence": ("first-class", "bulk")}, BULK, "Precedence: bulk"),
        ({"List-Unsubscribe": "<https://news.example/u?id=1>"}, BULK, "List-Unsubscribe"),
        ({"List-Unsubscribe": "<https://news.example/u>", "X-Auto-Response-Suppress": "OOF"}, BULK, None),
    ],
)
def test_lists_and_bulk_mail(headers, kind: MachineKind, reason: str | None):
    result = verdict(mail(headers))

    assert result is not None
    assert result.kind is kind
    assert reason is None or result.reason == reason


def test_the_null_sender_rule_comes_last_so_lists_keep_their_label():
    assert verdict(mail({"List-Id": "<a.example>"}), envelope_sender="") == MachineVerdict(LIST, "List-Id")


# --- the verdict itself ----------------------------------------------------------------------------


def test_kinds_are_snake_case_strings():
    assert [kind.value for kind in MachineKind] == [
        "delivery_report",
        "auto_reply",
        "bulk",
        "mailing_list",
        "own_mail",
    ]
    assert f"{MachineKind.OWN_MAIL}" == "own_mail"


def test_a_verdict_is_immutable():
    result = MachineVerdict(AR, "X-Autoreply")

    with pytest.raises(AttributeError):
        result.kind = BULK  # type: ignore[misc]


def test_reasons_never_repeat_addresses_or_free_text():
    parsed = mail(
        {"Auto-Submitted": "Ana Souza <ana@example.org> wrote: my password is hunter2"},
        sender="ana@example.org",
    )

    result = verdict(parsed)

    assert result is not None
    assert "@" not in result.reason
    assert "hunter2" not in result.reason


# --- the corpus ------------------------------------------------------------------------------------


def _decoded(value: object) -> str:
    text = str(value)
    # an undecodable encoded word stays as written, as a lenient parser would keep it
    with contextlib.suppress(UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        text = str(make_header(decode_header(text)))
    return " ".join(text.split())


def load(path: Path) -> ParsedEmail:
    """Headers, top-level type and From of a corpus mail (stdlib; all the loop rules read)."""
    raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers: dict[str, tuple[str, ...]] = {}
    for name, value in message.items():
        key = name.strip().lower()
        headers[key] = (*headers.get(key, ()), _decoded(value))
    name, address = parseaddr(_decoded(message.get("from", "")))
    return ParsedEmail(
        message_id=None,
        in_reply_to=(),
        references=(),
        subject="",
        sender=MailAddress(address, name) if address else None,
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        text="",
        content_type=message.get_content_type(),
        headers=headers,
    )


_DSN = "multipart/report; report-type=delivery-status"
_ARF = "multipart/report; report-type=feedback-report"

# Every mail in tests/corpus/email: the verdict expected with the envelope sender unknown (so the
# Return-Path header stands in for it, as it records the envelope). None: written by a person.
CORPUS_VERDICTS: dict[str, tuple[MachineKind, str] | None] = {
    # sisimai: rfc3834-* are auto replies, lhost-* bounces, is-not-bounce-01 an ordinary mail
    "sisimai-set-of-emails/rfc3834-01.eml": (AR, "Auto-Submitted: auto-replied"),
    "sisimai-set-of-emails/rfc3834-02.eml": (AR, "X-Auto-Response-Suppress: all"),  # Return-Path <>
    "sisimai-set-of-emails/rfc3834-03.eml": (AR, "X-Apple-Action: vacation"),
    "sisimai-set-of-emails/rfc3834-04.eml": (AR, "X-Auto-Response-Suppress: all"),  # Return-Path <>
    "sisimai-set-of-emails/rfc3834-06.eml": (AR, "Auto-Submitted: auto-replied"),  # + Precedence: bulk
    "sisimai-set-of-emails/lhost-amazonses-01.eml": (DR, _DSN),
    "sisimai-set-of-emails/lhost-googlegroups-01.eml": (DR, "X-Failed-Recipients"),  # text/plain
    "sisimai-set-of-emails/lhost-office365-01.eml": (DR, _DSN),
    "sisimai-set-of-emails/lhost-receivingses-01.eml": (DR, _DSN),
    "sisimai-set-of-emails/is-not-bounce-01.eml": None,
    # bounces and complaints elsewhere
    "flanker/bounce/gmail-invalid-address.eml": (DR, "X-Failed-Recipients"),
    "flanker/bounce/mailbox-full.eml": (DR, _DSN),
    "flanker/bounce/office365.eml": (DR, _DSN),
    "flanker/complaints/aol.eml": (DR, _ARF),  # ARF abuse report; also Precedence: list
    "postal-mime/arf.eml": (DR, _ARF),
    "mimekit/messages/feedback-report.txt": (DR, _ARF),
    "mimekit/messages/disposition-notification.txt": (
        DR,
        "multipart/report; report-type=disposition-notification",
    ),
    "mimekit/messages/bounce.txt": (DR, _DSN),
    "mimekit/messages/delivery-status-no-blank-line.txt": (DR, _DSN),
    "mikel-mail/multipart_report_emails/multi_address_bounce1.eml": (DR, _DSN),
    "mikel-mail/multipart_report_emails/report_422.eml": (DR, _DSN),  # delay warning
    "cpython/msg_05.txt": (DR, _DSN),
    "cpython/msg_16.txt": (DR, "multipart/report"),  # relayed by Mailman: List-Id, Precedence: bulk
    "cpython/msg_25.txt": (DR, _DSN),  # no boundary
    "cpython/msg_43.txt": (DR, _DSN),  # From: MAILER DAEMON <>
    "spamscope-mail-parser/mail_malformed_2": (DR, _DSN),
    "webklex-php-imap/example_bounce.eml": (DR, _DSN),
    # a person's Thunderbird mail that happens to be sent from postmaster@: the rule cannot tell
    "flanker/long-links.eml": (DR, "From: postmaster"),
    # lists and newsletters
    "stalwart-mail-parser/thirdparty/014.eml": (LIST, "List-Id"),
    "webklex-php-imap/1366671050@github.com.eml": (LIST, "List-Id"),  # also X-Auto-Response-Suppress
    "spamscope-mail-parser/mail_test_13": (LIST, "List-Id"),  # MailChimp newsletter with a List-ID
    "fx-private-relay/russian_spam_incoming.email": (LIST, "List-Id"),  # + Precedence: bulk
    "mikel-mail/error_emails/empty_in_reply_to.eml": (LIST, "List-Id"),
    # machine-written but without any header that says so: out of reach of header rules
    "cpython/msg_02.txt": None,  # Mailman 2.0 digest, no List-Id
    "mikel-mail/error_emails/bad_date_header2.eml": None,  # newsletter without list headers
    "mikel-mail/error_emails/encoding_madness.eml": None,  # no-reply@ CRM notification
    "fx-private-relay/duplicate_mime_version_incoming.email": None,  # root@ server mail
    "fx-private-relay/nested_brackets_service_incoming.email": None,  # welcome mail
    # people (and spam written to look like people)
    "cpython/msg_07.txt": None,
    "cpython/msg_08.txt": None,
    "cpython/msg_10.txt": None,
    "cpython/msg_15.txt": None,
    "cpython/msg_35.txt": None,
    "cpython/msg_36.txt": None,
    "cpython/msg_41.txt": None,
    "cpython/msg_45.txt": None,
    "cpython/msg_46.txt": None,
    "django-helpdesk/all-special-chars.eml": None,
    "django-helpdesk/blank-body-with-attachment.eml": None,
    "django-helpdesk/forwarded-message.eml": None,
    "django-helpdesk/utf-nondecodable.eml": None,
    "flanker/bilingual-simple.eml": None,
    "flanker/enclosed-global.eml": None,
    "flanker/iphone.eml": None,
    "flanker/missing-final-boundary.eml": None,
    "flanker/outlook-express.eml": None,
    "flanker/spam/broken-headers.eml": None,
    "fx-private-relay/emperor_norton_incoming.email": None,
    "fx-private-relay/inline_image_incoming.email": None,
    "mikel-mail/attachment_emails/attachment_message_rfc822_inline_image.eml": None,
    "mikel-mail/attachment_emails/attachment_nonascii_filename.eml": None,
    "mikel-mail/attachment_emails/attachment_only_email.eml": None,
    "mikel-mail/attachment_emails/attachment_with_base64_encoded_name.eml": None,
    "mikel-mail/attachment_emails/attachment_with_quoted_filename.eml": None,
    "mikel-mail/error_emails/bad_encoded_subject.eml": None,
    "mikel-mail/error_emails/content_transfer_encoding_empty.eml": None,
    "mikel-mail/error_emails/content_transfer_encoding_x_uuencode.eml": None,  # LISTSERV, no list headers
    "mikel-mail/error_emails/empty_group_lists.eml": None,
    "mikel-mail/error_emails/invalid_subject_characters.eml": None,
    "mikel-mail/error_emails/multiple_content_types.eml": None,
    "mikel-mail/error_emails/new_line_in_to_header.eml": None,
    "mikel-mail/mime_emails/email_with_similar_boundaries.eml": None,
    "mikel-mail/mime_emails/raw_email_with_illegal_boundary.eml": None,
    "mikel-mail/mime_emails/raw_email_with_nested_attachment.eml": None,
    "mikel-mail/multi_charset/japanese_iso_2022.eml": None,
    "mikel-mail/multi_charset/japanese_shift_jis.eml": None,
    "mikel-mail/multi_charset/ks_c_5601-1987.eml": None,
    "mikel-mail/plain_emails/raw_email.eml": None,
    "mikel-mail/plain_emails/raw_email_bad_time.eml": None,
    "mikel-mail/plain_emails/raw_email_incorrect_header.eml": None,
    "mikel-mail/plain_emails/raw_email_multiple_from.eml": None,
    "mikel-mail/rfc6532/utf8_headers.eml": None,
    "mimekit/messages/empty-multipart.txt": None,
    "mimekit/messages/epilogue.txt": None,
    "mimekit/messages/issue358.txt": None,
    "mimekit/messages/japanese.txt": None,
    "mimekit/messages/missing-subtype.txt": None,
    "mimekit/messages/multipart-related-mhtml.txt": None,
    "mimekit/partial/rfc2046.0.eml": None,
    "mimekit/partial/rfc2046.1.eml": None,
    "postal-mime/calendar-event.eml": None,
    "postal-mime/mimetorture.eml": None,
    "spamscope-mail-parser/mail_malformed_3": None,
    "spamscope-mail-parser/mail_outlook_1": None,  # an Outlook .msg, not MIME at all
    "spamscope-mail-parser/mail_test_12": None,
    "spamscope-mail-parser/mail_test_14": None,
    "spamscope-mail-parser/mail_test_17": None,
    "spamscope-mail-parser/mail_test_3": None,
    "spamscope-mail-parser/mail_test_7": None,
    "spamscope-mail-parser/mail_test_8": None,
    "spamscope-mail-parser/mail_test_9": None,
    "stalwart-mail-parser/malformed/017.eml": None,
    "stalwart-mail-parser/malformed/019.eml": None,
    "stalwart-mail-parser/malformed/022.eml": None,
    "stalwart-mail-parser/thirdparty/004.eml": None,
    "stalwart-mail-parser/thirdparty/005.eml": None,
    "stalwart-mail-parser/thirdparty/015.eml": None,
    "webklex-php-imap/attachment_long_filename.eml": None,
    "webklex-php-imap/four_nested_emails.eml": None,
    "webklex-php-imap/gbk_charset.eml": None,
    "webklex-php-imap/issue-414.eml": None,
    "webklex-php-imap/ks_c_5601-1987_headers.eml": None,
    "webklex-php-imap/missing_from.eml": None,
    "webklex-php-imap/mixed_filename.eml": None,
    "webklex-php-imap/thread_my_topic.eml": None,
    "webklex-php-imap/thread_re_my_topic.eml": None,
    "webklex-php-imap/undisclosed_recipients_minus.eml": None,
    "webklex-php-imap/unknown_encoding.eml": None,
}


def test_every_corpus_mail_has_an_expected_verdict():
    files = {path.relative_to(CORPUS).as_posix() for path in CORPUS.rglob("*") if path.is_file()}

    assert files == set(CORPUS_VERDICTS)


@pytest.mark.parametrize(("name", "expected"), CORPUS_VERDICTS.items(), ids=list(CORPUS_VERDICTS))
def test_corpus_mail_gets_its_expected_verdict(name: str, expected: tuple[MachineKind, str] | None):
    result = classify(load(CORPUS / name), envelope_sender=None, own_addresses=(), own_domains=())

    assert result == (MachineVerdict(*expected) if expected else None)


@pytest.mark.parametrize("name", list(CORPUS_VERDICTS))
def test_the_loop_headers_are_all_the_rules_read(name: str):
    # the parser may keep only LOOP_HEADERS in ParsedEmail.headers and lose no verdict
    parsed = load(CORPUS / name)
    kept = parsed._replace(
        headers={key: value for key, value in parsed.headers.items() if key in LOOP_HEADERS}
    )

    assert verdict(kept, envelope_sender=None) == verdict(parsed, envelope_sender=None)


@pytest.mark.parametrize(
    "name",
    [
        "django-helpdesk/forwarded-message.eml",
        "flanker/iphone.eml",
        "sisimai-set-of-emails/is-not-bounce-01.eml",
        "stalwart-mail-parser/thirdparty/015.eml",
    ],
)
def test_a_person_writing_from_our_own_domain_is_own_mail(name: str):
    parsed = load(CORPUS / name)
    assert parsed.sender is not None
    domain = parsed.sender.email.rpartition("@")[2]

    result = classify(parsed, envelope_sender=None, own_addresses=(), own_domains=(domain,))

    assert result == MachineVerdict(OWN, "From: own domain")
