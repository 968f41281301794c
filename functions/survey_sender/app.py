"""survey_sender: sends a resolved ticket's survey when its one-time schedule fires."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ValidationError

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.observability import logger, metrics
from frontdesk.runtime import chat_sender, mailer, ticket_store
from frontdesk.surveys.send import send_survey


class ScheduledSurvey(BaseModel):
    """The input the schedule was created with (frontdesk.surveys.schedule.sender_input)."""

    reference: str
    resolved_at: AwareDatetime


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str]:
    try:
        due = ScheduledSurvey.model_validate(event)
    except ValidationError:
        # Not an input this code creates: retrying would not make it one.
        logger.error("not a scheduled survey", extra={"keys": sorted(event)[:10]})
        return {"outcome": "rejected"}
    outcome = send_survey(
        due.reference,
        due.resolved_at,
        store=ticket_store(),
        mailer=mailer(),
        chat_sender=chat_sender(),
        settings=get_settings(),
        now=clock.now(),
    )
    return {"outcome": outcome.value}
