"""Business calendars: when a support desk is open, and business-time arithmetic on that.

A calendar is configured in local wall-clock time (TOML or JSON, validated at load):

    time_zone = "Europe/Berlin"
    closed = [2026-12-24, { start = 2026-12-27, end = 2026-12-31 }]
    [weekly]
    monday = ["09:00-12:00", "13:00-17:30"]
    friday = ["09:00-12:00", "22:00-06:00"]   # overnight: Friday 22:00 to Saturday 06:00
    [holidays]
    country = "DE"
    subdivision = "BE"
    [special_hours]
    "2026-12-31" = ["10:00-14:00"]          # replaces that day's hours, even on a holiday or closed day

Intervals are half-open, [start, end). An end before its start runs into the next day and belongs
to the day it starts on: Friday's "22:00-06:00" is open on Saturday morning even if Saturday is a
holiday. A holiday or closed date removes only the spans that start on it.

Daylight saving time. Interval bounds are wall-clock times, turned into instants with zoneinfo:
- a time that does not exist (the spring-forward gap, e.g. 02:30 on 2026-03-29 in Europe/Berlin)
  becomes the first instant after the gap, for starts and ends alike; a span lying wholly inside
  a gap is empty;
- an ambiguous time (the fall-back repeat, e.g. 02:30 on 2026-10-25 in Europe/Berlin) is the
  earlier occurrence as a start (fold=0) and the later one as an end (fold=1), so the desk is open
  for the whole wall-clock period, repeated hour included.
Everything after that is computed in UTC, so business time is real elapsed time: a desk open
00:00-24:00 on the day clocks go back is open for 25 hours.

Every public method takes timezone-aware datetimes (ValueError on naive ones) and returns aware
UTC datetimes. Searches look at most HORIZON_DAYS ahead; past that, the answer is None.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator, model_validator

from frontdesk.hours import holiday_tables

HORIZON_DAYS = 732  # about two years: how far next_opening and add_business_time look ahead

_DAY = timedelta(days=1)
_DAY_CACHE_SIZE = 4096  # days of computed spans kept per calendar, a few hundred bytes each
_WALK_DAYS = HORIZON_DAYS + 2  # from the day before (overnight spans) to the horizon's last day
_MINUTES_PER_DAY = 24 * 60
_INTERVAL = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")

Interval = tuple[int, int]  # minutes after the local midnight of its day; end > start, at most 48h
Span = tuple[datetime, datetime]  # UTC, [start, end)
_Bounds = tuple[tuple[timedelta, timedelta], ...]  # one day's intervals, ready to add to its midnight
_EPOCH, _NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1)


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"


_WEEKDAYS = tuple(Weekday)  # index == date.weekday()


class HolidaySource(BaseModel):
    """Public holidays from the `holidays` library: each one closes the desk all day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str
    subdivision: str | None = None
    categories: tuple[str, ...] = ("public",)

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in _country_codes():
            raise ValueError(f"unknown country {value!r}: expected an ISO 3166-1 alpha-2 code such as 'DE'")
        return value

    @model_validator(mode="after")
    def _known_subdivision_and_categories(self) -> Self:
        if not self.categories:
            raise ValueError("categories must name at least one holiday category, e.g. ['public']")
        if self.subdivision is not None:
            known = _subdivisions(self.country)
            if self.subdivision not in known:
                listed = ", ".join(known) if known else "none"
                raise ValueError(
                    f"unknown subdivision {self.subdivision!r} for country {self.country}; known: {listed}"
                )
        supported = _supported_categories(self.country)
        unknown = [category for category in self.categories if category not in supported]
        if unknown:
            raise ValueError(
                f"unsupported holiday categories {unknown} for country {self.country}; "
                f"supported: {', '.join(sorted(supported))}"
            )
        return self

    def dates(self, year: int) -> frozenset[date]:
        """The holiday dates of one year, substitute ("observed") days included."""
        return _holiday_dates(self.country, self.subdivision, self.categories, year)


class ClosedRange(BaseModel):
    """Closed from `start` to `end`, both dates included."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"closed range ends ({self.end}) before it starts ({self.start})")
        return self


class BusinessCalendar(BaseModel):
    """A desk's opening hours in one time zone. See the module docstring for the rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str
    weekly: dict[Weekday, tuple[str, ...]]
    holidays: HolidaySource | None = None
    closed: tuple[date | ClosedRange, ...] = ()
    special_hours: dict[date, tuple[str, ...]] = {}

    # Parsed once at load, so a query only does arithmetic. A plain object rather than several
    # private attributes: pydantic serves those through a slow __getattr__.
    _schedule: _Schedule = PrivateAttr()

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        _zone(value)
        return value

    @field_validator("weekly")
    @classmethod
    def _valid_weekly(cls, value: dict[Weekday, tuple[str, ...]]) -> dict[Weekday, tuple[str, ...]]:
        for day, texts in value.items():
            _parse_day(texts, day.value)
        return value

    @field_validator("special_hours")
    @classmethod
    def _valid_special_hours(cls, value: dict[date, tuple[str, ...]]) -> dict[date, tuple[str, ...]]:
        for day, texts in value.items():
            _parse_day(texts, f"special_hours {day}")
        return value

    @model_validator(mode="after")
    def _no_overnight_overlap(self) -> Self:
        """An overnight span must end before the next day's first interval starts."""
        weekly = _weekly_intervals(self.weekly)
        for index, intervals in enumerate(weekly):
            _check_spill(intervals, weekly[(index + 1) % 7], _WEEKDAYS[index], _WEEKDAYS[(index + 1) % 7])
        special = {day: _parse_day(texts, "") for day, texts in self.special_hours.items()}

        def hours_on(day: date) -> tuple[Interval, ...]:
            return special[day] if day in special else weekly[day.weekday()]

        # Checked against the usual hours of the neighbouring days, whether or not those turn
        # out to be holidays: a special day that is fine in one year should be fine in every year.
        for day in special:
            before, after = day - _DAY, day + _DAY
            _check_spill(hours_on(before), special[day], str(before), f"special_hours {day}")
            _check_spill(special[day], hours_on(after), f"special_hours {day}", str(after))
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._schedule = _Schedule(self)

    # -- queries ---------------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether the desk is open at the instant `at`."""
        instant = _utc(at, "at")
        for start, end in self._schedule.walk_from(instant):
            if end > instant:
                return start <= instant
        return False

    def next_opening(self, at: datetime) -> datetime | None:
        """`at` if the desk is open then, else when it next opens; None if not within the horizon."""
        instant = _utc(at, "at")
        for start, end in self._schedule.walk_from(instant):
            if end > instant:
                return max(start, instant)
        return None

    def closes_at(self, at: datetime) -> datetime | None:
        """When the open span around `at` ends (spans touching across midnight count as one); None
        when closed at `at`. For a desk that never closes this is the end of the horizon."""
        instant = _utc(at, "at")
        for start, end in _merged(self._schedule.walk_from(instant)):
            if end > instant:
                return end if start <= instant else None
        return None

    def open_spans(self, start: datetime, end: datetime) -> Iterator[Span]:
        """The open spans in [start, end), merged where they touch, clipped to the window, in UTC."""
        first, last = _utc(start, "start"), _utc(end, "end")
        if last <= first:
            return
        schedule = self._schedule
        first_day = schedule.local_date(first) - _DAY
        days = (schedule.local_date(last) - first_day).days + 1
        for span_start, span_end in _merged(schedule.spans(first_day, days)):
            if span_start >= last:
                return
            if span_end > first:
                yield max(span_start, first), min(span_end, last)

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime | None:
        """The instant at which `duration` of open time has passed since `start` (counting from the
        next opening if closed at `start`); None if that is beyond the horizon."""
        cursor = _utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        remaining = duration
        for span_start, span_end in self._schedule.walk_from(cursor):
            if span_end <= cursor:
                continue
            counted_from = max(span_start, cursor)
            available = span_end - counted_from
            if remaining <= available:
                return counted_from + remaining
            remaining -= available
            cursor = span_end
        return None

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much open time lies in [start, end); zero when end is not after start."""
        total = timedelta(0)
        for span_start, span_end in self.open_spans(start, end):
            total += span_end - span_start
        return total


class _Schedule:
    """A calendar's parsed form and the day-by-day walk over it."""

    __slots__ = (
        "_closed_by_year",
        "_day_spans",
        "closed_dates",
        "closed_ranges",
        "holidays",
        "special",
        "tz",
        "weekly",
    )

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.tz = _zone(calendar.time_zone)
        self.weekly = tuple(_as_bounds(day) for day in _weekly_intervals(calendar.weekly))
        self.special = {
            day: _as_bounds(_parse_day(texts, "")) for day, texts in calendar.special_hours.items()
        }
        self.closed_dates = frozenset(entry for entry in calendar.closed if isinstance(entry, date))
        self.closed_ranges = tuple(
            (entry.start, entry.end) for entry in calendar.closed if isinstance(entry, ClosedRange)
        )
        self.holidays = calendar.holidays
        self._closed_by_year: dict[int, frozenset[date]] = {}
        # A warm Lambda asks about the same few days again and again.
        self._day_spans: dict[date, tuple[Span, ...]] = {}

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def walk_from(self, instant: datetime) -> Iterator[Span]:
        """Spans from the day before `instant` (its overnight span may still be running) to the horizon."""
        return self.spans(self.local_date(instant) - _DAY, _WALK_DAYS)

    def spans(self, first_day: date, days: int) -> Iterator[Span]:
        """Each day's spans in UTC, day by day: ordered by start, not merged, maybe overlapping
        only where spans touch or a neighbouring day's overnight span runs on."""
        cache = self._day_spans
        day = first_day
        for _ in range(days):
            spans = cache.get(day)
            if spans is None:
                if len(cache) >= _DAY_CACHE_SIZE:
                    cache.clear()
                spans = cache[day] = self.day_spans(day)
            yield from spans
            day += _DAY

    def day_spans(self, day: date) -> tuple[Span, ...]:
        hours = self.hours_on(day)
        if not hours:
            return ()
        midnight = datetime(day.year, day.month, day.day)
        spans = []
        for start_delta, end_delta in hours:
            start = self.instant(midnight + start_delta, is_end=False)
            end = self.instant(midnight + end_delta, is_end=True)
            if start < end:  # empty when it lies inside a DST gap
                spans.append((start, end))
        return tuple(spans)

    def hours_on(self, day: date) -> _Bounds:
        special = self.special.get(day)
        if special is not None:
            return special
        if day in self.closed_in(day.year):
            return ()
        return self.weekly[day.weekday()]

    def closed_in(self, year: int) -> frozenset[date]:
        """Every closed date of a year (closed entries and holidays) as one set, built once."""
        closed = self._closed_by_year.get(year)
        if closed is None:
            days = {day for day in self.closed_dates if day.year == year}
            for first, last in self.closed_ranges:
                day, until = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
                while day <= until:
                    days.add(day)
                    day += _DAY
            if self.holidays is not None:
                days |= self.holidays.dates(year)
            closed = self._closed_by_year[year] = frozenset(days)
        return closed

    def instant(self, wall: datetime, *, is_end: bool) -> datetime:
        """The UTC instant of a naive wall-clock time, by the DST rules in the module docstring."""
        earlier = _offset(self.tz, wall)
        later = _offset(self.tz, wall.replace(fold=1))
        if earlier == later:
            offset = earlier
        elif earlier > later:  # the fall-back repeat: fold=0 is the first occurrence
            offset = later if is_end else earlier
        else:  # the spring-forward gap: fold=0 keeps the old offset, fold=1 the new one
            return self.end_of_gap(wall - later, wall - earlier, later)
        # Same as (wall - offset).replace(tzinfo=UTC), which costs ten times as much.
        return _EPOCH + (wall - _NAIVE_EPOCH - offset)

    def end_of_gap(self, low: datetime, high: datetime, new_offset: timedelta) -> datetime:
        """The first instant with the new offset, in (low, high] (naive UTC), to the second."""
        low_s, high_s = 0, int((high - low).total_seconds())
        while high_s - low_s > 1:  # invariant: low + low_s is before the change, low + high_s after
            middle = (low_s + high_s) // 2
            instant = (low + timedelta(seconds=middle)).replace(tzinfo=UTC)
            if _offset(self.tz, instant) == new_offset:
                high_s = middle
            else:
                low_s = middle
        return (low + timedelta(seconds=high_s)).replace(tzinfo=UTC)


# -- parsing -------------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'Europe' is a folder
        # ValueError: names zoneinfo refuses outright, such as absolute paths.
        message = f"unknown time zone {name!r}: expected an IANA name such as 'Europe/Berlin'"
        raise ValueError(message) from None


@functools.lru_cache(maxsize=512)
def _parse_interval(text: str) -> Interval:
    """'HH:MM-HH:MM' as minutes; an end before the start runs into the next day."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        raise ValueError("expected 'HH:MM-HH:MM'")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if (start_h, start_m) == (24, 0):
        raise ValueError("24:00 is only allowed as an end")
    if start_h > 23 or start_m > 59:
        raise ValueError("start must be a time from 00:00 to 23:59")
    if end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ValueError("end must be a time from 00:00 to 24:00")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError("start and end are the same time")
    return (start, end if end > start else end + _MINUTES_PER_DAY)


def _parse_day(texts: Iterable[str], label: str) -> tuple[Interval, ...]:
    """One day's intervals, sorted; refuses bad syntax and overlaps, naming day and value."""
    parsed: list[tuple[Interval, str]] = []
    for text in texts:
        try:
            parsed.append((_parse_interval(text), text))
        except ValueError as error:
            raise ValueError(f"{label}: {text!r} is not a valid interval: {error}") from None
    parsed.sort()
    for (previous, previous_text), (current, current_text) in itertools.pairwise(parsed):
        if current[0] < previous[1]:
            raise ValueError(f"{label}: intervals {previous_text!r} and {current_text!r} overlap")
    return tuple(interval for interval, _ in parsed)


def _weekly_intervals(weekly: dict[Weekday, tuple[str, ...]]) -> tuple[tuple[Interval, ...], ...]:
    return tuple(_parse_day(weekly.get(day, ()), day.value) for day in _WEEKDAYS)


def _check_spill(
    day: tuple[Interval, ...], next_day: tuple[Interval, ...], label: str, next_label: str
) -> None:
    """Refuse an overnight span of `day` running past the start of `next_day`'s first interval."""
    if not day or not next_day:
        return
    spill = day[-1][1] - _MINUTES_PER_DAY  # the last interval is the only one that can run over
    if spill > next_day[0][0]:
        start, end = day[-1]
        raise ValueError(
            f"{label}: overnight interval '{_clock(start)}-{_clock(end)}' overlaps "
            f"{next_label}'s first interval '{_clock(next_day[0][0])}-{_clock(next_day[0][1])}'"
        )


def _clock(minute: int) -> str:
    if minute > _MINUTES_PER_DAY:
        minute -= _MINUTES_PER_DAY
    return f"{minute // 60:02d}:{minute % 60:02d}"


# -- helpers for the walk ------------------------------------------------------------------------


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _offset(tz: ZoneInfo, value: datetime) -> timedelta:
    """The UTC offset at a naive wall-clock time (its fold chooses among repeats), or at an aware instant."""
    offset = tz.utcoffset(value) if value.tzinfo is None else value.astimezone(tz).utcoffset()
    assert offset is not None  # always set by a ZoneInfo
    return offset


def _as_bounds(intervals: tuple[Interval, ...]) -> _Bounds:
    return tuple((timedelta(minutes=start), timedelta(minutes=end)) for start, end in intervals)


def _merged(spans: Iterable[Span]) -> Iterator[Span]:
    """Spans ordered by start, with overlapping or touching ones joined."""
    current: Span | None = None
    for start, end in spans:
        if current is not None and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current


# -- holidays (the library is imported only when a calendar uses it) -----------------------------
# The built layer answers from tables the build worked out with the same library
# (holiday_tables.py); a checkout, another category or a year past the tables asks the library.


@functools.cache
def _country_codes() -> frozenset[str]:
    tabled = holiday_tables.known_countries()
    if tabled is not None:
        return tabled
    from holidays.registry import COUNTRIES  # lazily: most Lambda paths never need holidays

    return frozenset(entry[1] for entry in COUNTRIES.values())


_COUNTRY_IMPORT = threading.Lock()


@functools.cache
def _country_class(country: str) -> Any:
    """The library's holidays class for a country, from that country's module alone.

    `holidays.country_holidays` imports the `holidays.countries` package, whose __init__ imports
    all 250 countries: a quarter of a function's cold start, paid by every function that loads
    settings with a calendar. The registry names the module and class a code belongs to."""
    import importlib.util
    import sys
    from pathlib import Path

    from holidays import registry

    file_stem, class_name = next(
        (module, names[0]) for module, names in registry.COUNTRIES.items() if country in names[1:]
    )
    module_name = f"holidays.countries.{file_stem}"
    with _COUNTRY_IMPORT:
        module = sys.modules.get(module_name)
        if module is None:
            path = Path(registry.__file__).parent / "countries" / f"{file_stem}.py"
            spec = importlib.util.spec_from_file_location(module_name, path)
            if spec is None or spec.loader is None:  # pragma: no cover (the file is the registry's)
                raise ImportError(f"cannot load {module_name}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
    return getattr(module, class_name)


@functools.cache
def _subdivisions(country: str) -> tuple[str, ...]:
    tabled = holiday_tables.subdivisions(country)
    return tabled if tabled is not None else tuple(_country_class(country).subdivisions)


@functools.cache
def _supported_categories(country: str) -> frozenset[str]:
    tabled = holiday_tables.supported_categories(country)
    return tabled if tabled is not None else frozenset(_country_class(country).supported_categories)


@functools.lru_cache(maxsize=256)
def _holiday_dates(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> frozenset[date]:
    tabled = holiday_tables.holiday_dates(country, subdivision, categories, year)
    if tabled is not None:
        return tabled
    # observed=True (the default) includes substitute days for holidays falling on a weekend.
    found = _country_class(country)(subdiv=subdivision, years=year, categories=categories)
    return frozenset(found)
