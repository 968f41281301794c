"""The handlers' clock: the system clock, or the local stack's shifted one (--clock)."""

from datetime import UTC, datetime, timedelta

import pytest

from frontdesk import clock
from frontdesk_tools.cli import main

SATURDAY_NIGHT = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["2026-11-28T23:00:00+01:00", "2026-11-28T22:00:00Z", "2026-11-28T22:00:00z", "2026-11-28 22:00+00:00"],
)
def test_an_instant_needs_an_offset_and_comes_back_in_utc(text: str):
    assert clock.parse_instant(text) == SATURDAY_NIGHT


@pytest.mark.parametrize("text", ["2026-11-28T23:00:00", "Saturday night", ""])
def test_a_naive_or_unreadable_instant_is_refused(text: str):
    with pytest.raises(ValueError):
        clock.parse_instant(text)


def test_without_a_shift_the_clock_is_the_system_clock(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(clock.CLOCK_START_VARIABLE, raising=False)
    clock.reset()

    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_shifted_clock_starts_at_its_instant_and_runs_forward(monkeypatch: pytest.MonkeyPatch):
    real_start = datetime.now(UTC).timestamp() - 60  # the stack started a minute ago
    for name, value in clock.shifted_environment(SATURDAY_NIGHT, origin=real_start).items():
        monkeypatch.setenv(name, value)
    clock.reset()
    try:
        elapsed = clock.now() - SATURDAY_NIGHT
    finally:
        monkeypatch.undo()
        clock.reset()

    assert timedelta(seconds=59) < elapsed < timedelta(seconds=65)


def test_the_dev_command_refuses_a_clock_without_an_offset(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_info:
        main(["dev", "--clock", "2026-11-28T23:00"])

    assert exit_info.value.code == 2
    assert "has no UTC offset" in capsys.readouterr().err
