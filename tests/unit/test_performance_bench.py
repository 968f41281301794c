"""bench/performance.py in its CI mode (--quick): one well-formed row per function, each having
really handled its event, and the cost of a ticket. No timing is asserted (they vary with the
machine); the AWS calls per path are asserted exactly by tests/integration/test_aws_calls.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.cold_start import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = [
    "function",
    "status",
    "cold ms",
    "floor ms",
    "instr",
    "floor instr",
    "instr ratio",
    "compiled at start",
    "warm µs",
    "stdlib µs",
    "AWS calls per path (floor)",
    "size",
]
# What each function answered its representative event (its work was done, not refused).
STATUS = {
    "web_form": "201",
    "chat_webhook": "200",
    "inbound_email": "ok",
    "ticket_events": "failures=0",
    "agent_api": "200",
    "survey_sender": "sent",
    "surveys": "200",
    "mail_feedback": "ok",
}


def _cells(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in line[1:-1].split("|")]


def test_quick_mode_prints_the_table_and_the_cost() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "performance.py"), "--quick"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("| function"))
    table = [line for line in lines[start:] if line.startswith("|")][: len(HANDLERS) + 3]
    assert _cells(table[0]) == COLUMNS
    assert set(table[1]) <= {"|", "-"}
    rows = {cells[0]: dict(zip(COLUMNS, cells, strict=True)) for cells in map(_cells, table[2:])}
    assert {name: row["status"] for name, row in rows.items() if name in STATUS} == STATUS
    for name in HANDLERS:
        row = rows[name]
        for column in ("cold ms", "floor ms", "warm µs", "stdlib µs"):
            assert float(row[column].replace(",", "")) > 0, row
        assert row["instr"] == "n/a"  # --quick skips valgrind
        assert row["compiled at start"].startswith("0 layer + 0 app"), row  # make build ran first
    assert rows["web_form"]["AWS calls per path (floor)"].startswith("new form ticket 1 (1)")
    total = re.compile(
        r"\*\*total excluding SES's per-mail price\*\* \| \| \*\*\$([\d.]+)\*\* \| \*\*\$([\d.]+)\*\*"
    )
    totals = total.findall(done.stdout)
    assert len(totals) == 2, done.stdout  # the arrival, and the whole life
    for cold, warm in totals:
        assert 0 < float(warm) <= float(cold)
