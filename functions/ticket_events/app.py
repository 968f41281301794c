"""ticket_events: the DynamoDB stream consumer that sends what ticket changes call for."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.notify.effects import on_table_change
from frontdesk.observability import logger, metrics
from frontdesk.runtime import outbox

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def handle_record(record: DynamoDBRecord) -> None:
    on_table_change(
        record.event_name.name if record.event_name else "",
        record.dynamodb.new_image if record.dynamodb else None,
        record.dynamodb.old_image if record.dynamodb else None,
        outbox=outbox(),
        settings=get_settings(),
        now=clock.now(),
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # A failed record is reported alone; the stream retries from it without resending the others.
    return process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
