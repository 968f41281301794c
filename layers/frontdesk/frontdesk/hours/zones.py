"""Time zones customers are in: IANA names from browsers and platforms, offsets from mail."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}")


@cache
def _zone(name: str) -> ZoneInfo | None:
    if len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        return None  # also keeps path-like names away from the tz database lookup
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: 'Europe' is a folder
        return None


def known_time_zone(name: str) -> bool:
    return _zone(name) is not None


def offset_name(moment: datetime) -> str | None:
    """'+03:00' for an aware datetime (the offset a mail's Date header carried)."""
    offset = moment.utcoffset()
    if offset is None or abs(offset) >= timedelta(hours=24):
        return None
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def time_zone(name: str | None) -> tzinfo | None:
    """The tzinfo of an IANA name or a ±HH:MM offset as stored on tickets; None if unknown."""
    if not name:
        return None
    if match := _OFFSET.fullmatch(name):
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta) if delta < timedelta(hours=24) else None
    return _zone(name)
