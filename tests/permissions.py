"""The AWS actions each function's code calls, in IAM's names: the one declared list that
tests/unit/test_infra.py checks the template's roles against, and that the integration tier checks
every in-process handler invocation's calls against (tests/integration/conftest.py).

DynamoDB actions are on the tickets table; `dynamodb:Query` + ON_INDEX is a Query of one of its
indexes (granted on the table's index/* resource). A function's role also grants what Lambda
itself does with it: sqs:SendMessage to an on-failure destination (SAM adds that grant); the unit
test derives those from the template rather than from this list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ON_INDEX = " (index)"

# frontdesk.config.load_settings reading the configuration document and the calendars' parameter
# in one call (frontdesk.aws.read_ssm_parameters).
READ_CONFIG = frozenset({"ssm:GetParameters"})

ACTIONS: dict[str, frozenset[str]] = {
    # A new ticket is one TransactWriteItems of conditional puts and the network's hourly count (an
    # update); GetItem reads the original of a repeated post.
    "WebFormFunction": READ_CONFIG | {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"},
    # Reads the raw mail, tags quarantined mail, stores attachments; a ticket or a reply is one
    # transaction; threading reads index items (BatchGetItem) and the ticket.
    "InboundEmailFunction": READ_CONFIG
    | {
        "s3:GetObject",
        "s3:PutObjectTagging",
        "s3:PutObject",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
    },
    # Puts the address on the suppression list.
    "MailFeedbackFunction": READ_CONFIG | {"dynamodb:UpdateItem"},
    # Tickets and messages (transactions of puts and an update), conversations, replay guards.
    "ChatWebhookFunction": READ_CONFIG | {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
    # Listings Query the status and requester indexes; a ticket is a Query of its partition.
    "AgentApiFunction": READ_CONFIG
    | {
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Query" + ON_INDEX,
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
    },
    # Acknowledgements and replies (claims are transactions with a ConditionCheck), the measured
    # promise's samples (a Query), surveys' schedules (passing the scheduler its role), events.
    "TicketEventsFunction": READ_CONFIG
    | {
        "dynamodb:UpdateItem",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "ses:SendEmail",
        "scheduler:CreateSchedule",
        "scheduler:DeleteSchedule",
        "iam:PassRole",
        "events:PutEvents",
    },
    # Reads the survey and its ticket (one BatchGetItem), claims and records it, sends the mail.
    "SurveySenderFunction": READ_CONFIG
    | {"dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "ses:SendEmail"},
    # Reads the survey (and its ticket); an answer is a transaction of two updates.
    "SurveysFunction": READ_CONFIG | {"dynamodb:GetItem", "dynamodb:UpdateItem"},
}

# Each item of a TransactWriteItems is authorized as the single-item action it stands for.
_TRANSACT_WRITE = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
# Calls authorized as (also) another action.
_AUTHORIZED_AS = {
    "dynamodb:TransactGetItems": {"dynamodb:GetItem"},
    "s3:HeadObject": {"s3:GetObject"},
    "s3:ListObjectsV2": {"s3:ListBucket"},
    # A schedule's target role is passed to the scheduler.
    "scheduler:CreateSchedule": {"scheduler:CreateSchedule", "iam:PassRole"},
    "scheduler:UpdateSchedule": {"scheduler:UpdateSchedule", "iam:PassRole"},
}


def iam_actions(service: str, operation: str, params: Mapping[str, Any]) -> set[str]:
    """The IAM actions one API call needs. service: the client's signing name (sesv2 signs as
    ses), operation: the API operation (TransactWriteItems), params: the call's parameters."""
    action = f"{service}:{operation}"
    if action == "dynamodb:TransactWriteItems":
        return {_TRANSACT_WRITE[kind] for item in params.get("TransactItems", []) for kind in item}
    if service == "dynamodb" and params.get("IndexName"):
        return {action + ON_INDEX}
    return set(_AUTHORIZED_AS.get(action, {action}))
