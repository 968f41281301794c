"""The local stand-in for SES receiving: an SMTP listener that does what a receipt rule does.

For each message: store it in the mail bucket under the rule's prefix, then invoke the rule's
function with an SES-shaped receipt event, retrying and dead-lettering as Lambda's asynchronous
invocation would. SES's verdicts are PASS unless the message carries X-SES-Spam-Verdict /
X-SES-Virus-Verdict (or X-SES-SPF/DKIM/DMARC-Verdict) headers, so tests can simulate them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import string
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

from frontdesk import clock
from frontdesk_tools.local.functions import FunctionError, FunctionTimeoutError, LocalFunction
from frontdesk_tools.local.template import MailRule

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger("frontdesk.local.smtp")
_VERDICTS = ("spam", "virus", "spf", "dkim", "dmarc")
_VALID_VERDICTS = frozenset({"PASS", "FAIL", "GRAY", "PROCESSING_FAILED"})
_ID_ALPHABET = string.ascii_lowercase + string.digits
MAX_MESSAGE_BYTES = 40 * 1024 * 1024  # SES's limit


def ses_message_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(20))


def receipt_event(
    raw: bytes,
    *,
    message_id: str,
    envelope_sender: str,
    recipients: list[str],
    function_arn: str,
    now: datetime,
) -> dict[str, Any]:
    """An SES receipt event for `raw`, in the shape SES sends a Lambda action."""
    parsed = message_from_bytes(raw, policy=policy.compat32)
    headers = [{"name": name, "value": str(value)} for name, value in parsed.items()]
    verdicts = {}
    for name in _VERDICTS:
        value = str(parsed.get(f"X-SES-{name.capitalize()}-Verdict", "PASS")).strip().upper()
        verdicts[f"{name}Verdict"] = {"status": value if value in _VALID_VERDICTS else "GRAY"}
    timestamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    common = {
        "returnPath": envelope_sender,
        "from": [str(parsed.get("From", ""))],
        "to": [str(parsed.get("To", ""))],
        "messageId": str(parsed.get("Message-ID", "")),
        "subject": str(parsed.get("Subject", "")),
    }
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": timestamp,
                        "source": envelope_sender,
                        "messageId": message_id,
                        "destination": recipients,
                        "headersTruncated": False,
                        "headers": headers,
                        "commonHeaders": common,
                    },
                    "receipt": {
                        "timestamp": timestamp,
                        "processingTimeMillis": 1,
                        "recipients": recipients,
                        **verdicts,
                        "action": {"type": "Lambda", "functionArn": function_arn, "invocationType": "Event"},
                    },
                },
            }
        ]
    }


class _Handler:
    def __init__(self, listener: MailListener) -> None:
        self._listener = listener

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self._listener.rule_for(address):
            return "550 5.1.1 Recipient address rejected: no receipt rule for it"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        message_id = await loop.run_in_executor(
            None, self._listener.receive, bytes(raw), envelope.mail_from or "", list(envelope.rcpt_tos)
        )
        return f"250 2.0.0 Ok: queued as {message_id}"


class MailListener:
    """SMTP on host:port, delivering like the template's SES receipt rules."""

    def __init__(
        self,
        host: str,
        port: int,
        rules: list[tuple[MailRule, tuple[str, ...]]],  # each rule with its resolved recipients
        physical_ids: dict[str, str],
        functions: dict[str, LocalFunction],
        s3: S3Client,
        sqs: SQSClient,
        region: str,
    ) -> None:
        self._rules = rules
        self._physical_ids = physical_ids
        self._functions = functions
        self._s3 = s3
        self._sqs = sqs
        self._region = region
        self._controller = Controller(
            _Handler(self), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES, decode_data=False
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def rule_for(self, address: str) -> MailRule | None:
        return next((rule for rule, recipients in self._rules if rule.matches(address, recipients)), None)

    def receive(self, raw: bytes, envelope_sender: str, recipients: list[str]) -> str:
        """Store and deliver one message; returns its SES-style message id."""
        message_id = ses_message_id()
        by_rule: dict[MailRule, list[str]] = {}
        for address in recipients:
            if rule := self.rule_for(address):
                by_rule.setdefault(rule, []).append(address)
        for rule, matched in by_rule.items():
            self._s3.put_object(
                Bucket=self._physical_ids[rule.bucket], Key=rule.prefix + message_id, Body=raw
            )
            function_name = self._physical_ids[rule.function]
            event = receipt_event(
                raw,
                message_id=message_id,
                envelope_sender=envelope_sender,
                recipients=matched,
                function_arn=f"arn:aws:lambda:{self._region}:123456789012:function:{function_name}",
                now=clock.now(),
            )
            self._invoke(rule, event)
        return message_id

    def _invoke(self, rule: MailRule, event: dict[str, Any]) -> None:
        function = self._functions[rule.function]
        error: Exception | None = None
        for _ in range(1 + rule.maximum_retry_attempts):
            try:
                function.invoke(event)
                return
            except (FunctionError, FunctionTimeoutError) as failure:
                error = failure
                log.warning("%s failed: %s", rule.function, failure)
        if rule.on_failure_queue:
            record = {
                "version": "1.0",
                "requestContext": {"condition": "RetriesExhausted", "functionArn": rule.function},
                "responseContext": {"functionError": "Unhandled"},
                "requestPayload": event,
                "responsePayload": {"errorMessage": str(error)},
            }
            self._sqs.send_message(
                QueueUrl=self._physical_ids[rule.on_failure_queue], MessageBody=json.dumps(record)
            )
