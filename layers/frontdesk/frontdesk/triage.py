"""Triage: rules from the configuration that set a new ticket's priority, queue, tags and calendar.

A rule matches when every condition it names holds (any value of a list will do): channel,
language, source (form id or mailbox), current queue, and words or patterns in the subject and/or
body. Every matching rule applies, in order: later rules override priority, queue and calendar;
tags accumulate. Urgent words in many languages raise the priority (never lower it).
Rules are checked when the settings load, so a bad pattern fails the deploy, not a customer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from frontdesk.tickets.model import Channel, Priority

MAX_PATTERN_CHARS = 500
# What rules read of a message: enough for any sensible rule, bounded for long mails.
MAX_SCANNED_CHARS = 20_000
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")

# Words that mean "this is urgent", as customers write them. A trailing * matches any ending,
# for languages that inflect (срочн* covers срочно, срочная, срочного...).
DEFAULT_URGENT_WORDS: tuple[str, ...] = (
    # English
    "urgent", "urgently", "asap", "emergency", "critical", "immediately",
    # Russian
    "срочн*", "авари*", "немедленно",
    # Kazakh
    "шұғыл", "жедел", "тез арада",
    # Vietnamese
    "khẩn cấp", "gấp", "khẩn",
    # Persian
    "فوری", "اضطراری", "فورا", "فوراً",
    # German, French, Spanish, Portuguese, Italian, Turkish, Ukrainian
    "dringend", "notfall", "urgence", "urgente", "urgencia", "emergencia", "urgenza", "acil", "терміново",
)  # fmt: skip


# Arabic keyboards type ي and ك where Persian writes ی and ک: the same word to a reader.
_PERSIAN_LETTERS = str.maketrans({"\u064a": "\u06cc", "\u0643": "\u06a9"})


def normalise(text: str) -> str:
    """Text as rules compare it: NFC, and Arabic yeh and kaf read as their Persian forms."""
    return unicodedata.normalize("NFC", text).translate(_PERSIAN_LETTERS)


class MatchIn(StrEnum):
    SUBJECT = "subject"
    BODY = "body"
    SUBJECT_AND_BODY = "subject_and_body"


def _word_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of `words` as whole words (or prefixes, with *)."""
    alternatives = []
    for word in words:
        word = normalise(word.strip())
        prefix = word.endswith("*")
        escaped = r"\s+".join(re.escape(part) for part in word.rstrip("*").split())
        alternatives.append(escaped + (r"\w*" if prefix else ""))
    if not alternatives:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _check_words(words: tuple[str, ...]) -> tuple[str, ...]:
    for word in words:
        if not word.strip().rstrip("*").strip():
            raise ValueError("a keyword must have at least one letter")
        if len(word) > 100:
            raise ValueError(f"keyword {word[:20]!r}... is longer than 100 characters")
    return words


class TriageRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    # conditions
    channels: tuple[Channel, ...] = ()
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = Field((), description="form ids or mailbox addresses")
    queues: tuple[str, ...] = Field(
        (), description="the queue as set so far (by the source or earlier rules)"
    )
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = Field(
        (), description="Python regular expressions, searched case-insensitively"
    )
    match_in: MatchIn = MatchIn.SUBJECT_AND_BODY
    # actions
    priority: Priority | None = None
    queue: str | None = None
    tags: tuple[str, ...] = ()
    calendar: str | None = None

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        return _check_words(keywords)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            if len(pattern) > MAX_PATTERN_CHARS:
                raise ValueError(f"pattern {pattern[:20]!r}... is longer than {MAX_PATTERN_CHARS} characters")
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from None
        return patterns

    @field_validator("languages")
    @classmethod
    def _languages(cls, languages: tuple[str, ...]) -> tuple[str, ...]:
        for language in languages:
            if not re.fullmatch(r"[a-z]{2,3}", language):
                raise ValueError(f"language {language!r}: use a lower-case ISO 639 code such as 'en' or 'kk'")
        return languages

    @field_validator("queue", "queues", "tags")
    @classmethod
    def _names(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        for name in (value,) if isinstance(value, str) else value or ():
            if not _NAME.fullmatch(name):
                raise ValueError(f"{name!r}: use lower-case letters, digits, '.', '_' and '-' (up to 64)")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> TriageRule:
        conditions = (self.channels, self.languages, self.sources, self.queues, self.keywords, self.patterns)
        if not any(conditions):
            raise ValueError(
                f"rule {self.name!r} has no condition: give channels, languages, sources, queues, "
                "keywords or patterns"
            )
        if self.priority is None and self.queue is None and not self.tags and self.calendar is None:
            raise ValueError(f"rule {self.name!r} does nothing: give priority, queue, tags or calendar")
        return self

    @cached_property
    def text_patterns(self) -> tuple[re.Pattern[str], ...]:
        compiled = [re.compile(pattern, re.IGNORECASE) for pattern in self.patterns]
        if words := _word_pattern(self.keywords):
            compiled.append(words)
        return tuple(compiled)

    def matches(self, facts: TriageFacts) -> bool:
        if self.channels and facts.channel not in self.channels:
            return False
        if self.languages and facts.language not in self.languages:
            return False
        if self.sources and facts.source.lower() not in {source.lower() for source in self.sources}:
            return False
        if self.queues and facts.queue not in self.queues:
            return False
        if self.text_patterns:
            text = facts.text(self.match_in)
            return any(pattern.search(text) for pattern in self.text_patterns)
        return True


class TriageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[TriageRule, ...] = ()
    urgent_words: tuple[str, ...] = DEFAULT_URGENT_WORDS
    urgent_words_priority: Priority = Priority.HIGH
    urgent_words_tag: str | None = "urgent"

    @field_validator("urgent_words")
    @classmethod
    def _urgent_words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        return _check_words(words)

    @model_validator(mode="after")
    def _unique_names(self) -> TriageSettings:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names appear in tickets' tags and logs")
            seen.add(rule.name)
        return self

    @cached_property
    def urgent_pattern(self) -> re.Pattern[str] | None:
        return _word_pattern(self.urgent_words)


class TriageFacts(NamedTuple):
    """What rules look at: a new ticket's first message and what is known about it so far."""

    channel: Channel
    source: str
    language: str
    subject: str
    body: str
    queue: str

    def text(self, where: MatchIn) -> str:
        subject = normalise(self.subject)
        body = normalise(self.body[:MAX_SCANNED_CHARS])
        if where is MatchIn.SUBJECT:
            return subject
        if where is MatchIn.BODY:
            return body
        return f"{subject}\n{body}"


class TriageResult(NamedTuple):
    priority: Priority
    queue: str
    tags: tuple[str, ...]
    calendar: str | None
    rules: tuple[str, ...]  # names of the rules that matched, for the logs


_PRIORITY_ORDER = tuple(Priority)


def triage(
    facts: TriageFacts, settings: TriageSettings, *, priority: Priority, tags: tuple[str, ...]
) -> TriageResult:
    """Apply the rules to a new ticket that starts with `priority`, `tags` and `facts.queue`."""
    queue, calendar, tag_list, matched = facts.queue, None, list(tags), []
    for rule in settings.rules:
        if not rule.matches(facts._replace(queue=queue)):
            continue
        matched.append(rule.name)
        priority = rule.priority or priority
        queue = rule.queue or queue
        calendar = rule.calendar or calendar
        tag_list.extend(rule.tags)
    urgent = settings.urgent_pattern
    if urgent and urgent.search(facts.text(MatchIn.SUBJECT_AND_BODY)):
        if _PRIORITY_ORDER.index(priority) < _PRIORITY_ORDER.index(settings.urgent_words_priority):
            priority = settings.urgent_words_priority
        if settings.urgent_words_tag:
            tag_list.append(settings.urgent_words_tag)
    return TriageResult(priority, queue, tuple(dict.fromkeys(tag_list)), calendar, tuple(matched))
