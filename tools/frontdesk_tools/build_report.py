"""Sizes of what `sam build` made (`make build` prints it): each layer and function, unzipped.

    python -m frontdesk_tools.build_report [build dir, default .aws-sam/build]

Lambda counts a function and all its layers together against 250 MiB unzipped (262,144,000
bytes), so the report ends with the layers' total and that total with the largest function. A
Python layer's largest packages are listed under it (where to look when it grows), and a warning
when its modules lack CPython 3.13 bytecode (then every cold start compiles what it imports).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

DEFAULT_BUILD_DIR = Path(".aws-sam/build")
UNZIPPED_LIMIT = 262_144_000  # bytes: a function and its layers, unzipped
MIB = 1024 * 1024
KINDS = {"AWS::Serverless::LayerVersion": "layer", "AWS::Serverless::Function": "function"}
LARGEST_SHOWN = 6
BYTECODE_TAG = "cpython-313"  # Lambda's python3.13


@dataclass(frozen=True)
class Size:
    files: int
    bytes: int

    def __add__(self, other: Size) -> Size:
        return Size(self.files + other.files, self.bytes + other.bytes)


@dataclass(frozen=True)
class Artifact:
    name: str  # the logical id, which is also its folder in the build dir
    kind: str  # layer or function
    size: Size
    largest: list[tuple[str, Size]]  # a Python layer's biggest packages, largest first
    uncompiled: int = 0  # a Python layer's modules without BYTECODE_TAG bytecode
    modules: int = 0  # a Python layer's modules (.py files)


def measure(path: Path) -> Size:
    """Files under `path` and their bytes, as unzipped on Lambda (symlinks not followed)."""
    if not path.is_dir():
        return Size(1, path.lstat().st_size)
    files = total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            files += 1
            total += (Path(folder) / name).lstat().st_size
    return Size(files, total)


def largest_packages(layer: Path) -> list[tuple[str, Size]]:
    """A Python layer's biggest entries under python/ (packages, modules, metadata)."""
    entries = [(f"python/{entry.name}", measure(entry)) for entry in (layer / "python").iterdir()]
    return sorted(entries, key=lambda entry: entry[1].bytes, reverse=True)[:LARGEST_SHOWN]


def without_bytecode(layer: Path) -> tuple[int, int]:
    """How many of a Python layer's modules lack a __pycache__/<name>.cpython-313.pyc, of how many."""
    modules = list((layer / "python").rglob("*.py"))
    missing = [
        module
        for module in modules
        if not (module.parent / "__pycache__" / f"{module.stem}.{BYTECODE_TAG}.pyc").is_file()
    ]
    return len(missing), len(modules)


def artifacts(build_dir: Path) -> list[Artifact]:
    """The layers, then the functions, of the built template (.aws-sam/build/template.yaml)."""
    template: dict[str, Any] = yaml_parse((build_dir / "template.yaml").read_text(encoding="utf-8"))
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        kind = KINDS.get(resource.get("Type", ""))
        folder = build_dir / logical_id
        if kind is None or not folder.is_dir():
            continue
        if (folder / "python").is_dir():
            uncompiled, modules = without_bytecode(folder)
            found.append(
                Artifact(logical_id, kind, measure(folder), largest_packages(folder), uncompiled, modules)
            )
        else:
            found.append(Artifact(logical_id, kind, measure(folder), []))
    return sorted(found, key=lambda artifact: (artifact.kind != "layer", artifact.name))


def human(size: int) -> str:
    return f"{size / MIB:.1f} MiB" if size >= MIB else f"{size / 1024:.1f} KiB"


def report(build_dir: Path) -> str:
    built = artifacts(build_dir)
    width = max([len(artifact.name) for artifact in built] + [len("largest function + layers")])
    lines = [
        f"Built artifacts in {build_dir} (unzipped):",
        f"{'artifact':<{width}}  {'kind':<8}  {'files':>6}  {'bytes':>12}  {'size':>10}",
    ]

    def row(name: str, kind: str, size: Size) -> str:
        return f"{name:<{width}}  {kind:<8}  {size.files:>6,}  {size.bytes:>12,}  {human(size.bytes):>10}"

    for artifact in built:
        lines.append(row(artifact.name, artifact.kind, artifact.size))
        lines.extend(
            f"{'':<{width}}    {name}: {human(size.bytes)}, {size.files:,} files"
            for name, size in artifact.largest
        )
        if artifact.uncompiled:
            lines.append(
                f"WARNING: {artifact.uncompiled:,} of {artifact.modules:,} modules in {artifact.name} have "
                f"no {BYTECODE_TAG} bytecode: each cold start compiles those it imports "
                "(was there no CPython 3.13 at build time?)"
            )
    layers = sum((artifact.size for artifact in built if artifact.kind == "layer"), Size(0, 0))
    functions = [artifact.size for artifact in built if artifact.kind == "function"]
    biggest = max(functions, key=lambda size: size.bytes, default=Size(0, 0))
    lines.append(row("layers, total", "", layers))
    with_function = layers + biggest
    share = 100 * with_function.bytes / UNZIPPED_LIMIT
    lines.append(
        row("largest function + layers", "", with_function) + f"  ({share:.0f}% of Lambda's 250 MiB)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    build_dir = Path(args[0]) if args else DEFAULT_BUILD_DIR
    if not (build_dir / "template.yaml").is_file():
        print(f"no build in {build_dir}: run `make build` first", file=sys.stderr)
        return 2
    print(report(build_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
