"""infra/template.yaml: valid, and in step with the code it deploys."""

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.shared import constants as powertools_constants

from frontdesk import config, runtime
from frontdesk.clock import shifted_environment
from frontdesk_tools.local.template import async_invoke_configs, load_template
from tests import permissions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
LOADED = load_template(TEMPLATE)
FUNCTIONS = LOADED.functions
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
    for document in policy_documents(role):
        for statement in listed(document["Statement"]):
            actions = listed(statement["Action"])
            assert all("*" not in action for action in actions), actions


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(role: str) -> list[dict[str, Any]]:
    """A role's inline policies and the managed policies the template defines itself (e.g. reading
    the configuration). AWS managed ones are left out: SAM attaches them for Lambda's own work
    (logs, X-Ray, reading the stream)."""
    resources = LOADED.cloudformation["Resources"]
    properties = resources[role]["Properties"]
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for arn in properties.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and arn.get("Ref") in resources:
            documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
    return documents


# -- environment variables: each one the template sets is read, each one the code needs is set ---

LIBRARY = ROOT / "layers" / "frontdesk"
TREES = {  # by module name: the library's modules and the handlers'
    ".".join(
        path.relative_to(LIBRARY if path.is_relative_to(LIBRARY) else ROOT).with_suffix("").parts
    ).removesuffix(".__init__"): ast.parse(path.read_text(encoding="utf-8"))
    for path in [*(LIBRARY / "frontdesk").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]
}
# aws-lambda-powertools reads its settings from the environment too; its constants module names
# them (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, ...).
POWERTOOLS_VARIABLES = {
    value
    for value in vars(powertools_constants).values()
    if isinstance(value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", value)
}
# Read by pydantic (pydantic.plugin._loader); the template turns its plugin scan off.
LIBRARY_VARIABLES = {"PYDANTIC_DISABLE_PLUGINS"}
# Every function loads the settings (the configuration's parameter, and the table: a binding they
# require) and finds the templates layer (Globals set both).
EVERY_FUNCTION_NEEDS = {"FRONTDESK_CONFIG_PARAMETER", "TICKETS_TABLE_NAME", "FRONTDESK_TEMPLATES_DIR"}
# What a function needs besides what the runtime builders its handler calls read (derived below).
ALSO_NEEDS = {
    # Survey links point at the API (frontdesk.surveys.send) unless surveys.page_base_url is set.
    "SurveySenderFunction": {"PUBLIC_API_URL"},
}


def string_value(node: ast.AST | None, names: dict[str, str]) -> str | None:
    """The string an expression always has: a literal, a known constant, an f-string or a sum of them."""
    parts: list[ast.AST]
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.FormattedValue) and node.format_spec is None:
        return string_value(node.value, names)
    if isinstance(node, ast.JoinedStr):
        parts = list(node.values)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts = [node.left, node.right]
    else:
        return None
    values = [string_value(part, names) for part in parts]
    return "".join(value for value in values if value is not None) if None not in values else None


@cache
def module_constants(module: str) -> dict[str, str]:
    """A module's string constants, its own and those it imports from the library."""
    names: dict[str, str] = {}
    for node in TREES[module].body:
        if isinstance(node, ast.ImportFrom) and node.module in TREES:
            imported = module_constants(node.module)
            names.update(
                {
                    item.asname or item.name: imported[item.name]
                    for item in node.names
                    if item.name in imported
                }
            )
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = string_value(node.value, names)
            if value is not None and len(targets) == 1 and isinstance(targets[0], ast.Name):
                names[targets[0].id] = value
    return names


def is_environ(node: ast.AST) -> bool:
    """os.environ, or the mapping named environ the settings are loaded from."""
    return (isinstance(node, ast.Name) and node.id == "environ") or (
        isinstance(node, ast.Attribute) and node.attr == "environ"
    )


@cache
def variables_read_by_name() -> frozenset[str]:
    """Each NAME the library and the handlers read as os.environ.get(NAME), os.environ[NAME],
    NAME in os.environ or os.getenv(NAME) (or on a mapping named environ), NAME being a literal,
    an f-string or a string constant (e.g. config.ENV_PREFIX, clock.CLOCK_START_VARIABLE)."""
    found = set()
    for module, tree in TREES.items():
        for node in ast.walk(tree):
            key: ast.AST | None = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute | ast.Name):
                function = node.func
                if (
                    isinstance(function, ast.Attribute)
                    and function.attr == "get"
                    and is_environ(function.value)
                ) or (function.attr if isinstance(function, ast.Attribute) else function.id) == "getenv":
                    key = node.args[0]
            elif isinstance(node, ast.Subscript) and is_environ(node.value):
                key = node.slice
            elif (
                isinstance(node, ast.Compare)
                and isinstance(node.ops[0], ast.In)
                and is_environ(node.comparators[0])
            ):
                key = node.left
            if (name := string_value(key, module_constants(module))) is not None:
                found.add(name)
    return frozenset(found)


def read_by_the_code(variable: str) -> bool:
    """Read by name, or by the settings: a resource binding (TICKETS_TABLE_NAME) or an override
    FRONTDESK_<FIELD> of a scalar setting."""
    return variable in variables_read_by_name() or bool(config._environment_overrides({variable: "value"}))


def variable_of(field: str) -> str | None:
    """The environment variable that sets a settings field, if one does."""
    for variable in (*config._RESOURCE_BINDINGS, config.ENV_PREFIX + field.upper()):
        if config._environment_overrides({variable: "value"}) == {field: "value"}:
            return variable
    return None


@cache
def builder_needs() -> dict[str, set[str]]:
    """By frontdesk.runtime builder: the variables of the settings it reads, itself or through the
    builders it calls (outbox: the bus, the scheduler, and the store's and mailer's)."""
    tree = ast.parse(Path(runtime.__file__).read_text(encoding="utf-8"))
    bodies = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    fields = config.Settings.model_fields

    def needs(name: str) -> set[str]:
        nodes = list(ast.walk(bodies[name]))
        read = {
            variable_of(node.attr)
            for node in nodes
            if isinstance(node, ast.Attribute) and node.attr in fields
        }
        called = {
            node.func.id for node in nodes if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        for other in called & set(bodies) - {name}:
            read |= needs(other)
        # AWS_REGION and the like are Lambda's to set.
        return {variable for variable in read if variable and not variable.startswith("AWS_")}

    return {name: needs(name) for name in bodies}


def needed_variables(logical_id: str) -> set[str]:
    tree = TREES[
        f"functions.{FUNCTIONS[logical_id].code_dir.name}.{FUNCTIONS[logical_id].handler.rpartition('.')[0]}"
    ]
    builders = {
        item.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "frontdesk.runtime"
        for item in node.names
    }
    builders |= {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "runtime"
    }
    needs = set(EVERY_FUNCTION_NEEDS) | ALSO_NEEDS.get(logical_id, set())
    for builder in builders & set(builder_needs()):
        needs |= builder_needs()[builder]
    return needs


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_variable_the_template_sets_is_read(logical_id: str):
    unread = {
        variable
        for variable in FUNCTIONS[logical_id].environment
        if not read_by_the_code(variable) and variable not in POWERTOOLS_VARIABLES | LIBRARY_VARIABLES
    }
    assert not unread, f"{logical_id}: the template sets {sorted(unread)}, which no code reads"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_gets_the_variables_its_code_needs(logical_id: str):
    missing = needed_variables(logical_id) - set(FUNCTIONS[logical_id].environment)
    assert not missing, f"{logical_id}: its code needs {sorted(missing)}, which the template does not set"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_the_template_sets_no_local_clock_and_no_aws_variables(logical_id: str):
    # The local stack's clock (frontdesk.clock) must never shift a deployed function's; AWS_* are
    # Lambda's own.
    local_only = set(shifted_environment(datetime.now(UTC)))
    variables = set(FUNCTIONS[logical_id].environment)
    assert not variables & local_only, f"{logical_id} sets {sorted(variables & local_only)}"
    assert not {variable for variable in variables if variable.startswith("AWS_")}, logical_id


def test_the_scan_finds_what_the_code_reads():
    """The scan itself: a variable read through each of the code's idioms."""
    assert {
        "FRONTDESK_CONFIG_PARAMETER",  # environ.get(CONFIG_PARAMETER_VARIABLE), an f-string constant
        "FRONTDESK_TEMPLATES_DIR",  # os.environ.get(TEMPLATES_DIR_VARIABLE)
        *shifted_environment(datetime.now(UTC)),  # the clock's
    } <= variables_read_by_name()
    assert read_by_the_code("MAIL_BUCKET_NAME") and read_by_the_code("FRONTDESK_SES_CONFIGURATION_SET")
    assert not read_by_the_code("FRONTDESK_NO_SUCH_SETTING") and not read_by_the_code("FRONTDESK_FORMS")
    assert builder_needs()["mail_bucket"] == {"MAIL_BUCKET_NAME", "RAW_MAIL_PREFIX"}
    assert builder_needs()["outbox"] >= {
        "EVENT_BUS_NAME",
        "TICKETS_TABLE_NAME",
        "FRONTDESK_SES_CONFIGURATION_SET",
    }


# -- IAM: each role grants exactly the actions its function's code calls ----------------------------


def granted_actions(logical_id: str) -> set[str]:
    """What the function's role allows, in tests/permissions.py's terms: DynamoDB actions on the
    tickets table, or (with ON_INDEX) on its indexes."""
    table = {"Fn::GetAtt": ["TicketsTable", "Arn"]}
    indexes = {"Fn::Sub": "${TicketsTable.Arn}/index/*"}
    granted = set()
    for document in policy_documents(f"{logical_id}Role"):
        for statement in listed(document["Statement"]):
            assert statement["Effect"] == "Allow", statement
            for action in listed(statement["Action"]):
                if not action.startswith("dynamodb:"):
                    granted.add(action)
                    continue
                for resource in listed(statement["Resource"]):
                    assert resource in (table, indexes), f"{logical_id}: {action} on {resource}"
                    granted.add(action + ("" if resource == table else permissions.ON_INDEX))
    return granted


def lambda_uses(logical_id: str) -> set[str]:
    """What Lambda itself does with the function's role: send the events that failed to the
    on-failure queue of its asynchronous invocations or of its stream (SAM grants it)."""
    invoke_configs = async_invoke_configs(LOADED.cloudformation["Resources"])
    queues = [invoke_configs[logical_id].on_failure_queue] if logical_id in invoke_configs else []
    queues += [stream.on_failure_queue for stream in LOADED.streams if stream.function == logical_id]
    return {"sqs:SendMessage"} if any(queues) else set()


def test_every_function_declares_the_actions_it_calls():
    assert set(permissions.ACTIONS) == set(FUNCTIONS)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_role_grants_exactly_the_actions_its_code_calls(logical_id: str):
    granted = granted_actions(logical_id)
    needed = permissions.ACTIONS[logical_id] | lambda_uses(logical_id)
    assert not needed - granted, (
        f"{logical_id} calls {sorted(needed - granted)}: its role does not grant them"
    )
    assert not granted - needed, (
        f"{logical_id}'s role grants {sorted(granted - needed)}: no code calls them (tests/permissions.py)"
    )


def test_the_library_variables_the_template_sets_are_read_by_their_library():
    import pydantic.plugin._loader as plugin_loader

    assert "PYDANTIC_DISABLE_PLUGINS" in inspect.getsource(plugin_loader)
