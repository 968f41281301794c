"""Choosing a ticket's language: what the customer told us, what they wrote in, the desk default."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import NamedTuple

from frontdesk.language.detection import detect_language
from frontdesk.language.tags import unique


class LanguageSource(StrEnum):
    HINT = "hint"  # form locale, Accept-Language, Content-Language, the platform's language code
    DETECTED = "detected"
    DEFAULT = "default"


class LanguageChoice(NamedTuple):
    language: str
    source: LanguageSource


def choose_language(
    hints: Sequence[str], text: str, *, available: Collection[str], default: str
) -> LanguageChoice:
    """The language to record on a ticket, which is also the one it is answered in when Frontdesk
    has templates for it (`available`). In order:

    1. the first hinted language we can answer in (a hint ranks languages the customer reads);
    2. the language of the text, if we can answer in it;
    3. the first hinted language, then the detected one (recorded for agents; answered in the default);
    4. the desk's default.
    Detection runs only when no hint is one we can answer in.
    """
    hinted = unique(hints)
    for language in hinted:
        if language in available:
            return LanguageChoice(language, LanguageSource.HINT)
    detection = detect_language(text)
    if detection and detection.language in available:
        return LanguageChoice(detection.language, LanguageSource.DETECTED)
    if hinted:
        return LanguageChoice(hinted[0], LanguageSource.HINT)
    if detection:
        return LanguageChoice(detection.language, LanguageSource.DETECTED)
    return LanguageChoice(default, LanguageSource.DEFAULT)
