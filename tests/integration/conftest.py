"""Handlers called in-process against moto. The table, queue and functions' environments come
from infra/template.yaml, deployed by the same code as the local stack."""

from __future__ import annotations

import functools
import importlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from frontdesk import clock, runtime
from frontdesk.clock import shifted_environment
from frontdesk.tickets.model import Ticket, TicketStatus
from frontdesk_tools.local.chat_api import FakeChatApis, FakeChatApiServer, point_at_fakes
from frontdesk_tools.local.functions import FunctionError
from frontdesk_tools.local.moto_server import SerialMotoServer
from frontdesk_tools.local.outbox import sent_emails
from frontdesk_tools.local.provision import DeployedStack, deploy
from frontdesk_tools.local.stack import CONFIG_PARAMETER, DEFAULT_CONFIG, DEFAULT_TEMPLATE, free_port
from frontdesk_tools.local.streams import StreamPump
from frontdesk_tools.local.template import LocalTemplate, load_template
from tests.conftest import OPEN_INSTANT
from tests.permissions import ACTIONS, iam_actions

REGION = "us-east-1"


@dataclass
class Aws:
    endpoint: str
    server: SerialMotoServer
    template: LocalTemplate
    stack: DeployedStack
    chat_apis: FakeChatApis

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)  # type: ignore[call-overload]

    @property
    def table_name(self) -> str:
        return self.stack.physical_ids["TicketsTable"]

    def sent(self) -> list[dict[str, Any]]:
        return sent_emails(REGION)

    def items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.client("dynamodb").scan(
            TableName=self.table_name, ConsistentRead=True
        )["Items"]
        return items


@pytest.fixture(scope="session")
def aws() -> Iterator[Aws]:
    server = SerialMotoServer("127.0.0.1", free_port("127.0.0.1"))
    server.start()
    template = load_template(DEFAULT_TEMPLATE, REGION)
    chat_apis = FakeChatApiServer(("127.0.0.1", 0))
    threading.Thread(target=chat_apis.serve_forever, daemon=True).start()
    # Slack's and Meta's API calls go to local fakes, never to the platforms.
    config = json.dumps(point_at_fakes(_config_document(), chat_apis.url))
    stack = deploy(
        template,
        boto3.Session(region_name=REGION),
        server.endpoint,
        {"Stage": "test", "ConfigParameterName": CONFIG_PARAMETER, "SenderIdentity": "example.com"},
    )
    boto3.client("ssm", endpoint_url=server.endpoint, region_name=REGION).put_parameter(
        Name=CONFIG_PARAMETER, Value=config, Type="SecureString"
    )
    boto3.client("ses", endpoint_url=server.endpoint, region_name=REGION).verify_domain_identity(
        Domain="example.com"
    )
    yield Aws(server.endpoint, server, template, stack, chat_apis.apis)
    chat_apis.shutdown()
    server.stop()


class PermissionWatch:
    """The AWS actions each in-process handler invocation calls, checked against the ones
    tests/permissions.py declares for its function (what its role grants, test_infra.py).

    A botocore hook on boto3's default session, where frontdesk.aws creates its clients, records
    the calls made on a thread while a handler runs on it: the tests' own calls and the pumps'
    are nobody's. A violation fails the invocation, and the test at teardown (a stream pump turns
    the invocation's error into a retry)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.violations: list[str] = []
        self.invocations = 0  # over the session
        self.seen = 0  # calls attributed to a function, over the session

    def record(self, params: Mapping[str, Any], model: Any, **_: Any) -> None:
        calls: set[str] | None = getattr(self._local, "calls", None)
        if calls is not None:
            calls.update(iam_actions(model.service_model.signing_name, model.name, params))
            self.seen += 1

    def watched(self, function: str, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        @functools.wraps(handler)
        def invoke(event: Any, context: Any) -> Any:
            calls: set[str] = set()
            self._local.calls = calls
            self.invocations += 1
            try:
                return handler(event, context)
            finally:
                self._local.calls = None
                if undeclared := calls - ACTIONS[function]:
                    self.violations.append(f"{function} called {sorted(undeclared)}")
                    raise AssertionError(
                        f"{function} called {sorted(undeclared)}: not in tests/permissions.py "
                        "(declare the call there, and grant it in infra/template.yaml)"
                    )

        return invoke


@pytest.fixture(scope="session")
def permission_watch() -> Iterator[PermissionWatch]:
    watch = PermissionWatch()
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    # Clients copy the session's hooks when created: frontdesk.aws's are made anew in each test.
    session.events.register("before-parameter-build", watch.record, unique_id="frontdesk-permissions")
    yield watch
    session.events.unregister("before-parameter-build", unique_id="frontdesk-permissions")
    # Handlers ran, yet no call reached the hook: their clients are made elsewhere now.
    assert watch.seen or not watch.invocations, (
        "no AWS call was seen: frontdesk.aws must use boto3's default session"
    )


@pytest.fixture(autouse=True)
def declared_permissions(aws: Aws, permission_watch: PermissionWatch) -> Iterator[None]:
    """Every function's handler, as the tests call it (or hand it to a pump), watched."""
    with pytest.MonkeyPatch.context() as patch:
        for logical_id, spec in aws.template.functions.items():
            module_name, _, handler_name = spec.handler.rpartition(".")
            module = importlib.import_module(f"functions.{spec.code_dir.name}.{module_name}")
            handler = getattr(module, handler_name)
            patch.setattr(module, handler_name, permission_watch.watched(logical_id, handler))
        yield
    violations, permission_watch.violations[:] = list(permission_watch.violations), []
    assert not violations, f"calls tests/permissions.py does not declare: {violations}"


def _config_document() -> dict[str, Any]:
    from frontdesk.config import read_config_file

    return read_config_file(DEFAULT_CONFIG)


@pytest.fixture(autouse=True)
def short_stream_history(aws: Aws) -> None:
    """moto deep-copies a table for every TransactWriteItems, its whole stream history included,
    and its stream iterators pin old copies of the table, so without this each write of a session
    would be slower than the last and memory would grow by gigabytes. No test reads records
    written before it began (its pump starts at the latest one)."""
    aws.server.forget_stream_history(REGION)


@pytest.fixture
def function_env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The handlers' environment as the template sets it, pointed at moto (all functions' variables
    at once: they agree where they overlap)."""
    environment: dict[str, str] = {}
    for variables in aws.stack.environments.values():
        environment.update(variables)
    environment["FRONTDESK_TEMPLATES_DIR"] = str(Path(DEFAULT_TEMPLATE).parents[1] / "templates")
    environment.update(shifted_environment(OPEN_INSTANT))
    for name, value in {**environment, "AWS_ENDPOINT_URL": aws.endpoint}.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    clock.reset()
    yield
    runtime.reset()
    monkeypatch.undo()
    clock.reset()


@pytest.fixture
def set_clock(function_env: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Moves the handlers' clock to an instant (it runs on from there)."""

    def move(instant: datetime) -> None:
        for name, value in shifted_environment(instant).items():
            monkeypatch.setenv(name, value)
        clock.reset()

    return move


class InProcessFunction:
    """Stands in for a worker process: the stream pump invokes the handler directly."""

    def __init__(self, handler: Any, context: Any) -> None:
        self.name = "ticket-events"
        self.handler = handler
        self.context = context
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.invocations.append(event)
        try:
            return self.handler(event, self.context)
        except Exception as error:  # as Lambda reports it: a function error, and the batch is retried
            raise FunctionError(f"{type(error).__name__}: {error}") from error


@pytest.fixture
def stream(
    aws: Aws, function_env: None, lambda_context: Any, declared_permissions: None
) -> Iterator[StreamPump]:
    """The ticket table's stream delivered to ticket_events, as the template subscribes it (its
    handler watched, declared_permissions)."""
    from functions.ticket_events import app

    (subscription,) = aws.template.streams
    queue = subscription.on_failure_queue
    pump = StreamPump(
        subscription,
        aws.stack.stream_arns[subscription.table],
        InProcessFunction(app.lambda_handler, lambda_context),  # type: ignore[arg-type]
        aws.client("dynamodbstreams"),
        aws.client("sqs"),
        aws.stack.physical_ids.get(queue) if queue else None,
        REGION,
        aws.server.lock,
        poll_seconds=0.02,
        from_latest=True,
    )
    pump.start()
    assert pump.idle.wait(30), "the stream pump did not start"
    yield pump
    pump.stop()


def api_event(
    method: str,
    route: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event, built by the local gateway's own code."""
    from frontdesk_tools.local.gateway import event_for_route

    assert route.partition(" ")[0] == method
    raw_query = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    return event_for_route(route, path, body, headers, raw_query)


def settle(pump: StreamPump, timeout: float = 30.0) -> None:
    """Wait until the pump has handled what was written. Generous: moto copies the whole table
    (stream history included) for every transaction, so late in a session each write is slower."""
    assert pump.wait_until_handled(timeout), "stream records still in flight"


def tickets_of(requester_key: str) -> list[Ticket]:
    """A requester's tickets, newest first, as the agent API lists them."""
    return runtime.ticket_store().page_of_tickets(status=None, requester_key=requester_key, limit=100).tickets


def move(reference: str, status: TicketStatus, at: datetime) -> Ticket:
    """What an agent's status change does to the ticket."""
    store = runtime.ticket_store()
    ticket = store.get_ticket(reference)
    assert ticket is not None
    return store.update_ticket(ticket, at, status=status)
