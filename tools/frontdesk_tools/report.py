"""Support KPIs of a period, for `frontdesk report` (ops tooling: it never ships to Lambda).

Every figure is about one cohort: the tickets CREATED in [since, until), whatever has happened to
them since. A ticket created last week and answered today counts in last week's first-response
time; one created before the period and resolved during it does not count at all. Re-running a
report for a past period therefore changes only as its tickets move on, never because newer
tickets arrived.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from frontdesk.tickets.model import Channel, Ticket, TicketStatus

COHORT = "tickets created in [since, until)"
_STILL_WAITING = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})
_DONE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class _Figures(BaseModel):
    model_config = ConfigDict(frozen=True)


class Volume(_Figures):
    total: int
    by_channel: dict[Channel, int]  # every channel, zeros included, so tables line up


class FirstResponse(_Figures):
    median_seconds: float | None  # created_at -> first_responded_at; None when none was answered
    answered: int
    unanswered: int  # no public reply yet and not resolved or closed: still waiting


class Resolution(_Figures):
    median_seconds: float | None  # created_at -> resolved_at
    resolved: int  # resolved, or closed after being resolved (closed straight away is not resolved)


class Csat(_Figures):
    percent: float | None  # share of answers with csat 4 or 5, one decimal
    satisfied: int
    answers: int


class Nps(_Figures):
    score: float | None  # % promoters (9-10) minus % detractors (0-6), one decimal, -100..100
    promoters: int
    detractors: int
    answers: int  # survey answers that gave an NPS score


class FirstContactResolution(_Figures):
    percent: float | None  # resolved tickets resolved with exactly one public reply, one decimal
    first_contact: int
    resolved: int


class Report(_Figures):
    since: datetime
    until: datetime
    cohort: str = COHORT
    volume: Volume
    first_response: FirstResponse
    resolution: Resolution
    csat: Csat
    nps: Nps
    first_contact_resolution: FirstContactResolution


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _median(values: list[float]) -> float | None:
    # statistics.median takes the mean of the two middle values of an even count.
    return statistics.median(values) if values else None


def compute_report(tickets: Iterable[Ticket], since: datetime, until: datetime) -> Report:
    """The KPIs of the tickets created in [since, until); tickets outside it are ignored, so a
    caller may pass a wider list. Pure: no clock, no I/O."""
    cohort = [ticket for ticket in tickets if since <= ticket.created_at < until]
    by_channel = dict.fromkeys(Channel, 0)
    for ticket in cohort:
        by_channel[ticket.channel] += 1

    waits = [
        (ticket.first_responded_at - ticket.created_at).total_seconds()
        for ticket in cohort
        if ticket.first_responded_at is not None
    ]
    unanswered = sum(
        1 for ticket in cohort if ticket.first_responded_at is None and ticket.status in _STILL_WAITING
    )

    resolved = [
        (ticket, ticket.resolved_at)
        for ticket in cohort
        if ticket.status in _DONE and ticket.resolved_at is not None
    ]
    resolution_times = [(resolved_at - ticket.created_at).total_seconds() for ticket, resolved_at in resolved]
    first_contact = sum(1 for ticket, _ in resolved if ticket.public_replies == 1)

    surveys = [ticket.survey for ticket in cohort if ticket.survey is not None]
    satisfied = sum(1 for answer in surveys if answer.csat >= 4)
    scores = [answer.nps for answer in surveys if answer.nps is not None]
    promoters = sum(1 for score in scores if score >= 9)
    detractors = sum(1 for score in scores if score <= 6)
    nps = round(100 * (promoters - detractors) / len(scores), 1) if scores else None

    return Report(
        since=since.astimezone(UTC),
        until=until.astimezone(UTC),
        volume=Volume(total=len(cohort), by_channel=by_channel),
        first_response=FirstResponse(
            median_seconds=_median(waits), answered=len(waits), unanswered=unanswered
        ),
        resolution=Resolution(median_seconds=_median(resolution_times), resolved=len(resolved)),
        csat=Csat(percent=_percent(satisfied, len(surveys)), satisfied=satisfied, answers=len(surveys)),
        nps=Nps(score=nps, promoters=promoters, detractors=detractors, answers=len(scores)),
        first_contact_resolution=FirstContactResolution(
            percent=_percent(first_contact, len(resolved)),
            first_contact=first_contact,
            resolved=len(resolved),
        ),
    )


# -- rendering ----------------------------------------------------------------------------------

NOT_AVAILABLE = "n/a"


def format_duration(seconds: float | None) -> str:
    """A duration for people: '45s', '30m', '2h 05m', '3d 4h' (rounded to the unit shown)."""
    if seconds is None:
        return NOT_AVAILABLE
    if round(seconds) < 60:
        return f"{round(seconds)}s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 24 * 60:
        hours, minutes = divmod(minutes, 60)
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(round(seconds / 3600), 24)
    return f"{days}d {hours}h"


def _format_percent(value: float | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:.1f} %"


def _format_score(value: float | None) -> str:
    if value is None:
        return NOT_AVAILABLE
    return f"{value:+.1f}" if value else "0.0"  # NPS is shown signed: +25.0, -12.5


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_text(report: Report) -> str:
    """The report as an aligned table, headed by its period and cohort."""
    first, resolution = report.first_response, report.resolution
    csat, nps, fcr = report.csat, report.nps, report.first_contact_resolution
    rows: list[tuple[str, str, str]] = [
        ("Tickets created", str(report.volume.total), ""),
        *((f"  {channel.value}", str(count), "") for channel, count in report.volume.by_channel.items()),
        (
            "First response (median)",
            format_duration(first.median_seconds),
            f"answered: {first.answered}, still unanswered: {first.unanswered}",
        ),
        (
            "Resolution time (median)",
            format_duration(resolution.median_seconds),
            f"resolved: {resolution.resolved}",
        ),
        (
            "CSAT (4 or 5 of 5)",
            _format_percent(csat.percent),
            f"satisfied: {csat.satisfied}, answers: {csat.answers}",
        ),
        (
            "NPS",
            _format_score(nps.score),
            f"promoters: {nps.promoters}, detractors: {nps.detractors}, answers: {nps.answers}",
        ),
        (
            "First-contact resolution",
            _format_percent(fcr.percent),
            f"with one reply: {fcr.first_contact}, resolved: {fcr.resolved}",
        ),
    ]
    header = ("KPI", "value", "over")
    label_width = max(len(row[0]) for row in (header, *rows))
    value_width = max(len(row[1]) for row in (header, *rows))
    lines = [
        f"Frontdesk report: {_instant(report.since)} to {_instant(report.until)} (excluded)",
        f"Cohort: {COHORT}; every figure is about those tickets, whatever happened to them since.",
        "",
    ]
    for label, value, basis in (header, *rows):
        # Values are right-aligned so units and decimals line up.
        lines.append(f"{label:<{label_width}}  {value:>{value_width}}  {basis}".rstrip())
    return "\n".join(lines)


def render_json(report: Report) -> str:
    return report.model_dump_json(indent=2)
