"""`frontdesk dev`: the whole of Frontdesk on one machine, with moto standing in for AWS."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from frontdesk import clock
from frontdesk.clock import shifted_environment
from frontdesk.config import Settings, read_config_file
from frontdesk_tools.local.chat_api import FakeChatApis, point_at_fakes
from frontdesk_tools.local.functions import LocalFunction, worker_environment
from frontdesk_tools.local.gateway import Gateway
from frontdesk_tools.local.moto_server import SerialMotoServer
from frontdesk_tools.local.outbox import sent_emails
from frontdesk_tools.local.provision import DeployedStack, deploy
from frontdesk_tools.local.scheduler import SchedulePump
from frontdesk_tools.local.smtp import MailListener
from frontdesk_tools.local.streams import StreamPump, wait_until_idle
from frontdesk_tools.local.template import LocalTemplate, async_invoke_configs, load_template

REPOSITORY = Path(__file__).resolve().parents[3]
DEFAULT_TEMPLATE = REPOSITORY / "infra" / "template.yaml"
DEFAULT_CONFIG = Path(__file__).resolve().parent / "default-config.toml"
REGION = "us-east-1"
STAGE = "local"
CONFIG_PARAMETER = "/frontdesk/local/config"
# Local stand-ins for credentials; moto accepts anything.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": REGION,
    "AWS_DEFAULT_REGION": REGION,
    # botocore >= 1.44.4 sends DynamoDB Streams calls to an account endpoint moto does not route.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def agent_token(given: str | None) -> str:
    """The token agents present locally: the one given, FRONTDESK_AGENT_TOKEN, or a fresh random one
    (so a stack left listening on a shared network is not open to a guessable token)."""
    return given or os.environ.get("FRONTDESK_AGENT_TOKEN") or secrets.token_urlsafe(24)


class IntegrationEventTap:
    """What integrators would receive: a rule on each of the stack's event buses sends every event
    to a local queue, listed at /_local/events."""

    def __init__(self, session: boto3.Session, endpoint: str, deployed: DeployedStack) -> None:
        self._sqs = session.client("sqs", endpoint_url=endpoint)
        events = session.client("events", endpoint_url=endpoint)
        self._queue_url = self._sqs.create_queue(QueueName="frontdesk-local-integration-events")["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self._received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        for bus in events.list_event_buses()["EventBuses"]:
            if bus["Name"] == "default":
                continue
            events.put_rule(
                Name="local-tap", EventBusName=bus["Name"], EventPattern=json.dumps({"source": ["frontdesk"]})
            )
            events.put_targets(
                Rule="local-tap", EventBusName=bus["Name"], Targets=[{"Id": "queue", "Arn": queue_arn}]
            )

    def received(self) -> list[dict[str, Any]]:
        """Every event published so far, oldest first."""
        with self._lock:
            while True:
                batch = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10).get(
                    "Messages", []
                )
                if not batch:
                    break
                for message in batch:
                    self._received.append(json.loads(message["Body"]))
                    self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
            return list(self._received)


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    http_port: int = 3000
    smtp_port: int = 2525
    aws_port: int = 0  # 0: any free port
    config_path: Path = DEFAULT_CONFIG
    template_path: Path = DEFAULT_TEMPLATE
    pool_size: int = 2
    clock_start: datetime | None = None  # the instant the stack's clock starts at (then runs on)
    # The bearer token the gateway accepts where the template puts a JWT authorizer (agent routes).
    # None: FRONTDESK_AGENT_TOKEN from the environment, else a random one chosen at start.
    agent_token: str | None = None


@dataclass
class LocalStack:
    options: StackOptions
    template: LocalTemplate | None = None
    deployed: DeployedStack | None = None
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    pumps: list[StreamPump] = field(default_factory=list)
    scheduler: SchedulePump | None = None
    events: IntegrationEventTap | None = None
    _moto: SerialMotoServer | None = None
    _gateway: Gateway | None = None
    _mail: MailListener | None = None
    _opt_dir: tempfile.TemporaryDirectory[str] | None = None
    _chat_apis: FakeChatApis = field(default_factory=FakeChatApis)

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self.options.http_port}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.options.host}:{self.options.aws_port}"

    def start(self) -> None:
        document = read_config_file(self.options.config_path)
        # Fail before anything starts if the configuration is wrong.
        checked = {**document, "tickets_table_name": "validated-before-deploy"}
        Settings.model_validate(checked).check_sections()
        os.environ.update(LOCAL_AWS_ENVIRONMENT)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

        if not self.options.aws_port:
            self.options.aws_port = free_port(self.options.host)
        self.options.agent_token = agent_token(self.options.agent_token)
        self._moto = SerialMotoServer(self.options.host, self.options.aws_port)
        self._moto.start()
        session = boto3.Session(
            aws_access_key_id=LOCAL_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )

        self.template = load_template(self.options.template_path, REGION)
        sender_domain = str(document["sender_address"]).rpartition("@")[2]
        parameters = {
            "Stage": STAGE,
            "ConfigParameterName": CONFIG_PARAMETER,
            "SenderIdentity": sender_domain,
            "MailRecipients": str(document.get("support_domain", sender_domain)),
        }
        self.deployed = deploy(self.template, session, self.aws_endpoint, parameters)
        self._publish_configuration(session, document)
        # Ops verify the sending domain in SES before deploying; locally the stack does it.
        session.client("ses", endpoint_url=self.aws_endpoint).verify_domain_identity(Domain=sender_domain)

        self._start_functions()
        self._start_pumps(session)
        self._start_scheduler(session)
        self.events = IntegrationEventTap(session, self.aws_endpoint, self.deployed)
        self._start_mail(session, parameters)
        self._gateway = Gateway(
            (self.options.host, self.options.http_port),
            self.template.routes,
            self.functions,
            {
                "/_local/health": lambda: (200, {"status": "ok"}),
                "/_local/outbox": lambda: (200, sent_emails(REGION)),
                "/_local/chat-outbox": lambda: (200, self._chat_apis.calls()),
                "/_local/schedules": lambda: (200, self.scheduler.schedules() if self.scheduler else []),
                "/_local/events": lambda: (200, self.events.received() if self.events else []),
            },
            self._chat_apis,
            self.options.agent_token,
        )
        threading.Thread(target=self._gateway.serve_forever, name="gateway", daemon=True).start()

    def _publish_configuration(self, session: boto3.Session, document: dict[str, Any]) -> None:
        """The configuration goes where it goes in AWS: the SSM parameter the template names."""
        assert self.deployed is not None
        ssm = session.client("ssm", endpoint_url=self.aws_endpoint)
        names = {env["FRONTDESK_CONFIG_PARAMETER"] for env in self.deployed.environments.values()}
        document = point_at_fakes(document, self.url)
        # Survey links lead to this stack's gateway (in AWS: the API's URL, from the template).
        surveys = document.get("surveys")
        if isinstance(surveys, dict) and not surveys.get("page_base_url"):
            document = {**document, "surveys": {**surveys, "page_base_url": self.url}}
        for name in names:
            ssm.put_parameter(Name=name, Value=json.dumps(document), Type="SecureString", Overwrite=True)

    def _start_functions(self) -> None:
        assert self.template is not None and self.deployed is not None
        self._opt_dir = tempfile.TemporaryDirectory(prefix="frontdesk-opt-")
        opt = Path(self._opt_dir.name)
        python_path = [REPOSITORY / "tools"]
        for layer in self.template.layers.values():
            if layer.ships_python_packages:
                python_path.append(layer.content_dir)  # its package, as /opt/python holds it
            else:
                for entry in layer.content_dir.iterdir():
                    (opt / entry.name).symlink_to(entry)
        if self.options.clock_start:
            # Here too: the gateway, the SMTP listener and the stream pump stamp their events.
            os.environ.update(shifted_environment(self.options.clock_start))
            clock.reset()
        base = {
            **os.environ,
            **LOCAL_AWS_ENVIRONMENT,
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "PYTHONUNBUFFERED": "1",
        }
        base.pop("AWS_PROFILE", None)
        base.pop("AWS_SESSION_TOKEN", None)
        pending = []
        for logical_id, spec in self.template.functions.items():
            name = self.deployed.physical_ids[logical_id]
            environment = worker_environment(
                {**base, "AWS_LAMBDA_FUNCTION_NAME": name},
                self.deployed.environments[logical_id],
                python_path,
                opt,
            )
            function = LocalFunction(spec, name, environment, self.options.pool_size)
            self.functions[logical_id] = function
            pending.append((function, function.start()))
        for function, workers in pending:
            function.wait_ready(workers)

    def _start_pumps(self, session: boto3.Session) -> None:
        assert self.template is not None and self.deployed is not None and self._moto is not None
        streams = session.client("dynamodbstreams", endpoint_url=self.aws_endpoint)
        sqs = session.client("sqs", endpoint_url=self.aws_endpoint)
        for subscription in self.template.streams:
            queue = subscription.on_failure_queue
            pump = StreamPump(
                subscription,
                self.deployed.stream_arns[subscription.table],
                self.functions[subscription.function],
                streams,
                sqs,
                self.deployed.physical_ids.get(queue) if queue else None,
                REGION,
                self._moto.lock,
            )
            pump.start()
            self.pumps.append(pump)

    def _start_scheduler(self, session: boto3.Session) -> None:
        """One-time schedules (surveys) fire by the stack's clock."""
        assert self.template is not None and self.deployed is not None
        self.scheduler = SchedulePump(
            session.client("scheduler", endpoint_url=self.aws_endpoint),
            {function.name: function for function in self.functions.values()},
            async_invoke_configs(self.template.cloudformation["Resources"]),
            session.client("sqs", endpoint_url=self.aws_endpoint),
            self.deployed.physical_ids,
        )
        self.scheduler.start()

    def _start_mail(self, session: boto3.Session, parameters: dict[str, str]) -> None:
        """SMTP in, as the template's SES receipt rules would take it."""
        assert self.template is not None and self.deployed is not None
        rules = [
            (
                rule,
                tuple(parameters[rule.recipients_parameter].split(","))
                if rule.recipients_parameter
                else rule.recipients,
            )
            for rule in self.template.mail_rules
        ]
        self._mail = MailListener(
            self.options.host,
            self.options.smtp_port,
            rules,
            self.deployed.physical_ids,
            self.functions,
            session.client("s3", endpoint_url=self.aws_endpoint),
            session.client("sqs", endpoint_url=self.aws_endpoint),
            REGION,
        )
        self._mail.start()

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every stream record written so far has been delivered (tests)."""
        return wait_until_idle(self.pumps, timeout)

    def stop(self) -> None:
        if self._mail:
            self._mail.stop()
        if self._gateway:
            self._gateway.shutdown()
            self._gateway.server_close()
        for pump in self.pumps:
            pump.stop()
        if self.scheduler:
            self.scheduler.stop()
        for function in self.functions.values():
            function.stop()
        if self._moto:
            self._moto.stop()
        if self._opt_dir:
            self._opt_dir.cleanup()
