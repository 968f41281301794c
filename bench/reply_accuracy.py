"""How well extract_reply finds the newly written text of an email, measured on the reply-parsing corpus.

    .venv/bin/python bench/reply_accuracy.py [--corpus DIR] [--verbose] [--library-only]

The corpus (tests/corpus/reply_parsing/expected_replies.json) describes each case: how to read the
input file, the expected reply (or null), how to compare, and must_* constraints. A case passes when
the comparison holds (if there is an expected reply) and every constraint holds. HTML bodies are
turned into text with inscriptis first; the time per message is that of the extraction alone.
"""

from __future__ import annotations

import argparse
import difflib
import email
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from inscriptis import get_text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "layers" / "frontdesk"))  # run from a checkout without installing

from mailparser_reply import EmailReplyParser  # noqa: E402

from frontdesk.mail.reply import DEFAULT_LANGUAGES, extract_reply  # noqa: E402

DEFAULT_CORPUS = REPO / "tests" / "corpus" / "reply_parsing"
BASES = ("asserted-exact", "asserted-first-fragment", "reference-output", "constraints-only")

_WHITESPACE = re.compile(r"\s+")


def _without_whitespace(value: str) -> str:
    return _WHITESPACE.sub("", value)


def _exact_stripped(got: str, expected: str) -> bool:
    return got.strip() == expected.strip()


def _whitespace_insensitive(got: str, expected: str) -> bool:
    return _without_whitespace(got) == _without_whitespace(expected)


# Every `compare` value the corpus uses. HTML inputs are turned into text before extraction, so
# "after converting the extracted HTML reply to text" already holds for the candidate; the two
# "(upstream compares <div>...)" variants only say what upstream compared, not a different rule.
COMPARE_MODES: dict[str, Callable[[str, str], bool]] = {
    "exact after stripping leading/trailing whitespace": _exact_stripped,
    "after converting the extracted HTML reply to text, equal when all whitespace is removed": (
        _whitespace_insensitive
    ),
    "equal when all whitespace is removed (upstream compares the HTML <div>Hi<div>there</div></div>)": (
        _whitespace_insensitive
    ),
    "equal when all whitespace is removed (upstream compares <div>Reply</div>)": _whitespace_insensitive,
}


@dataclass
class Tally:
    passed: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.passed += ok

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass
class Failure:
    case: str
    reasons: list[str]
    expected: str | None
    got: str


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    by_basis: dict[str, Tally] = field(default_factory=dict)
    by_source: dict[str, Tally] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # extract_reply time per message

    @property
    def accuracy(self) -> float:
        return self.overall.accuracy


def read_input(path: Path, kind: str) -> str:
    """The text body a ticket would be made from, read the way the case's `input` says."""
    if kind.startswith("RFC 822"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        for part in message.walk():
            if part.get_content_type() == "text/plain" and not part.is_attachment():
                content = part.get_content()
                assert isinstance(content, str)
                return content
        raise ValueError(f"{path}: no text/plain part")
    if kind == "HTML body":
        return str(get_text(path.read_text(encoding="utf-8")))
    if kind.startswith("plain-text"):
        # Bytes, not read_text: universal newlines would hide the CRLF cases from the parser.
        return path.read_bytes().decode("utf-8")
    raise ValueError(f"{path}: unknown input kind {kind!r}")


def basis_of(case: dict[str, Any]) -> str:
    """The basis without its remark: "reference-output (upstream asserts ...)" is reference-output."""
    basis = str(case["expected_reply_basis"]).split(" (", 1)[0]
    if basis not in BASES:
        raise ValueError(f"unknown expected_reply_basis {case['expected_reply_basis']!r}")
    return basis


def check(case: dict[str, Any], got: str) -> list[str]:
    """Why `got` fails the case; empty when it passes."""
    reasons: list[str] = []
    expected = case.get("expected_reply")
    if expected is not None:
        compare = COMPARE_MODES.get(case.get("compare", ""))
        if compare is None:
            raise ValueError(f"unknown compare mode {case.get('compare')!r}")
        if not compare(got, expected):
            reasons.append(f"differs ({case['compare']})")
    elif not got.strip():
        reasons.append("empty result")  # constraints-only cases still expect some text
    reasons += [f"lacks {s!r}" for s in case.get("must_contain", []) if s not in got]
    reasons += [f"contains {s!r}" for s in case.get("must_not_contain", []) if s in got]
    start = case.get("must_start_with")
    if start is not None and not got.startswith(start):
        reasons.append(f"does not start with {start!r}")
    return reasons


def cases(corpus_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    data = json.loads((corpus_dir / "expected_replies.json").read_text(encoding="utf-8"))
    yield from sorted(data["cases"].items())


def library_only(text: str) -> str:
    """The baseline: mail-parser-reply's first reply, signature removed, nothing around it."""
    return str(EmailReplyParser(languages=list(DEFAULT_LANGUAGES)).read(text).replies[0].body)


def evaluate(corpus_dir: Path = DEFAULT_CORPUS, extract: Callable[[str], str] = extract_reply) -> Report:
    report = Report()
    for name, case in cases(corpus_dir):
        text = read_input(corpus_dir / name, case["input"])
        started = time.perf_counter()
        got = extract(text)
        report.seconds.append(time.perf_counter() - started)

        reasons = check(case, got)
        ok = not reasons
        report.overall.add(ok)
        report.by_basis.setdefault(basis_of(case), Tally()).add(ok)
        report.by_source.setdefault(name.split("/", 1)[0], Tally()).add(ok)
        if not ok:
            report.failures.append(Failure(name, reasons, case.get("expected_reply"), got))
    return report


def _diff(expected: str, got: str, limit: int = 12) -> list[str]:
    lines = list(
        difflib.unified_diff(
            expected.strip().splitlines(), got.strip().splitlines(), "expected", "got", n=1, lineterm=""
        )
    )
    return lines[:limit] + (["    ..."] if len(lines) > limit else [])


def render(report: Report, verbose: bool = False) -> str:
    rows = [("overall", report.overall)]
    rows += [(f"basis: {b}", report.by_basis[b]) for b in BASES if b in report.by_basis]
    rows += [(f"source: {s}", t) for s, t in sorted(report.by_source.items())]
    width = max(len(label) for label, _ in rows)
    out = [f"{'':{width}}  passed  total  accuracy"]
    out += [f"{label:{width}}  {t.passed:6}  {t.total:5}  {t.accuracy:8.1%}" for label, t in rows]
    ms = [s * 1000 for s in report.seconds]
    out.append(f"time per message: median {statistics.median(ms):.2f} ms, max {max(ms):.2f} ms")
    if verbose:
        for failure in report.failures:
            out.append(f"\nFAIL {failure.case}: {'; '.join(failure.reasons)}")
            if failure.expected is not None:
                out += ["    " + line for line in _diff(failure.expected, failure.got)]
            else:
                out += ["    got: " + line for line in failure.got.splitlines()[:6]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="reply_parsing corpus folder")
    parser.add_argument("--verbose", action="store_true", help="show the failing cases with a short diff")
    parser.add_argument("--library-only", action="store_true", help="measure mail-parser-reply on its own")
    args = parser.parse_args(argv)
    report = evaluate(args.corpus, library_only if args.library_only else extract_reply)
    print(render(report, verbose=args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
