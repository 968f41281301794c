"""agent_api: what support agents do with tickets (API Gateway HTTP API, JWT-authorized)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.agents import api
from frontdesk.config import get_settings
from frontdesk.http import Route, dispatch
from frontdesk.observability import logger, metrics
from frontdesk.runtime import ticket_store

# The route keys are the ones infra/template.yaml declares for this function.
ROUTES: dict[str, Route] = {
    "GET /tickets": lambda request: api.list_tickets(request, store=ticket_store()),
    "GET /tickets/{reference}": lambda request: api.show_ticket(
        request, store=ticket_store(), reference_prefix=get_settings().reference_prefix
    ),
    "PATCH /tickets/{reference}": lambda request: api.update_ticket(
        request, store=ticket_store(), reference_prefix=get_settings().reference_prefix, now=clock.now()
    ),
    "POST /tickets/{reference}/replies": lambda request: api.add_reply(
        request, store=ticket_store(), settings=get_settings(), now=clock.now()
    ),
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(ROUTES, event)
