"""surveys: the satisfaction survey page customers reach from the link they were sent."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.http import Route, dispatch
from frontdesk.observability import logger, metrics
from frontdesk.runtime import ticket_store
from frontdesk.surveys import page

# The route keys are the ones infra/template.yaml declares for this function.
ROUTES: dict[str, Route] = {
    "GET /surveys/{token}": lambda request: page.show_survey(
        request, settings=get_settings(), store=ticket_store(), now=clock.now()
    ),
    "POST /surveys/{token}": lambda request: page.record_answer(
        request, settings=get_settings(), store=ticket_store(), now=clock.now()
    ),
}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dispatch(ROUTES, event)
