"""infra/template.yaml: valid, and in step with the code it deploys."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from frontdesk_tools.local.template import load_template
from functions.web_form import app as web_form

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


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


def test_every_web_form_route_in_the_template_has_a_handler_and_back():
    template = load_template(TEMPLATE)
    declared = {route.route_key for route in template.routes if route.function == "WebFormFunction"}
    assert declared == set(web_form.ROUTES)


def test_the_stream_consumer_reports_partial_failures_and_dead_letters():
    (subscription,) = load_template(TEMPLATE).streams
    assert subscription.function == "TicketEventsFunction"
    assert subscription.report_batch_item_failures
    assert subscription.on_failure_queue == "TicketEventsFailureQueue"
    assert subscription.maximum_retry_attempts > 0


@pytest.mark.parametrize("logical_id", ["WebFormFunction", "TicketEventsFunction"])
def test_function_policies_name_no_wildcard_actions(logical_id: str):
    resources = load_template(TEMPLATE).cloudformation["Resources"]
    role = resources[f"{logical_id}Role"]["Properties"]
    for policy in role.get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all("*" not in action for action in actions), actions
