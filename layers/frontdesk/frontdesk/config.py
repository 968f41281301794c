"""Frontdesk's settings: one validated model, loaded on first use and refreshed every few minutes.

Where the values come from, later sources winning:
1. the defaults below;
2. a configuration document: a TOML or JSON file named by FRONTDESK_CONFIG_FILE (the local
   stack, tools), or a JSON SSM parameter named by FRONTDESK_CONFIG_PARAMETER (AWS; SecureString
   when it holds secrets), with the business calendars optionally in a parameter of their own,
   FRONTDESK_CALENDARS_PARAMETER (both read in one call);
3. environment variables: FRONTDESK_<FIELD> for scalar settings, and the resource bindings the
   SAM template sets (TICKETS_TABLE_NAME, AWS_REGION).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from frontdesk.mail.addresses import InvalidAddressError, normalized_address

if TYPE_CHECKING:
    from frontdesk.chat.settings import ChatSettings
    from frontdesk.forms.settings import FormSettings
    from frontdesk.hours.settings import HoursSettings
    from frontdesk.mail.settings import EmailSettings
    from frontdesk.surveys.settings import SurveySettings
    from frontdesk.triage import TriageSettings

ENV_PREFIX = "FRONTDESK_"
CONFIG_FILE_VARIABLE = f"{ENV_PREFIX}CONFIG_FILE"
CONFIG_PARAMETER_VARIABLE = f"{ENV_PREFIX}CONFIG_PARAMETER"
CALENDARS_PARAMETER_VARIABLE = f"{ENV_PREFIX}CALENDARS_PARAMETER"
SETTINGS_MAX_AGE_VARIABLE = f"{ENV_PREFIX}SETTINGS_MAX_AGE"
# Long enough that reading the parameter costs nothing that matters, short enough that a changed
# configuration or a rotated secret reaches every warm function within minutes, without a deploy.
DEFAULT_SETTINGS_MAX_AGE_SECONDS = 300.0
_RESOURCE_BINDINGS = {
    "TICKETS_TABLE_NAME": "tickets_table_name",
    "MAIL_BUCKET_NAME": "mail_bucket_name",
    "RAW_MAIL_PREFIX": "raw_mail_prefix",
    "AWS_REGION": "aws_region",
    "PUBLIC_API_URL": "public_api_url",
    "EVENT_BUS_NAME": "event_bus_name",
    "SURVEY_SCHEDULE_GROUP": "survey_schedule_group",
    "SURVEY_SENDER_ARN": "survey_sender_arn",
    "SURVEY_SCHEDULER_ROLE_ARN": "survey_scheduler_role_arn",
}


# The sections a function may not need, by field name: each is checked as a table when the
# settings load and validated into its model on first use, so a function pays (in cold start) only
# for the sections it reads. A form function never builds the chat or survey models, no other
# function builds the forms', and the survey functions never import the business calendars and
# their holidays.
SECTIONS = ("forms", "hours", "triage", "email", "chat", "surveys")


def _section_document(value: object) -> object:
    # A table as written, or a section model already built (tests and tools build them).
    if isinstance(value, dict | BaseModel):
        return value
    raise ValueError("must be a table/object")


SectionDocument = Annotated[Any, AfterValidator(_section_document)]
# A section as written holds its secrets as plain strings (its model makes them SecretStr): never
# in a repr or a dump of the settings.
_UNSHOWN: dict[str, Any] = {"repr": False, "exclude": True}
SectionModel = TypeVar("SectionModel", bound=BaseModel)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    desk_name: str = Field("Frontdesk Support", min_length=1, max_length=80)
    sender_address: str = Field(description="From address of every email Frontdesk sends")
    support_domain: str = Field(description="the domain customers write to, e.g. support.example.com")
    default_language: str = "en"
    reference_prefix: str = Field("FD", pattern=r"^[A-Z]{1,6}$")
    forms_document: SectionDocument = Field(
        default_factory=lambda: {"contact": {}}, alias="forms", **_UNSHOWN
    )
    hours_document: SectionDocument = Field(default_factory=dict, alias="hours", **_UNSHOWN)
    triage_document: SectionDocument = Field(default_factory=dict, alias="triage", **_UNSHOWN)
    chat_document: SectionDocument = Field(default_factory=dict, alias="chat", **_UNSHOWN)
    surveys_document: SectionDocument = Field(default_factory=dict, alias="surveys", **_UNSHOWN)
    max_form_body_bytes: int = Field(64 * 1024, ge=1024, le=6 * 1024 * 1024)
    # New tickets one network (an IPv4 address, an IPv6 /64) may open through forms in an hour;
    # more get 429. Counted in the ticket's own transaction, so it costs no extra call.
    max_form_tickets_per_network_per_hour: int = Field(30, ge=1, le=1_000_000)
    max_message_chars: int = Field(20_000, ge=100, le=100_000)
    idempotency_window_hours: int = Field(24, ge=1, le=24 * 30)
    email_document: SectionDocument = Field(default_factory=dict, alias="email", **_UNSHOWN)
    ses_configuration_set: str | None = None
    ses_message_id_domain: str | None = Field(
        None, description="domain of the Message-ID SES gives sent mail; derived from the region if unset"
    )

    # resource bindings, set by the SAM template
    tickets_table_name: str = Field(min_length=3)
    mail_bucket_name: str | None = None
    raw_mail_prefix: str = "inbound/"
    aws_region: str = "us-east-1"
    public_api_url: str | None = None  # the HTTP API's base URL, for links in mail
    event_bus_name: str | None = None  # where ticket.created and the like go; unset: not published
    survey_schedule_group: str | None = None
    survey_sender_arn: str | None = None
    survey_scheduler_role_arn: str | None = None

    @field_validator("sender_address")
    @classmethod
    def _valid_sender(cls, value: str) -> str:
        try:
            return normalized_address(value)
        except InvalidAddressError as error:
            raise ValueError(str(error)) from error

    @model_validator(mode="after")
    def _calendars_exist(self) -> Settings:
        # Read from the sections as written, so that checking the names builds no section.
        calendars = _entries(self.hours_document, "calendars")
        forms = self.forms_document
        named: list[tuple[str, object]] = [
            (f"forms.{name}.calendar", _value(form, "calendar"))
            for name, form in (forms if isinstance(forms, dict) else getattr(forms, "root", {})).items()
        ]
        named += [
            (f"email.mailboxes.{name}.calendar", _value(box, "calendar"))
            for name, box in _entries(self.email_document, "mailboxes").items()
        ]
        rules = _value(self.triage_document, "rules")
        named += [
            (f"triage.rules[{_value(rule, 'name')!r}].calendar", _value(rule, "calendar"))
            for rule in (rules if isinstance(rules, list | tuple) else ())
        ]
        named += [
            (f"chat.providers.{name}.calendar", _value(chat, "calendar"))
            for name, chat in _entries(self.chat_document, "providers").items()
        ]
        for where, calendar in named:
            if isinstance(calendar, str) and calendar not in calendars:
                raise ValueError(f"{where}: {calendar!r} is not one of hours.calendars")
        return self

    @cached_property
    def forms(self) -> dict[str, FormSettings]:
        from frontdesk.forms.settings import FormsSettings

        return self._section("forms", FormsSettings).root

    @cached_property
    def hours(self) -> HoursSettings:
        from frontdesk.hours.settings import HoursSettings

        return self._section("hours", HoursSettings)

    @cached_property
    def triage(self) -> TriageSettings:
        from frontdesk.triage import TriageSettings

        return self._section("triage", TriageSettings)

    @cached_property
    def email(self) -> EmailSettings:
        from frontdesk.mail.settings import EmailSettings

        return self._section("email", EmailSettings)

    @cached_property
    def chat(self) -> ChatSettings:
        from frontdesk.chat.settings import ChatSettings

        return self._section("chat", ChatSettings)

    @cached_property
    def surveys(self) -> SurveySettings:
        from frontdesk.surveys.settings import SurveySettings

        return self._section("surveys", SurveySettings)

    def _section(self, name: str, model: type[SectionModel]) -> SectionModel:
        document = getattr(self, f"{name}_document")
        if isinstance(document, model):
            return document
        try:
            return model.model_validate(document)
        except ValidationError as error:
            raise InvalidSettingsError(_problems(error, section=name)) from None

    def section_problems(self, names: Iterable[str] = SECTIONS) -> list[tuple[str, str]]:
        """What is wrong in these sections (all by default), each validated now."""
        problems: list[tuple[str, str]] = []
        for name in names:
            try:
                getattr(self, name)
            except InvalidSettingsError as error:
                problems += error.problems
        return problems

    def check_sections(self, names: Iterable[str] = SECTIONS) -> Settings:
        """These settings, with these sections validated now (all by default)."""
        if problems := self.section_problems(names):
            raise InvalidSettingsError(problems)
        return self

    def sections_in_use(self) -> list[str]:
        """The sections validated so far: the ones this function reads."""
        return [name for name in SECTIONS if name in self.__dict__]

    def with_sections(self, **sections: BaseModel | dict[str, Any]) -> Settings:
        """A copy with these sections replaced (by name: hours, chat...), validated on first use."""
        copied = self.model_copy(update={f"{name}_document": value for name, value in sections.items()})
        for name in sections:
            copied.__dict__.pop(name, None)  # the copy must not keep the old section's cached model
        return copied

    @property
    def message_id_domain(self) -> str:
        """SES replaces the Message-ID of sent mail with <id@this domain>."""
        from frontdesk.notify.mailer import ses_message_id_domain

        return self.ses_message_id_domain or ses_message_id_domain(self.aws_region)


def _value(section: object, key: str) -> object:
    """A key of a section as written (a table) or already built (a model)."""
    if isinstance(section, dict):
        return section.get(key)
    return getattr(section, key, None)


def _entries(section: object, key: str) -> dict[Any, Any]:
    entries = _value(section, key)
    return entries if isinstance(entries, dict) else {}


def read_config_file(path: Path) -> dict[str, Any]:
    """A configuration document from a TOML or JSON file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        document = json.loads(text)
    else:
        import tomllib  # only configuration files are TOML; Lambda reads JSON from SSM

        document = tomllib.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: the configuration must be a table/object")
    return document


def _environment_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    scalar_fields = {
        name
        for name, field in Settings.model_fields.items()
        if field.annotation in (str, int, float, bool, str | None)
    }
    overrides: dict[str, Any] = {}
    for variable, value in environ.items():
        if variable.startswith(ENV_PREFIX):
            name = variable.removeprefix(ENV_PREFIX).lower()
            if name in scalar_fields:
                overrides[name] = value
    for variable, name in _RESOURCE_BINDINGS.items():
        if variable in environ:
            overrides[name] = environ[variable]
    return overrides


def load_settings(
    environ: Mapping[str, str],
    read_parameters: Callable[[list[str]], dict[str, str]] | None = None,
    *,
    sections: Iterable[str] = SECTIONS,
) -> Settings:
    """Build and validate the settings from a configuration document and the environment.

    `sections` are validated now (all by default); the others on first use."""
    document: dict[str, Any] = {}
    if config_file := environ.get(CONFIG_FILE_VARIABLE):
        document = read_config_file(Path(config_file))
    elif parameter := environ.get(CONFIG_PARAMETER_VARIABLE):
        if read_parameters is None:
            from frontdesk.aws import read_ssm_parameters

            read_parameters = read_ssm_parameters
        calendars_parameter = environ.get(CALENDARS_PARAMETER_VARIABLE)
        values = read_parameters([parameter, calendars_parameter] if calendars_parameter else [parameter])
        document = _json_object(parameter, values[parameter])
        if calendars_parameter:
            calendars = _json_object(calendars_parameter, values[calendars_parameter])
            document = _with_calendars(document, calendars)
    values = {**document, **_environment_overrides(environ)}
    try:
        settings = Settings.model_validate(values)
    except ValidationError as error:
        # Name the sections' problems too, so that one check lists everything to fix.
        written: dict[str, Any] = {
            f"{name}_document": values[name] for name in sections if isinstance(values.get(name), dict)
        }
        as_written = Settings.model_construct(**written)  # no validation: only its sections are read
        raise InvalidSettingsError(_problems(error) + as_written.section_problems(sections)) from None
    return settings.check_sections(sections)


class InvalidSettingsError(ValueError):
    """A configuration that does not validate; its message names each field at fault and never
    the value found there (that may be a secret)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__(
            f"{len(self.problems)} invalid setting(s): "
            + "; ".join(f"{where}: {message}" for where, message in self.problems)
        )


def _problems(error: ValidationError, section: str | None = None) -> list[tuple[str, str]]:
    """Where and what, never the value: pydantic's own message quotes each rejected value, and
    the document holds secrets (a misspelt "signing_secrett" would be printed whole)."""
    where = (section,) if section else ()
    return [
        (".".join(str(part) for part in (*where, *problem["loc"])) or "(document)", problem["msg"])
        for problem in error.errors(include_input=False, include_url=False)
    ]


def _json_object(parameter: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as error:
        raise ValueError(f"SSM parameter {parameter}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise ValueError(f"SSM parameter {parameter}: the configuration must be a JSON object")
    return value


def _with_calendars(document: dict[str, Any], calendars: dict[str, Any]) -> dict[str, Any]:
    """The document with hours.calendars taken from the calendars parameter (calendars by name)."""
    hours = document.get("hours", {})
    if not isinstance(hours, dict):
        return document  # validation names the problem
    if "calendars" in hours:
        raise ValueError(
            f"hours.calendars is in the configuration and {CALENDARS_PARAMETER_VARIABLE} is set: keep one"
        )
    return {**document, "hours": {**hours, "calendars": calendars}}


class _RefreshingSettings:
    """The settings of this execution environment: read on first use (not at import), then again
    once they are older than FRONTDESK_SETTINGS_MAX_AGE seconds. Sections are validated on first
    use; a re-read validates at once the sections this function has used. A re-read that fails (the
    parameter unreachable, or edited into something invalid) is logged and the last good settings
    stay in use, so a bad edit never takes down functions that are already running."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._settings: Settings | None = None
        self._loaded_at = 0.0

    def __call__(self) -> Settings:
        now = self._clock()
        if self._settings is None:
            self._settings = load_settings(os.environ, sections=())
            self._loaded_at = now
        elif now - self._loaded_at >= _max_age(os.environ):
            self._loaded_at = now  # one attempt per period, even when it fails
            try:
                self._settings = load_settings(os.environ, sections=self._settings.sections_in_use())
            except Exception as error:  # any failure: keep serving the last good settings
                from frontdesk.observability import logger

                logger.warning("settings_refresh_failed", extra={"error": type(error).__name__})
        return self._settings

    def cache_clear(self) -> None:
        """Forget the settings; the next call reads them again (tests)."""
        self._settings = None


def _max_age(environ: Mapping[str, str]) -> float:
    try:
        return float(environ.get(SETTINGS_MAX_AGE_VARIABLE) or DEFAULT_SETTINGS_MAX_AGE_SECONDS)
    except ValueError:
        return DEFAULT_SETTINGS_MAX_AGE_SECONDS


get_settings = _RefreshingSettings()
