"""Deploying the template's resources into moto, through moto's own CloudFormation."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from frontdesk_tools.local.template import ARTIFACTS_BUCKET, LocalTemplate

if TYPE_CHECKING:
    from boto3 import Session

STACK_NAME = "frontdesk-local"


@dataclass(frozen=True)
class DeployedStack:
    physical_ids: dict[str, str]  # logical id -> physical id (table name, queue URL, function name...)
    environments: dict[str, dict[str, str]]  # function logical id -> its resolved environment
    stream_arns: dict[str, str]  # table logical id -> stream ARN
    queue_arns: dict[str, str]  # queue logical id -> ARN


def _placeholder_zip() -> bytes:
    # moto keeps function code in S3 like Lambda does; the local stack runs the code from the
    # checkout instead, so the archive only has to exist.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Frontdesk local stack: code runs from the checkout.\n")
    return buffer.getvalue()


def deploy(
    template: LocalTemplate, session: Session, endpoint: str, parameters: dict[str, str]
) -> DeployedStack:
    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]

    s3 = client("s3")
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    archive = _placeholder_zip()
    for key in template.artifact_keys():
        s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=archive)

    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(template.deployable()),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    status = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]["StackStatus"]
    if status != "CREATE_COMPLETE":
        raise RuntimeError(f"local stack deployment ended in {status}")
    scheduler = client("scheduler")
    for group in template.resources_of_type("AWS::Scheduler::ScheduleGroup"):
        scheduler.create_schedule_group(Name=group)
    events = client("events")
    for bus in template.resources_of_type("AWS::Events::EventBus"):
        events.create_event_bus(Name=bus)
    resources = cloudformation.describe_stack_resources(StackName=STACK_NAME)["StackResources"]
    physical_ids = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in resources
        if item.get("PhysicalResourceId")
    }
    types = {
        item["LogicalResourceId"]: item["ResourceType"]
        for item in resources
        if item.get("PhysicalResourceId")
    }

    lambda_client = client("lambda")
    environments = {
        logical_id: lambda_client.get_function_configuration(FunctionName=physical_ids[logical_id])
        .get("Environment", {})
        .get("Variables", {})
        for logical_id in template.functions
    }
    dynamodb = client("dynamodb")
    stream_arns = {
        logical_id: dynamodb.describe_table(TableName=physical_ids[logical_id])["Table"].get(
            "LatestStreamArn", ""
        )
        for logical_id, kind in types.items()
        if kind == "AWS::DynamoDB::Table"
    }
    sqs = client("sqs")
    queue_arns = {
        logical_id: sqs.get_queue_attributes(QueueUrl=physical_ids[logical_id], AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for logical_id, kind in types.items()
        if kind == "AWS::SQS::Queue"
    }
    return DeployedStack(physical_ids, environments, stream_arns, queue_arns)
