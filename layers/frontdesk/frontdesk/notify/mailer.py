"""Sending mail through Amazon SES (API v2, raw content)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from frontdesk.notify.email import OutgoingEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# SES errors that no retry will cure: the message or its sender is refused as it stands.
_PERMANENT_ERRORS = frozenset(
    {"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "NotFoundException"}
)


def ses_message_id_domain(region: str) -> str:
    """The domain in the Message-ID SES gives the mail it sends from `region`."""
    return "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"


class PermanentSendError(Exception):
    """SES refused the message; sending it again would fail the same way."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class SesMailer:
    def __init__(self, client: SESV2Client, message_id_domain: str, configuration_set: str | None = None):
        self._client = client
        self._message_id_domain = message_id_domain
        self._configuration_set = configuration_set

    def send(self, email: OutgoingEmail) -> str:
        """Send `email`; return the Message-ID its recipients see.

        SES replaces any Message-ID we set with <SES message id@region domain>, so the id that
        replies will quote is only known from SES's answer.
        """
        arguments: dict[str, Any] = {
            "FromEmailAddress": email.sender.addr_spec,
            "Destination": {"ToAddresses": [recipient.addr_spec for recipient in email.to]},
            "Content": {"Raw": {"Data": email.to_bytes()}},
        }
        if self._configuration_set:
            arguments["ConfigurationSetName"] = self._configuration_set
        try:
            response = self._client.send_email(**arguments)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _PERMANENT_ERRORS:
                raise PermanentSendError(code) from error
            raise
        return f"<{response['MessageId']}@{self._message_id_domain}>"
