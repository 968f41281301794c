"""Precompile a copy of the templates folder for the templates layer (templates/Makefile).

    python -m frontdesk_tools.precompile_templates DIR

Writes each catalog's .mo beside its .po and the templates' precompiled form under DIR/compiled/,
so that no cold start parses a catalog or compiles a template. Never run it on the checkout's own
templates/: the local stack and the tests read the sources.
"""

from __future__ import annotations

import sys
from pathlib import Path

from frontdesk.rendering import precompile

# The checkout's own folder: compiled files there would shadow later edits to the sources.
CHECKOUT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(__doc__, file=sys.stderr)
        return 2
    if Path(args[0]).resolve() == CHECKOUT_TEMPLATES:
        print(f"refused: {args[0]} is the checkout's templates folder; precompile a copy", file=sys.stderr)
        return 2
    names = precompile(Path(args[0]))
    print(f"precompiled {len(names)} templates and the catalogs in {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
