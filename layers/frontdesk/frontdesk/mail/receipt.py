"""The SES receipt event: what SES tells the function about a message it stored in S3.

Only the fields Frontdesk uses are modelled, leniently: SES adds fields over time, and a
verdict SES did not compute is treated as GRAY (unknown), never as PASS.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Verdict(StrEnum):
    PASS = "PASS"  # noqa: S105 (a verdict, not a password)
    FAIL = "FAIL"
    GRAY = "GRAY"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    DISABLED = "DISABLED"


class _Status(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Verdict = Verdict.GRAY


class _Receipt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    timestamp: datetime
    recipients: list[str] = Field(min_length=1)
    spamVerdict: _Status = Field(default_factory=_Status)  # noqa: N815 (SES's names)
    virusVerdict: _Status = Field(default_factory=_Status)  # noqa: N815
    spfVerdict: _Status = Field(default_factory=_Status)  # noqa: N815
    dkimVerdict: _Status = Field(default_factory=_Status)  # noqa: N815
    dmarcVerdict: _Status = Field(default_factory=_Status)  # noqa: N815


class _Mail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messageId: str = Field(pattern=r"^[A-Za-z0-9._-]{1,128}$")  # noqa: N815  (also an S3 key part)
    source: str = ""  # the envelope sender (MAIL FROM); empty for bounces
    timestamp: datetime


class _Ses(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mail: _Mail
    receipt: _Receipt


class SesReceiptRecord(BaseModel):
    """One record of an SES receipt event (SES sends one per event)."""

    model_config = ConfigDict(extra="ignore")

    eventSource: str = Field(pattern=r"^aws:ses$")  # noqa: N815
    ses: _Ses


class MailReceipt(BaseModel):
    """What Frontdesk takes from a receipt record."""

    model_config = ConfigDict(frozen=True)

    ses_message_id: str
    envelope_sender: str
    recipients: tuple[str, ...]  # the envelope recipients the receipt rule matched: ours
    received_at: datetime
    spam: Verdict
    virus: Verdict
    spf: Verdict
    dkim: Verdict
    dmarc: Verdict

    @classmethod
    def from_record(cls, record: object) -> MailReceipt:
        """Raises pydantic.ValidationError for a record that is not an SES receipt."""
        ses = SesReceiptRecord.model_validate(record).ses
        return cls(
            ses_message_id=ses.mail.messageId,
            envelope_sender=ses.mail.source.strip(),
            recipients=tuple(address.strip() for address in ses.receipt.recipients),
            received_at=ses.receipt.timestamp,
            spam=ses.receipt.spamVerdict.status,
            virus=ses.receipt.virusVerdict.status,
            spf=ses.receipt.spfVerdict.status,
            dkim=ses.receipt.dkimVerdict.status,
            dmarc=ses.receipt.dmarcVerdict.status,
        )
