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
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from frontdesk.hours.calendar import BusinessCalendar
from frontdesk.hours.service_levels import DEFAULT_RESPONSE_TARGETS, Duration, validate_targets
from frontdesk.mail.addresses import InvalidAddressError, mailbox_key, normalized_address
from frontdesk.tickets.model import Channel, Priority
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


class MailboxSettings(BaseModel):
    """An address customers write to (an SES receipt rule recipient) and where its mail goes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str = "general"
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    calendar: str | None = Field(None, description="the business calendar of this mailbox's tickets")


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


class ChatProviderSettings(BaseModel):
    """One chat platform Frontdesk takes webhooks from, at POST /chat/<provider>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # What its requests are signed with: generic, the shared HMAC key; telegram, the
    # setWebhook secret_token; slack, the signing secret; meta, the app secret; twilio, the
    # account's auth token.
    signing_secret: SecretStr
    verify_token: SecretStr | None = Field(None, description="meta: the token of its GET handshake")
    # slack, meta and telegram answer through the platform's API: a bot token (xoxb-...), a page
    # or system-user access token, the Bot API token (123456:ABC...); and where the API is
    # (defaults to the platform's own). twilio needs no token: its auth token is signing_secret,
    # and the account is the one the customer's message came through.
    api_token: SecretStr | None = None
    api_base_url: str | None = Field(None, pattern=r"^https?://[^\s]+$")
    # generic: where agents' replies are POSTed, signed like the webhooks it sends us. Unset:
    # its tickets take notes only.
    callback_url: str | None = Field(None, max_length=2048)
    queue: str = "general"
    priority: Priority = Priority.NORMAL
    tags: tuple[str, ...] = ()
    calendar: str | None = None

    @field_validator("signing_secret")
    @classmethod
    def _not_empty(cls, secret: SecretStr) -> SecretStr:
        if len(secret.get_secret_value()) < 8:
            raise ValueError("use at least 8 characters")
        return secret

    @field_validator("callback_url")
    @classmethod
    def _https_or_local(cls, url: str | None) -> str | None:
        # Imported here: only configurations with a callback need them.
        import ipaddress
        from urllib.parse import urlsplit

        if url is None:
            return None
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            _ = parts.port  # raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("must be an https:// URL") from None
        if any(character.isspace() for character in url) or not host or parts.username is not None:
            raise ValueError("must be an https:// URL with a host (and no user or password)")
        if parts.scheme == "https":
            return url
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host == "localhost" or host.endswith(".localhost")
        if parts.scheme == "http" and loopback:
            return url  # a receiver on this machine (the local stack, tests)
        raise ValueError("must be an https:// URL (http:// only for localhost)")


class ChatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    providers: dict[str, ChatProviderSettings] = Field(
        default_factory=dict, description="by provider: generic, telegram, slack, meta, twilio"
    )
    # The public URL the API is reached at (a custom domain, say), for checking Twilio's
    # signature, which covers the URL as Twilio called it. Unset: rebuilt from the request.
    public_base_url: str | None = None

    @field_validator("providers")
    @classmethod
    def _known(cls, providers: dict[str, ChatProviderSettings]) -> dict[str, ChatProviderSettings]:
        known = {"generic", "telegram", "slack", "meta", "twilio"}
        for name in providers:
            if name not in known:
                raise ValueError(f"unknown chat provider {name!r}: use one of {', '.join(sorted(known))}")
        return providers


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


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    desk_name: str = Field("Frontdesk Support", min_length=1, max_length=80)
    sender_address: str = Field(description="From address of every email Frontdesk sends")
    support_domain: str = Field(description="the domain customers write to, e.g. support.example.com")
    default_language: str = "en"
    reference_prefix: str = Field("FD", pattern=r"^[A-Z]{1,6}$")
    forms: dict[str, FormSettings] = Field(default_factory=lambda: {"contact": FormSettings()})
    hours: HoursSettings = Field(default_factory=HoursSettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    chat: ChatSettings = Field(default_factory=ChatSettings)
    surveys: SurveySettings = Field(default_factory=SurveySettings)
    max_form_body_bytes: int = Field(64 * 1024, ge=1024, le=6 * 1024 * 1024)
    # New tickets one network (an IPv4 address, an IPv6 /64) may open through forms in an hour;
    # more get 429. Counted in the ticket's own transaction, so it costs no extra call.
    max_form_tickets_per_network_per_hour: int = Field(30, ge=1, le=1_000_000)
    max_message_chars: int = Field(20_000, ge=100, le=100_000)
    idempotency_window_hours: int = Field(24, ge=1, le=24 * 30)
    email: EmailSettings = Field(default_factory=EmailSettings)
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

    @field_validator("forms")
    @classmethod
    def _form_ids(cls, forms: dict[str, FormSettings]) -> dict[str, FormSettings]:
        for form_id in forms:
            if not form_id.replace("-", "").replace("_", "").isalnum() or len(form_id) > 64:
                raise ValueError(f"form id {form_id!r}: use letters, digits, '-' and '_' only")
        return forms

    @model_validator(mode="after")
    def _calendars_exist(self) -> Settings:
        named = [(f"forms.{name}.calendar", form.calendar) for name, form in self.forms.items()]
        named += [
            (f"email.mailboxes.{name}.calendar", box.calendar) for name, box in self.email.mailboxes.items()
        ]
        named += [(f"triage.rules[{rule.name!r}].calendar", rule.calendar) for rule in self.triage.rules]
        named += [
            (f"chat.providers.{name}.calendar", chat.calendar) for name, chat in self.chat.providers.items()
        ]
        for where, calendar in named:
            if calendar is not None and calendar not in self.hours.calendars:
                raise ValueError(f"{where}: {calendar!r} is not one of hours.calendars")
        return self

    @property
    def message_id_domain(self) -> str:
        """SES replaces the Message-ID of sent mail with <id@this domain>."""
        from frontdesk.notify.mailer import ses_message_id_domain

        return self.ses_message_id_domain or ses_message_id_domain(self.aws_region)


def read_config_file(path: Path) -> dict[str, Any]:
    """A configuration document from a TOML or JSON file."""
    text = path.read_text(encoding="utf-8")
    document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
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
    environ: Mapping[str, str], read_parameters: Callable[[list[str]], dict[str, str]] | None = None
) -> Settings:
    """Build and validate the settings from a configuration document and the environment."""
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
    try:
        return Settings.model_validate({**document, **_environment_overrides(environ)})
    except ValidationError as error:
        # pydantic's own message quotes each rejected value, and the document holds secrets (a
        # misspelt "signing_secrett" would be printed whole): say where and what, never the value.
        raise InvalidSettingsError(error) from None


class InvalidSettingsError(ValueError):
    """A configuration that does not validate; its message names each field at fault and never
    the value found there (that may be a secret)."""

    def __init__(self, error: ValidationError) -> None:
        self.problems = [
            (".".join(str(part) for part in problem["loc"]) or "(document)", problem["msg"])
            for problem in error.errors(include_input=False, include_url=False)
        ]
        super().__init__(
            f"{len(self.problems)} invalid setting(s): "
            + "; ".join(f"{where}: {message}" for where, message in self.problems)
        )


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
    once they are older than FRONTDESK_SETTINGS_MAX_AGE seconds. A re-read that fails (the
    parameter unreachable, or edited into something invalid) is logged and the last good settings
    stay in use, so a bad edit never takes down functions that are already running."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._settings: Settings | None = None
        self._loaded_at = 0.0

    def __call__(self) -> Settings:
        now = self._clock()
        if self._settings is None:
            self._settings = load_settings(os.environ)
            self._loaded_at = now
        elif now - self._loaded_at >= _max_age(os.environ):
            self._loaded_at = now  # one attempt per period, even when it fails
            try:
                self._settings = load_settings(os.environ)
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
