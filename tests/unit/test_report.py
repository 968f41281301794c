"""`frontdesk report`'s KPIs, computed from tickets whose figures are worked out by hand below."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from frontdesk.tickets.model import Channel, Requester, SurveyAnswer, Ticket, TicketStatus
from frontdesk.tickets.store import TicketStore
from frontdesk_tools.cli import main, report_period
from frontdesk_tools.report import compute_report, format_duration, render_json, render_text

SINCE = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
UNTIL = datetime(2026, 11, 9, tzinfo=UTC)  # excluded
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


def ticket(
    number: int,
    channel: Channel,
    created_at: datetime,
    status: TicketStatus,
    *,
    first_response: timedelta | None = None,
    resolution: timedelta | None = None,
    public_replies: int = 0,
    survey: tuple[int, int | None] | None = None,
) -> Ticket:
    """A ticket created at `created_at`, answered and resolved after the given waits."""
    return Ticket(
        reference=f"FD-TEST-{number:04d}",
        status=status,
        channel=channel,
        source="test",
        subject=f"ticket {number}",
        requester=Requester(email=f"customer{number}@example.org"),
        language="en",
        created_at=created_at,
        updated_at=created_at,
        first_responded_at=created_at + first_response if first_response else None,
        resolved_at=created_at + resolution if resolution else None,
        public_replies=public_replies,
        survey=SurveyAnswer(csat=survey[0], nps=survey[1], answered_at=UNTIL) if survey else None,
    )


def day(n: int, hour: int) -> datetime:
    return datetime(2026, 11, n, hour, tzinfo=UTC)


TICKETS = [
    # Answered and resolved with one reply: a first-contact resolution.
    ticket(
        1,
        Channel.WEB_FORM,
        day(2, 9),
        TicketStatus.RESOLVED,
        first_response=30 * MINUTE,
        resolution=2 * HOUR,
        public_replies=1,
        survey=(5, 10),
    ),
    # Three replies before it was resolved, then closed (it keeps its resolved_at).
    ticket(
        2,
        Channel.EMAIL,
        day(3, 10),
        TicketStatus.CLOSED,
        first_response=90 * MINUTE,
        resolution=24 * HOUR,
        public_replies=3,
        survey=(4, 9),
    ),
    ticket(
        3,
        Channel.EMAIL,
        day(4, 8),
        TicketStatus.RESOLVED,
        first_response=150 * MINUTE,
        resolution=4 * HOUR,
        public_replies=1,
        survey=(2, 3),
    ),
    ticket(4, Channel.CHAT, day(5, 12), TicketStatus.NEW),  # still unanswered
    # Resolved without a public reply (a duplicate, say): resolved, but neither answered nor waiting.
    ticket(5, Channel.CHAT, day(6, 15), TicketStatus.RESOLVED, resolution=30 * MINUTE),
    ticket(6, Channel.SOCIAL, day(7, 11), TicketStatus.OPEN),  # still unanswered
    ticket(7, Channel.WEB_FORM, day(8, 9), TicketStatus.PENDING),  # still unanswered
    # Closed straight away (spam): never resolved, not waiting either.
    ticket(8, Channel.SOCIAL, day(8, 10), TicketStatus.CLOSED),
    # Created at the very start of the period: counted; still unanswered.
    ticket(9, Channel.WEB_FORM, SINCE, TicketStatus.NEW),
    # Outside the period (at its excluded end, and just before it): they would change every figure.
    ticket(
        10,
        Channel.EMAIL,
        UNTIL,
        TicketStatus.RESOLVED,
        first_response=MINUTE,
        resolution=MINUTE,
        public_replies=1,
        survey=(1, 0),
    ),
    ticket(
        11,
        Channel.CHAT,
        SINCE - timedelta(microseconds=1),
        TicketStatus.RESOLVED,
        first_response=MINUTE,
        resolution=MINUTE,
        public_replies=1,
        survey=(1, 0),
    ),
]


def test_the_kpis_of_a_week_match_the_hand_computed_figures():
    report = compute_report(TICKETS, SINCE, UNTIL)

    # Tickets 1-9; 10 (created at `until`) and 11 (before `since`) are outside the period.
    assert report.volume.total == 9
    assert report.volume.by_channel == {
        Channel.WEB_FORM: 3,  # 1, 7, 9
        Channel.EMAIL: 2,  # 2, 3
        Channel.CHAT: 2,  # 4, 5
        Channel.SOCIAL: 2,  # 6, 8
    }
    # Answered waits 30, 90 and 150 minutes: the median is the middle one, 90 minutes.
    assert report.first_response.median_seconds == 90 * 60
    assert report.first_response.answered == 3
    # 4 (new), 6 (open), 7 (pending), 9 (new); not 5 (resolved) nor 8 (closed).
    assert report.first_response.unanswered == 4
    # Resolved: 5 (30 min), 1 (2 h), 3 (4 h), 2 (24 h; closed since). An even count: the median is
    # the mean of the two middle values, (2 h + 4 h) / 2 = 3 h. Ticket 8 was never resolved.
    assert report.resolution.median_seconds == 3 * 3600
    assert report.resolution.resolved == 4
    # One public reply: 1 and 3; 2 had three, 5 none. 2 of 4 resolved = 50 %.
    assert report.first_contact_resolution.percent == 50.0
    assert (report.first_contact_resolution.first_contact, report.first_contact_resolution.resolved) == (2, 4)
    # CSAT 5, 4, 2: two of three answers are 4 or 5, 66.67 % -> 66.7.
    assert report.csat.percent == 66.7
    assert (report.csat.satisfied, report.csat.answers) == (2, 3)
    # NPS 10, 9 (promoters), 3 (a detractor): (2 - 1) / 3 = 33.33 % -> 33.3.
    assert report.nps.score == 33.3
    assert (report.nps.promoters, report.nps.detractors, report.nps.answers) == (2, 1, 3)


def test_nps_is_promoters_minus_detractors_over_the_answers_that_gave_a_score():
    # NPS 10, 9 (promoters), 3 (detractor), 7 (passive), and one answer without an NPS score.
    answers = [(5, 10), (4, 9), (2, 3), (3, 7), (5, None)]
    tickets = [
        ticket(n, Channel.EMAIL, day(3, 9), TicketStatus.RESOLVED, resolution=HOUR, survey=survey)
        for n, survey in enumerate(answers)
    ]

    report = compute_report(tickets, SINCE, UNTIL)

    # (2 promoters - 1 detractor) / 4 scores = 25 %.
    assert report.nps.score == 25.0
    assert report.nps.answers == 4
    # CSAT counts every answer: 5, 4 and 5 of 5, 4, 2, 3, 5 -> 3 / 5 = 60 %.
    assert report.csat.percent == 60.0 and report.csat.answers == 5


def test_the_table_shows_the_period_the_cohort_and_aligned_figures():
    text = render_text(compute_report(TICKETS, SINCE, UNTIL))
    lines = text.splitlines()

    assert lines[0] == "Frontdesk report: 2026-11-02 00:00:00 UTC to 2026-11-09 00:00:00 UTC (excluded)"
    assert "tickets created in [since, until)" in lines[1]
    rows = {line.split("  ")[0]: line for line in lines[3:]}
    assert rows["Tickets created"].split()[-1] == "9"
    assert "1h 30m" in rows["First response (median)"]
    assert rows["First response (median)"].endswith("answered: 3, still unanswered: 4")
    assert "3h 00m" in rows["Resolution time (median)"]
    assert "66.7 %" in rows["CSAT (4 or 5 of 5)"]
    assert "+33.3" in rows["NPS"]
    assert "50.0 %" in rows["First-contact resolution"]
    # Values are right-aligned under the header's "value": they all end in the same column.
    end = lines[3].index("value") + len("value")
    for line in lines[4:]:
        assert line[end - 1] != " " and line[end : end + 1] in ("", " "), line


def test_empty_sets_are_n_a_not_errors():
    # Only a new ticket: nothing answered, resolved or surveyed.
    report = compute_report([ticket(1, Channel.EMAIL, day(3, 9), TicketStatus.NEW)], SINCE, UNTIL)

    assert report.first_response.median_seconds is None and report.first_response.unanswered == 1
    assert report.resolution.median_seconds is None
    assert report.csat.percent is None and report.nps.score is None
    assert report.first_contact_resolution.percent is None
    text = render_text(report)
    assert text.count("n/a") == 5
    assert json.loads(render_json(report))["csat"]["percent"] is None

    nothing = render_text(compute_report([], SINCE, UNTIL))
    assert "n/a" in nothing and "Tickets created" in nothing


def test_json_carries_every_figure_in_seconds_and_percent():
    document = json.loads(render_json(compute_report(TICKETS, SINCE, UNTIL)))

    assert document["since"] == "2026-11-02T00:00:00Z" and document["until"] == "2026-11-09T00:00:00Z"
    assert document["cohort"] == "tickets created in [since, until)"
    assert document["volume"] == {
        "total": 9,
        "by_channel": {"web_form": 3, "email": 2, "chat": 2, "social": 2},
    }
    assert document["first_response"] == {"median_seconds": 5400.0, "answered": 3, "unanswered": 4}
    assert document["resolution"] == {"median_seconds": 10800.0, "resolved": 4}
    assert document["csat"] == {"percent": 66.7, "satisfied": 2, "answers": 3}
    assert document["nps"] == {"score": 33.3, "promoters": 2, "detractors": 1, "answers": 3}
    assert document["first_contact_resolution"] == {"percent": 50.0, "first_contact": 2, "resolved": 4}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "n/a"),
        (45, "45s"),
        (30 * 60, "30m"),
        (2 * 3600 + 5 * 60, "2h 05m"),
        (2 * 3600 + 5 * 60 + 20, "2h 05m"),
        (59 * 60 + 50, "1h 00m"),
        (3 * 86400 + 4 * 3600, "3d 4h"),
        (86400 - 10, "1d 0h"),
    ],
)
def test_durations_read_like_people_write_them(seconds: float | None, text: str):
    assert format_duration(seconds) == text


def test_an_empty_or_backwards_period_reads_nothing():
    class NoCalls:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"DynamoDB called: {name}")

    store = TicketStore("tickets", NoCalls())  # type: ignore[arg-type]

    assert list(store.tickets_created_between(UNTIL, UNTIL)) == []
    assert list(store.tickets_created_between(UNTIL, SINCE)) == []


def test_the_period_defaults_to_the_week_before_now():
    now = datetime(2026, 11, 9, 12, tzinfo=UTC)

    assert report_period(None, None, now) == (now - timedelta(days=7), now)
    assert report_period(None, UNTIL, now) == (UNTIL - timedelta(days=7), UNTIL)
    assert report_period(SINCE, None, now) == (SINCE, now)


def test_the_command_refuses_a_backwards_period_or_no_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("TICKETS_TABLE_NAME", raising=False)
    with pytest.raises(SystemExit) as backwards:
        main(["report", "--since", "2026-11-09", "--until", "2026-11-02T00:00:00+01:00", "--table", "t"])
    assert backwards.value.code == 2
    assert "--since must be before --until" in capsys.readouterr().err

    with pytest.raises(SystemExit) as no_table:
        main(["report", "--since", "2026-11-02"])
    assert no_table.value.code == 2
    assert "TICKETS_TABLE_NAME" in capsys.readouterr().err

    with pytest.raises(SystemExit) as naive:
        main(["report", "--since", "2026-11-02T10:00", "--table", "t"])
    assert naive.value.code == 2
    assert "has no UTC offset" in capsys.readouterr().err


def test_the_command_loads_without_the_local_stack():
    """Ops run `frontdesk report` against AWS without the dev extras (moto, aiosmtpd)."""
    import subprocess
    import sys

    probe = (
        "import sys, frontdesk_tools.cli; print(sorted(m for m in ('moto', 'aiosmtpd') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
