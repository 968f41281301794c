"""The time a handler runs at. Library code never reads a clock: handlers pass `now` in.

In Lambda this is the system clock. The local stack can start its clock at another instant
(`frontdesk dev --clock 2026-11-28T23:00:00+01:00`), so anyone can watch out-of-hours behaviour
without editing calendars: it sets FRONTDESK_CLOCK_START (that instant) and
FRONTDESK_CLOCK_ORIGIN (the real Unix time it stands for), and the clock runs forward from there.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from functools import cache

CLOCK_START_VARIABLE = "FRONTDESK_CLOCK_START"
CLOCK_ORIGIN_VARIABLE = "FRONTDESK_CLOCK_ORIGIN"


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with an offset ('2026-11-28T23:00:00+01:00', '...Z'), as UTC."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset: add one, e.g. Z or +01:00")
    return moment.astimezone(UTC)


def shifted_environment(start: datetime, origin: float | None = None) -> dict[str, str]:
    """The variables that make clocks read `start` at real time `origin` (default: now)."""
    return {
        CLOCK_START_VARIABLE: start.astimezone(UTC).isoformat(),
        CLOCK_ORIGIN_VARIABLE: repr(time.time() if origin is None else origin),
    }


@cache
def _shift() -> timedelta:
    start = os.environ.get(CLOCK_START_VARIABLE)
    if not start:
        return timedelta(0)
    origin = float(os.environ.get(CLOCK_ORIGIN_VARIABLE) or time.time())
    return parse_instant(start) - datetime.fromtimestamp(origin, UTC)


def now() -> datetime:
    """The current instant, in UTC (shifted when the local stack was started with --clock)."""
    return datetime.now(UTC) + _shift()


def reset() -> None:
    """Read the clock variables again (the local stack sets them after importing this module)."""
    _shift.cache_clear()
