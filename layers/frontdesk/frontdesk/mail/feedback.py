"""SES feedback on the mail Frontdesk sends: bounces and complaints put the address on the
suppression list, so no acknowledgement goes to it for a while.

SES publishes two shapes to SNS: identity notifications ("notificationType") and configuration
set events ("eventType"); both carry the same bounce/complaint objects.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    emailAddress: str  # noqa: N815 (SES's names)


class _Bounce(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bounceType: str  # noqa: N815
    bouncedRecipients: list[_Recipient] = Field(default_factory=list)  # noqa: N815


class _Complaint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    complainedRecipients: list[_Recipient] = Field(default_factory=list)  # noqa: N815


class _Notification(BaseModel):
    model_config = ConfigDict(extra="ignore")

    notificationType: str | None = None  # noqa: N815
    eventType: str | None = None  # noqa: N815
    bounce: _Bounce | None = None
    complaint: _Complaint | None = None


class Suppression(NamedTuple):
    address: str
    reason: str  # "bounce" or "complaint"


class NotFeedbackError(ValueError):
    """The SNS message is not an SES bounce or complaint notification."""


def suppressions(sns_message: str) -> list[Suppression]:
    """Addresses to suppress from one SNS message body. Transient bounces (a full mailbox, an
    auto-reply) suppress nothing: the next message may well arrive."""
    try:
        notification = _Notification.model_validate(json.loads(sns_message))
    except (ValueError, ValidationError) as error:
        raise NotFeedbackError("not a JSON SES notification") from error
    kind = notification.notificationType or notification.eventType
    if kind == "Bounce" and notification.bounce:
        if notification.bounce.bounceType != "Permanent":
            return []
        return [Suppression(r.emailAddress, "bounce") for r in notification.bounce.bouncedRecipients]
    if kind == "Complaint" and notification.complaint:
        return [Suppression(r.emailAddress, "complaint") for r in notification.complaint.complainedRecipients]
    if kind in ("Delivery", "Send", "Received", "Open", "Click"):
        return []
    raise NotFeedbackError(f"unexpected notification type {kind!r}")


def sns_messages(event: Any) -> list[str]:
    """The message bodies of an SNS event for Lambda (malformed records are skipped by the caller)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return [
        str(record["Sns"]["Message"])
        for record in records or []
        if isinstance(record, dict) and isinstance(record.get("Sns"), dict) and "Message" in record["Sns"]
    ]
