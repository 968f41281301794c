"""inbound_email: SES stored a message in S3 and invokes this function; the mail becomes a ticket
or joins one.

SES invokes asynchronously: an exception makes Lambda retry, then hand the event to the
on-failure destination, and the raw message stays in S3 for a replay. A record that is not an SES
receipt, or mail Frontdesk refuses, is logged and counted and does not fail the invocation.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from frontdesk import clock
from frontdesk.config import get_settings
from frontdesk.mail.intake import MailOutcome, receive_mail
from frontdesk.mail.receipt import MailReceipt
from frontdesk.mail.storage import RawMailTooLargeError
from frontdesk.observability import logger, metrics
from frontdesk.runtime import mail_bucket, ticket_store

_METRICS = {
    MailOutcome.CREATED: "MailTicketCreated",
    MailOutcome.APPENDED: "MailReplyAdded",
    MailOutcome.DUPLICATE: "MailDuplicateDelivery",
    MailOutcome.REJECTED: "MailRejected",
    MailOutcome.QUARANTINED: "MailQuarantined",
}


def handle_record(record: Any) -> None:
    try:
        receipt = MailReceipt.from_record(record)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in problem["loc"]) for problem in error.errors()})
        logger.error("not an SES receipt record", extra={"fields": fields})
        metrics.add_metric(name="MailEventRejected", unit=MetricUnit.Count, value=1)
        return
    bucket = mail_bucket()
    try:
        raw = bucket.read_raw(receipt.ses_message_id)
    except RawMailTooLargeError:
        # Not mail SES delivered (it stops at 40 MB): refused for good, a retry would fail alike.
        logger.warning(
            "mail received",
            extra={
                "ses_message_id": receipt.ses_message_id,
                "outcome": MailOutcome.REJECTED.value,
                "reason": "raw mail too large",
            },
        )
        metrics.add_metric(name=_METRICS[MailOutcome.REJECTED], unit=MetricUnit.Count, value=1)
        return
    result = receive_mail(
        receipt, raw, store=ticket_store(), bucket=bucket, settings=get_settings(), now=clock.now()
    )
    if result.outcome is MailOutcome.QUARANTINED:
        bucket.quarantine(receipt.ses_message_id, result.reason or "quarantined")
    logger.info(
        "mail received",
        extra={
            "ses_message_id": receipt.ses_message_id,
            "outcome": result.outcome.value,
            "reference": result.reference,
            "reason": result.reason,
            "tags": list(result.tags),
        },
    )
    metrics.add_metric(name=_METRICS[result.outcome], unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.error("event without Records")
        metrics.add_metric(name="MailEventRejected", unit=MetricUnit.Count, value=1)
        return
    for record in records:
        handle_record(record)
