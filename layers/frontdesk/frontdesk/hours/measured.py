"""The measured promise: the desk's median business time to a first answer over the last days.

A desk that answers faster than its target can say so; one that answers slower should not hide
behind its target. Each first human answer leaves a sample (in its transaction: FirstResponseSample);
the median of the last seven days' samples is read at most once per process every few minutes.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.tickets.store import TicketStore

MEASURE_WINDOW = timedelta(days=7)
SAMPLE_RETENTION = MEASURE_WINDOW + timedelta(days=1)
_REFRESH = timedelta(minutes=10)


@dataclass
class _Cached:
    table: str
    read_at: datetime
    median: timedelta | None


_cache: _Cached | None = None


def median_first_response(store: TicketStore, now: datetime, min_samples: int) -> timedelta | None:
    """The median over the last seven days, or None when fewer than `min_samples` tickets were
    answered (too few to speak for the desk: the target is promised then)."""
    global _cache
    if _cache and _cache.table == store.table_name and now - _cache.read_at < _REFRESH:
        return _cache.median
    samples = store.first_response_samples(now - MEASURE_WINDOW, now)
    median = None
    if samples and len(samples) >= min_samples:
        median = timedelta(seconds=round(statistics.median(s.total_seconds() for s in samples)))
    _cache = _Cached(store.table_name, now, median)
    return median


def forget() -> None:
    """Drop the cached median (tests)."""
    global _cache
    _cache = None
