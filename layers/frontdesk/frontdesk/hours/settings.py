"""The hours section of the settings: business calendars and first-response targets."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from frontdesk.hours.calendar import BusinessCalendar
from frontdesk.hours.service_levels import DEFAULT_RESPONSE_TARGETS, Duration, validate_targets
from frontdesk.tickets.model import Channel, Priority


class HoursSettings(BaseModel):
    """When the desk is open, and how soon it promises a first answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calendars: dict[str, BusinessCalendar] = Field(
        default_factory=dict, description="by name; none means the desk is always open"
    )
    default_calendar: str | None = Field(None, description="for tickets no form, mailbox or rule assigns one")
    response_targets: dict[Channel, dict[Priority, Duration]] = Field(
        default_factory=lambda: DEFAULT_RESPONSE_TARGETS,
        description="first-response targets in business time; missing entries take the defaults",
    )
    # "target": acknowledgements promise the response target. "measured": they promise the median
    # business time to a first answer over the last 7 days, once at least measured_min_samples
    # tickets were answered (the target until then).
    promise: Literal["target", "measured"] = "target"
    measured_min_samples: int = Field(20, ge=1, le=10_000)
    # Told to customers who write while the desk is closed, by language (the default language's
    # text stands in for a language without one). E.g. "For outages call +49 30 1234 5678."
    urgent_note: dict[str, str] = Field(default_factory=dict)

    @field_validator("response_targets")
    @classmethod
    def _targets(
        cls, targets: dict[Channel, dict[Priority, timedelta]]
    ) -> dict[Channel, dict[Priority, timedelta]]:
        validate_targets(targets)
        return targets

    @field_validator("urgent_note")
    @classmethod
    def _notes(cls, notes: dict[str, str]) -> dict[str, str]:
        for language, note in notes.items():
            if len(note) > 500:
                raise ValueError(f"urgent_note.{language}: use 500 characters or fewer")
        return {language.lower(): note.strip() for language, note in notes.items()}

    @model_validator(mode="after")
    def _default_exists(self) -> HoursSettings:
        if self.default_calendar is not None and self.default_calendar not in self.calendars:
            raise ValueError(f"default_calendar {self.default_calendar!r} is not one of hours.calendars")
        if self.default_calendar is None and len(self.calendars) > 1:
            raise ValueError("with several calendars, name the default_calendar")
        return self

    def calendar_name(self, wanted: str | None) -> str | None:
        """The calendar a ticket follows: the one asked for, else the default (or the only one)."""
        if wanted:
            return wanted
        return self.default_calendar or next(iter(self.calendars), None)

    def calendar(self, name: str | None) -> BusinessCalendar | None:
        """The named calendar; None (always open) when there is none by that name."""
        return self.calendars.get(name) if name else None
