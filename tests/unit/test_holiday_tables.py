"""The holiday tables the layer build writes give exactly the `holidays` library's answers, and a
calendar that reads them never imports the library."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from frontdesk.hours import calendar, holiday_tables

# Countries with many subdivisions, lunar and solar calendars, and substitute days.
COUNTRIES = ["DE", "US", "GB", "JP", "KZ", "IR", "VN", "AU"]
FIRST_YEAR, LAST_YEAR = 2026, 2028


def _clear_caches() -> None:
    for cached in (
        holiday_tables._index,
        holiday_tables._country,
        calendar._country_codes,
        calendar._subdivisions,
        calendar._supported_categories,
        calendar._holiday_dates,
    ):
        cached.cache_clear()


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("holiday_tables")
    assert holiday_tables.build(folder, FIRST_YEAR, LAST_YEAR, COUNTRIES) == len(COUNTRIES)
    return folder


@pytest.fixture
def reading(tables: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(holiday_tables.TABLES_VARIABLE, str(tables))
    _clear_caches()
    yield tables
    _clear_caches()


def _library(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    entity = calendar._country_class(country)
    return frozenset(entity(subdiv=subdivision, years=year, categories=("public",)))


@pytest.mark.parametrize("country", COUNTRIES)
def test_the_tables_give_the_librarys_dates_for_every_subdivision_and_year(reading: Path, country: str):
    entity = calendar._country_class(country)

    assert holiday_tables.subdivisions(country) == tuple(entity.subdivisions)
    assert holiday_tables.supported_categories(country) == frozenset(entity.supported_categories)
    for subdivision in (None, *entity.subdivisions):
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            tabled = holiday_tables.holiday_dates(country, subdivision, ("public",), year)
            assert tabled == _library(country, subdivision, year), (country, subdivision, year)


def test_the_tables_do_not_answer_what_they_do_not_hold(reading: Path):
    assert holiday_tables.holiday_dates("DE", "BE", ("public",), LAST_YEAR + 1) is None
    assert holiday_tables.holiday_dates("DE", "BY", ("public", "catholic"), FIRST_YEAR) is None
    assert holiday_tables.holiday_dates("FR", None, ("public",), FIRST_YEAR) is None
    assert holiday_tables.subdivisions("FR") is None


def test_the_index_names_the_countries_years_and_library_version(reading: Path):
    index = json.loads((reading / "index.json").read_text(encoding="utf-8"))

    assert index["countries"] == sorted(COUNTRIES)
    assert index["years"] == [FIRST_YEAR, LAST_YEAR]
    assert index["holidays_version"]
    assert holiday_tables.known_countries() == frozenset(COUNTRIES)


def test_without_tables_nothing_is_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(holiday_tables.TABLES_VARIABLE, str(tmp_path / "none"))
    _clear_caches()
    try:
        assert holiday_tables.known_countries() is None
        assert holiday_tables.holiday_dates("DE", None, ("public",), FIRST_YEAR) is None
        expected = _library("DE", None, FIRST_YEAR)
        assert calendar._holiday_dates("DE", None, ("public",), FIRST_YEAR) == expected
    finally:
        _clear_caches()


def test_the_calendar_falls_back_to_the_library_past_the_tables(reading: Path):
    later = LAST_YEAR + 1

    assert calendar._holiday_dates("DE", "BE", ("public",), later) == _library("DE", "BE", later)


CALENDAR_CHECK = """
import sys
from datetime import datetime, timezone
from frontdesk.hours.calendar import BusinessCalendar
office = BusinessCalendar.model_validate({
    "time_zone": "Europe/Berlin",
    "holidays": {"country": "DE", "subdivision": "BE"},
    "weekly": {day: ["09:00-17:00"] for day in ("monday", "tuesday", "wednesday", "thursday", "friday")},
})
# Friday 25 December 2026, Christmas Day, at noon in Berlin: closed; open again on Monday the 28th.
christmas = datetime(2026, 12, 25, 11, 0, tzinfo=timezone.utc)
print(office.is_open(christmas), office.next_opening(christmas).isoformat(), "holidays" in sys.modules)
"""


def test_a_calendar_reading_the_tables_answers_alike_without_importing_the_library(tables: Path):
    def run(environment: dict[str, str]) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", CALENDAR_CHECK],
            capture_output=True,
            text=True,
            env={**environment, "PATH": "/usr/bin:/bin"},
            check=True,
        )
        return done.stdout.split()

    with_tables = run({holiday_tables.TABLES_VARIABLE: str(tables)})
    without = run({holiday_tables.TABLES_VARIABLE: str(tables / "none")})

    assert with_tables[:2] == without[:2] == ["False", "2026-12-28T08:00:00+00:00"]
    assert with_tables[2] == "False"  # the library was never imported
    assert without[2] == "True"
