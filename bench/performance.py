"""Frontdesk's performance in one table: per function, its cold start against the floor, the
bytecode it would compile, its warm time per event next to a standard-library parse, the AWS
calls of each path it serves against their floor, and its size; then the cost of a ticket.

    .venv/bin/python bench/performance.py            # about 100 s: 3 runs, instruction counts
    .venv/bin/python bench/performance.py --quick    # CI: 3 runs, no valgrind (about 30 s)

The parts come from bench/cold_start.py (fresh processes, AWS stubbed, cachegrind), bench/
aws_calls.py (the handlers on moto, every call counted) and bench/cost.py (the price model);
each also runs alone, and each module's docstring says how it measures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "layers" / "frontdesk", ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench import aws_calls, cold_start, cost  # noqa: E402 (the paths above first)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="no instruction counts (CI)")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per function (median)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    names = list(cold_start.HANDLERS)
    on_moto: list[tuple[aws_calls.Measured, dict[tuple[str, str], dict[str, Any]]]] = []
    # The calls are counted on moto while valgrind counts instructions: neither depends on load.
    cases = cold_start.measure(
        names,
        names,
        args.runs,
        use_valgrind=not args.quick,
        while_counting=lambda: on_moto.append(aws_calls.measure_on_moto()),
    )
    measured, items = on_moto[0] if on_moto else aws_calls.measure_on_moto()

    python = sys.version.split()[0]
    print(f"Frontdesk, Python {python} on this machine; cold: median of {args.runs} fresh processes")
    print(table([cases[name] for name in names], measured))
    cold_start.print_notes(not args.quick)
    print()
    from frontdesk_tools.local.stack import DEFAULT_TEMPLATE
    from frontdesk_tools.local.template import load_template

    specs = load_template(DEFAULT_TEMPLATE, aws_calls.REGION).functions
    functions = {
        name: cost.FunctionFigures(
            cold_ms=statistics.median(case.cold_ms),
            warm_ms=(case.warm_us or 0.0) / 1000,
            memory_mb=specs[cold_start.FUNCTION_IDS[name]].memory_mb,
            log_bytes=case.log_bytes,
        )
        for name, case in cases.items()
    }
    for title, scope in cost.SCOPES.items():
        cold = cost.ticket_cost(measured.paths, items, functions, scope=scope, warm=False)
        warm = cost.ticket_cost(measured.paths, items, functions, scope=scope, warm=True)
        print(cost.markdown(title, cold, warm))
        print()
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


def table(cases: list[cold_start.Case], measured: aws_calls.Measured) -> str:
    compiled = cold_start.compiled_from_source(cases)
    built = cold_start.sizes()
    header = [
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
    rows = [header]
    for case in cases:
        calls = "; ".join(
            f"{path} {len(measured.paths.get(path) or [])} ({aws_calls.FLOORS[path].calls})"
            for path in aws_calls.FLOORS
            if aws_calls.FUNCTION_OF_PATH[path] == case.name
        )
        rows.append(
            [
                case.name,
                case.status,
                f"{statistics.median(case.cold_ms):.0f}",
                f"{statistics.median(case.floor_ms):.0f}",
                cold_start.minstr(case.cold_instr),
                cold_start.minstr(case.floor_instr),
                f"{case.cold_instr / case.floor_instr:.2f}"
                if case.cold_instr and case.floor_instr
                else "n/a",
                compiled.get(case.name, "n/a"),
                "n/a" if case.warm_us is None else f"{case.warm_us:,.0f}",
                "n/a" if case.stdlib_us is None else f"{case.stdlib_us:,.0f}",
                calls or "-",
                cold_start.mib(built.get(cold_start.FUNCTION_IDS[case.name])),
            ]
        )
    rows.append(
        [
            "any function, once",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f"settings {len(measured.cold_start)} (1)",
            "",
        ]
    )
    return cold_start.markdown_table(rows)


if __name__ == "__main__":
    raise SystemExit(main())
