"""Language tags from what clients say: form locales, Accept-Language, Content-Language, platforms."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A BCP 47 tag as clients send it; only its primary subtag matters to Frontdesk.
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
MAX_HEADER_CHARS = 1_000


def primary_language(tag: str | None) -> str | None:
    """'pt' for 'pt-BR' or 'pt_BR'; None for anything that is not a language tag ('*', 'x-klingon')."""
    if not tag or not _TAG.fullmatch(tag.strip()):
        return None
    return re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()


def ranked_languages(header: str | None) -> list[str]:
    """The languages of an Accept-Language (or Content-Language) value, most wanted first.

    q=0 means "not acceptable" and drops the tag; a malformed weight drops it too. Equal weights
    keep the client's order. Each primary language appears once, at its best rank.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "")[:MAX_HEADER_CHARS].split(",")):
        tag, _, params = part.strip().partition(";")
        language = primary_language(tag)
        if language is None:
            continue
        weight = 1.0
        params = params.strip().replace(" ", "")
        if params.startswith("q="):
            try:
                weight = float(params[2:])
            except ValueError:
                continue
            if not 0 < weight <= 1:  # also rejects nan
                continue
        weighted.append((-weight, position, language))
    return unique(language for _, _, language in sorted(weighted))


def unique(languages: Iterable[str | None]) -> list[str]:
    """The languages in order, without repeats or blanks."""
    return list(dict.fromkeys(language for language in languages if language))
