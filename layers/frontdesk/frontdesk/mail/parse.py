"""Raw MIME (as SES stores it) to ParsedEmail, with the standard library's email package.

Never raises: whatever is broken in a message is recorded in `defects` and parsing goes on with
what can be read. Sizes are checked before decoding, so an oversized attachment is never
decoded into memory.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from frontdesk.mail.message import MailAddress, MailAttachment, MailLimits, ParsedEmail, SkippedAttachment

MAX_HEADERS = 200
MAX_HEADER_CHARS = 1_000
_MESSAGE_ID = re.compile(r"<([^<>\s]{1,996})>")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ONE_LINE = re.compile(r"[\s\x00-\x1f\x7f\u2028\u2029]+")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
# Labels that real mail uses for a superset: gb2312 mail routinely carries GBK characters.
_CHARSET_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "ks_c_5601-1987": "cp949"}


def parse_email(raw: bytes, limits: MailLimits = MailLimits()) -> ParsedEmail:  # noqa: B008 (frozen)
    defects: list[str] = []
    try:
        root = message_from_bytes(raw, policy=policy.default)
    except Exception as error:
        defects.append(f"unparseable message: {type(error).__name__}")
        root = EmailMessage()
    walker = _Walker(limits, defects)
    walker.visit(root, depth=0)
    text = walker.body_text()
    nested_text = walker.nested_text
    if not text.strip() and nested_text:
        text = nested_text
    return ParsedEmail(
        message_id=_first_id(_header(root, "message-id", defects)),
        in_reply_to=tuple(_ids(_header(root, "in-reply-to", defects))),
        references=tuple(_ids(_header(root, "references", defects))),
        subject=_one_line(_header(root, "subject", defects)),
        sender=next(iter(_addresses(root, "from", defects)), None),
        reply_to=tuple(_addresses(root, "reply-to", defects)),
        to=tuple(_addresses(root, "to", defects)),
        cc=tuple(_addresses(root, "cc", defects)),
        date=_date(_header(root, "date", defects)),
        text=_clean_text(text)[: limits.max_body_chars],
        content_type=_content_type(root),
        language=_language(_header(root, "content-language", defects) or walker.body_language),
        headers=_all_headers(root, defects),
        attachments=tuple(walker.attachments),
        skipped_attachments=tuple(walker.skipped),
        defects=tuple(dict.fromkeys(defects)),
    )


class _Walker:
    """Collects body text and attachments from the MIME tree, depth first, in order."""

    def __init__(self, limits: MailLimits, defects: list[str]) -> None:
        self.limits = limits
        self.defects = defects
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[MailAttachment] = []
        self.skipped: list[SkippedAttachment] = []
        self.nested_text = ""
        self.body_language: str = ""
        self._total = 0
        self._alternative_done = False

    def visit(self, part: Message, depth: int, in_alternative: bool = False) -> None:
        if depth > self.limits.max_depth:
            self.defects.append("nesting deeper than the limit; the rest was not read")
            return
        content_type = _content_type(part)
        if part.is_multipart() and not content_type.startswith("message/"):
            children = _children(part, self.defects)
            if content_type == "multipart/alternative":
                self._visit_alternative(children, depth)
                return
            for index, child in enumerate(children):
                # A report's first part is its human-readable text; the rest are data.
                if content_type == "multipart/report" and index > 0:
                    self._attach(child, index)
                    continue
                self.visit(child, depth + 1)
            return
        if content_type in ("message/rfc822", "message/global"):
            self._nested(part, depth)
            return
        if _is_attachment(part) or not content_type.startswith("text/"):
            self._attach(part, len(self.attachments) + len(self.skipped))
            return
        if content_type == "text/html":
            self.html.append(_decode_text(part, self.defects))
        else:
            self.plain.append(_decode_text(part, self.defects))
        self.body_language = self.body_language or str(part.get("content-language", "") or "")

    def _visit_alternative(self, children: list[Message], depth: int) -> None:
        # Prefer the plain text alternative; fall back to the richest one we can read.
        plain = [child for child in children if _content_type(child) == "text/plain"]
        chosen = plain[:1] or list(reversed(children))[:1]
        for child in chosen:
            self.visit(child, depth + 1)
        for child in children:  # related parts' inline images still count as attachments
            if child not in chosen and _content_type(child).startswith("multipart/"):
                before = (len(self.plain), len(self.html))
                self.visit(child, depth + 1)
                del self.plain[before[0] :]
                del self.html[before[1] :]

    def _nested(self, part: Message, depth: int) -> None:
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            self._attach(part, len(self.attachments))
            return
        try:
            data = inner.as_bytes()
        except Exception:
            data = b""
            self.defects.append("nested message could not be serialised")
        subject = _one_line(_safe_get(inner, "subject")) or "forwarded"
        self._keep(_safe_filename(subject[:100] + ".eml", "message/rfc822", 0), "message/rfc822", data)
        if not self.nested_text:
            nested = _Walker(self.limits, self.defects)
            nested.visit(inner, depth + 1)
            self.nested_text = nested.body_text()

    def _attach(self, part: Message, index: int) -> None:
        content_type = _content_type(part)
        filename = _safe_filename(_filename(part, self.defects), content_type, index + 1)
        encoded_size = _encoded_size(part)
        too_many = len(self.attachments) >= self.limits.max_attachments
        if too_many or encoded_size > self.limits.max_attachment_bytes:
            reason = "too_many" if too_many else "too_large"
            self.skipped.append(SkippedAttachment(filename, content_type, encoded_size, reason))
            return
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
            self.defects.append("attachment could not be decoded")
        if not isinstance(data, bytes):
            data = str(data).encode("utf-8", "replace")
        if len(data) > self.limits.max_attachment_bytes:
            self.skipped.append(SkippedAttachment(filename, content_type, len(data), "too_large"))
            return
        if self._total + len(data) > self.limits.max_total_attachment_bytes:
            self.skipped.append(SkippedAttachment(filename, content_type, len(data), "total_too_large"))
            return
        content_id = _one_line(_safe_get(part, "content-id")).strip("<> ") or None
        disposition = str(part.get_content_disposition() or "")
        self._keep(
            filename, content_type, data, inline=disposition == "inline" or bool(content_id), cid=content_id
        )

    def _keep(
        self, filename: str, content_type: str, data: bytes, inline: bool = False, cid: str | None = None
    ) -> None:
        if len(self.attachments) >= self.limits.max_attachments:
            self.skipped.append(SkippedAttachment(filename, content_type, len(data), "too_many"))
            return
        self._total += len(data)
        self.attachments.append(MailAttachment(filename, content_type, data, inline, cid))

    def body_text(self) -> str:
        if any(text.strip() for text in self.plain):
            return "\n\n".join(text.strip("\n") for text in self.plain if text.strip())
        if self.html:
            return html_to_text("\n".join(self.html))
        return ""


def html_to_text(html: str) -> str:
    """Readable text from an HTML body (scripts and styles dropped), by inscriptis."""
    # Imported here: it pulls in lxml, and most mail has a text part.
    from inscriptis import get_text

    try:
        return str(get_text(html))
    except Exception:
        return re.sub(r"<[^>]*>", " ", html)


# -- parts ----------------------------------------------------------------------------------------


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type().lower()
    except Exception:
        return "text/plain"


def _children(part: Message, defects: list[str]) -> list[Message]:
    payload = part.get_payload()
    if not isinstance(payload, list):
        defects.append("multipart without parts")
        return []
    return [child for child in payload if isinstance(child, Message)]


def _is_attachment(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
        return disposition == "attachment" or bool(part.get_filename())
    except Exception:
        return False


def _decode_text(part: Message, defects: list[str]) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        defects.append("text part could not be decoded")
        return ""
    if not isinstance(data, bytes):
        return str(data or "")
    charset = str(part.get_content_charset() or "utf-8").lower()
    charset = _CHARSET_SUPERSETS.get(charset, charset)
    try:
        codecs.lookup(charset)
    except LookupError:
        defects.append("unknown charset")
        charset = "utf-8"
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        defects.append("text not in its declared charset")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    except ImportError:
        pass
    return data.decode("latin-1")


def _encoded_size(part: Message) -> int:
    """An upper bound of the decoded size, from the encoded payload, without decoding it."""
    payload = part.get_payload(decode=False)
    if not isinstance(payload, str):
        return 0
    encoding = str(part.get("content-transfer-encoding", "")).strip().lower()
    return len(payload) * 3 // 4 if encoding == "base64" else len(payload)


def _filename(part: Message, defects: list[str]) -> str:
    try:
        return str(part.get_filename() or "")
    except Exception:
        defects.append("unreadable filename")
        return ""


def _safe_filename(name: str, content_type: str, index: int) -> str:
    name = _valid_unicode(name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip().strip(".") or ""
    if not name:
        extension = mimetypes.guess_extension(content_type) or ".bin"
        name = f"attachment-{index}{extension}"
    if len(name) > 120:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 119 - len(extension)] + dot + extension) if dot and len(extension) < 10 else name[:120]
    return name


# -- headers --------------------------------------------------------------------------------------


def _safe_get(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:
        return ""
    return "" if value is None else str(value)


def _header(message: Message, name: str, defects: list[str]) -> str:
    try:
        value = message.get(name)
    except Exception:
        defects.append(f"malformed {name} header")
        return _raw_header(message, name)
    return "" if value is None else str(value)


def _raw_header(message: Message, name: str) -> str:
    for key, value in message.raw_items():
        if key.lower() == name:
            return str(value)
    return ""


def _all_headers(message: Message, defects: list[str]) -> dict[str, tuple[str, ...]]:
    headers: dict[str, list[str]] = {}
    try:
        names = message.keys()
    except Exception:
        return {}
    for index, name in enumerate(names):
        if index >= MAX_HEADERS:
            defects.append("too many headers; the rest were not kept")
            break
        lowered = name.lower()
        if lowered in headers:
            continue
        try:
            values = message.get_all(name) or []
        except Exception:
            values = [value for key, value in message.raw_items() if key.lower() == lowered]
        headers[lowered] = [_one_line(str(value))[:MAX_HEADER_CHARS] for value in values]
    return {name: tuple(values) for name, values in headers.items()}


def _addresses(message: Message, name: str, defects: list[str]) -> list[MailAddress]:
    try:
        header: Any = message.get(name)
        found = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())] if header else []
    except Exception:
        defects.append(f"malformed {name} header")
        found = getaddresses([_raw_header(message, name)])
    result = []
    for display_name, address in found:
        address = _valid_unicode(address).strip()
        if "@" not in address or _CONTROLS.search(address) or " " in address or "\ufffd" in address:
            continue
        result.append(MailAddress(email=address, name=_one_line(display_name)))
    return result


def _ids(value: str) -> list[str]:
    return [f"<{token}>" for token in _MESSAGE_ID.findall(value)]


def _first_id(value: str) -> str | None:
    found = _ids(value)
    if found:
        return found[0]
    bare = value.strip()
    if bare and "@" in bare and not re.search(r"[\s<>\x00-\x1f]", bare) and len(bare) < 996:
        return f"<{bare}>"
    return None


def _date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def _language(value: str) -> str | None:
    primary = value.split(",")[0].strip().split("-")[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def _one_line(value: str) -> str:
    return _ONE_LINE.sub(" ", _valid_unicode(value)).strip()


def _clean_text(text: str) -> str:
    text = _valid_unicode(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


def _valid_unicode(value: str) -> str:
    """Undo the parser's surrogate escapes (raw 8-bit bytes in headers): as UTF-8 if they are,
    else replacement characters. Lone surrogates cannot be stored or sent anywhere."""
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # surrogates that are not escaped bytes
        return value.encode("utf-8", "replace").decode("utf-8")
