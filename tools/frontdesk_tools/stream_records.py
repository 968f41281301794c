"""DynamoDB stream records as Lambda delivers them, from what the Streams API returns.

Shared by the local stream pump and `frontdesk replay`, which re-reads a failed batch's records.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any


def _json_ready(value: Any) -> Any:
    """boto3 gives datetimes and bytes; Lambda delivers epoch seconds and base64."""
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def lambda_stream_record(record: dict[str, Any], region: str, stream_arn: str) -> dict[str, Any]:
    """One record of GetRecords, in the shape of a record of a Lambda stream event."""
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": _json_ready(record["dynamodb"]),
        "eventSourceARN": stream_arn,
    }
