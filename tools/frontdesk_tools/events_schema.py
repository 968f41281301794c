"""Writes docs/events.schema.json from the integration events' models (`make events-schema`);
a test keeps the file and the models in step."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from frontdesk.events import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "events.schema.json"


def rendered() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMA_FILE.write_text(rendered(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
