"""ticket_events: the DynamoDB stream consumer that sends what ticket changes call for."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.notify.effects import on_table_change
from frontdesk.observability import logger, metrics
from frontdesk.runtime import outbox
from frontdesk.tickets.stream import handle_stream_batch


def handle_change(
    event_name: str, new_image: dict[str, Any] | None, old_image: dict[str, Any] | None
) -> None:
    on_table_change(
        event_name, new_image, old_image, outbox=outbox(), settings=get_settings(), now=clock.now()
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A failed record is reported alone; the stream retries from it without resending the others.
    return handle_stream_batch(event, handle_change)
