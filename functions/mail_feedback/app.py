"""mail_feedback: SES bounces and complaints (via SNS) put addresses on the suppression list."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.mail.feedback import NotFeedbackError, sns_messages, suppressions
from frontdesk.observability import logger, metrics
from frontdesk.runtime import ticket_store


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    now = clock.now()
    until = now + timedelta(days=get_settings().email.suppression_days)
    for message in sns_messages(event):
        try:
            found = suppressions(message)
        except NotFeedbackError as error:
            logger.warning("feedback message ignored", extra={"problem": str(error)})
            metrics.add_metric(name="MailFeedbackIgnored", unit=MetricUnit.Count, value=1)
            continue
        for suppression in found:
            ticket_store().suppress_address(suppression.address, suppression.reason, until, now)
            metrics.add_metric(name="AddressSuppressed", unit=MetricUnit.Count, value=1)
        logger.info("feedback recorded", extra={"suppressed": len(found)})
