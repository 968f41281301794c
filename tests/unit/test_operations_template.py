"""infra/template.yaml's operations: alarms, the dashboard, logs, tracing, and names two stages can share
an account with."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"
DOCUMENT: dict[str, Any] = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = DOCUMENT["Resources"]
GLOBAL_ENVIRONMENT: dict[str, Any] = DOCUMENT["Globals"]["Function"]["Environment"]["Variables"]
FUNCTIONS = sorted(
    name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::Serverless::Function"
)
QUEUES = sorted(name for name, resource in RESOURCES.items() if resource["Type"] == "AWS::SQS::Queue")
ALARMS = {
    name: resource["Properties"]
    for name, resource in RESOURCES.items()
    if resource["Type"] == "AWS::CloudWatch::Alarm"
}
LAYER_DIR = TEMPLATE.parents[1] / "layers" / "frontdesk" / "frontdesk"

# The property that names each kind of resource, where the template names it.
NAME_PROPERTIES = {
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Serverless::LayerVersion": "LayerName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::Events::EventBus": "Name",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::SES::ReceiptRuleSet": "RuleSetName",
    "AWS::SES::ConfigurationSet": "Name",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolClient": "ClientName",
}


def alarms_on(namespace: str, metric: str, dimension: dict[str, Any] | None = None) -> list[str]:
    return [
        name
        for name, alarm in ALARMS.items()
        if alarm.get("Namespace") == namespace
        and alarm.get("MetricName") == metric
        and (dimension is None or dimension in alarm.get("Dimensions", []))
    ]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_an_errors_alarm(function: str):
    assert alarms_on("AWS/Lambda", "Errors", {"Name": "FunctionName", "Value": {"Ref": function}})


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_is_in_the_throttles_alarm(function: str):
    watched = [
        query["MetricStat"]["Metric"]
        for query in ALARMS["ThrottlesAlarm"]["Metrics"]
        if "MetricStat" in query
    ]
    assert {
        "Namespace": "AWS/Lambda",
        "MetricName": "Throttles",
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function}}],
    } in watched


@pytest.mark.parametrize("queue", QUEUES)
def test_every_failure_queue_has_a_depth_alarm(queue: str):
    assert alarms_on(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}},
    )


def test_the_stream_consumers_lag_is_watched():
    assert alarms_on(
        "AWS/Lambda", "IteratorAge", {"Name": "FunctionName", "Value": {"Ref": "TicketEventsFunction"}}
    )


def test_the_rejected_webhooks_alarm_watches_the_metric_the_code_emits():
    (name,) = alarms_on("Frontdesk", "WebhookRejected")
    emitted = (LAYER_DIR / "chat" / "webhook.py").read_text(encoding="utf-8")
    assert 'name="WebhookRejected"' in emitted
    # The metric's dimension is the service the template names per stage (observability.SERVICE).
    service = GLOBAL_ENVIRONMENT["POWERTOOLS_SERVICE_NAME"]
    assert {"Name": "service", "Value": service} in ALARMS[name]["Dimensions"]


def test_ses_reputation_is_watched_below_the_review_thresholds():
    (bounces,) = alarms_on("AWS/SES", "Reputation.BounceRate")
    (complaints,) = alarms_on("AWS/SES", "Reputation.ComplaintRate")
    assert ALARMS[bounces]["Threshold"] < 0.05
    assert ALARMS[complaints]["Threshold"] < 0.001


@pytest.mark.parametrize("alarm", sorted(ALARMS))
def test_every_alarm_notifies_the_alarm_topic_both_ways(alarm: str):
    assert ALARMS[alarm]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert ALARMS[alarm]["OKActions"] == [{"Ref": "AlarmTopic"}]
    assert ALARMS[alarm]["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_to_a_group_with_the_retention_parameter(function: str):
    groups = [
        resource["Properties"]
        for resource in RESOURCES.values()
        if resource["Type"] == "AWS::Logs::LogGroup"
        and resource["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{function}}}"}
    ]
    assert groups == [
        {
            "LogGroupName": {"Fn::Sub": f"/aws/lambda/${{{function}}}"},
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        }
    ]


def test_functions_are_traced_as_the_parameter_says():
    assert DOCUMENT["Globals"]["Function"]["Tracing"] == {"Ref": "TracingMode"}


def test_the_dashboard_is_valid_json_and_shows_every_function_queue_and_alarm():
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    references = set(re.findall(r"\$\{([A-Za-z:.]+)\}", body))
    dashboard = json.loads(re.sub(r"\$\{[A-Za-z:.]+\}", "x", body))
    assert dashboard["widgets"]
    assert set(FUNCTIONS) <= references
    assert {f"{queue}.QueueName" for queue in QUEUES} <= references
    assert {f"{alarm}.Arn" for alarm in ALARMS} <= references
    for reference in references - {"AWS::Region", "Stage"}:
        assert reference.split(".")[0] in RESOURCES, reference


@pytest.mark.parametrize(
    "resource", sorted(name for name, resource in RESOURCES.items() if resource["Type"] in NAME_PROPERTIES)
)
def test_named_resources_carry_the_stage_so_two_stages_share_an_account(resource: str):
    properties = RESOURCES[resource]["Properties"]
    name = properties[NAME_PROPERTIES[RESOURCES[resource]["Type"]]]
    assert isinstance(name, dict) and "${Stage}" in name["Fn::Sub"], name


def test_the_api_is_throttled_as_the_parameters_say():
    settings = RESOURCES["FrontdeskApi"]["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
    }


@pytest.mark.parametrize("resource", ["TicketsTable", "MailBucket"])
def test_customer_data_outlives_the_stack(resource: str):
    assert RESOURCES[resource]["DeletionPolicy"] == "Retain"
    assert RESOURCES[resource]["UpdateReplacePolicy"] == "Retain"
