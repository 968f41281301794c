"""Triage rules: checked when the settings load, matched on a new ticket's first message, applied in order."""

import re
import unicodedata
from typing import Any

import pytest
from pydantic import ValidationError

from frontdesk.tickets.model import Channel, Priority
from frontdesk.triage import (
    MAX_SCANNED_CHARS,
    MatchIn,
    TriageFacts,
    TriageResult,
    TriageRule,
    TriageSettings,
    triage,
)


def rule(name: str = "rule", **fields: Any) -> TriageRule:
    """A rule from plain data, as it comes out of TOML; tags it with its name unless told otherwise."""
    if not {"priority", "queue", "tags", "calendar"} & set(fields):
        fields["tags"] = [name]
    return TriageRule.model_validate({"name": name, **fields})


def settings(*rules: TriageRule, **fields: Any) -> TriageSettings:
    """Triage settings with `rules` and, unless given, no urgent words."""
    return TriageSettings.model_validate({"rules": rules, "urgent_words": (), **fields})


def facts(
    body: str = "My order is late.",
    *,
    subject: str = "Order",
    channel: Channel = Channel.EMAIL,
    source: str = "help@example.com",
    language: str = "en",
    queue: str = "general",
) -> TriageFacts:
    return TriageFacts(
        channel=channel, source=source, language=language, subject=subject, body=body, queue=queue
    )


def run(
    message: TriageFacts,
    triage_settings: TriageSettings,
    *,
    priority: Priority = Priority.NORMAL,
    tags: tuple[str, ...] = (),
) -> TriageResult:
    return triage(message, triage_settings, priority=priority, tags=tags)


def matches(keywords: list[str], body: str, subject: str = "") -> bool:
    return rule(keywords=keywords).matches(facts(body, subject=subject))


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"patterns": ["("]},
            "pattern '(' is not a valid regular expression: missing ), unterminated subpattern",
            id="bad-regex",
        ),
        pytest.param({"patterns": ["a" * 501]}, "is longer than 500 characters", id="long-regex"),
        pytest.param(
            {"tags": ["x"]},
            "rule 'rule' has no condition: give channels, languages, sources, queues, keywords or patterns",
            id="no-condition",
        ),
        pytest.param(
            {"keywords": ["refund"], "tags": []},
            "rule 'rule' does nothing: give priority, queue, tags or calendar",
            id="no-action",
        ),
        pytest.param(
            {"languages": ["EN"], "tags": ["x"]},
            "language 'EN': use a lower-case ISO 639 code such as 'en' or 'kk'",
            id="upper-case-language",
        ),
        pytest.param(
            {"languages": ["en-GB"], "tags": ["x"]},
            "language 'en-GB': use a lower-case ISO 639 code",
            id="language-with-region",
        ),
        pytest.param(
            {"languages": ["russian"], "tags": ["x"]},
            "language 'russian': use a lower-case ISO 639 code",
            id="language-name",
        ),
        pytest.param(
            {"keywords": ["*"], "tags": ["x"]}, "a keyword must have at least one letter", id="star"
        ),
        pytest.param(
            {"keywords": ["  "], "tags": ["x"]}, "a keyword must have at least one letter", id="blank"
        ),
        pytest.param(
            {"keywords": ["w" * 101], "tags": ["x"]}, "is longer than 100 characters", id="long-word"
        ),
        pytest.param(
            {"keywords": ["refund"], "tags": ["Money Back"]},
            "'Money Back': use lower-case letters, digits, '.', '_' and '-' (up to 64)",
            id="bad-tag",
        ),
        pytest.param(
            {"keywords": ["refund"], "queue": "Billing Team"},
            "'Billing Team': use lower-case",
            id="bad-queue",
        ),
        pytest.param({"channels": ["fax"], "tags": ["x"]}, "channels.0", id="unknown-channel"),
        pytest.param({"keywords": ["x"], "priority": "whenever"}, "priority", id="unknown-priority"),
        pytest.param({"keywords": ["x"], "tags": ["x"], "colour": "red"}, "colour", id="unknown-field"),
    ],
)
def test_a_bad_rule_is_refused_with_a_clear_message(fields: dict[str, Any], message: str):
    with pytest.raises(ValidationError, match=re.escape(message)):
        TriageRule.model_validate({"name": "rule", **fields})


def test_two_rules_with_one_name_are_refused():
    with pytest.raises(ValidationError, match=re.escape("two rules are named 'vip'")):
        TriageSettings(
            rules=(rule("vip", sources=["a"]), rule("other", sources=["b"]), rule("vip", sources=["c"]))
        )


def test_a_rule_needs_a_name():
    with pytest.raises(ValidationError, match="name"):
        TriageRule.model_validate({"name": "", "keywords": ["x"], "tags": ["x"]})


def test_a_blank_urgent_word_is_refused():
    with pytest.raises(ValidationError, match="a keyword must have at least one letter"):
        TriageSettings(urgent_words=("urgent", " * "))


# -- keywords --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "body"),
    [
        pytest.param("refund", "I want a refund.", id="english"),
        pytest.param("refund", "REFUND please", id="any-case"),
        pytest.param("refund", "refund", id="the-whole-text"),
        pytest.param("refund", "(refund)", id="punctuation-around"),
        pytest.param("возврат", "Прошу оформить возврат денег", id="russian"),
        pytest.param("возврат", "ВОЗВРАТ!", id="russian-upper-case"),
        pytest.param("қайтару", "Ақшаны қайтару керек", id="kazakh"),
        pytest.param("hoàn tiền", "Tôi muốn hoàn tiền", id="vietnamese"),
        pytest.param("hoàn tiền", "TÔI MUỐN HOÀN TIỀN", id="vietnamese-upper-case"),
        pytest.param(
            "hoàn tiền", unicodedata.normalize("NFD", "Tôi muốn hoàn tiền"), id="vietnamese-decomposed-text"
        ),
        pytest.param(
            unicodedata.normalize("NFD", "hoàn tiền"),
            "Tôi muốn hoàn tiền",
            id="vietnamese-decomposed-keyword",
        ),
        pytest.param("بازپرداخت", "لطفا بازپرداخت کنید", id="persian"),
        pytest.param("بازپرداخت", "بازپرداخت،", id="persian-comma"),
        pytest.param("тез арада", "тез   арада жауап беріңіз", id="phrase-any-spaces"),
        pytest.param("тез арада", "тез\nарада", id="phrase-across-lines"),
    ],
)
def test_a_keyword_matches_as_a_whole_word(keyword: str, body: str):
    assert matches([keyword], body)


@pytest.mark.parametrize(
    ("keyword", "body"),
    [
        pytest.param("refund", "refunded", id="longer-word"),
        pytest.param("refund", "nonrefundable", id="inside-a-word"),
        pytest.param("возврат", "возвратный", id="russian-longer-word"),
        pytest.param("возврат", "невозврат", id="russian-prefixed"),
        pytest.param("gấp", "gấpp", id="vietnamese-longer"),
        pytest.param("khẩn cấp", "cấp", id="vietnamese-part-of-phrase"),
        pytest.param("فوری", "فوریت", id="persian-longer-word"),
        pytest.param("тез арада", "тезарада", id="phrase-without-space"),
    ],
)
def test_a_keyword_inside_another_word_does_not_match(keyword: str, body: str):
    assert not matches([keyword], body)


@pytest.mark.parametrize("body", ["срочно", "Срочная заявка", "СРОЧНОГО ремонта", "срочн"])
def test_a_star_matches_any_ending(body: str):
    assert matches(["срочн*"], body)


@pytest.mark.parametrize("body", ["несрочный", "в срок"])
def test_a_star_still_needs_the_start_of_a_word(body: str):
    assert not matches(["срочн*"], body)


@pytest.mark.parametrize(
    ("keyword", "as_a_pattern_would_match"),
    [("v1.5", "since v105"), ("a|b", "b"), ("(x)", "x"), ("colou?r", "color"), ("up.*", "upload")],
)
def test_a_keyword_is_literal_text_not_a_pattern(keyword: str, as_a_pattern_would_match: str):
    assert not matches([keyword], as_a_pattern_would_match)


@pytest.mark.parametrize(
    ("keyword", "body"), [("v1.5", "broken since v1.5 update"), ("c++", "I write c++ daily")]
)
def test_a_keyword_with_regex_characters_matches_literally(keyword: str, body: str):
    assert matches([keyword], body)


def test_any_keyword_of_a_rule_will_do():
    assert matches(["outage", "down"], "the site is down")


def test_a_persian_keyword_matches_text_typed_with_arabic_letters():
    assert matches(["فوری"], "این درخواست فوري است")  # ي (U+064A), not ی (U+06CC)


# -- patterns --------------------------------------------------------------------------------------


def test_a_pattern_is_searched_case_insensitively():
    order = rule(patterns=[r"order\s*#?\d{5}\b"])

    assert order.matches(facts("About ORDER #12345, it is late"))
    assert not order.matches(facts("About order 123"))


def test_keywords_and_patterns_of_a_rule_are_alternatives():
    either = rule(keywords=["refund"], patterns=[r"\binvoice\b"])

    assert either.matches(facts("Wrong invoice"))
    assert either.matches(facts("Refund me"))
    assert not either.matches(facts("Hello"))


# -- where rules look ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "in_subject", "in_body"),
    [
        (MatchIn.SUBJECT, True, False),
        (MatchIn.BODY, False, True),
        (MatchIn.SUBJECT_AND_BODY, True, True),
    ],
)
def test_match_in_chooses_subject_or_body(where: MatchIn, in_subject: bool, in_body: bool):
    refund = rule(keywords=["refund"], match_in=where)

    assert refund.matches(facts("Hello", subject="Refund")) is in_subject
    assert refund.matches(facts("Refund please", subject="Hello")) is in_body


def test_match_in_reads_from_the_configuration():
    assert rule(keywords=["x"], match_in="subject").match_in is MatchIn.SUBJECT


def test_text_beyond_the_scanned_length_is_not_read():
    body = "x" * (MAX_SCANNED_CHARS - 1) + " refund"

    assert not rule(keywords=["refund"], match_in=MatchIn.BODY).matches(facts(body))
    assert rule(keywords=["refund"], match_in=MatchIn.BODY).matches(facts("x" * 100 + " refund"))


# -- other conditions ------------------------------------------------------------------------------


def test_every_condition_must_hold():
    russian_email_refunds = rule(channels=["email"], languages=["ru"], keywords=["возврат"])

    assert russian_email_refunds.matches(facts("возврат", language="ru"))
    assert not russian_email_refunds.matches(facts("возврат", language="kk"))
    assert not russian_email_refunds.matches(facts("возврат", language="ru", channel=Channel.WEB_FORM))
    assert not russian_email_refunds.matches(facts("привет", language="ru"))


def test_any_value_of_a_condition_will_do():
    chats = rule(channels=["chat", "social"])

    assert chats.matches(facts(channel=Channel.SOCIAL))
    assert chats.matches(facts(channel=Channel.CHAT))
    assert not chats.matches(facts(channel=Channel.EMAIL))


def test_sources_are_compared_without_case():
    billing = rule(sources=["Billing@Example.com"])

    assert billing.matches(facts(source="billing@example.COM"))
    assert not billing.matches(facts(source="help@example.com"))


# -- applying rules --------------------------------------------------------------------------------


def test_without_rules_or_urgent_words_nothing_changes():
    result = run(facts(), settings(), priority=Priority.LOW, tags=("web",))

    assert result == TriageResult(Priority.LOW, "general", ("web",), None, ())


def test_matching_rules_apply_in_order_later_ones_override_and_tags_accumulate():
    rules = settings(
        rule("refunds", keywords=["refund"], queue="billing", priority="high", tags=["money"], calendar="a"),
        rule("not-matching", keywords=["zebra"], queue="zoo", priority="low", tags=["zoo"], calendar="z"),
        rule("russian", languages=["ru"], queue="ru-desk", tags=["ru", "money"], calendar="b"),
        rule("tag-only", channels=["email"], tags=["mail"]),
    )

    result = run(facts("refund please", language="ru"), rules, tags=("web",))

    assert result.queue == "ru-desk"
    assert result.priority is Priority.HIGH  # the later rule sets no priority: the earlier one stands
    assert result.calendar == "b"
    assert result.tags == ("web", "money", "ru", "mail")  # in order, each once
    assert result.rules == ("refunds", "russian", "tag-only")


def test_a_later_rule_may_lower_the_priority():
    rules = settings(
        rule("urgent", keywords=["refund"], priority="urgent"),
        rule("newsletter", sources=["news@example.com"], priority="low"),
    )

    result = run(facts("refund", source="news@example.com"), rules)

    assert result.priority is Priority.LOW


def test_a_queues_condition_sees_the_queue_earlier_rules_set():
    rules = settings(
        rule("refunds", keywords=["refund"], queue="billing"),
        rule("billing-is-high", queues=["billing"], priority="high", tags=["billing"]),
    )

    routed = run(facts("refund please"), rules)
    not_routed = run(facts("hello there"), rules)

    assert (routed.queue, routed.priority, routed.rules) == (
        "billing",
        Priority.HIGH,
        ("refunds", "billing-is-high"),
    )
    assert (not_routed.queue, not_routed.priority, not_routed.rules) == ("general", Priority.NORMAL, ())


def test_a_queues_condition_before_the_rule_that_sets_the_queue_does_not_see_it():
    rules = settings(
        rule("billing-is-high", queues=["billing"], priority="high"),
        rule("refunds", keywords=["refund"], queue="billing"),
    )

    result = run(facts("refund please"), rules)

    assert (result.queue, result.priority, result.rules) == ("billing", Priority.NORMAL, ("refunds",))


def test_a_queues_condition_sees_the_starting_queue():
    rules = settings(rule("vip", queues=["vip"], priority="urgent"))

    assert run(facts(queue="vip"), rules).priority is Priority.URGENT
    assert run(facts(queue="general"), rules).priority is Priority.NORMAL


# -- urgent words ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "This is URGENT",
        "please answer asap",
        "Срочно нужна помощь",
        "Это срочная заявка",
        "Шұғыл көмек керек",
        "тез арада жауап беріңіз",
        "Yêu cầu khẩn cấp",
        "cần gấp",
        "این درخواست فوری است",
        "Das ist dringend",
    ],
)
def test_default_urgent_words_raise_a_normal_ticket_to_high_and_tag_it(text: str):
    result = run(facts(text), TriageSettings())

    assert result.priority is Priority.HIGH
    assert result.tags == ("urgent",)


@pytest.mark.parametrize("text", ["My order is late", "Несрочный вопрос", "Hỏi về cấp độ tài khoản"])
def test_ordinary_text_is_not_urgent(text: str):
    result = run(facts(text), TriageSettings())

    assert result.priority is Priority.NORMAL
    assert result.tags == ()


def test_urgent_words_in_the_subject_count():
    assert run(facts("hello", subject="URGENT: site down"), TriageSettings()).priority is Priority.HIGH


@pytest.mark.parametrize("start", [Priority.HIGH, Priority.URGENT])
def test_urgent_words_never_lower_a_priority(start: Priority):
    assert run(facts("urgent"), TriageSettings(), priority=start).priority is start


def test_urgent_words_never_lower_what_a_rule_set():
    rules = settings(rule("outage", keywords=["down"], priority="urgent"), urgent_words=("urgent",))

    assert run(facts("urgent: site down"), rules).priority is Priority.URGENT


def test_urgent_words_raise_what_a_rule_lowered():
    rules = settings(rule("newsletter", keywords=["newsletter"], priority="low"), urgent_words=("urgent",))

    assert run(facts("newsletter: urgent"), rules).priority is Priority.HIGH


def test_urgent_words_look_at_subject_and_body_whatever_rules_do():
    rules = settings(rule("subject-only", keywords=["refund"], match_in="subject"), urgent_words=("urgent",))

    result = run(facts("urgent", subject="hello"), rules)

    assert result.priority is Priority.HIGH
    assert result.rules == ()


def test_the_urgent_priority_and_tag_are_configurable():
    custom = settings(urgent_words=("sofort",), urgent_words_priority="urgent", urgent_words_tag="eilig")

    result = run(facts("Bitte sofort"), custom, tags=("web",))

    assert (result.priority, result.tags) == (Priority.URGENT, ("web", "eilig"))


def test_without_an_urgent_tag_only_the_priority_rises():
    result = run(facts("urgent"), settings(urgent_words=("urgent",), urgent_words_tag=None))

    assert (result.priority, result.tags) == (Priority.HIGH, ())


def test_the_urgent_tag_is_not_repeated():
    result = run(facts("urgent"), settings(urgent_words=("urgent",)), tags=("urgent",))

    assert result.tags == ("urgent",)


def test_no_urgent_words_means_nothing_is_urgent():
    assert run(facts("URGENT urgent срочно"), settings()).priority is Priority.NORMAL
