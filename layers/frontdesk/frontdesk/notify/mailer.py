"""Sending mail through Amazon SES (API v2, raw content)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from frontdesk.notify.email import OutgoingEmail

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

# SES errors that no retry will cure: the message or its sender is refused as it stands.
_PERMANENT_ERRORS = frozenset(
    {"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "NotFoundException"}
)


# Refusals of the request as a whole (nothing was sent) that pass with time.
_THROTTLING_ERRORS = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
_SEND_ATTEMPTS = 3
_THROTTLE_BACKOFF_SECONDS = 0.2


def ses_message_id_domain(region: str) -> str:
    """The domain in the Message-ID SES gives the mail it sends from `region`."""
    return "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"


class PermanentSendError(Exception):
    """SES refused the message; sending it again would fail the same way."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UncertainSendError(PermanentSendError):
    """SES may or may not have sent the message: it answered with a server error, or the answer
    was lost. Sending again could deliver it twice, so it is recorded as failed, never retried:
    Frontdesk prefers a missing email to a double."""

    def __init__(self) -> None:
        super().__init__("send_outcome_unknown")


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
        # The client makes one attempt (frontdesk.aws): only a refusal is retried, here.
        for attempt in range(1, _SEND_ATTEMPTS + 1):
            try:
                response = self._client.send_email(**arguments)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "")
                status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
                if code in _PERMANENT_ERRORS:
                    raise PermanentSendError(code) from error
                if status >= 500:
                    raise UncertainSendError() from error
                if code not in _THROTTLING_ERRORS or attempt == _SEND_ATTEMPTS:
                    raise  # refused, so certainly not sent: the caller's retry may send it
                time.sleep(_THROTTLE_BACKOFF_SECONDS * 2 ** (attempt - 1))
            except (ReadTimeoutError, ConnectionClosedError) as error:
                raise UncertainSendError() from error
            else:
                return f"<{response['MessageId']}@{self._message_id_domain}>"
        raise AssertionError("unreachable: the last attempt returns or raises")
