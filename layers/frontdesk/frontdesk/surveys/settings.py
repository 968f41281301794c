"""The surveys section of the settings: when the satisfaction survey goes out, how its links are
signed, and what a low score sets off."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from frontdesk.hours.service_levels import Duration


class LowScoreFollowUp(BaseModel):
    """What a disappointed answer sets off: a tag agents can list by, or the ticket reopened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    csat_at_most: int = Field(2, ge=1, le=4, description="a CSAT of this or lower is a low score")
    action: Literal["none", "tag", "reopen"] = "tag"
    tag: str = Field("low-csat", pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class SurveySettings(BaseModel):
    """The satisfaction survey sent after a ticket is resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    # Survey links are signed with the first key and accepted with any of them, so a key can be
    # rotated without breaking links already sent: put the new one first, drop the old one after
    # link_valid_for has passed.
    signing_keys: tuple[SecretStr, ...] = ()
    delay: Duration = Field(timedelta(hours=1), description="from the resolution to the survey")
    link_valid_for: Duration = timedelta(days=14)
    nps: bool = Field(False, description="also ask how likely the customer is to recommend the desk (0-10)")
    # A ticket resolved with one of these tags gets no survey (nobody asks a spammer how it went).
    skip_tags: tuple[str, ...] = ("spam", "merged", "duplicate")
    low_score: LowScoreFollowUp = Field(default_factory=LowScoreFollowUp)
    # Where customers open the survey page, e.g. https://support.example.com (a custom domain of
    # the API). Unset: the API's own URL, which the template gives the functions.
    page_base_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    comment_max_chars: int = Field(2000, ge=0, le=10_000)

    @field_validator("signing_keys")
    @classmethod
    def _strong_keys(cls, keys: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for key in keys:
            if len(key.get_secret_value()) < 32:
                raise ValueError("use signing keys of at least 32 characters (e.g. openssl rand -hex 32)")
        return keys

    @field_validator("delay", "link_valid_for")
    @classmethod
    def _sensible_duration(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(days=90):
            raise ValueError("must be between 1 second and 90 days")
        return value

    @model_validator(mode="after")
    def _keys_when_enabled(self) -> SurveySettings:
        if self.enabled and not self.signing_keys:
            raise ValueError("surveys need signing_keys to sign their links (or set enabled = false)")
        return self
