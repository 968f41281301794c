"""Response-time targets per channel and priority, counted in business time, and the promise an
acknowledgement makes from them."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

from pydantic import BeforeValidator

from frontdesk.tickets.model import Channel, Priority

if TYPE_CHECKING:  # the calendar module is imported only where a calendar is configured
    from frontdesk.hours.calendar import BusinessCalendar

_SHORT_DURATION = re.compile(
    r"(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?(?:(?P<seconds>\d+)s)?"
)


def _duration(value: Any) -> Any:
    """'15m', '2h', '1h30m', '3d' (3 x 24 business hours), '30s'; anything else is left to pydantic
    (ISO 8601 like 'PT2H', or seconds)."""
    if isinstance(value, str) and value.strip() and (match := _SHORT_DURATION.fullmatch(value.strip())):
        parts = {name: int(number) for name, number in match.groupdict().items() if number}
        return timedelta(**parts)
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    if value > timedelta(days=60):
        raise ValueError("must be at most 60 days")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _minutes(**by_priority: int) -> dict[Priority, timedelta]:
    return {Priority(name): timedelta(minutes=minutes) for name, minutes in by_priority.items()}


# In the spirit of common support tables: chat within minutes, social within two hours, email and
# forms within 24 business hours (three working days of eight hours).
DEFAULT_RESPONSE_TARGETS: dict[Channel, dict[Priority, timedelta]] = {
    Channel.CHAT: _minutes(urgent=5, high=10, normal=15, low=30),
    Channel.SOCIAL: _minutes(urgent=30, high=60, normal=120, low=240),
    Channel.EMAIL: _minutes(urgent=4 * 60, high=8 * 60, normal=24 * 60, low=48 * 60),
    Channel.WEB_FORM: _minutes(urgent=4 * 60, high=8 * 60, normal=24 * 60, low=48 * 60),
}


def response_target(
    targets: dict[Channel, dict[Priority, timedelta]], channel: Channel, priority: Priority
) -> timedelta:
    """The configured target, falling back to the defaults for what the configuration leaves out."""
    configured = targets.get(channel, {})
    return configured.get(priority) or DEFAULT_RESPONSE_TARGETS[channel][priority]


def first_response_due(
    created_at: datetime, target: timedelta, calendar: BusinessCalendar | None
) -> datetime | None:
    """When the first human answer is due: `target` of open time after `created_at`.

    Without a calendar the desk is always open. None when the calendar never opens again (a
    configuration that closes the desk for good): no promise can be made then.
    """
    if calendar is None:
        return created_at + target
    return calendar.add_business_time(created_at, target)


class DeskStatus(NamedTuple):
    """What an acknowledgement says about time: is the desk open, and when will we answer."""

    open_now: bool
    reopens_at: datetime | None  # when closed: the next opening (None if never)
    due_at: datetime | None  # the first answer's due time
    # The target itself, when "within <target>" is the honest way to say due_at (no closing time
    # falls in between); otherwise the promise names the due instant.
    within: timedelta | None


def desk_status(
    *,
    now: datetime,
    created_at: datetime,
    due_at: datetime | None,
    target: timedelta,
    calendar: BusinessCalendar | None,
) -> DeskStatus:
    open_now = calendar is None or calendar.is_open(now)
    reopens_at = None if open_now or calendar is None else calendar.next_opening(now)
    within = target if open_now and due_at is not None and due_at - created_at <= target else None
    return DeskStatus(open_now=open_now, reopens_at=reopens_at, due_at=due_at, within=within)


def validate_targets(targets: dict[Channel, dict[Priority, timedelta]]) -> None:
    for channel, by_priority in targets.items():
        for priority, target in by_priority.items():
            try:
                _positive(target)
            except ValueError as error:
                raise ValueError(f"response_targets.{channel}.{priority}: {error}") from None
