"""Reading infra/template.yaml: the local stack builds nothing the template does not declare.

The SAM template is translated to plain CloudFormation with aws-sam-translator (offline), then
split into what moto's CloudFormation can deploy (tables, queues, buckets, functions and their
roles) and what the local stack plays itself (the HTTP API's routes and the stream subscriptions,
read from the same translation).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ARTIFACTS_BUCKET = "frontdesk-local-artifacts"

# Resource types moto's CloudFormation creates faithfully and that have no side effects locally.
# Event source mappings are left out on purpose: moto would try to run the function in Docker.
DEPLOYABLE_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::S3::Bucket",
        "AWS::SNS::Topic",
        "AWS::SSM::Parameter",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
    }
)


class _PoliciesFromTemplateOnly:
    """Stands in for SAM's IAM lookup of managed policy ARNs: the translator's bundled list is
    enough offline, and an unknown name passes through unchanged."""

    def load(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared, e.g. /forms/{form_id}
    function: str  # logical id
    authorizer: str | None = None  # the API authorizer guarding the route (None: public)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class StreamSubscription:
    function: str
    table: str  # logical id of the table whose stream feeds the function
    batch_size: int
    maximum_retry_attempts: int
    report_batch_item_failures: bool
    filter_patterns: tuple[dict[str, Any], ...]
    on_failure_queue: str | None  # logical id of the SQS queue


@dataclass(frozen=True)
class MailRule:
    """An SES receipt rule: store the message in S3, then invoke a function asynchronously."""

    recipients: tuple[str, ...]  # addresses or domains; may be a parameter reference, see resolve
    recipients_parameter: str | None  # the template parameter the recipients come from
    bucket: str  # logical id
    prefix: str
    function: str  # logical id
    maximum_retry_attempts: int
    on_failure_queue: str | None  # logical id of the SQS queue

    def matches(self, address: str, recipients: tuple[str, ...]) -> bool:
        """SES matching: the whole address, or its domain."""
        address = address.strip().lower()
        domain = address.rpartition("@")[2]
        return any(item.lower() in (address, domain) for item in recipients)


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """How Lambda retries a function's asynchronous invocations, and where it parks failures."""

    maximum_retry_attempts: int = 2  # Lambda's default
    on_failure_queue: str | None = None  # logical id of the SQS queue


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    timeout: int
    memory_mb: int = 128  # Lambda's default when neither the function nor Globals set MemorySize
    # The variables the translated template sets (Globals merged in), values unresolved: a literal,
    # or the Ref/GetAtt/Sub the template wrote.
    environment: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class LayerSpec:
    logical_id: str
    content_dir: Path

    @property
    def ships_python_packages(self) -> bool:
        """Whether the layer holds Python packages (built into /opt/python on Lambda, put on the
        path from the source tree locally) rather than files unpacked as they are under /opt."""
        return any((entry / "__init__.py").is_file() for entry in self.content_dir.iterdir())


@dataclass
class LocalTemplate:
    path: Path
    cloudformation: dict[str, Any]
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    layers: dict[str, LayerSpec] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    streams: list[StreamSubscription] = field(default_factory=list)
    mail_rules: list[MailRule] = field(default_factory=list)

    def deployable(self) -> dict[str, Any]:
        """The part of the translated template that moto's CloudFormation deploys."""
        resources = {
            logical_id: copy.deepcopy(resource)
            for logical_id, resource in self.cloudformation["Resources"].items()
            if resource["Type"] in DEPLOYABLE_TYPES
        }
        # moto cannot attach layers; the local stack puts the layer's package on the path itself.
        for resource in resources.values():
            if resource["Type"] == "AWS::Lambda::Function":
                resource["Properties"].pop("Layers", None)
        # What points at a resource moto does not create gets that resource's logical id instead
        # (the local stack stands in for such resources itself, e.g. SES configuration sets).
        dropped = set(self.cloudformation["Resources"]) - set(resources)
        resources = _without_references_to(resources, dropped)
        return {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Parameters": self.cloudformation.get("Parameters", {}),
            "Conditions": self.cloudformation.get("Conditions", {}),
            "Resources": resources,
        }

    def resources_of_type(self, resource_type: str) -> list[str]:
        """Logical ids of the template's resources of one type. EventBridge buses and Scheduler
        groups are created by the local stack itself (moto's CloudFormation cannot create the
        groups, and hands out a bus's Ref as an object), under the name the functions see: the
        logical id, see deployable()."""
        return [
            logical_id
            for logical_id, resource in self.cloudformation["Resources"].items()
            if resource["Type"] == resource_type
        ]

    def artifact_keys(self) -> list[str]:
        """S3 keys the translated functions' Code refers to (moto reads code from S3)."""
        keys = []
        for resource in self.cloudformation["Resources"].values():
            code = resource.get("Properties", {}).get("Code") or resource.get("Properties", {}).get("Content")
            if isinstance(code, dict) and code.get("S3Bucket") == ARTIFACTS_BUCKET:
                keys.append(str(code["S3Key"]))
        return keys


def load_template(path: Path, region: str = "us-east-1") -> LocalTemplate:
    sam = yaml_parse(path.read_text(encoding="utf-8"))
    code_dirs: dict[str, Path] = {}
    for logical_id, resource in sam["Resources"].items():
        properties = resource.get("Properties", {})
        for uri_key in ("CodeUri", "ContentUri"):
            uri = properties.get(uri_key)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                code_dirs[logical_id] = (path.parent / uri).resolve()
                properties[uri_key] = f"s3://{ARTIFACTS_BUCKET}/{logical_id}.zip"
    # The translator insists on a region in the environment, whatever the parameters say.
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    cloudformation = transform(
        sam, {"AWS::Region": region, "AWS::AccountId": "123456789012"}, _PoliciesFromTemplateOnly()
    )
    template = LocalTemplate(path=path, cloudformation=cloudformation)
    resources: dict[str, Any] = cloudformation["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::Function" and logical_id in code_dirs:
            properties = resource["Properties"]
            template.functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_dir=code_dirs[logical_id],
                handler=properties["Handler"],
                timeout=int(properties.get("Timeout", 3)),
                memory_mb=int(properties.get("MemorySize", 128)),
                environment=dict(properties.get("Environment", {}).get("Variables", {})),
            )
    for logical_id, resource in sam["Resources"].items():
        if resource["Type"] == "AWS::Serverless::LayerVersion" and logical_id in code_dirs:
            template.layers[logical_id] = LayerSpec(logical_id, code_dirs[logical_id])
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                method, route_path = event["Properties"]["Method"].upper(), event["Properties"]["Path"]
                # Without ApiId the event belongs to the API SAM creates implicitly.
                api = _ref_target(event["Properties"].get("ApiId")) or "ServerlessHttpApi"
                authorizer = _route_authorizer(resources.get(api, {}), method, route_path)
                template.routes.append(Route(method, route_path, logical_id, authorizer))
    template.streams = [
        _subscription(resource["Properties"])
        for resource in resources.values()
        if resource["Type"] == "AWS::Lambda::EventSourceMapping"
        and _ref_target(resource["Properties"]["EventSourceArn"]) is not None
    ]
    template.mail_rules = [
        rule
        for resource in resources.values()
        if resource["Type"] == "AWS::SES::ReceiptRule"
        for rule in [_mail_rule(resource["Properties"]["Rule"], resources)]
        if rule is not None
    ]
    return template


def _route_authorizer(api: dict[str, Any], method: str, path: str) -> str | None:
    """The authorizer API Gateway applies to a route, read from the OpenAPI body SAM translated the
    API into: that body already settles the event's Auth.Authorizer against the API's (or Globals')
    DefaultAuthorizer, and "NONE" comes out as a security requirement named NONE."""
    body = api.get("Properties", {}).get("Body")
    if not isinstance(body, dict):
        return None  # an API defined elsewhere (DefinitionUri): nothing to read locally
    key = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
    operation = body.get("paths", {}).get(path, {}).get(key, {})
    for requirement in operation.get("security") or []:
        for name in requirement:
            if name != "NONE":
                return str(name)
    return None


def _without_references_to(value: Any, dropped: set[str]) -> Any:
    if isinstance(value, dict):
        target = _ref_target(value) if len(value) == 1 else None
        if target in dropped:
            return target
        if len(value) == 1 and isinstance(value.get("Fn::Sub"), str):
            text = value["Fn::Sub"]
            for name in dropped:
                text = text.replace("${" + name + "}", name)
            return {"Fn::Sub": text}
        return {key: _without_references_to(item, dropped) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_references_to(item, dropped) for item in value]
    return value


def _mail_rule(rule: dict[str, Any], resources: dict[str, Any]) -> MailRule | None:
    actions = rule.get("Actions", [])
    store = next((action["S3Action"] for action in actions if "S3Action" in action), None)
    invoke = next((action["LambdaAction"] for action in actions if "LambdaAction" in action), None)
    if store is None or invoke is None:
        return None
    function = str(_ref_target(invoke["FunctionArn"]))
    config = async_invoke_configs(resources).get(function, AsyncInvokeConfig())
    recipients = rule.get("Recipients", [])
    parameter = _ref_target(recipients) if isinstance(recipients, dict) else None
    return MailRule(
        recipients=() if parameter else tuple(str(item) for item in recipients),
        recipients_parameter=parameter,
        bucket=str(_ref_target(store["BucketName"])),
        prefix=str(store.get("ObjectKeyPrefix", "")),
        function=function,
        maximum_retry_attempts=config.maximum_retry_attempts,
        on_failure_queue=config.on_failure_queue,
    )


def async_invoke_configs(resources: dict[str, Any]) -> dict[str, AsyncInvokeConfig]:
    """By function logical id: the EventInvokeConfig the template gives it."""
    configs = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::EventInvokeConfig":
            destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
            configs[str(_ref_target(properties["FunctionName"]))] = AsyncInvokeConfig(
                maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", 2)),
                on_failure_queue=_ref_target(destination) if destination else None,
            )
    return configs


def _ref_target(value: Any) -> str | None:
    """The logical id a Ref or GetAtt points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else target.split(".")[0])
    return None


def _subscription(properties: dict[str, Any]) -> StreamSubscription:
    destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    filters = properties.get("FilterCriteria", {}).get("Filters", [])
    return StreamSubscription(
        function=str(_ref_target(properties["FunctionName"])),
        table=str(_ref_target(properties["EventSourceArn"])),
        batch_size=int(properties.get("BatchSize", 100)),
        maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
        report_batch_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
        filter_patterns=tuple(json.loads(item["Pattern"]) for item in filters),
        on_failure_queue=_ref_target(destination) if destination else None,
    )
