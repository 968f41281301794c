"""Public holidays worked out when the layer is built, so that a cold start need not import `holidays`.

The `holidays` library answers every question here; importing it (and the country a calendar names)
costs about 110 M instructions, a tenth of a function's floor, in each function that reads a
calendar. The layer build (layers/frontdesk/Makefile) runs this module with the layer's own copy
of the library and writes its answers beside this file, in `holiday_tables/`:
- `index.json`: the library's version, the years covered, and every country code;
- `<country>.json`: the country's subdivisions and holiday categories, and for the country and
  each subdivision, year by year, the dates the library gives for the default category
  (`public`), substitute ("observed") days included, exactly as `calendar._holiday_dates` asks,
  as one string a year: one JSON token is read much faster than a list of them.

At run time every lookup returns None when the tables cannot answer (a checkout has none; a year
outside those covered; other categories), and the caller asks the library instead. This module
imports only the standard library, so that the build can run it with CPython 3.13 against the
layer's packages, whose compiled ones (pydantic's core) are built for arm64.
"""

import json
import os
import sys
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

TABLES_VARIABLE = "FRONTDESK_HOLIDAY_TABLES"  # another folder of tables (the bench: the built layer's)
DEFAULT_TABLES = Path(__file__).with_name("holiday_tables")
PUBLIC = ("public",)
YEARS_BEFORE, YEARS_AFTER = 2, 10  # around the build's year: a layer is rebuilt with every deploy


def _folder() -> Path:
    return Path(os.environ.get(TABLES_VARIABLE) or DEFAULT_TABLES)


@cache
def _index() -> dict[str, Any] | None:
    try:
        return json.loads((_folder() / "index.json").read_bytes())  # type: ignore[no-any-return]
    except FileNotFoundError:
        return None


@cache
def _country(country: str) -> dict[str, Any] | None:
    index = _index()
    if index is None or country not in index["countries"]:
        return None
    return json.loads((_folder() / f"{country}.json").read_bytes())  # type: ignore[no-any-return]


def known_countries() -> frozenset[str] | None:
    index = _index()
    return None if index is None else frozenset(index["countries"])


def subdivisions(country: str) -> tuple[str, ...] | None:
    table = _country(country)
    return None if table is None else tuple(table["subdivisions"])


def supported_categories(country: str) -> frozenset[str] | None:
    table = _country(country)
    return None if table is None else frozenset(table["categories"])


def holiday_dates(
    country: str, subdivision: str | None, categories: tuple[str, ...], year: int
) -> frozenset[date] | None:
    """The library's answer for one year, when the tables have it."""
    table = _country(country)
    if table is None or categories != PUBLIC:
        return None
    days = table["dates"].get(subdivision or "", {}).get(str(year))
    return None if days is None else frozenset(date.fromisoformat(day) for day in days.split())


# -- the build ------------------------------------------------------------------------------------


def build(folder: Path, first_year: int, last_year: int, countries: list[str] | None = None) -> int:
    """Write the tables for `countries` (default: every one the library has); the count written."""
    import warnings

    import holidays
    from holidays import registry
    from holidays.version import __version__ as holidays_version

    folder.mkdir(parents=True, exist_ok=True)
    codes = sorted(names[1] for names in registry.COUNTRIES.values())
    chosen = codes if countries is None else sorted(countries)
    for code in chosen:
        entity = holidays.country_holidays(code).__class__
        dates: dict[str, dict[str, str]] = {}
        for subdivision in (None, *entity.subdivisions):
            by_year = dates[subdivision or ""] = {}
            for year in range(first_year, last_year + 1):
                with warnings.catch_warnings():  # "available only from ... to ...": an empty year
                    warnings.simplefilter("ignore")
                    found = entity(subdiv=subdivision, years=year, categories=PUBLIC)
                by_year[str(year)] = " ".join(sorted(day.isoformat() for day in found))
        table = {
            "subdivisions": list(entity.subdivisions),
            "categories": sorted(entity.supported_categories),
            "dates": dates,
        }
        (folder / f"{code}.json").write_text(json.dumps(table, separators=(",", ":")), encoding="utf-8")
    index = {
        "holidays_version": holidays_version,
        "years": [first_year, last_year],
        "countries": chosen,
    }
    (folder / "index.json").write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
    return len(chosen)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m frontdesk.hours.holiday_tables FOLDER", file=sys.stderr)
        return 2
    this_year = date.today().year
    count = build(Path(argv[0]), this_year - YEARS_BEFORE, this_year + YEARS_AFTER)
    print(f"holiday tables: {count} countries, {this_year - YEARS_BEFORE}-{this_year + YEARS_AFTER}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
