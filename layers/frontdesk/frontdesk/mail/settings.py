"""The email section of the settings: mailboxes, signed reply addresses, loop protection and
limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from frontdesk.mail.addresses import mailbox_key
from frontdesk.tickets.model import Priority


class MailboxSettings(BaseModel):
    """An address customers write to (an SES receipt rule recipient) and where its mail goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str = "general"
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    calendar: str | None = Field(None, description="the business calendar of this mailbox's tickets")


class EmailSettings(BaseModel):
    """Inbound email: threading, loop protection and limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mailboxes: dict[str, MailboxSettings] = Field(
        default_factory=dict, description="by address (lower case); other recipients use the defaults"
    )
    # Key of the signed reply addresses (support+<reference>.<signature>@domain). Unset: none are
    # issued, and replies join tickets by their sender alone.
    reply_address_key: SecretStr | None = None
    # Keys retired by a rotation: addresses they signed are still recognised, never issued.
    previous_reply_address_keys: tuple[SecretStr, ...] = ()
    reopen_window_days: int = Field(14, ge=0, le=365)
    acknowledge_spam: bool = False
    acknowledgements_per_sender_per_hour: int = Field(3, ge=1, le=1000)
    suppression_days: int = Field(30, ge=1, le=3650)
    own_domains: tuple[str, ...] = Field((), description="mail from these domains is Frontdesk's own")
    max_attachments: int = Field(20, ge=0, le=100)
    max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=1024, le=40 * 1024 * 1024)
    max_total_attachment_bytes: int = Field(25 * 1024 * 1024, ge=1024, le=40 * 1024 * 1024)

    @field_validator("reply_address_key", "previous_reply_address_keys")
    @classmethod
    def _long_enough(cls, keys: SecretStr | tuple[SecretStr, ...] | None) -> object:
        for key in keys if isinstance(keys, tuple) else [keys]:
            if key is not None and len(key.get_secret_value().encode()) < 16:
                raise ValueError("use at least 16 bytes (e.g. openssl rand -base64 32)")
        return keys

    @field_validator("mailboxes")
    @classmethod
    def _lower_case_addresses(cls, mailboxes: dict[str, MailboxSettings]) -> dict[str, MailboxSettings]:
        # Keyed as inbound recipients are compared (lower case, no plus tag, ASCII domain).
        return {
            mailbox_key(address) or address.strip().lower(): mailbox for address, mailbox in mailboxes.items()
        }
