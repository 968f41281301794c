"""The newly written part of an inbound email: quoted history and signatures removed.

mail-parser-reply does the core work: quote headers and sign-offs in many languages. Around it: a
size limit; a language-neutral catch for quote headers it has no words for; inline answers kept;
lines shielded from its signature rules where those would drop real text; and a clean-up that puts
back the original lines (it strips indentation) and drops what is left of a header above the cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import islice

from mailparser_reply import EmailReplyParser
from mailparser_reply.constants import MAIL_LANGUAGES

# Every language mail-parser-reply 1.36 has data for, except a vendor-specific header set. It has
# no Portuguese, Finnish, Norwegian or Russian: Danish data matches most Norwegian headers
# ("... skrev ...:"), and _is_attribution below catches the usual "<date> <name> <address> <verb>:"
# header in any language. English is added by the library in any case.
DEFAULT_LANGUAGES: tuple[str, ...] = (
    "en",
    "de",
    "fr",
    "it",
    "nl",
    "pl",
    "es",
    "sv",
    "da",
    "cs",
    "ja",
    "zh",
    "ko",
)

# The new text is at the top; below it the quoted history can be a whole thread. The library's header
# patterns are quadratic in line length (one 16,000-character line starting "On " takes seconds), so
# only the first _WINDOW characters are parsed, and lines are cut to _LINE_CAP for matching. No
# quote header is that long; a message whose history starts later is kept whole.
_WINDOW = 20_000
_LINE_CAP = 300

_QUOTED = re.compile(r"\s*>(?!>*:\s*$)")  # not ">:", the tail of a header wrapped before its "<address>"
_ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_BRACKETED_ADDRESS = re.compile(rf'[<(\["]\s*(?:mailto:)?{_ADDRESS}|{_ADDRESS}\s*[>)\]"]')
_BARE_ADDRESS = re.compile(_ADDRESS)
_DATE_OR_TIME = re.compile(r"\d{1,2}[:.h]\d{2}|\b\d{4}\b")
_ATTRIBUTION_END = re.compile(r"(?:[:\uff1a]|\bwrote)[\s-]*$", re.IGNORECASE)  # \uff1a: full-width colon
_WROTE = re.compile(r"\bwrote[\s-]*$", re.IGNORECASE)
# Lines the library would take for the start of a signature, dropping everything below, although
# customers write them mid-message: a thank-you ("Thanks, that worked. But now ...", from the
# library's sign-off lists) and a "- item" list. "-Name" (no space) stays a sign-off.
_NOT_A_SIGNATURE = re.compile(
    r"\s*(?:(?:thanks|thank you|many thanks|gracias|muchas gracias|bedankt|dank u|děkuji|děkujeme|tak|"
    r"감사합니다|고맙습니다|谢谢)\b|- \S)",
    re.IGNORECASE,
)
_PROTECT = "\u200b"  # a zero-width space in front of a line keeps the library's ^-anchored patterns off it
# What is left above a header the library cut at: "-----Original message-----" style rules and
# header lines it did not recognise ("Envoyé le : ..." above "À : ..."). The text between the rules
# excludes the rule characters so that matching stays linear.
_SEPARATOR = re.compile(r"[-_=*~]{3,}(?:[^-_=*~]{1,40}[-_=*~]{3,})?")
_HEADER_FIELD = re.compile(r"\*?[^\W\d_][\w.'-]*(?: [\w.'-]+){0,2}\*? ?:.*|<?(?:mailto:)?" + _ADDRESS + r">?")
# The lines mail clients put above a forwarded message, in the languages above.
_FORWARD = re.compile(
    r"\s*(?:-{2,}\s*)?(?:forwarded message|begin forwarded message|weitergeleitete nachricht|"
    r"message transf[ée]r[ée]|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|"
    r"mensagem encaminhada|vidarebefordrat meddelande|videresendt meddelelse)\b",
    re.IGNORECASE,
)
# A mail app's sign-off rendered from HTML, on its own line above the quote: "Sent with X<https://...>".
_LINKED_SIGNOFF = re.compile(r"[^<>\s](?:[^<>]{0,60})<https?://[^\s<>]+>")


@lru_cache(maxsize=8)
def _parser(languages: tuple[str, ...]) -> EmailReplyParser:
    # One parser per language set, kept across the invocations a Lambda process serves.
    return EmailReplyParser(languages=list(languages))


@lru_cache(maxsize=16)
def _signoff(languages: tuple[str, ...], whole_word: bool) -> re.Pattern[str]:
    """The library's sign-off words at the start of a line: as it matches them, or as whole words.

    It matches them as prefixes: Danish "Tak" in "Take a look", Swedish "/Name" in "/var/log/app.log",
    and drops everything from there. A line that has them only as a prefix is protected.
    """
    words = "|".join(
        word
        for language in (*languages, "en")
        for word in MAIL_LANGUAGES.get(language, {}).get("signatures", [])
    )
    boundary = r"(?![\w/])" if whole_word else ""
    return re.compile(rf"\s*(?:> ?)*(?:{words}){boundary}", re.IGNORECASE)


def _signoff_only_as_prefix(line: str, languages: tuple[str, ...]) -> bool:
    # The whole-word pattern is compiled only once a line starts with a sign-off word: most
    # messages have none, and each pattern of every language's words takes about 2 ms to compile.
    return bool(_signoff(languages, False).match(line)) and not _signoff(languages, True).match(line)


def extract_reply(text: str, languages: Sequence[str] | None = None) -> str:
    """The text the sender wrote in this message, without quoted history or signature.

    The whole text (stripped) when nothing is quoted, and never empty when `text` has content.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return ""
    if isinstance(languages, str):
        languages = [languages]
    try:
        chosen = tuple(languages) if languages is not None else DEFAULT_LANGUAGES
        reply = _extract(text, _parser(chosen), chosen)
    except Exception:  # third-party regex code: a bug there must not lose the customer's message
        return text.strip()
    return reply or text.strip()


def _extract(text: str, parser: EmailReplyParser, languages: tuple[str, ...]) -> str:
    lines = text.split("\n")
    window = _window(lines)

    answered = _interleaved_end(window)
    cut = _quote_start(window, answered)
    head = window[:cut]
    parsed = [_for_parsing(line, index < answered, languages) for index, line in enumerate(head)]
    message = parser.read("\n".join(parsed))
    first = message.replies[0]
    found_quote = cut is not None or len(message.replies) > 1 or bool(first.headers)
    if len(window) < len(lines) and not found_quote:
        return text.strip()

    reply, covered = _restore(first.body, head, parsed)
    forward = next((i for i, line in enumerate(window) if _FORWARD.match(line)), None)
    if forward is not None and not any(line.strip() for line in window[covered:forward]):
        return text.strip()  # a forwarded message is what the sender wants read, not history
    return "\n".join(_tidy(reply, found_quote)).strip()


def _window(lines: list[str]) -> list[str]:
    size = 0
    for index, line in enumerate(lines):
        size += len(line) + 1
        if size > _WINDOW:
            return lines[: max(index, 1)]
    return lines


def _for_parsing(line: str, answered: bool, languages: tuple[str, ...]) -> str:
    # Non-breaking spaces stand before colons in French headers ("Objet\xa0: ..."); the library
    # expects plain spaces.
    line = line[:_LINE_CAP].replace("\xa0", " ")
    if answered or _NOT_A_SIGNATURE.match(line) or _signoff_only_as_prefix(line, languages):
        return _PROTECT + line
    return line


def _interleaved_end(lines: list[str]) -> int:
    """How many lines hold answers written between quoted lines (0 if none): all of them are kept.

    An answer counts when more quoted text follows it, and only when the quote starts right under a
    short opening ("Hi,\nOn ... wrote:"): a quote deep in the message is history, not what is answered.
    A line straight under a quoted one, with no blank line between, is the quote's re-wrapped tail.
    """
    first_quote = next((i for i, line in enumerate(lines) if _QUOTED.match(line)), None)
    if first_quote is None:
        return 0
    opening = [line.strip() for line in lines[:first_quote] if line.strip()]
    if len(opening) > 3 or (opening and not _ATTRIBUTION_END.search(opening[-1])):
        return 0
    end = 0
    pending = None
    in_quote = False
    for index in range(first_quote, len(lines)):
        if not lines[index].strip():
            in_quote = False
        elif in_quote or _QUOTED.match(lines[index]):
            in_quote = True
            end = pending or end
        else:
            pending = index + 1
    return end


def _quote_start(lines: list[str], begin: int) -> int | None:
    """Where quoted history starts, at or after `begin`, in a form the library has no words for.

    Not at the very top: a message that starts with a quote header is a reply written below the quote.
    """
    found = [_attribution(lines[begin:]), _separated_header(lines[begin:])]
    starts = [begin + start for start in found if start is not None]
    if not starts or not any(line.strip() for line in lines[: min(starts)]):
        return None
    return min(starts)


def _separated_header(lines: list[str]) -> int | None:
    """A rule line ("-------- Message d'origine --------", "____") over header fields with an address."""
    for index, line in enumerate(lines):
        if not _SEPARATOR.fullmatch(line.strip()):
            continue
        fields = [field[:_LINE_CAP] for field in islice(_nonblank(lines, index + 1), 6)]
        count = next((n for n, field in enumerate(fields) if not _HEADER_FIELD.fullmatch(field)), len(fields))
        if count >= 2 and any("@" in field for field in fields[:count]):
            return index
    return None


def _attribution(lines: list[str]) -> int | None:
    """The first line of a quote header such as `30.09.2017, 18:30, "Ana" <ana@example.com>:`.

    Mail clients write it in the reader's language, often wrapped over two or three lines; its shape
    (a date or time, the sender's address, a colon at the end) is the same in all of them.
    """
    for end, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or len(stripped) > _LINE_CAP or _QUOTED.match(line):
            continue
        if not _ATTRIBUTION_END.search(stripped):
            continue
        following = next(_nonblank(lines, end + 1), "")
        for start in range(end, max(end - 3, -1), -1):
            block = " ".join(part.strip() for part in lines[start : end + 1])
            if not lines[start].strip() or _QUOTED.match(lines[start]):
                break
            if _is_attribution(block, following):
                # A header wrapped after a comma ("On Nov 21, 2014,\nat 10:18,\nAna <...> wrote:").
                while start > 0 and end - start < 2 and lines[start - 1].strip().endswith(","):
                    start -= 1
                return start
    return None


def _nonblank(lines: list[str], start: int) -> Iterator[str]:
    """The non-blank lines from `start` on, stripped (lazily: callers look at the first few)."""
    return (line.strip() for line in islice(lines, start, None) if line.strip())


def _is_attribution(block: str, following: str) -> bool:
    if len(block) > _LINE_CAP or not _DATE_OR_TIME.search(block):
        return False
    return bool(
        _BRACKETED_ADDRESS.search(block)
        or (_WROTE.search(block) and _BARE_ADDRESS.search(block))
        or following.startswith(">")
    )


def _restore(body: str, original: list[str], parsed: list[str]) -> tuple[list[str], int]:
    """The library's result as the original lines (it strips every line, losing indented code), and
    how many of the original lines it covers."""
    restored: list[str] = []
    index = 0
    for line in body.split("\n"):
        while index < len(parsed) and parsed[index].strip() != line:
            index += 1
        if index == len(parsed):  # the library changed a line (a disclaimer cut out of it)
            return [line.removeprefix(_PROTECT) for line in body.split("\n")], len(parsed)
        restored.append(original[index].rstrip())
        index += 1
    return restored, index


def _tidy(lines: list[str], after_quote: bool) -> list[str]:
    """Drop quoted lines at either end, and header leftovers above the cut."""
    first = next((i for i, line in enumerate(lines) if line.strip() and not _QUOTED.match(line)), len(lines))
    lines = lines[first:]
    while lines:
        last = lines[-1].strip()
        if not last or _QUOTED.match(last) or (after_quote and _SEPARATOR.fullmatch(last)):
            lines.pop()
            continue
        fields = 0
        while fields < len(lines) and _HEADER_FIELD.fullmatch(lines[-1 - fields].strip()[:_LINE_CAP]):
            fields += 1
        if after_quote and fields and any("@" in line for line in lines[len(lines) - fields :]):
            del lines[len(lines) - fields :]
            continue
        break
    signoff = len(lines) > 2 and not lines[-2].strip() and _LINKED_SIGNOFF.fullmatch(lines[-1].strip())
    if after_quote and signoff:
        lines.pop()
    return lines
