"""Routing a new ticket: its language, triage, its business calendar and when its first answer is due."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from frontdesk.config import Settings
from frontdesk.intake.message import InboundMessage
from frontdesk.intake.routing import route
from frontdesk.tickets.model import Channel, Priority, Requester

# A Wednesday, 10:30 in Berlin; and a Saturday, 23:00 in Berlin.
OPEN_INSTANT = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
CLOSED_INSTANT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)

WORKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
BERLIN_OFFICE = {"time_zone": "Europe/Berlin", "weekly": {day: ["09:00-17:00"] for day in WORKDAYS}}
WEEKENDS = {"time_zone": "Europe/Berlin", "weekly": {"saturday": ["10:00-14:00"], "sunday": ["10:00-14:00"]}}
EVENINGS = {
    "time_zone": "Europe/Berlin",
    "weekly": {day: ["20:00-24:00"] for day in (*WORKDAYS, "saturday", "sunday")},
}

SENTENCES = {
    "en": "Hello, my order has still not arrived, could you please help me?",
    "ru": "Здравствуйте, мой заказ до сих пор не пришёл, помогите пожалуйста.",
    "kk": "Сәлеметсіз бе, менің тапсырысым әлі келген жоқ, көмектесіңізші.",
    "vi": "Xin chào, đơn hàng của tôi bị giao trễ, xin hãy giúp tôi kiểm tra.",
    "fa": "سلام، سفارش من هنوز نرسیده است، لطفا کمک کنید.",
}


def settings(**fields: Any) -> Settings:
    base = {
        "sender_address": "help@example.com",
        "support_domain": "example.com",
        "tickets_table_name": "tickets",
    }
    return Settings.model_validate({**base, **fields})


def with_calendars(default: str | None = "office", **fields: Any) -> Settings:
    """Settings with three calendars: office hours (the default), weekends and evenings."""
    calendars = {"office": BERLIN_OFFICE, "weekends": WEEKENDS, "evenings": EVENINGS}
    return settings(hours={"calendars": calendars, "default_calendar": default}, **fields)


def message(body: str = SENTENCES["en"], **fields: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.WEB_FORM,
        "source": "contact",
        "idempotency_key": "key:1",
        "requester": Requester(name="Ana", email="ana@example.org"),
        "subject": "Order",
        "body_text": body,
        "received_at": OPEN_INSTANT,
        **fields,
    }
    return InboundMessage(**values)


# -- language --------------------------------------------------------------------------------------


def test_a_hinted_language_frontdesk_writes_is_the_ticket_language():
    routed = route(message(SENTENCES["en"], language_hints=("ru", "en")), settings(), OPEN_INSTANT)

    assert routed.language == "ru"


def test_the_first_hint_frontdesk_writes_wins_over_earlier_ones_it_does_not():
    routed = route(message(SENTENCES["en"], language_hints=("de", "fa")), settings(), OPEN_INSTANT)

    assert routed.language == "fa"


@pytest.mark.parametrize("language", sorted(SENTENCES))
def test_without_usable_hints_the_text_decides(language: str):
    routed = route(message(SENTENCES[language], language_hints=("de",)), settings(), OPEN_INSTANT)

    assert routed.language == language


def test_the_subject_counts_towards_detection():
    routed = route(message("ok", subject=SENTENCES["vi"]), settings(), OPEN_INSTANT)

    assert routed.language == "vi"


def test_a_hint_frontdesk_cannot_write_is_recorded_when_the_text_says_nothing():
    routed = route(message("ok", subject="Hi", language_hints=("de",)), settings(), OPEN_INSTANT)

    assert routed.language == "de"


def test_without_hints_or_readable_text_the_desk_default_is_the_language():
    routed = route(message("ok thanks", subject="Hi"), settings(default_language="kk"), OPEN_INSTANT)

    assert routed.language == "kk"


# -- triage ----------------------------------------------------------------------------------------


def test_without_rules_the_source_settings_stand():
    original = message(queue="billing", priority=Priority.LOW, tags=("web",))

    routed = route(original, settings(), OPEN_INSTANT)

    assert (routed.queue, routed.priority, routed.tags) == ("billing", Priority.LOW, ("web",))


def test_triage_rules_set_queue_priority_and_tags_from_the_source_settings():
    rules = [
        {"name": "refunds", "keywords": ["refund", "возврат"], "queue": "refunds", "tags": ["money"]},
        {"name": "refunds-fast", "queues": ["refunds"], "priority": "high"},
    ]

    routed = route(
        message("Прошу оформить возврат, заказ не пришёл", tags=("web",)),
        settings(triage={"rules": rules}),
        OPEN_INSTANT,
    )

    assert routed.queue == "refunds"
    assert routed.priority is Priority.HIGH
    assert routed.tags == ("web", "money")


def test_triage_sees_the_language_routing_chose():
    rules = [{"name": "kazakh", "languages": ["kk"], "queue": "kk-desk"}]

    routed = route(message(SENTENCES["kk"]), settings(triage={"rules": rules}), OPEN_INSTANT)

    assert (routed.language, routed.queue) == ("kk", "kk-desk")


def test_urgent_words_raise_the_priority_and_tag_the_ticket():
    routed = route(message("Срочно! Заказ не пришёл, сайт не работает."), settings(), OPEN_INSTANT)

    assert routed.priority is Priority.HIGH
    assert "urgent" in routed.tags


def test_routing_keeps_everything_else_of_the_message():
    original = message(language_hints=("ru",), custom_fields={"order": "7"}, time_zone="Asia/Almaty")

    routed = route(original, settings(), OPEN_INSTANT)

    unchanged = {"language", "priority", "queue", "tags", "calendar", "first_response_due_at"}
    assert {key: value for key, value in routed._asdict().items() if key not in unchanged} == {
        key: value for key, value in original._asdict().items() if key not in unchanged
    }
    assert original.language is None  # the message given is not changed


# -- calendar --------------------------------------------------------------------------------------


def test_without_calendars_a_ticket_has_none():
    assert route(message(), settings(), OPEN_INSTANT).calendar is None


def test_a_ticket_gets_the_default_calendar():
    assert route(message(), with_calendars(), OPEN_INSTANT).calendar == "office"


def test_a_lone_calendar_is_the_default():
    lone = settings(hours={"calendars": {"office": BERLIN_OFFICE}})

    assert route(message(), lone, OPEN_INSTANT).calendar == "office"


def test_the_calendar_of_the_message_source_wins_over_the_default():
    assert route(message(calendar="weekends"), with_calendars(), OPEN_INSTANT).calendar == "weekends"


def test_a_rule_calendar_wins_over_the_source_and_the_default():
    rules = [{"name": "evening-desk", "keywords": ["order"], "calendar": "evenings"}]

    routed = route(message(calendar="weekends"), with_calendars(triage={"rules": rules}), OPEN_INSTANT)

    assert routed.calendar == "evenings"


def test_a_rule_that_does_not_match_leaves_the_source_calendar():
    rules = [{"name": "evening-desk", "keywords": ["zebra"], "calendar": "evenings"}]

    routed = route(message(calendar="weekends"), with_calendars(triage={"rules": rules}), OPEN_INSTANT)

    assert routed.calendar == "weekends"


# -- when the first answer is due ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "target"),
    [
        (Channel.WEB_FORM, timedelta(hours=24)),
        (Channel.EMAIL, timedelta(hours=24)),
        (Channel.CHAT, timedelta(minutes=15)),
        (Channel.SOCIAL, timedelta(hours=2)),
    ],
)
def test_without_a_calendar_the_answer_is_due_the_target_after_now(channel: Channel, target: timedelta):
    routed = route(message(channel=channel), settings(), OPEN_INSTANT)

    assert routed.first_response_due_at == OPEN_INSTANT + target


def test_a_configured_target_replaces_the_default():
    custom = settings(hours={"response_targets": {"web_form": {"normal": "90m"}}})

    routed = route(message(), custom, OPEN_INSTANT)

    assert routed.first_response_due_at == OPEN_INSTANT + timedelta(minutes=90)


def test_the_target_follows_the_priority_triage_gave():
    routed = route(message("URGENT: my order has not arrived"), settings(), OPEN_INSTANT)

    assert routed.priority is Priority.HIGH
    assert routed.first_response_due_at == OPEN_INSTANT + timedelta(hours=8)


def test_with_office_hours_the_target_counts_only_open_time():
    # Given Wednesday 10:30 in Berlin, a desk open 09:00-17:00 on weekdays and a 24-hour target:
    # 6.5 hours on Wednesday, 8 on Thursday, 8 on Friday, and the last 1.5 on Monday
    routed = route(message(), with_calendars(), OPEN_INSTANT)

    assert routed.first_response_due_at == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # 10:30 in Berlin


def test_a_higher_priority_is_due_sooner_in_business_time():
    # 8 hours: 6.5 on Wednesday, 1.5 on Thursday morning
    routed = route(message("URGENT: my order has not arrived"), with_calendars(), OPEN_INSTANT)

    assert routed.first_response_due_at == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # 10:30 in Berlin


def test_out_of_hours_the_target_counts_from_the_next_opening():
    # Saturday 23:00 in Berlin; a chat's 15 minutes start on Monday at 09:00
    routed = route(message(channel=Channel.CHAT), with_calendars(), CLOSED_INSTANT)

    assert routed.first_response_due_at == datetime(2026, 11, 30, 8, 15, tzinfo=UTC)  # 09:15 in Berlin


@pytest.mark.parametrize(
    ("calendar", "due"),
    [
        pytest.param(None, datetime(2026, 11, 25, 9, 45, tzinfo=UTC), id="office-open-now"),
        pytest.param("weekends", datetime(2026, 11, 28, 9, 15, tzinfo=UTC), id="weekends-saturday-10:15"),
        pytest.param("evenings", datetime(2026, 11, 25, 19, 15, tzinfo=UTC), id="evenings-20:15"),
    ],
)
def test_the_due_time_counts_in_the_calendar_chosen(calendar: str | None, due: datetime):
    routed = route(message(channel=Channel.CHAT, calendar=calendar), with_calendars(), OPEN_INSTANT)

    assert routed.first_response_due_at == due


def test_a_calendar_that_never_opens_promises_no_due_time():
    never = settings(hours={"calendars": {"closed": {"time_zone": "Europe/Berlin", "weekly": {}}}})

    routed = route(message(), never, OPEN_INSTANT)

    assert routed.calendar == "closed"
    assert routed.first_response_due_at is None
