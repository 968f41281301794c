"""The local outbox: every email the functions sent through (moto's) SES, as JSON."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from frontdesk.notify.mailer import ses_message_id_domain


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    return str(part.get_content()) if part is not None and part.get_content_subtype() == subtype else ""


def sent_emails(region: str) -> list[dict[str, Any]]:
    """Sent mail, oldest first. Like SES, the outbox gives each message the Message-ID
    <SES message id@SES domain>, whatever Message-ID the sender set."""
    backend = ses_backends[DEFAULT_ACCOUNT_ID][region]
    emails = []
    for sent in list(backend.sent_messages):
        message_id = f"<{sent.id}@{ses_message_id_domain(region)}>"
        raw = getattr(sent, "raw_data", None)
        if raw is None:  # a simple (not raw) send
            emails.append(
                {
                    "message_id": message_id,
                    "from": sent.source,
                    "to": list(sent.destinations.get("ToAddresses", [])),
                    "subject": sent.subject,
                    "text": "",
                    "html": sent.body,
                    "headers": {"Message-ID": message_id, "Subject": sent.subject},
                }
            )
            continue
        parsed = message_from_bytes(raw.encode() if isinstance(raw, str) else raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        headers = {name: str(value) for name, value in parsed.items()}
        headers["Message-ID"] = message_id
        emails.append(
            {
                "message_id": message_id,
                "from": sent.source,
                "to": [address.addr_spec for address in getattr(parsed.get("To"), "addresses", ())],
                "subject": str(parsed.get("Subject", "")),
                "text": _body(parsed, "plain"),
                "html": _body(parsed, "html"),
                "headers": headers,
            }
        )
    return emails
