"""bench/cold_start.py in its CI mode (--quick) for one handler: the table is well formed and the
handler really handled its event. No timing is asserted (they vary with the machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = [
    "handler",
    "status",
    "cold ms",
    "floor ms",
    "ratio",
    "instr",
    "floor instr",
    "instr ratio",
    "warm µs",
    "stdlib µs",
    "compiled from source",
    "function size",
]


def _cells(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    return [cell.strip() for cell in line[1:-1].split("|")]


def test_quick_mode_prints_one_well_formed_row_per_handler() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "cold_start.py"), "--quick", "--handlers", "web_form"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert len(table) == 3, done.stdout  # header, separator, web_form
    assert _cells(table[0]) == COLUMNS
    assert set(table[1]) <= {"|", "-"}
    row = dict(zip(COLUMNS, _cells(table[2]), strict=True))
    assert row["handler"] == "web_form"
    assert row["status"] == "201"  # the form's ticket was created (the stubbed transaction succeeded)
    for column in ("cold ms", "floor ms", "ratio", "warm µs", "stdlib µs"):
        assert float(row[column].replace(",", "")) > 0, row
    assert row["instr"] == "n/a"  # --quick skips valgrind
    assert "instr: n/a" in done.stdout
