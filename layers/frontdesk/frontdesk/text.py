"""What text may appear where: single-line fields end up in mail headers, so they are strict."""

import unicodedata

from frontdesk.language.catalogs import translatable

# Bidirectional overrides and isolates can make a name or subject display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Categories that break a header line: control characters (CR, LF, NUL, NEL...), and the
# Unicode line and paragraph separators.
_LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
_MULTILINE_ALLOWED = frozenset("\n\t")


def single_line_problem(value: str) -> str | None:
    """Why `value` cannot be used as a single-line field (and so in a mail header), or None."""
    for char in value:
        if unicodedata.category(char) in _LINE_BREAKING_CATEGORIES:
            return translatable("must be a single line without control characters")
        if char in _BIDI_CONTROLS:
            return translatable("must not contain bidirectional control characters")
    # Mail readers decode =?charset?...?= in headers: such text could smuggle in anything above.
    if "=?" in value and "?=" in value:
        return translatable("must not contain the sequence =?...?=")
    return None


def header_safe(value: str) -> str:
    """`value` made fit for a mail header whatever it holds (customer text: a subject, a name):
    line breaks and control characters become spaces, bidirectional controls go, and "=?" is
    broken up so no mail reader (nor Python's own header parser) decodes an encoded word in it.
    The result passes `single_line_problem`."""
    chars = []
    for char in value:
        if char in _BIDI_CONTROLS:
            continue
        chars.append(" " if unicodedata.category(char) in _LINE_BREAKING_CATEGORIES else char)
    return " ".join("".join(chars).replace("=?", "= ?").split())


def normalise_multiline(value: str) -> str:
    """Unify line endings to LF, the form every stored message body uses."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def multiline_problem(value: str) -> str | None:
    """Why a message body cannot be stored as text, or None. Expects normalised newlines."""
    for char in value:
        if char not in _MULTILINE_ALLOWED and unicodedata.category(char) in {"Cc", "Cs"}:
            return translatable("must not contain control characters")
    return None


def excerpt(value: str, limit: int) -> str:
    """The first `limit` characters of `value`, cut at a word boundary where one is near."""
    if len(value) <= limit:
        return value
    cut = value[:limit]
    space = cut.rfind(" ", max(0, limit - 40))
    return (cut[:space] if space > 0 else cut).rstrip() + "…"


def first_line_subject(text: str, limit: int) -> str:
    """A subject for a message that came without one: its first non-blank line, made header-safe
    and cut to `limit` characters ("" when there is no text)."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return excerpt(header_safe(first_line), limit)
