"""chat_webhook: signed webhooks from chat and messaging platforms (API Gateway HTTP API)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.chat.webhook import handle_webhook, public_url
from frontdesk.config import get_settings
from frontdesk.http import HttpRequest
from frontdesk.observability import logger, metrics
from frontdesk.runtime import ticket_store


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = HttpRequest.from_event(event)
    settings = get_settings()
    url = public_url(request, event, settings)
    return handle_webhook(request, url, settings=settings, store=ticket_store(), now=clock.now())
