"""Raw MIME (the bytes SES stores in S3) to ParsedEmail, with the standard library's email package.

`parse_email` never raises. Whatever is broken goes into `defects` (short descriptions, never
message content) and parsing goes on with what can be read. The stdlib parser (policy.default) does
the MIME work; around it this module adds what real mail needs:

- the header block repaired before parsing (a byte order mark, "Name :" obsolete syntax, broken
  folding that would end the headers early and lose From, Subject and Content-Type);
- multiparts nested deeper than the limit disarmed before parsing: the stdlib parser's cost grows
  with depth x lines, and it raises RecursionError on messages nested hundreds deep;
- guards around every header access: policy.default parses a header when it is read, and that can
  raise on malformed values;
- charsets: supersets for labels real mail gets wrong (gb2312 -> gb18030, ...), then utf-8, then a
  detector (charset_normalizer, when installed), then windows-1252 with replacement characters;
- the body: the text/plain alternative when there is one, else HTML as text (inscriptis);
- attachments within the limits, sizes checked before decoding, safe file names;
- the sender as mail clients see it: the mailbox in angle brackets, not a display name that looks
  like an address, and never an address made of an encoded word.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import functools
import mimetypes
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from io import BytesIO
from typing import Any, NamedTuple

from frontdesk.mail.machine import LOOP_HEADERS
from frontdesk.mail.message import MailAddress, MailAttachment, MailLimits, ParsedEmail, SkippedAttachment

MAX_HEADERS = 200
MAX_HEADER_CHARS = 1_000
MAX_ID_CHARS = 998  # RFC 5322 line length, in octets: nothing longer is a real Message-ID
MAX_FILENAME_CHARS = 120
_MAX_DEFECTS = 50
_MAX_LINE_LOOKBACK = 4_096  # how far back a boundary declaration's line start is looked for
_MAX_FOLDED_LINES = 20  # folded lines followed back to a Content-Type header
_MAX_BOUNDARIES = 10_000  # more multipart boundaries than any real mail declares
_MAX_PARTS = 1_000  # parts the walk looks at; each costs a few header parses
_MAX_SKIPPED = 100  # skipped parts listed; the rest only counted in a defect
_HEADER_SCAN_BYTES = 256 * 1024  # how far the header repair looks for the end of the header block
_MAX_PARSED_HEADER_CHARS = 64 * 1024  # longer values are cut before the structured header parser
MAX_STRUCTURED_HEADER_CHARS = 2_048  # addresses, Content-Type...: see _BoundedHeaders
_MAX_LONG_HEADER_ADDRESSES = 100  # read from an address header too long to parse
_MAX_ADDRESS_HEADERS = 5  # To (or Cc, ...) fields read; address parsing takes ~10 us an address
_DETECT_BYTES = 64 * 1024  # enough for the charset detector to decide
# How much transfer-encoded text is read for a body part, per character of limits.max_body_chars:
# room for 4-byte UTF-8, base64 or quoted-printable overhead and, for HTML, the markup.
_PLAIN_READ_FACTOR = 12
_HTML_READ_FACTOR = 30
_HTML_CONVERT_FACTOR = 10  # HTML characters given to the converter, per body character


class _BoundedHeaders(HeaderRegistry):
    """policy.default's header classes, given at most MAX_STRUCTURED_HEADER_CHARS of a structured
    value (addresses, Content-Type, Content-Disposition...). The stdlib parses those in time that
    grows with the square of their length: a From or Content-Type of 64 KB of "(a)" took minutes,
    and the parser reads a part's Content-Type several times. Real values are a few hundred
    characters; unstructured ones (Subject) parse in linear time and stay whole."""

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > MAX_STRUCTURED_HEADER_CHARS and not issubclass(self[name], UnstructuredHeader):
            value = _bounded(value)
        return super().__call__(name, value)


def _bounded(value: str) -> str:
    """The start of a long structured value, cut after a whole address or parameter if it can be."""
    head = value[:MAX_STRUCTURED_HEADER_CHARS]
    separator = max(head.rfind(","), head.rfind(";"))
    return head[:separator] if separator > len(head) // 2 else head


_POLICY = policy.default.clone(header_factory=_BoundedHeaders())
# Nested messages are written back as they came: no refolding of their header lines.
_OUTPUT_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")

# Real mail labelled with a charset often uses its superset (mostly Windows code pages); the WHATWG
# encoding standard decodes these labels the same way. Each label lists codecs to try in order.
_CHARSET_CODECS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("gb2312", "gbk", "x-gbk", "cp936", "ms936", "euc-cn", "x-euc-cn", "csgb2312", "gb_2312-80"),
        ("gb18030",),
    ),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis"), ("cp932",)),
    **dict.fromkeys(("euc-kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601", "cseuckr"), ("cp949",)),
    **dict.fromkeys(("big5", "x-x-big5", "cn-big5", "csbig5"), ("big5hkscs", "cp950")),
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1"), ("cp1252", "latin-1")),
    "iso-8859-9": ("cp1254", "iso-8859-9"),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874"), ("cp874",)),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e"), ("iso-8859-8",)),
    **dict.fromkeys(("iso-8859-6-i", "iso-8859-6-e"), ("iso-8859-6",)),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2"),
}
# Codecs Python knows that are no text charset a mail may ask for.
_REFUSED_CODECS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})
_EXTENSIONS = {
    "message/delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "text/rfc822-headers": ".txt",
    "application/x-gzip": ".gz",
    "application/ics": ".ics",
}
_NESTED_MESSAGES = frozenset({"message/rfc822", "message/global"})
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_SINGLE_HEADERS = ("from", "subject", "date", "message-id", "content-type", "mime-version")

_BRACKETED_ID = re.compile(r"<([^<>\s\x00-\x1f\x7f]+)>")
_BARE_ID = re.compile(r"[^<>\s\x00-\x1f\x7f]+@[^<>\s\x00-\x1f\x7f]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")  # C0 but \t and \n, DEL, C1, BOM
_ONE_LINE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_LINE_ENDS = re.compile(r"\r\n?")
_FOLDS = re.compile(r"[\r\n]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
# Controls, zero-width and bidi overrides (they disguise extensions: "invoice\u202etxt.exe").
_UNSAFE_NAME = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufff9-\ufffc\ufffe\uffff]"
)
_ADDRESS_JUNK = re.compile(r"[\s\x00-\x1f\x7f<>()\[\]\\,;\"\ufffd]")
_ENCODED_WORD_CHARSET = re.compile(r"=\?([^?*\s]+)((?:\*[^?\s]*)?\?[bBqQ]\?)")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9._:-]{1,40})""", re.I)
# The lookbehind after the first letter: before it, it is tried at every byte (3x slower on big mail).
_BOUNDARY_DECLARATION = re.compile(
    rb"[bB](?<![\w-].)(?i:oundary)[ \t]*=[ \t]*(?:\"([^\"\r\n]{1,200})\"|([^\s;\"]{1,200}))"
)
_NESTED_MESSAGE_TYPE = re.compile(rb"(?im)^(content-type:[ \t]*)message/")
_CLOSE_DELIMITER = re.compile(rb"^--([^\r\n]{1,200}?)--[ \t]*\r?$", re.M)
_DELIMITER_LINE = re.compile(r"^--([\x21\x23-\x5b\x5d-\x7e]{1,200})[ \t]*\r?$", re.M)  # ASCII, no quotes
# What the stdlib takes for a header line (email.feedparser.headerRE); anything else ends the block.
_HEADER_LINE = re.compile(rb"From |[\041-\071\073-\176]*:|[\t ]")
_LIKELY_HEADER = re.compile(rb"(?:from|to|cc|subject|date|sender|received|[a-z0-9]+(?:-[a-z0-9]+)+):", re.I)
_LEADING_JUNK = re.compile(rb"\A(\xef\xbb\xbf)?(?:[ \t]*\r?\n)*")
_BLANK_LINE = re.compile(rb"\n\r?\n")
_BARE_CR = re.compile(rb"\r(?!\n|\Z)")
_HEADER_NAME = re.compile(rb"[\041-\071\073-\176]+:")
_DEFECT_WORDS = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s@:,;]+@[^<>\s@:,;]+?)\s*>")
# What follows an address the stdlib took from a display name: comments, then the angle address.
_THEN_ANGLE = r"\s*(?:\([^()]*\)\s*)*<([^<>]*)>"
_SPACED_NAME = re.compile(rb"([\041-\071\073-\176]+)[ \t]+:")


def parse_email(raw: bytes, limits: MailLimits = MailLimits()) -> ParsedEmail:  # noqa: B008 (frozen)
    """The mail in `raw`, as far as it can be read; never raises."""
    defects: list[str] = []
    try:
        return _parse(raw, limits, defects)
    except Exception as error:  # each step is guarded; this is the last line of defence
        defects.append(f"parser failure ({type(error).__name__})")
        return ParsedEmail(
            message_id=None,
            in_reply_to=(),
            references=(),
            subject="",
            sender=None,
            reply_to=(),
            to=(),
            cc=(),
            date=None,
            text="",
            content_type="text/plain",
            defects=_unique(defects),
        )


def _parse(raw: bytes, limits: MailLimits, defects: list[str]) -> ParsedEmail:
    root, body_readable = _parse_mime(_repair_header_block(raw, defects), limits.max_depth, defects)
    walker = _Walker(limits, defects)
    segments = walker.walk(root, depth=0) if body_readable else []
    text, language = walker.text_of(segments)
    if not text.strip():  # a forward with nothing of its own: the forwarded message's text
        text, _ = walker.text_of(walker.nested_segments)
    text = _clean_text(text)
    if len(text) > limits.max_body_chars:
        defects.append("body text longer than the limit; truncated")
        text = text[: limits.max_body_chars]
    hint = walker.charset_hint
    _duplicate_headers(root, defects)
    walker.collect_part_defects()
    return ParsedEmail(
        message_id=_first_id(_id_header(root, "message-id")),
        in_reply_to=_ids(_id_header(root, "in-reply-to"), bare_allowed=True),
        references=_ids(_id_header(root, "references")),
        subject=_one_line(_header_text("subject", _first_raw(root, "subject"), hint)),
        sender=next(iter(_addresses(root, "from", hint, defects)), None),
        reply_to=_addresses(root, "reply-to", hint, defects),
        to=_addresses(root, "to", hint, defects),
        cc=_addresses(root, "cc", hint, defects),
        date=_date(_first_raw(root, "date")),
        text=text,
        content_type=_content_type(root),
        language=_language(_first_raw(root, "content-language")) or language,
        headers=_header_map(root, hint, defects),
        attachments=tuple(walker.attachments),
        skipped_attachments=tuple(walker.skipped),
        defects=_unique(defects),
    )


# -- bytes to a message tree -----------------------------------------------------------------------


def _repair_header_block(raw: bytes, defects: list[str]) -> bytes:
    """Undo the header damage that would make the stdlib parser end the headers too early."""
    junk = _LEADING_JUNK.match(raw)
    if junk and junk.end():
        defects.append(
            "byte order mark before the headers" if junk.group(1) else "blank lines before the headers"
        )
        raw = raw[junk.end() :]
    head = raw[:_HEADER_SCAN_BYTES]
    end = _BLANK_LINE.search(head)
    block = head[: end.start()] if end else head[: head.rfind(b"\n") + 1]
    lines = block.split(b"\n")
    # A carriage return without its line feed ends a line for the stdlib parser: the rest of its
    # header line is then no header, and ends the headers (From and Subject lost). It is junk,
    # made a space, unless the mail's lines end in CR alone (old Macs: a header follows the first).
    bare = _BARE_CR.search(block)
    if bare and (b"\n" in block[: bare.start()] or not _HEADER_NAME.match(block, bare.end())):
        lines = [_BARE_CR.sub(b" ", line) for line in lines]
        defects.append("carriage return without a line feed in the headers; made a space")
    for index, line in enumerate(lines):
        # RFC 5322 obsolete syntax allows space before the colon ("Subject :"); the stdlib does not.
        spaced = None if _HEADER_LINE.match(line) else _SPACED_NAME.match(line)
        if spaced:
            lines[index] = spaced.group(1) + b":" + line[spaced.end() :]
            defects.append("space between a header name and its colon")
    last = max((index for index, line in enumerate(lines) if _LIKELY_HEADER.match(line)), default=0)
    # A line that is no header line, followed by more headers, is broken folding (Exchange does
    # it) or junk: as a continuation it keeps the headers after it.
    broken = [index for index in range(1, last) if not _HEADER_LINE.match(lines[index])]
    for index in broken:
        lines[index] = b" " + lines[index]
    if broken:
        defects.append("header line without a name; joined to the header before it")
    repaired = b"\n".join(lines)
    return raw if repaired == block else repaired + raw[len(block) :]


def _parse_mime(data: bytes, max_depth: int, defects: list[str]) -> tuple[Message, bool]:
    """The message tree, and whether its body can be read."""
    parser = BytesParser(policy=_POLICY)
    limited = _limit_nesting(data, max_depth, defects)
    if limited is not None:
        try:
            return parser.parsebytes(limited), True
        except RecursionError:  # message/rfc822 nested hundreds deep: read those parts as data
            defects.append("messages nested too deep; nested messages kept as data")
        except Exception as error:
            defects.append(f"MIME structure could not be read ({type(error).__name__})")
        try:
            return parser.parsebytes(_NESTED_MESSAGE_TYPE.sub(rb"\1application/x-message-", limited)), True
        except Exception as error:
            defects.append(f"MIME structure could not be read ({type(error).__name__}); body not read")
    try:
        return parser.parsebytes(data, headersonly=True), False
    except Exception as error:
        defects.append(f"headers could not be read ({type(error).__name__})")
        return EmailMessage(), False


def _limit_nesting(data: bytes, max_depth: int, defects: list[str]) -> bytes | None:
    """`data` with the boundaries of multiparts nested deeper than the limit taken away, or None
    when it declares more boundaries than any real mail.

    The stdlib parser checks every line against every open boundary: depth x lines, minutes for a
    small message nested a few hundred deep. Without its boundary a multipart is read as one text
    part, which the walk does not reach anyway. Depth comes from where boundaries are declared and
    closed; an unclosed one counts as open to the end, which can only overestimate."""
    declared = []
    for count, found in enumerate(_BOUNDARY_DECLARATION.finditer(data), start=1):
        if count > _MAX_BOUNDARIES:
            defects.append("too many multipart boundaries; the body was not read")
            return None
        # Only a Content-Type header declares one: quoted in a body, it must not be disarmed (the
        # "x" would change the text) nor make the multiparts after it look deeper than they are.
        if _in_content_type(data, found.start()):
            declared.append((found.start(), found.group(1) or found.group(2)))
    if len(declared) <= max_depth + 1:
        return data
    closes: dict[bytes, list[int]] = {}
    for found in _CLOSE_DELIMITER.finditer(data):
        closes.setdefault(found.group(1), []).append(found.start())
    events = []
    for start, boundary in declared:
        events.append((start, 1))
        ends = closes.get(boundary, [])
        after = bisect.bisect_right(ends, start)
        if after < len(ends):
            events.append((ends[after], -1))
    too_deep, level = [], 0
    for position, step in sorted(events):
        level += step
        if step > 0 and level > max_depth + 1:
            too_deep.append(position)
    if not too_deep:
        return data
    defects.append("multiparts nested deeper than the limit; not read")
    pieces, last = [], 0
    for position in too_deep:  # "boundary=" becomes "xboundary=", a parameter nobody reads
        pieces += [data[last:position], b"x"]
        last = position
    return b"".join([*pieces, data[last:]])


def _in_content_type(data: bytes, position: int) -> bool:
    """Whether `position` is in a Content-Type header (or a folded line of one). When the header's
    first line is not found near it, it counts as one: more depth than there is, never less."""
    end = position
    for _ in range(_MAX_FOLDED_LINES):
        start = data.rfind(b"\n", max(0, end - _MAX_LINE_LOOKBACK), end) + 1
        if start == 0 and end > _MAX_LINE_LOOKBACK:
            return True
        if data[start : start + 1] not in (b" ", b"\t") or start == 0:
            return data[start : start + 13].lower() == b"content-type:"
        end = start - 1
    return True


# -- the body and the files ------------------------------------------------------------------------


class _Segment(NamedTuple):
    text: str
    html: bool
    language: str | None


class _Walker:
    """Body text and files from a message tree, depth first, in order of appearance."""

    def __init__(self, limits: MailLimits, defects: list[str], keep_files: bool = True) -> None:
        self.limits = limits
        self.defects = defects
        self.keep_files = keep_files
        self.attachments: list[MailAttachment] = []
        self.skipped: list[SkippedAttachment] = []
        self.nested_segments: list[_Segment] = []  # of the first nested message with any text
        self.charset_hint: str | None = None  # the first charset a text part declared
        self.parts: list[Message] = []
        self._total = 0

    def walk(self, part: Message, depth: int, parent: str = "", body: bool = True) -> list[_Segment]:
        """The text segments of `part`; files go to the lists. body=False: text parts are files too."""
        if depth > self.limits.max_depth:
            self.defects.append("parts nested deeper than the limit; not read")
            return []
        if len(self.parts) >= _MAX_PARTS:
            self.defects.append(f"more than {_MAX_PARTS} parts; the rest were not read")
            return []
        self.parts.append(part)
        content_type = _content_type(part)
        payload = getattr(part, "_payload", None)  # not get_payload(): see _raw_payload
        if isinstance(payload, list):
            children = [child for child in payload if isinstance(child, Message)]
            if content_type.startswith("message/"):
                self._message(part, content_type, children, depth)
                return []
            return self._multipart(content_type, children, depth, body)
        if content_type.startswith("multipart/"):
            return self._broken_multipart(part, content_type, depth, body)
        if body and content_type in _BODY_TYPES and not _is_attachment(part):
            return self._text(part, content_type)
        self._file(part, content_type, inline_default=parent == "multipart/related")
        return []

    def _multipart(
        self, content_type: str, children: list[Message], depth: int, body: bool
    ) -> list[_Segment]:
        if not children:
            self.defects.append("multipart without parts")
            return []
        if content_type == "multipart/alternative":
            options = [self.walk(child, depth + 1, content_type, body) for child in children]
            return _best_alternative(options)
        if content_type == "multipart/report":
            # The first part is for people; the delivery status and returned message are data.
            segments = self.walk(children[0], depth + 1, content_type, body)
            for child in children[1:]:
                self.walk(child, depth + 1, content_type, body=False)
            return segments
        segments = []
        for child in children:
            segments.extend(self.walk(child, depth + 1, content_type, body))
        return segments

    def _broken_multipart(self, part: Message, content_type: str, depth: int, body: bool) -> list[_Segment]:
        """A multipart whose boundary never appears: re-read it with the delimiter it does use, or
        as plain text when it has none."""
        payload = _raw_payload(part)
        found = _DELIMITER_LINE.search(payload)
        if found:
            boundary = found.group(1).removesuffix("--")
            head = f'Content-Type: {content_type}; boundary="{boundary}"\n\n'.encode()
            try:
                repaired = BytesParser(policy=_POLICY).parsebytes(head + _to_bytes(payload))
            except Exception:
                repaired = None
            if repaired is not None and repaired.is_multipart():
                self.defects.append("multipart boundary not found; read with the delimiter it uses")
                return self.walk(repaired, depth + 1, body=body)
            self.defects.append("multipart boundary not found; not read")
            return []
        self.defects.append("multipart without parts; read as text")
        if not body or not payload.strip():
            return []
        data = _to_bytes(payload)[: self.limits.max_body_chars * _PLAIN_READ_FACTOR]
        return [_Segment(_decode_bytes(data, _charset(part), self.defects), False, None)]

    def _text(self, part: Message, content_type: str) -> list[_Segment]:
        html = content_type == "text/html"
        factor = _HTML_READ_FACTOR if html else _PLAIN_READ_FACTOR
        data, truncated = _payload_bytes(part, self.limits.max_body_chars * factor, self.defects)
        charset = _charset(part)
        if _looks_binary(data, charset):
            self.defects.append("binary data in a text part; kept as a file")
            self._file(part, "application/octet-stream")
            return []
        if truncated:
            self.defects.append("text part longer than the limit; the rest was not read")
        self.charset_hint = self.charset_hint or charset
        text = _decode_bytes(data, charset, self.defects, final=not truncated, html=html)
        if not html and _param(part, "format").lower() == "flowed":
            text = _unflow(_LINE_ENDS.sub("\n", text), delsp=_param(part, "delsp").lower() == "yes")
        return [_Segment(text, html, _language(_first_raw(part, "content-language")))]

    def _message(self, part: Message, content_type: str, children: list[Message], depth: int) -> None:
        inner = children[0] if children else None
        if content_type not in _NESTED_MESSAGES or inner is None:
            # Delivery status, disposition notifications, feedback reports and the like: data.
            self._add(
                _safe_filename("", content_type, self._next_index()),
                content_type,
                _tree_size(part),
                lambda: _body_bytes(part, self.defects),
            )
            return
        inner = _decoded_nested(part, inner, self.defects)
        subject = _one_line(_header_text("subject", _first_raw(inner, "subject"), None))
        name = _safe_filename(f"{subject[:100] or 'forwarded'}.eml", content_type, self._next_index())
        self._add(name, content_type, _tree_size(inner), lambda: _serialise(inner, self.defects) or b"")
        if not self.nested_segments:
            nested = _Walker(self.limits, self.defects, keep_files=False)
            segments = nested.walk(inner, depth + 1)
            has_text = any(segment.text.strip() for segment in segments)
            self.nested_segments = segments if has_text else nested.nested_segments
            self.parts.extend(nested.parts)

    def _file(self, part: Message, content_type: str, inline_default: bool = False) -> None:
        if not self.keep_files:
            return
        filename = _filename(part)
        disposition = _disposition(part)
        content_id = _content_id(part)
        size = _size_bound(part)
        if not filename and not size and disposition is None and content_id is None:
            return  # an empty part without a name: nothing to keep
        inline = disposition == "inline" or (
            disposition is None and (content_id is not None or inline_default)
        )
        name = _safe_filename(filename, content_type, self._next_index())
        self._add(name, content_type, size, lambda: _decoded_payload(part, self.defects), inline, content_id)

    def _add(
        self,
        filename: str,
        content_type: str,
        size: int,
        load: Callable[[], bytes],
        inline: bool = False,
        content_id: str | None = None,
    ) -> None:
        """Keep a file under the limits; `size` is an upper bound known before decoding."""
        if not self.keep_files:
            return
        limits = self.limits
        if len(self.attachments) >= limits.max_attachments:
            self._skip(SkippedAttachment(filename, content_type, size, "too_many"))
            return
        if size > limits.max_attachment_bytes:
            self._skip(SkippedAttachment(filename, content_type, size, "too_large"))
            return
        data = load()
        if len(data) > limits.max_attachment_bytes:
            self._skip(SkippedAttachment(filename, content_type, len(data), "too_large"))
        elif self._total + len(data) > limits.max_total_attachment_bytes:
            self._skip(SkippedAttachment(filename, content_type, len(data), "total_too_large"))
        else:
            self._total += len(data)
            self.attachments.append(MailAttachment(filename, content_type, data, inline, content_id))

    def _skip(self, skipped: SkippedAttachment) -> None:
        if len(self.skipped) < _MAX_SKIPPED:
            self.skipped.append(skipped)
        else:
            self.defects.append(f"more than {_MAX_SKIPPED} parts over the limits; the rest not listed")

    def _next_index(self) -> int:
        return len(self.attachments) + len(self.skipped) + 1

    def text_of(self, segments: list[_Segment]) -> tuple[str, str | None]:
        """The segments as one text (HTML converted), and the first language a part declared."""
        texts = []
        for segment in segments:
            text = _html_to_text(segment.text, self.limits, self.defects) if segment.html else segment.text
            text = _LINE_ENDS.sub("\n", text).lstrip("\n").rstrip()
            if text.strip():
                texts.append(text)
        language = next((segment.language for segment in segments if segment.language), None)
        return "\n\n".join(texts), language

    def collect_part_defects(self) -> None:
        for part in self.parts:
            for defect in getattr(part, "defects", ()):
                name = type(defect).__name__.removesuffix("Defect")
                self.defects.append(_DEFECT_WORDS.sub(" ", name).lower())


def _best_alternative(options: list[list[_Segment]]) -> list[_Segment]:
    """Plain text when an alternative has it; else the last (richest) one with any text."""
    for segments in options:
        if any(not segment.html and segment.text.strip() for segment in segments):
            return segments
    for segments in reversed(options):
        if any(segment.text.strip() for segment in segments):
            return segments
    return []


def _html_to_text(html: str, limits: MailLimits, defects: list[str]) -> str:
    # Imported here: it pulls in lxml, and most mail has a text part (cold starts matter).
    from inscriptis import get_text

    cap = limits.max_body_chars * _HTML_CONVERT_FACTOR
    if len(html) > cap:
        defects.append("HTML body longer than the limit; the rest was not read")
    # lxml refuses control characters; inscriptis drops <script> and <style> content itself.
    cleaned = _CONTROLS.sub("", _LINE_ENDS.sub("\n", _valid_unicode(html[:cap])))
    try:
        text = str(get_text(cleaned))
    except Exception as error:
        defects.append(f"HTML body could not be converted ({type(error).__name__})")
        return ""
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _unflow(text: str, delsp: bool) -> str:
    """Undo format=flowed soft line breaks (RFC 3676): a line ending in a space continues."""
    out: list[str] = []
    open_depth, open_text = -1, ""  # a flowed paragraph still being joined
    for line in text.split("\n"):
        content = line.lstrip(">")
        depth = len(line) - len(content)
        content = content.removeprefix(" ")  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if open_depth >= 0:
            if open_depth == depth:
                content = open_text + content
            else:
                out.append(_quoted(open_depth, open_text))
        if flowed:
            open_depth, open_text = depth, content
        else:
            open_depth = -1
            out.append(_quoted(depth, content))
    if open_depth >= 0:
        out.append(_quoted(open_depth, open_text))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    return f"{'>' * depth} {text}" if depth else text


# -- parts -----------------------------------------------------------------------------------------


def _content_type(part: Message) -> str:
    try:
        found = _MEDIA_TYPE.match(part.get_content_type().lower())
    except Exception:
        return "text/plain"
    # The stdlib keeps junk after a missing ';' in the subtype ("multipart/mixed\tboundary=...").
    return found.group(0) if found else "text/plain"


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        return None
    return str(charset) if charset else None


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name, "")
    except Exception:
        return ""
    return value if isinstance(value, str) else ""


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition() or None
    except Exception:
        return None


def _is_attachment(part: Message) -> bool:
    return _disposition(part) == "attachment" or bool(_filename(part))


def _filename(part: Message) -> str:
    """The file name the part gives (RFC 2231 and RFC 2047 decoded), or ""."""
    value = None
    for header, name in (("content-disposition", "filename"), ("content-type", "name")):
        parsed = _structured(header, _first_raw(part, header))
        with contextlib.suppress(Exception):
            value = parsed.params.get(name) if parsed is not None else None
        if value:
            break
    if not value:
        # policy.default drops what it cannot parse, such as an unquoted encoded word
        # (filename==?utf-8?B?...?=); the compat32 parameter parser keeps it.
        legacy = Message()
        with contextlib.suppress(Exception):
            for header in ("content-disposition", "content-type"):
                legacy[header] = _valid_unicode(_first_raw(part, header))
            value = legacy.get_filename()
    if not value:
        return ""
    value = _valid_unicode(str(value))
    return _header_text("subject", value, None) if "=?" in value else value


def _content_id(part: Message) -> str | None:
    value = _valid_unicode(_first_raw(part, "content-id")).strip()
    found = _BRACKETED_ID.search(value)
    content_id = found.group(1) if found else value
    if content_id and len(content_id) <= MAX_ID_CHARS and not _ONE_LINE.search(content_id):
        return content_id
    return None


def _cte(part: Message) -> str:
    return _first_raw(part, "content-transfer-encoding").strip().lower()


def _raw_payload(part: Message) -> str:
    # The payload as parsed. get_payload() would decode 8-bit text with its charset: a copy of the
    # whole part, which the size checks must not make.
    payload = getattr(part, "_payload", None)
    return payload if isinstance(payload, str) else ""


def _size_bound(part: Message) -> int:
    """The decoded size of a leaf part, at most; from the encoded payload, without decoding it."""
    payload = _raw_payload(part)
    if _cte(part) != "base64":
        return len(payload)  # quoted-printable and uuencode only shrink
    characters = len(payload) - sum(payload.count(space) for space in "\r\n\t ")
    tail = payload[-200:].rstrip()
    padding = 2 if tail.endswith("==") else 1 if tail.endswith("=") else 0
    return max(0, characters * 3 // 4 - padding)


def _payload_bytes(part: Message, max_encoded: int, defects: list[str]) -> tuple[bytes, bool]:
    """The decoded payload of a leaf part, from at most `max_encoded` encoded characters; and
    whether it was cut."""
    payload = _raw_payload(part)
    if len(payload) <= max_encoded:
        return _decoded_payload(part, defects), False
    encoding = _cte(part) or "8bit"
    chunk = payload[:max_encoded]
    if encoding == "base64":  # whole 4-character groups, or the stdlib returns it undecoded
        chunk = re.sub(r"\s+", "", chunk)
        chunk = chunk[: len(chunk) // 4 * 4]
    elif encoding == "quoted-printable":
        chunk = re.sub(r"=[0-9A-Fa-f]?$", "", chunk)  # no half escape at the cut
    copy = Message()
    copy["Content-Transfer-Encoding"] = encoding
    copy.set_payload(chunk)
    return _decoded_payload(copy, defects), True


def _decoded_payload(part: Message, defects: list[str]) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as error:
        defects.append(f"part could not be decoded ({type(error).__name__})")
        return b""
    return data if isinstance(data, bytes) else b""


def _looks_binary(data: bytes, charset: str | None) -> bool:
    """Many NUL bytes: a binary file (an Outlook .msg as a mail), no text except UTF-16 and UTF-32."""
    nuls = data.count(b"\x00")
    return nuls * 20 > len(data) > 0 and not (charset or "").lower().startswith(("utf-16", "utf-32"))


def _decoded_nested(part: Message, inner: Message, defects: list[str]) -> Message:
    """The nested message itself when the part is (wrongly) base64 or quoted-printable encoded."""
    encoding = _cte(part)
    if encoding not in ("base64", "quoted-printable"):
        return inner
    copy = Message()
    copy["Content-Transfer-Encoding"] = encoding
    copy.set_payload(_to_str(_serialise(inner, defects) or b""))
    try:
        decoded = BytesParser(policy=_POLICY).parsebytes(_decoded_payload(copy, defects).lstrip(b"\r\n"))
    except Exception:
        return inner
    defects.append(f"message part with {encoding} transfer encoding")
    return decoded


def _serialise(message: Message, defects: list[str]) -> bytes | None:
    buffer = BytesIO()
    try:
        generator: BytesGenerator[Any] = BytesGenerator(buffer, mangle_from_=False, policy=_OUTPUT_POLICY)
        generator.flatten(message)
    except Exception as error:
        defects.append(f"nested message could not be written ({type(error).__name__})")
        return None
    return buffer.getvalue()


def _body_bytes(part: Message, defects: list[str]) -> bytes:
    """What follows the part's own header block, as it would be written."""
    data = _serialise(part, defects) or b""
    if data.startswith(b"\r\n"):
        return data[2:]
    return data.partition(b"\r\n\r\n")[2]


def _tree_size(message: Message) -> int:
    """About the size of a message written out, without writing it (iterative: trees can be deep)."""
    total, stack = 0, [message]
    while stack:
        part = stack.pop()
        with contextlib.suppress(Exception):
            total += sum(len(name) + len(str(value)) + 4 for name, value in part.raw_items())
        payload = getattr(part, "_payload", None)
        if isinstance(payload, list):
            stack.extend(child for child in payload if isinstance(child, Message))
            total += 100 * len(payload)  # boundary lines
        elif isinstance(payload, str):
            total += len(payload)
    return total


def _to_bytes(text: str) -> bytes:
    # The parser keeps undecodable bytes as surrogate escapes: this gives the original bytes back.
    return text.encode("utf-8", "surrogateescape")


def _to_str(data: bytes) -> str:
    return data.decode("ascii", "surrogateescape")


# -- file names ------------------------------------------------------------------------------------


def _safe_filename(name: str, content_type: str, index: int) -> str:
    """A name usable as the last part of an S3 key: no path, no controls, at most 120 characters."""
    name = re.split(r"[/\\]", _valid_unicode(name))[-1]
    name = _ONE_LINE.sub(" ", _UNSAFE_NAME.sub("", name)).strip(" .")
    if not name:
        extension = (
            mimetypes.guess_extension(content_type)
            or _EXTENSIONS.get(content_type)
            or (".txt" if content_type.startswith("text/") else ".bin")
        )
        return f"attachment-{index}{extension}"
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            name = f"{stem[: MAX_FILENAME_CHARS - 1 - len(extension)].rstrip()}.{extension}"
        else:
            name = name[:MAX_FILENAME_CHARS]
    return name


# -- charsets --------------------------------------------------------------------------------------


def _decode_bytes(
    data: bytes, label: str | None, defects: list[str], *, final: bool = True, html: bool = False
) -> str:
    """Text from bytes in the declared charset, else the best guess; never fails.

    final=False: `data` was cut, so an incomplete character at its end is not an error."""
    if not data:
        return ""
    declared = _codecs_for(label)
    if label and not declared:
        defects.append("unknown charset")
    for name in declared:
        text = _try_decode(data, name, final)
        if text is not None:
            return text
    if declared:
        defects.append("text not in its declared charset")
    if html:
        meta = _META_CHARSET.search(data[:4096])
        for name in _codecs_for(meta.group(1).decode("ascii")) if meta else ():
            text = _try_decode(data, name, final)
            if text is not None:
                return text
    return _guess(data, final)


def _guess(data: bytes, final: bool = True, detect: bool = True) -> str:
    """utf-8, else utf-8 with a few bad bytes, else the detector, else windows-1252."""
    text = _try_decode(data, "utf-8", final)
    if text is not None:
        return text
    # Mostly UTF-8 with a stray bad byte: better read as UTF-8 with a replacement character.
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    if sum(1 for character in text if character > "\x7f") - bad >= 10 * bad:
        return text
    detected = _detect(data) if detect else None
    return detected if detected is not None else data.decode("cp1252", "replace")


def _detect(data: bytes) -> str | None:
    try:
        # Optional: installed with requests, not a dependency of its own.
        from charset_normalizer import from_bytes
    except ImportError:
        return None
    try:
        best = from_bytes(data[:_DETECT_BYTES]).best()
        return data.decode(best.encoding, "replace") if best is not None else None
    except Exception:
        return None


def _codecs_for(label: str | None) -> list[str]:
    if not label:
        return []
    key = label.strip().strip("\"'").lower()
    return [name for name in _CHARSET_CODECS.get(key, (key,)) if _is_text_codec(name)]


@functools.lru_cache(maxsize=256)
def _is_text_codec(name: str) -> bool:
    try:
        info = codecs.lookup(name)
    except Exception:
        return False
    try:
        # Bytes-to-bytes codecs (zlib, bz2, base64, ...) refuse to decode to str: a charset label must
        # never decompress. Not b"": Python returns "" for it without asking the codec.
        with contextlib.suppress(ValueError):  # a text codec that dislikes one byte (utf-16)
            b"a".decode(info.name)
    except LookupError:
        return False
    return info.name not in _REFUSED_CODECS


def _try_decode(data: bytes, name: str, final: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(name)("strict").decode(data, final)
    except Exception:  # UnicodeDecodeError mostly; whatever else a codec raises means "not this one"
        return None


def _valid_unicode(value: str, hint: str | None = None) -> str:
    """No surrogates: the parser's escapes of raw 8-bit header bytes decoded (UTF-8 per RFC 6532,
    else the message's charset, else windows-1252); any other surrogate replaced."""
    if not _SURROGATES.search(value):
        return value
    try:
        data = _to_bytes(value)
    except UnicodeEncodeError:
        return _SURROGATES.sub("\ufffd", value)
    if _try_decode(data, "utf-8", True) is None:
        for name in _codecs_for(hint):
            text = _try_decode(data, name, True)
            if text is not None:
                return text
    return _guess(data, detect=False)


# -- headers ---------------------------------------------------------------------------------------


def _raw_values(message: Message, name: str) -> list[str]:
    """Every value of a header as it came, unfolded."""
    try:
        return [_FOLDS.sub("", str(value)) for key, value in message.raw_items() if key.lower() == name]
    except Exception:
        return []


def _first_raw(message: Message, name: str) -> str:
    values = _raw_values(message, name)
    return values[0] if values else ""


def _structured(name: str, value: str, hint: str | None = None) -> Any:
    """policy.default's header object for a raw value, or None when it cannot parse it."""
    if not value:
        return None
    # Raw 8-bit bytes decoded first: the header classes would make them U+FFFD. Encoded words in
    # charsets that real mail gets wrong are decoded with the superset.
    value = _valid_unicode(value[:_MAX_PARSED_HEADER_CHARS], hint)
    value = _ENCODED_WORD_CHARSET.sub(_superset_word, value)
    try:
        return _POLICY.header_factory(name, value)
    except Exception:
        return None


def _superset_word(match: re.Match[str]) -> str:
    codecs_ = _CHARSET_CODECS.get(match.group(1).lower())
    return f"=?{codecs_[0]}{match.group(2)}" if codecs_ else match.group(0)


def _header_text(name: str, value: str, hint: str | None) -> str:
    """A header value decoded (RFC 2047 words, raw 8-bit bytes), without line breaks."""
    if not value:
        return ""
    parsed = _structured(name, value, hint)
    if parsed is None and name != "subject":
        parsed = _structured("subject", value, hint)  # unstructured: just decode the words
    return _valid_unicode(str(parsed) if parsed is not None else value, hint)


def _header_map(message: Message, hint: str | None, defects: list[str]) -> dict[str, tuple[str, ...]]:
    values: dict[str, list[str]] = {}
    kept = dropped = 0
    try:
        items = list(message.raw_items())
    except Exception:
        items = []
    for name, raw in items:
        key = str(name).strip().lower()
        # Past the cap, the headers the loop rules read are still kept: a long Received chain
        # must not hide Auto-Submitted or List-Id.
        if kept >= MAX_HEADERS and (key not in LOOP_HEADERS or kept >= 2 * MAX_HEADERS):
            dropped += 1
            continue
        value = _FOLDS.sub("", str(raw))[: 8 * MAX_HEADER_CHARS]
        # Decoded as unstructured text: the loop rules read keywords, and it is quick on any value.
        values.setdefault(key, []).append(_one_line(_header_text("subject", value, hint))[:MAX_HEADER_CHARS])
        kept += 1
    if dropped:
        defects.append(f"more than {MAX_HEADERS} headers; the rest were not kept")
    return {key: tuple(found) for key, found in values.items()}


def _duplicate_headers(message: Message, defects: list[str]) -> None:
    for name in _SINGLE_HEADERS:
        if len(_raw_values(message, name)) > 1:
            defects.append(f"more than one {name} header")


def _addresses(message: Message, name: str, hint: str | None, defects: list[str]) -> tuple[MailAddress, ...]:
    found: dict[str, MailAddress] = {}
    for value in _raw_values(message, name)[:_MAX_ADDRESS_HEADERS]:
        if len(value) > MAX_STRUCTURED_HEADER_CHARS:
            # Too long for the header parser (see _BoundedHeaders), which would see only its start:
            # the mailboxes in angle brackets, without their names (a From's is at its end).
            defects.append(f"{name} header too long to parse; only its <addresses> read")
            value = value[:_MAX_PARSED_HEADER_CHARS]
            found_in = _ANGLE_ADDRESS.findall(_valid_unicode(value, hint))[:_MAX_LONG_HEADER_ADDRESSES]
            pairs = [("", address) for address in found_in]
        else:
            pairs = _address_pairs(name, value, hint, defects)
        written = _valid_unicode(value, hint).lower()
        for display_name, address in pairs:
            email = _valid_unicode(address, hint).strip()
            # Not in the header as written: made from an encoded word, which RFC 2047 forbids there.
            if _usable_address(email) and email.lower() in written:
                display = _one_line(_valid_unicode(display_name, hint))
                found.setdefault(email.lower(), MailAddress(email=email, name=display))
    return tuple(found.values())


def _address_pairs(name: str, value: str, hint: str | None, defects: list[str]) -> list[tuple[str, str]]:
    value = _valid_unicode(value, hint)
    if not value.strip():
        return []
    parsed = _structured(name, value)
    try:
        pairs = [(str(address.display_name), str(address.addr_spec)) for address in parsed.addresses]
    except Exception:
        defects.append(f"malformed {name} header")
        try:
            return getaddresses([_header_text("subject", value, None)])
        except Exception:
            return []
    if "<" in value and any(type(defect).__name__ == "InvalidHeaderDefect" for defect in parsed.defects):
        # An unquoted display name that looks like an address ("ceo@bank.example <me@evil.example>")
        # is taken by the stdlib for the mailbox. Mail clients, and SES for DMARC, use the one in
        # angle brackets: so must we, or a forged display name would pass for the sender.
        # Each such address is replaced where it stands (the first one is the sender), by the
        # mailbox in the angle brackets after it, or dropped when that is no plain address.
        replaced: list[tuple[str, str]] = []
        for display_name, address in pairs:
            shown = re.search(re.escape(address) + _THEN_ANGLE, value)
            if shown is None:
                replaced.append((display_name, address))
                continue
            mailbox = _ANGLE_ADDRESS.fullmatch(f"<{shown.group(1)}>")
            if mailbox:
                replaced.append(("", mailbox.group(1)))
        pairs = replaced
        known = {address.lower() for _, address in pairs}
        pairs.extend(
            ("", address) for address in _ANGLE_ADDRESS.findall(value) if address.lower() not in known
        )
    return pairs


def _usable_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain) and len(address) <= 320 and not _ADDRESS_JUNK.search(address)


def _id_header(message: Message, name: str) -> str:
    # Encoded words too: Python's email package folds a long In-Reply-To into them.
    values = _raw_values(message, name) if name == "references" else _raw_values(message, name)[:1]
    return " ".join(_header_text("subject", value, None) for value in values)


def _ids(value: str, bare_allowed: bool = False) -> tuple[str, ...]:
    """Every well-formed <id> in a header value, in order; junk between them is ignored."""
    value = _valid_unicode(value)
    found = [f"<{token}>" for token in _BRACKETED_ID.findall(value) if _id_fits(token)]
    if not found and bare_allowed:
        bare = value.strip()
        if _BARE_ID.fullmatch(bare) and _id_fits(bare):
            found = [f"<{bare}>"]
    return tuple(dict.fromkeys(found))


def _id_fits(token: str) -> bool:
    # Octets, not characters (RFC 6532): ids become table keys, which DynamoDB limits in bytes,
    # and 998 emoji would be 4 KB.
    return len(token.encode("utf-8")) + 2 <= MAX_ID_CHARS


def _first_id(value: str) -> str | None:
    return next(iter(_ids(value, bare_allowed=True)), None)


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value)
    except Exception:
        return None
    # "-0000" (RFC 5322: UTC, local zone unknown) parses as naive
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _language(value: str) -> str | None:
    primary = value.split(",")[0].strip().split("-")[0].strip().lower()
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else None


# -- text ------------------------------------------------------------------------------------------


def _one_line(value: str) -> str:
    return _ONE_LINE.sub(" ", _valid_unicode(value)).strip()


def _clean_text(text: str) -> str:
    return _CONTROLS.sub("", _LINE_ENDS.sub("\n", _valid_unicode(text)))


def _unique(defects: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(defects))[:_MAX_DEFECTS]
