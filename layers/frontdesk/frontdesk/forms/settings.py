"""The [forms] section of the settings: the website support forms, by id."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator

from frontdesk.tickets.model import Priority


class FormSettings(BaseModel):
    """One website support form, served at /forms/<id>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The page's heading and introduction by language; a language without its own text gets
    # Frontdesk's translated defaults ("Contact support"...).
    title: dict[str, str] = Field(default_factory=dict)
    intro: dict[str, str] = Field(default_factory=dict)
    queue: str = "general"
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    calendar: str | None = Field(None, description="the business calendar of this form's tickets")
    max_custom_fields: int = Field(20, ge=0, le=50)


class FormsSettings(RootModel[dict[str, FormSettings]]):
    model_config = ConfigDict(frozen=True)

    @field_validator("root")
    @classmethod
    def _form_ids(cls, forms: dict[str, FormSettings]) -> dict[str, FormSettings]:
        for form_id in forms:
            if not form_id.replace("-", "").replace("_", "").isalnum() or len(form_id) > 64:
                raise ValueError(f"form id {form_id!r}: use letters, digits, '-' and '_' only")
        return forms
