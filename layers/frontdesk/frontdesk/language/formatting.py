"""Dates, times and durations written the way a reader of each language expects (Babel, CLDR)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, format_timedelta, get_datetime_format, get_timezone_name

from frontdesk.hours.zones import offset_name


def format_moment(moment: datetime, zone: tzinfo | None, language: str) -> str:
    """E.g. 'Monday, November 30, 2026 at 9:00 AM (Central European Standard Time)'; in Persian
    'دوشنبه 30 نوامبر 2026، ساعت 9:00 (وقت عادی مرکز اروپا)'."""
    zone = zone or UTC
    local = moment.astimezone(zone)
    date = format_date(local, "full", locale=language)
    time = format_time(local, "short", tzinfo=zone, locale=language)
    # CLDR's own pattern for joining a date and a time ("{1} 'at' {0}", "{0} {1}"...); quotes mark
    # literal text in it.
    joined = str(get_datetime_format("full", locale=language)).replace("'", "").format(time, date)
    return f"{joined} ({_zone_name(local, zone, language)})"


def _zone_name(local: datetime, zone: tzinfo, language: str) -> str:
    if isinstance(zone, ZoneInfo):
        return str(get_timezone_name(local, "long", locale=language))
    # A bare offset, as a mail's Date header gives: 'UTC+03:00'. (Babel's GMT format gets
    # negative half-hour offsets wrong: -04:30 comes out as GMT-05:30.)
    return f"UTC{offset_name(local) or ''}"


def format_duration(duration: timedelta, language: str) -> str:
    """E.g. '24 hours', '15 minutes', '2 часа'."""
    return str(format_timedelta(duration, threshold=2, locale=language))
