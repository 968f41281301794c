"""The local moto server behaves as DynamoDB does where Frontdesk relies on it: a retried
TransactWriteItems (same ClientRequestToken) is not applied twice, and a session's stream state
does not grow with every test."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import REGION, Aws


def _put(table: str, pk: str, note: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": {"pk": {"S": pk}, "sk": {"S": "MOTO-FIDELITY"}, "note": {"S": note}},
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def test_a_transaction_sent_again_with_its_token_succeeds_without_applying_twice(aws: Aws) -> None:
    dynamodb = aws.client("dynamodb")
    pk, token = f"FIDELITY#{uuid.uuid4()}", str(uuid.uuid4())
    items = [_put(aws.table_name, pk, "first")]

    dynamodb.transact_write_items(TransactItems=items, ClientRequestToken=token)
    # As botocore's retry after a lost answer: the same call, the same token. Applied again, the
    # condition would fail; DynamoDB answers it as the first.
    dynamodb.transact_write_items(TransactItems=items, ClientRequestToken=token)

    with pytest.raises(ClientError) as refused:  # another token: a new transaction, whose condition fails
        dynamodb.transact_write_items(TransactItems=items, ClientRequestToken=str(uuid.uuid4()))
    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    with pytest.raises(ClientError) as mismatch:  # the same token for other items
        dynamodb.transact_write_items(
            TransactItems=[_put(aws.table_name, pk, "second")], ClientRequestToken=token
        )
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    key = {"pk": {"S": pk}, "sk": {"S": "MOTO-FIDELITY"}}
    stored = dynamodb.get_item(TableName=aws.table_name, Key=key)["Item"]
    assert stored["note"] == {"S": "first"}


def test_forgetting_the_stream_history_drops_records_and_iterators(aws: Aws) -> None:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    dynamodb, streams = aws.client("dynamodb"), aws.client("dynamodbstreams")
    stream_arn = dynamodb.describe_table(TableName=aws.table_name)["Table"]["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    dynamodb.transact_write_items(TransactItems=[_put(aws.table_name, f"FIDELITY#{uuid.uuid4()}", "x")])
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="LATEST")
    streams.get_records(ShardIterator=iterator["ShardIterator"])
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[aws.table_name].stream_shard
    assert shard is not None and shard.items
    before = shard.starting_sequence_number + len(shard.items)
    assert dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION].shard_iterators

    aws.server.forget_stream_history(REGION)

    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[aws.table_name].stream_shard
    assert shard is not None and shard.items == []
    assert shard.starting_sequence_number == before  # sequence numbers keep rising
    assert dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION].shard_iterators == {}
