"""infra/template.yaml: valid, and in step with the code it deploys."""

import importlib
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from frontdesk_tools.local.template import load_template

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
FUNCTIONS = load_template(TEMPLATE).functions
# Answers GET and POST of its one path itself (the platform's handshake, then its webhooks).
ONE_PATH_FUNCTIONS = {"ChatWebhookFunction"}


def handler_module(logical_id: str) -> ModuleType:
    spec = FUNCTIONS[logical_id]
    module_name = spec.handler.rpartition(".")[0]
    return importlib.import_module(f"functions.{spec.code_dir.name}.{module_name}")


def cfn_lint(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "cfn-lint"), *options, str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_cfn_lint_passes_on_the_sam_template():
    result = cfn_lint(TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_passes_on_the_translated_template(tmp_path: Path):
    # Globals and SAM event properties are checked only once SAM's transform has run.
    translated = tmp_path / "translated.json"
    translated.write_text(json.dumps(load_template(TEMPLATE).cloudformation))
    # W1020 (a Sub without variables) is raised on what the translator itself writes.
    result = cfn_lint(translated, "--ignore-checks=W1020")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_functions_handler_imports_and_is_callable(logical_id: str):
    handler = getattr(handler_module(logical_id), FUNCTIONS[logical_id].handler.rpartition(".")[2])
    assert callable(handler)


@pytest.mark.parametrize(
    "logical_id", sorted({route.function for route in load_template(TEMPLATE).routes} - ONE_PATH_FUNCTIONS)
)
def test_every_route_in_the_template_has_a_handler_route_and_back(logical_id: str):
    declared = {route.route_key for route in load_template(TEMPLATE).routes if route.function == logical_id}
    assert declared == set(handler_module(logical_id).ROUTES)


def test_every_function_with_routes_dispatches_them():
    routed = {route.function for route in load_template(TEMPLATE).routes}
    assert {logical_id for logical_id in routed if hasattr(handler_module(logical_id), "ROUTES")} == (
        routed - ONE_PATH_FUNCTIONS
    )


def test_the_stream_consumer_reports_partial_failures_and_dead_letters():
    (subscription,) = load_template(TEMPLATE).streams
    assert subscription.function == "TicketEventsFunction"
    assert subscription.report_batch_item_failures
    assert subscription.on_failure_queue == "TicketEventsFailureQueue"
    assert subscription.maximum_retry_attempts > 0


@pytest.mark.parametrize(
    "role", sorted([f"{logical_id}Role" for logical_id in FUNCTIONS] + ["SurveySchedulerRole"])
)
def test_roles_name_no_wildcard_actions(role: str):
    resources = load_template(TEMPLATE).cloudformation["Resources"]
    properties = resources[role]["Properties"]
    for policy in properties.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), actions
