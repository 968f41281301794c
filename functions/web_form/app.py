"""web_form: the website support form (API Gateway HTTP API)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.forms import web
from frontdesk.http import Route, dispatch
from frontdesk.observability import logger, metrics
from frontdesk.runtime import ticket_store

# The route keys are the ones infra/template.yaml declares for this function.
ROUTES: dict[str, Route] = {
    "GET /forms/{form_id}": lambda request: web.show_form(request, get_settings()),
    "POST /forms/{form_id}": lambda request: web.submit_form(
        request, settings=get_settings(), store=ticket_store(), now=clock.now()
    ),
    "GET /forms/{form_id}/thanks": lambda request: web.show_thanks(request, get_settings()),
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(ROUTES, event)
