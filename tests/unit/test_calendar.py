"""Business calendars: opening hours, holidays, DST, and business-time arithmetic.

Every instant is fixed; expected UTC values are spelled out where the offset is certain (Europe/Berlin)
and computed with zoneinfo where it depends on the installed tzdata (Asia/Almaty).
"""

import subprocess
import sys
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
from pydantic import ValidationError

from frontdesk.hours.calendar import BusinessCalendar, HolidaySource

BERLIN = ZoneInfo("Europe/Berlin")
ALMATY = ZoneInfo("Asia/Almaty")
WORKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
NINE_TO_FIVE = {day: ["09:00-17:00"] for day in WORKDAYS}
ALWAYS = {day: ["00:00-24:00"] for day in (*WORKDAYS, "saturday", "sunday")}


def calendar(weekly: dict[str, list[str]], time_zone: str = "Europe/Berlin", **rest: Any) -> BusinessCalendar:
    """A calendar from plain data, as it would come out of TOML or JSON."""
    return BusinessCalendar.model_validate({"time_zone": time_zone, "weekly": weekly, **rest})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


# -- DST in Europe/Berlin --------------------------------------------------------------------------


def test_spring_forward_night_is_an_hour_shorter():
    # 2026-03-29: clocks go from 02:00 CET (+1) to 03:00 CEST (+2).
    desk = calendar({"sunday": ["01:00-05:00"], "monday": ["09:00-17:00"]})
    assert desk.next_opening(utc(2026, 3, 28, 20)) == utc(2026, 3, 29, 0)  # 01:00 CET
    assert desk.is_open(utc(2026, 3, 29, 1, 30))  # 03:30 CEST
    assert desk.closes_at(utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 29, 3)  # 05:00 CEST
    assert not desk.is_open(utc(2026, 3, 29, 3))
    assert desk.next_opening(utc(2026, 3, 29, 3)) == utc(2026, 3, 30, 7)  # Monday 09:00 CEST
    assert desk.business_time_between(utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(hours=3)


def test_a_start_inside_the_gap_opens_when_the_clock_jumps():
    desk = calendar({"sunday": ["02:30-04:00"]})
    assert not desk.is_open(utc(2026, 3, 29, 0, 59))
    assert desk.next_opening(utc(2026, 3, 29, 0)) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert list(desk.open_spans(utc(2026, 3, 29), utc(2026, 3, 30))) == [
        (utc(2026, 3, 29, 1), utc(2026, 3, 29, 2))
    ]
    # a span wholly inside the gap does not happen that day
    gone = calendar({"sunday": ["02:00-02:45"]})
    assert gone.next_opening(utc(2026, 3, 28, 12)) == utc(2026, 4, 5, 0)  # a week later, 02:00 CEST


def test_fall_back_night_is_an_hour_longer():
    # 2026-10-25: clocks go from 03:00 CEST (+2) back to 02:00 CET (+1).
    desk = calendar({"sunday": ["01:00-05:00"], "monday": ["09:00-17:00"]})
    assert desk.next_opening(utc(2026, 10, 24, 12)) == utc(2026, 10, 24, 23)  # 01:00 CEST
    assert desk.closes_at(utc(2026, 10, 25, 1)) == utc(2026, 10, 25, 4)  # 05:00 CET
    assert desk.business_time_between(utc(2026, 10, 24), utc(2026, 10, 26)) == timedelta(hours=5)
    assert desk.next_opening(utc(2026, 10, 25, 4)) == utc(2026, 10, 26, 8)  # Monday 09:00 CET


def test_ambiguous_bounds_cover_the_repeated_hour():
    # 02:30 happens twice: a start takes the first (CEST), an end the second (CET).
    starts = calendar({"sunday": ["02:30-04:00"]})
    assert list(starts.open_spans(utc(2026, 10, 24), utc(2026, 10, 26))) == [
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))
    ]
    ends = calendar({"sunday": ["01:00-02:30"]})
    assert list(ends.open_spans(utc(2026, 10, 24), utc(2026, 10, 26))) == [
        (utc(2026, 10, 24, 23), utc(2026, 10, 25, 1, 30))
    ]


def test_business_time_across_dst_is_real_elapsed_time():
    always = calendar(ALWAYS)
    assert always.business_time_between(berlin(2026, 3, 29), berlin(2026, 3, 30)) == timedelta(hours=23)
    assert always.business_time_between(berlin(2026, 10, 25), berlin(2026, 10, 26)) == timedelta(hours=25)
    # 24 hours from Saturday noon is Sunday 11:00 on the wall clock
    assert always.add_business_time(berlin(2026, 10, 24, 12), timedelta(hours=24)) == utc(2026, 10, 25, 10)
    # Friday 16:00 CEST plus 2 business hours: one on Friday, one on Monday, which is in CET
    office = calendar(NINE_TO_FIVE)
    assert office.add_business_time(berlin(2026, 10, 23, 16), timedelta(hours=2)) == utc(2026, 10, 26, 9)


# -- Kazakhstan --------------------------------------------------------------------------------------


def test_what_the_holidays_library_says_about_nauryz():
    # Nauryz is 21-23 March; in 2026 the 21st and 22nd are a weekend, so the library adds the
    # two following weekdays as substitute ("observed") days off.
    names = holidays.country_holidays("KZ", years=2026)
    assert sorted(day for day in names if day.month == 3 and day.day > 20) == [
        date(2026, 3, day) for day in (21, 22, 23, 24, 25)
    ]
    assert "observed" in names[date(2026, 3, 24)] and "observed" in names[date(2026, 3, 25)]
    assert {date(2026, 3, day) for day in range(21, 26)} <= HolidaySource(country="KZ").dates(2026)


def test_a_message_on_the_eve_of_nauryz_waits_until_after_the_substitute_days():
    # Kazakhstan moved to a single zone, UTC+5, in March 2024 (tzdata 2024a); older tzdata says +6,
    # so the expected instants come from zoneinfo rather than a fixed offset.
    desk = calendar({day: ["09:00-18:00"] for day in WORKDAYS}, "Asia/Almaty", holidays={"country": "KZ"})
    friday_evening = datetime(2026, 3, 20, 19, tzinfo=ALMATY)
    assert desk.is_open(datetime(2026, 3, 20, 17, tzinfo=ALMATY))
    assert not desk.is_open(friday_evening)
    assert not desk.is_open(datetime(2026, 3, 24, 10, tzinfo=ALMATY))
    opening = desk.next_opening(friday_evening)
    assert opening == datetime(2026, 3, 26, 9, tzinfo=ALMATY).astimezone(UTC)  # Thursday
    assert opening is not None and opening.tzinfo is UTC
    assert ALMATY.utcoffset(datetime(2026, 3, 26)) in {timedelta(hours=5), timedelta(hours=6)}


def test_what_the_holidays_library_says_about_berlin():
    # Germany has no substitute days; Berlin adds International Women's Day (8 March).
    berlin_days = HolidaySource(country="DE", subdivision="BE").dates(2026)
    assert date(2026, 3, 8) in berlin_days and date(2026, 3, 9) not in berlin_days
    assert date(2026, 3, 8) not in HolidaySource(country="DE").dates(2026)
    assert date(2026, 10, 3) in berlin_days and date(2026, 10, 5) not in berlin_days  # a Saturday
    assert {date(2026, 4, 3), date(2026, 4, 6)} <= berlin_days  # Good Friday, Easter Monday


# -- overnight spans -----------------------------------------------------------------------------------


def test_an_overnight_span_runs_into_the_next_day():
    desk = calendar({"friday": ["09:00-17:00", "22:00-06:00"], "saturday": ["10:00-14:00"]})
    assert desk.is_open(berlin(2026, 6, 13, 3))
    assert desk.closes_at(berlin(2026, 6, 13, 3)) == utc(2026, 6, 13, 4)  # Saturday 06:00 CEST
    assert not desk.is_open(berlin(2026, 6, 13, 7))
    assert desk.closes_at(berlin(2026, 6, 13, 7)) is None
    assert desk.next_opening(berlin(2026, 6, 13, 7)) == utc(2026, 6, 13, 8)  # Saturday 10:00 CEST
    assert desk.next_opening(berlin(2026, 6, 12, 18)) == utc(2026, 6, 12, 20)  # Friday 22:00 CEST


def test_an_overnight_span_belongs_to_the_day_it_starts_on():
    desk = calendar({"friday": ["22:00-06:00"], "saturday": ["10:00-14:00"]}, closed=["2026-06-13"])
    assert desk.is_open(berlin(2026, 6, 13, 3))  # Saturday is closed, Friday's night shift is not
    assert desk.next_opening(berlin(2026, 6, 13, 7)) == utc(2026, 6, 19, 20)  # next Friday 22:00


def test_spans_touching_at_midnight_are_one():
    desk = calendar({"monday": ["18:00-24:00"], "tuesday": ["00:00-06:00", "09:00-10:00"]})
    assert desk.closes_at(berlin(2026, 6, 15, 20)) == utc(2026, 6, 16, 4)  # Tuesday 06:00 CEST
    assert list(desk.open_spans(berlin(2026, 6, 15, 19), berlin(2026, 6, 16, 9, 30))) == [
        (utc(2026, 6, 15, 17), utc(2026, 6, 16, 4)),
        (utc(2026, 6, 16, 7), utc(2026, 6, 16, 7, 30)),
    ]


# -- closures and special hours ------------------------------------------------------------------------


def test_a_closed_range_and_date_skip_to_the_next_working_day():
    desk = calendar(NINE_TO_FIVE, closed=[{"start": "2026-12-24", "end": "2026-12-31"}, "2027-01-01"])
    assert desk.next_opening(berlin(2026, 12, 23, 18)) == utc(2027, 1, 4, 8)  # Monday 09:00 CET
    assert not desk.is_open(berlin(2026, 12, 28, 10))


def test_special_hours_replace_the_day_even_when_closed_or_a_holiday():
    desk = calendar(
        NINE_TO_FIVE,
        holidays={"country": "DE", "subdivision": "BE"},
        closed=[{"start": "2026-12-24", "end": "2026-12-31"}],
        special_hours={"2026-12-22": [], "2026-12-25": ["10:00-12:00"], "2026-12-30": ["10:00-12:00"]},
    )
    assert not desk.is_open(berlin(2026, 12, 22, 10))  # an ordinary Tuesday made a closed day
    assert desk.next_opening(berlin(2026, 12, 22, 10)) == utc(2026, 12, 23, 8)
    assert desk.next_opening(berlin(2026, 12, 23, 18)) == utc(2026, 12, 25, 9)  # Christmas Day, 10:00
    assert desk.closes_at(berlin(2026, 12, 25, 11)) == utc(2026, 12, 25, 11)
    assert desk.next_opening(berlin(2026, 12, 25, 12)) == utc(2026, 12, 30, 9)


def test_no_opening_within_the_horizon_is_none():
    assert calendar({}).next_opening(utc(2026, 1, 1)) is None
    closed_for_decades = calendar(NINE_TO_FIVE, closed=[{"start": "2026-01-01", "end": "2099-12-31"}])
    assert closed_for_decades.next_opening(utc(2026, 6, 1)) is None
    assert closed_for_decades.add_business_time(utc(2026, 6, 1), timedelta(hours=1)) is None
    assert closed_for_decades.closes_at(utc(2026, 6, 1)) is None
    # but an opening just inside the horizon is found
    almost = calendar(NINE_TO_FIVE, closed=[{"start": "2026-01-01", "end": "2027-11-30"}])
    assert almost.next_opening(utc(2026, 1, 1)) == utc(2027, 12, 1, 8)


# -- business-time arithmetic --------------------------------------------------------------------------


def test_24_business_hours_from_friday_afternoon_is_wednesday_afternoon():
    desk = calendar(NINE_TO_FIVE)
    # Friday 2 h, Monday 8 h, Tuesday 8 h, Wednesday the last 6 h
    assert desk.add_business_time(berlin(2026, 6, 12, 15), timedelta(hours=24)) == utc(2026, 6, 17, 13)


def test_business_time_skips_holidays():
    desk = calendar(NINE_TO_FIVE, holidays={"country": "DE", "subdivision": "BE"})
    # Thursday 2 h, Good Friday and Easter Monday off, Tuesday 8 h, Wednesday 8 h, Thursday 6 h
    assert desk.add_business_time(berlin(2026, 4, 2, 15), timedelta(hours=24)) == utc(2026, 4, 9, 13)


def test_add_business_time_edges():
    desk = calendar(NINE_TO_FIVE)
    saturday = berlin(2026, 6, 13, 12)
    assert (
        desk.add_business_time(saturday, timedelta(0)) == desk.next_opening(saturday) == utc(2026, 6, 15, 7)
    )
    assert desk.add_business_time(saturday, timedelta(hours=1)) == utc(2026, 6, 15, 8)
    assert desk.add_business_time(berlin(2026, 6, 12, 15), timedelta(hours=2)) == utc(2026, 6, 12, 15)
    assert desk.add_business_time(berlin(2026, 6, 12, 15), timedelta(hours=2, seconds=1)) == utc(
        2026, 6, 15, 7, 0, 1
    )
    # 40 hours a week: 10,000 hours take five years, beyond the two-year horizon
    assert desk.add_business_time(saturday, timedelta(hours=10_000)) is None
    with pytest.raises(ValueError, match="negative"):
        desk.add_business_time(saturday, timedelta(minutes=-1))


def test_business_time_between():
    desk = calendar(NINE_TO_FIVE)
    assert desk.business_time_between(berlin(2026, 6, 15, 10), berlin(2026, 6, 15, 12)) == timedelta(hours=2)
    assert desk.business_time_between(berlin(2026, 6, 12, 15), berlin(2026, 6, 15, 11)) == timedelta(hours=4)
    assert desk.business_time_between(berlin(2026, 6, 15), berlin(2026, 6, 22)) == timedelta(hours=40)
    assert desk.business_time_between(berlin(2026, 6, 15, 12), berlin(2026, 6, 15, 10)) == timedelta(0)
    assert desk.business_time_between(berlin(2026, 6, 13), berlin(2026, 6, 14)) == timedelta(0)


def test_results_are_utc_whatever_zone_the_question_is_in():
    desk = calendar(NINE_TO_FIVE)
    at = datetime(2026, 6, 15, 5, tzinfo=ZoneInfo("America/New_York"))  # 11:00 in Berlin
    opening = desk.next_opening(at)
    assert opening == at and opening is not None and opening.tzinfo is UTC


def test_a_desk_that_never_closes_closes_at_the_horizon():
    # closes_at looks no further than the horizon; an always-open desk reports its end
    closes = calendar(ALWAYS).closes_at(utc(2026, 6, 1))
    assert closes is not None and closes > utc(2028, 5, 1)


# -- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"weekly": {"monday": ["9:00-17:00"]}},
            "monday: '9:00-17:00' is not a valid interval: expected 'HH:MM",
        ),
        ({"weekly": {"monday": ["09:00 to 17:00"]}}, "monday: '09:00 to 17:00' is not a valid interval"),
        ({"weekly": {"tuesday": ["25:00-26:00"]}}, "tuesday: '25:00-26:00' is not a valid interval: start"),
        ({"weekly": {"tuesday": ["09:00-17:60"]}}, "'09:00-17:60' is not a valid interval: end"),
        ({"weekly": {"monday": ["24:00-02:00"]}}, "24:00 is only allowed as an end"),
        ({"weekly": {"monday": ["09:00-24:30"]}}, "end must be a time from 00:00 to 24:00"),
        (
            {"weekly": {"monday": ["09:00-09:00"]}},
            "monday: '09:00-09:00' is not a valid interval: start and end",
        ),
        (
            {"weekly": {"wednesday": ["09:00-12:00", "11:30-13:00"]}},
            "wednesday: intervals '09:00-12:00' and '11:30-13:00' overlap",
        ),
        (
            {"weekly": {"friday": ["22:00-06:00"], "saturday": ["05:00-10:00"]}},
            "friday: overnight interval '22:00-06:00' overlaps saturday's first interval '05:00-10:00'",
        ),
        (
            {"weekly": {"sunday": ["23:00-01:00"], "monday": ["00:30-08:00"]}},
            "sunday: overnight interval '23:00-01:00' overlaps monday's first interval",
        ),
        (
            {"weekly": {"friday": ["22:00-06:00"]}, "special_hours": {"2026-06-13": ["05:00-10:00"]}},
            "2026-06-12: overnight interval '22:00-06:00' overlaps special_hours 2026-06-13's first interval",
        ),
        ({"special_hours": {"2026-06-13": ["10-12"]}}, "special_hours 2026-06-13: '10-12' is not a valid"),
        ({"weekly": {"mon": ["09:00-17:00"]}}, "Input should be 'monday', 'tuesday'"),
        ({"closed": [{"start": "2026-12-31", "end": "2026-12-24"}]}, "closed range ends (2026-12-24) before"),
        ({"time_zone": "Europe/Berlín"}, "unknown time zone 'Europe/Berlín': expected an IANA name"),
        ({"time_zone": "/etc/passwd"}, "unknown time zone '/etc/passwd'"),
        ({"holidays": {"country": "XX"}}, "unknown country 'XX'"),
        (
            {"holidays": {"country": "DE", "subdivision": "Berlin"}},
            "unknown subdivision 'Berlin' for country DE",
        ),
        ({"holidays": {"country": "DE", "categories": ["fun"]}}, "unsupported holiday categories ['fun']"),
        ({"holidays": {"country": "DE", "categories": []}}, "at least one holiday category"),
        ({"timezone": "Europe/Berlin"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_message(config: dict[str, Any], message: str):
    with pytest.raises(ValidationError) as caught:
        BusinessCalendar.model_validate({"time_zone": "Europe/Berlin", "weekly": {}, **config})
    assert message in str(caught.value)


def test_naive_datetimes_are_refused():
    desk = calendar(NINE_TO_FIVE)
    naive, aware = datetime(2026, 6, 15, 10), berlin(2026, 6, 15, 10)
    for call in (
        lambda: desk.is_open(naive),
        lambda: desk.next_opening(naive),
        lambda: desk.closes_at(naive),
        lambda: list(desk.open_spans(naive, aware)),
        lambda: list(desk.open_spans(aware, naive)),
        lambda: desk.add_business_time(naive, timedelta(hours=1)),
        lambda: desk.business_time_between(aware, naive),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


# -- loading -------------------------------------------------------------------------------------------


def test_a_calendar_loads_from_toml():
    document = tomllib.loads(
        """
        time_zone = "Europe/Berlin"
        closed = [2026-12-24, { start = 2026-12-27, end = 2026-12-31 }]

        [weekly]
        monday = ["09:00-12:00", "13:00-17:30"]
        friday = ["09:00-12:00", "22:00-06:00"]

        [holidays]
        country = "DE"
        subdivision = "BE"

        [special_hours]
        "2026-12-31" = ["10:00-14:00"]
        """
    )
    desk = BusinessCalendar.model_validate(document)
    assert desk.is_open(berlin(2026, 12, 31, 11))  # a special day inside the closed range
    assert desk.next_opening(berlin(2026, 12, 31, 15)) == utc(2027, 1, 4, 8)  # 1 January is a holiday


def test_the_holidays_library_is_only_imported_when_a_calendar_uses_it():
    script = (
        "import sys, datetime as d\n"
        "from frontdesk.hours.calendar import BusinessCalendar\n"
        "c = BusinessCalendar(time_zone='UTC', weekly={'monday': ('09:00-17:00',)})\n"
        "c.next_opening(d.datetime(2026, 1, 1, tzinfo=d.UTC))\n"
        "assert 'holidays' not in sys.modules\n"
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[2] / "layers/frontdesk"
    )


def test_a_calendar_with_holidays_imports_its_country_alone():
    # holidays.country_holidays would import all 250 countries (a quarter of a cold start).
    script = (
        "import sys, datetime as d\n"
        "from frontdesk.hours.calendar import BusinessCalendar\n"
        "c = BusinessCalendar(time_zone='Europe/Berlin', weekly={'monday': ('09:00-17:00',)},\n"
        "                     holidays={'country': 'DE', 'subdivision': 'BE'})\n"
        "c.next_opening(d.datetime(2026, 12, 24, tzinfo=d.UTC))\n"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2] / "layers/frontdesk",
    )
    assert done.stdout.strip() == "['holidays.countries.germany']"


@pytest.mark.parametrize(
    ("country", "subdivision", "categories"),
    [("DE", "BE", ("public",)), ("KZ", None, ("public",)), ("US", "CA", ("public",)),
     ("GB", "SCT", ("public",)), ("JP", None, ("public",)), ("DE", "BY", ("public", "catholic"))],
)  # fmt: skip
def test_holiday_dates_are_the_librarys(country: str, subdivision: str | None, categories: tuple[str, ...]):
    source = HolidaySource(country=country, subdivision=subdivision, categories=categories)
    for year in (2026, 2027):
        expected = holidays.country_holidays(country, subdiv=subdivision, years=year, categories=categories)
        assert source.dates(year) == frozenset(expected)
