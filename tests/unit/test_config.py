"""Settings: defaults, a configuration document (file or SSM parameter), then the environment."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from frontdesk import config
from frontdesk.config import InvalidSettingsError, Settings, load_settings, read_config_file
from frontdesk.forms.settings import FormSettings
from frontdesk.hours.service_levels import DEFAULT_RESPONSE_TARGETS, response_target
from frontdesk.tickets.model import Channel, Priority

MINIMAL_TOML = 'sender_address = "help@example.com"\nsupport_domain = "support.example.com"\n'


@pytest.fixture
def config_file(tmp_path: Path):
    def write(text: str = MINIMAL_TOML, name: str = "frontdesk.toml") -> dict[str, str]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return {"FRONTDESK_CONFIG_FILE": str(path), "TICKETS_TABLE_NAME": "frontdesk-tickets"}

    return write


def test_a_minimal_file_gets_the_defaults(config_file):
    settings = load_settings(config_file())

    assert settings.sender_address == "help@example.com"
    assert settings.support_domain == "support.example.com"
    assert settings.tickets_table_name == "frontdesk-tickets"
    assert settings.desk_name == "Frontdesk Support"
    assert settings.default_language == "en"
    assert settings.reference_prefix == "FD"
    assert settings.aws_region == "us-east-1"
    assert settings.max_message_chars == 20_000
    assert settings.hours.response_targets[Channel.CHAT][Priority.NORMAL] == timedelta(minutes=15)
    assert settings.hours.calendars == {}  # always open until calendars are configured


def test_the_default_has_a_contact_form(config_file):
    settings = load_settings(config_file())

    assert list(settings.forms) == ["contact"]
    assert settings.forms["contact"] == FormSettings()
    assert settings.forms["contact"].title == {}  # the page's translated default heading
    assert settings.forms["contact"].intro == {}
    assert settings.forms["contact"].calendar is None
    assert settings.forms["contact"].max_custom_fields == 20


def test_the_file_sets_values_and_forms(config_file):
    environ = config_file(
        MINIMAL_TOML
        + 'desk_name = "Acme Help"\nreference_prefix = "ACME"\n'
        + '[forms.billing]\nqueue = "billing"\npriority = "high"\ntags = ["money"]\n'
        + '[forms.billing.title]\nen = "Billing"\nru = "Оплата"\n'
        + '[forms.billing.intro]\nen = "Questions about invoices."\n'
    )

    settings = load_settings(environ)

    assert settings.desk_name == "Acme Help"
    assert settings.reference_prefix == "ACME"
    assert settings.forms == {
        "billing": FormSettings(
            title={"en": "Billing", "ru": "Оплата"},
            intro={"en": "Questions about invoices."},
            queue="billing",
            priority=Priority.HIGH,
            tags=("money",),
        )
    }


def test_the_environment_overrides_the_file(config_file):
    environ = config_file(MINIMAL_TOML + 'desk_name = "From the file"\n')

    settings = load_settings({**environ, "FRONTDESK_DESK_NAME": "From the environment"})

    assert settings.desk_name == "From the environment"


def test_numbers_and_optional_strings_come_from_the_environment_too(config_file):
    settings = load_settings(
        {
            **config_file(),
            "FRONTDESK_MAX_MESSAGE_CHARS": "5000",
            "FRONTDESK_SES_CONFIGURATION_SET": "frontdesk",
            "AWS_REGION": "eu-west-1",
        }
    )

    assert settings.max_message_chars == 5000
    assert settings.ses_configuration_set == "frontdesk"
    assert settings.aws_region == "eu-west-1"


def test_unrelated_and_structured_variables_are_ignored(config_file):
    settings = load_settings(
        {**config_file(), "FRONTDESK_FORMS": "nonsense", "HOME": "/root", "DESK_NAME": "x"}
    )

    assert list(settings.forms) == ["contact"]
    assert settings.desk_name == "Frontdesk Support"


def test_the_sender_address_is_normalised(config_file):
    environ = config_file('sender_address = "Help@Example.COM"\nsupport_domain = "example.com"\n')

    assert load_settings(environ).sender_address == "Help@example.com"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('sender_address = "not-an-address"\nsupport_domain = "example.com"\n', id="bad-sender"),
        pytest.param('sender_address = "help@"\nsupport_domain = "example.com"\n', id="sender-no-domain"),
        pytest.param('support_domain = "example.com"\n', id="no-sender"),
        pytest.param(MINIMAL_TOML + "unknown_setting = 1\n", id="unknown-key"),
        pytest.param(MINIMAL_TOML + 'reference_prefix = "fd"\n', id="lower-case-prefix"),
        pytest.param(MINIMAL_TOML + 'desk_name = ""\n', id="empty-desk-name"),
        pytest.param(MINIMAL_TOML + "max_message_chars = 10\n", id="message-limit-too-small"),
        pytest.param(MINIMAL_TOML + '[forms."bad id!"]\n', id="bad-form-id"),
        pytest.param(MINIMAL_TOML + "[forms.contact]\ncolour = 1\n", id="unknown-form-key"),
        pytest.param(MINIMAL_TOML + "[forms.contact]\nmax_custom_fields = 51\n", id="too-many-custom"),
        pytest.param(MINIMAL_TOML + '[forms.contact]\npriority = "whenever"\n', id="bad-priority"),
        pytest.param(MINIMAL_TOML + '[forms.contact]\ntitle = "Contact"\n', id="title-not-by-language"),
        pytest.param(MINIMAL_TOML + "first_response_hours = { email = 24 }\n", id="removed-setting"),
        pytest.param(MINIMAL_TOML + "[hours]\ncolour = 1\n", id="unknown-hours-key"),
        pytest.param(MINIMAL_TOML + "[triage]\ncolour = 1\n", id="unknown-triage-key"),
    ],
)
def test_bad_settings_are_refused(config_file, text: str):
    with pytest.raises(InvalidSettingsError):
        load_settings(config_file(text))


def test_a_bad_value_from_the_environment_is_refused(config_file):
    with pytest.raises(InvalidSettingsError):
        load_settings({**config_file(), "FRONTDESK_SENDER_ADDRESS": "nobody"})


def test_the_table_name_is_required():
    with pytest.raises(InvalidSettingsError):
        load_settings({"FRONTDESK_SENDER_ADDRESS": "help@example.com", "FRONTDESK_SUPPORT_DOMAIN": "x.com"})


@pytest.mark.parametrize(
    ("region", "domain"),
    [
        ("us-east-1", "email.amazonses.com"),
        ("eu-west-1", "eu-west-1.amazonses.com"),
        ("ap-southeast-2", "ap-southeast-2.amazonses.com"),
    ],
)
def test_the_message_id_domain_follows_the_region(config_file, region: str, domain: str):
    assert load_settings({**config_file(), "AWS_REGION": region}).message_id_domain == domain


def test_the_message_id_domain_defaults_to_us_east_1(config_file):
    assert load_settings(config_file()).message_id_domain == "email.amazonses.com"


def test_an_explicit_message_id_domain_wins(config_file):
    environ = {**config_file(), "AWS_REGION": "eu-west-1", "FRONTDESK_SES_MESSAGE_ID_DOMAIN": "mail.example"}

    assert load_settings(environ).message_id_domain == "mail.example"


def test_a_json_file_works_like_a_toml_file(config_file):
    document = {"sender_address": "help@example.com", "support_domain": "example.com", "desk_name": "JSON"}
    environ = config_file(json.dumps(document), name="frontdesk.json")

    assert load_settings(environ).desk_name == "JSON"


def test_a_json_file_that_is_not_an_object_is_refused(tmp_path: Path):
    path = tmp_path / "frontdesk.json"
    path.write_text("[1, 2]", encoding="utf-8")

    with pytest.raises(ValueError, match="must be a table/object"):
        read_config_file(path)


def test_settings_from_an_ssm_parameter():
    # Given
    asked: list[list[str]] = []
    document = {"sender_address": "help@example.com", "support_domain": "example.com", "desk_name": "SSM"}

    def read_parameters(names: list[str]) -> dict[str, str]:
        asked.append(names)
        return {"/frontdesk/prod/config": json.dumps(document)}

    environ = {"FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config", "TICKETS_TABLE_NAME": "tickets"}

    # When
    settings = load_settings(environ, read_parameters=read_parameters)

    # Then
    assert asked == [["/frontdesk/prod/config"]]
    assert settings.desk_name == "SSM"
    assert settings.sender_address == "help@example.com"


def test_the_environment_overrides_the_ssm_parameter():
    document = json.dumps({"sender_address": "help@example.com", "support_domain": "example.com"})
    environ = {
        "FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config",
        "TICKETS_TABLE_NAME": "tickets",
        "FRONTDESK_DESK_NAME": "Env",
    }

    assert load_settings(environ, read_parameters=lambda names: {names[0]: document}).desk_name == "Env"


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"sender_address": "help@example.com", "oops": True}, id="unknown-key"),
        pytest.param({"sender_address": "nope"}, id="bad-sender"),
    ],
)
def test_a_bad_ssm_document_is_refused(fields: dict[str, Any]):
    document = json.dumps({"support_domain": "x.com", **fields})
    environ = {"FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config", "TICKETS_TABLE_NAME": "tickets"}

    with pytest.raises(InvalidSettingsError):
        load_settings(environ, read_parameters=lambda names: {names[0]: document})


def test_the_file_wins_over_the_parameter(config_file):
    def must_not_be_called(names: list[str]) -> dict[str, str]:
        raise AssertionError(f"read {names}")

    environ = {**config_file(), "FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config"}

    assert load_settings(environ, read_parameters=must_not_be_called).sender_address == "help@example.com"


CALENDARS = {"office": {"time_zone": "Europe/Berlin", "weekly": {"monday": ["09:00-17:00"]}}}
PARAMETER_ENVIRON = {
    "FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config",
    "FRONTDESK_CALENDARS_PARAMETER": "/frontdesk/prod/calendars",
    "TICKETS_TABLE_NAME": "tickets",
}


def test_calendars_come_from_their_own_parameter_in_the_same_call():
    calls: list[list[str]] = []
    document = {"sender_address": "help@example.com", "support_domain": "x.com"}
    document["hours"] = {"default_calendar": "office"}  # type: ignore[assignment]

    def read(names: list[str]) -> dict[str, str]:
        calls.append(names)
        return {
            "/frontdesk/prod/config": json.dumps(document),
            "/frontdesk/prod/calendars": json.dumps(CALENDARS),
        }

    settings = load_settings(PARAMETER_ENVIRON, read_parameters=read)

    assert calls == [["/frontdesk/prod/config", "/frontdesk/prod/calendars"]]
    assert settings.hours.calendars["office"].time_zone == "Europe/Berlin"
    assert settings.hours.default_calendar == "office"


@pytest.mark.parametrize(
    ("config", "calendars", "message"),
    [
        pytest.param(
            {"hours": {"calendars": CALENDARS}},
            CALENDARS,
            "hours.calendars is in the configuration",
            id="both",
        ),
        pytest.param({}, ["office"], "must be a JSON object", id="not-an-object"),
    ],
)
def test_a_calendars_parameter_that_cannot_be_used_is_refused(
    config: dict[str, Any], calendars: Any, message
):
    document = {"sender_address": "help@example.com", "support_domain": "x.com", **config}

    def read(names: list[str]) -> dict[str, str]:
        return {
            "/frontdesk/prod/config": json.dumps(document),
            "/frontdesk/prod/calendars": json.dumps(calendars),
        }

    with pytest.raises(ValueError, match=message):
        load_settings(PARAMETER_ENVIRON, read_parameters=read)


def test_a_parameter_that_is_not_json_is_refused_with_its_name():
    with pytest.raises(ValueError, match=r"/frontdesk/prod/config: not JSON"):
        load_settings(PARAMETER_ENVIRON, read_parameters=lambda names: dict.fromkeys(names, "{oops"))


def test_settings_are_read_again_once_older_than_their_max_age(config_file, monkeypatch):
    environ = config_file('sender_address = "help@example.com"\nsupport_domain = "one.example.com"\n')
    for name, value in {**environ, "FRONTDESK_SETTINGS_MAX_AGE": "60"}.items():
        monkeypatch.setenv(name, value)
    clock = [1000.0]
    settings = config._RefreshingSettings(clock=lambda: clock[0])
    assert settings().support_domain == "one.example.com"

    Path(environ["FRONTDESK_CONFIG_FILE"]).write_text(
        'sender_address = "help@example.com"\nsupport_domain = "two.example.com"\n', encoding="utf-8"
    )
    clock[0] += 59
    assert settings().support_domain == "one.example.com"
    clock[0] += 1
    assert settings().support_domain == "two.example.com"


def test_a_failed_refresh_keeps_the_last_good_settings(config_file, monkeypatch, caplog):
    environ = config_file()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    clock = [1000.0]
    settings = config._RefreshingSettings(clock=lambda: clock[0])
    first = settings()

    Path(environ["FRONTDESK_CONFIG_FILE"]).write_text('sender_address = "not an address"\n', encoding="utf-8")
    clock[0] += config.DEFAULT_SETTINGS_MAX_AGE_SECONDS

    assert settings() is first
    assert "settings_refresh_failed" in caplog.text


def test_a_refused_configuration_names_the_fields_but_never_their_values():
    secret = "a-chat-secret-under-a-misspelt-key"
    document = {
        "sender_address": "help@example.com",
        "support_domain": "x.com",
        "chat": {"providers": {"slack": {"signing_secrett": secret}}},
        "max_message_chars": "twenty-thousand-and-one",
    }

    with pytest.raises(InvalidSettingsError) as refused:
        load_settings(
            PARAMETER_ENVIRON | {"FRONTDESK_CALENDARS_PARAMETER": ""},
            read_parameters=lambda names: {names[0]: json.dumps(document)},
        )

    message = str(refused.value)
    assert "chat.providers.slack.signing_secrett: Extra inputs are not permitted" in message
    assert "max_message_chars: Input should be a valid integer" in message
    assert secret not in message and "twenty-thousand" not in message


def test_settings_are_frozen(config_file):
    settings = load_settings(config_file())

    with pytest.raises(ValidationError):
        settings.desk_name = "changed"  # type: ignore[misc]
    assert isinstance(settings, Settings)


# -- hours: calendars, response targets, the urgent note --------------------------------------------

OFFICE = """
[hours.calendars.office]
time_zone = "Europe/Berlin"
[hours.calendars.office.weekly]
monday = ["09:00-17:00"]
friday = ["09:00-16:00"]
"""
TEHRAN = """
[hours.calendars.tehran]
time_zone = "Asia/Tehran"
[hours.calendars.tehran.weekly]
saturday = ["08:00-16:00"]
"""


def test_calendars_targets_and_the_urgent_note_come_from_the_file(config_file):
    environ = config_file(
        MINIMAL_TOML
        + '[forms.contact]\ncalendar = "tehran"\n'
        + '[email.mailboxes."Billing@Example.com"]\ncalendar = "office"\n'
        + '[hours]\ndefault_calendar = "office"\n'
        + '[hours.urgent_note]\nEN = "  Call +49 30 1234 5678.  "\nru = "Звоните."\n'
        + '[hours.response_targets.email]\nurgent = "15m"\nhigh = "1h30m"\nnormal = "3d"\nlow = "PT50H"\n'
        + OFFICE
        + TEHRAN
    )

    hours = load_settings(environ).hours

    assert set(hours.calendars) == {"office", "tehran"}
    assert hours.calendars["office"].time_zone == "Europe/Berlin"
    assert hours.default_calendar == "office"
    assert hours.urgent_note == {"en": "Call +49 30 1234 5678.", "ru": "Звоните."}
    assert hours.response_targets[Channel.EMAIL] == {
        Priority.URGENT: timedelta(minutes=15),
        Priority.HIGH: timedelta(hours=1, minutes=30),
        Priority.NORMAL: timedelta(days=3),
        Priority.LOW: timedelta(hours=50),
    }
    assert hours.promise == "target"
    settings = load_settings(environ)
    assert settings.forms["contact"].calendar == "tehran"
    assert settings.email.mailboxes["billing@example.com"].calendar == "office"


def test_the_default_response_targets_cover_every_channel_and_priority(config_file):
    targets = load_settings(config_file()).hours.response_targets

    assert targets == DEFAULT_RESPONSE_TARGETS
    assert {channel: set(by_priority) for channel, by_priority in targets.items()} == {
        channel: set(Priority) for channel in Channel
    }
    assert targets[Channel.SOCIAL][Priority.NORMAL] == timedelta(hours=2)
    assert targets[Channel.WEB_FORM][Priority.NORMAL] == timedelta(hours=24)


def test_a_target_left_out_keeps_its_default(config_file):
    environ = config_file(MINIMAL_TOML + '[hours.response_targets.email]\nhigh = "2h"\n')

    targets = load_settings(environ).hours.response_targets

    assert response_target(targets, Channel.EMAIL, Priority.HIGH) == timedelta(hours=2)
    assert response_target(targets, Channel.EMAIL, Priority.NORMAL) == timedelta(hours=24)
    assert response_target(targets, Channel.CHAT, Priority.NORMAL) == timedelta(minutes=15)


def test_one_calendar_is_the_default_without_being_named(config_file):
    hours = load_settings(config_file(MINIMAL_TOML + OFFICE)).hours

    assert hours.default_calendar is None
    assert hours.calendar_name(None) == "office"
    assert hours.calendar_name("") == "office"
    assert hours.calendar(hours.calendar_name(None)) is hours.calendars["office"]


def test_a_calendar_asked_for_wins_over_the_default(config_file):
    hours = load_settings(
        config_file(MINIMAL_TOML + '[hours]\ndefault_calendar = "office"\n' + OFFICE + TEHRAN)
    ).hours

    assert hours.calendar_name("tehran") == "tehran"
    assert hours.calendar_name(None) == "office"


def test_without_calendars_the_desk_is_always_open(config_file):
    hours = load_settings(config_file()).hours

    assert hours.calendar_name(None) is None
    assert hours.calendar(None) is None
    assert hours.calendar("office") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            '[hours]\ndefault_calendar = "nowhere"\n' + OFFICE,
            "default_calendar 'nowhere' is not one of hours.calendars",
            id="unknown-default",
        ),
        pytest.param(OFFICE + TEHRAN, "with several calendars, name the default_calendar", id="no-default"),
        pytest.param(
            '[forms.contact]\ncalendar = "nowhere"\n' + OFFICE,
            "forms.contact.calendar: 'nowhere' is not one of hours.calendars",
            id="form-calendar",
        ),
        pytest.param(
            '[email.mailboxes."billing@example.com"]\ncalendar = "nowhere"\n',
            "email.mailboxes.billing@example.com.calendar: 'nowhere' is not one of hours.calendars",
            id="mailbox-calendar",
        ),
        pytest.param(
            '[[triage.rules]]\nname = "vip"\nsources = ["contact"]\ncalendar = "nowhere"\n',
            "triage.rules['vip'].calendar: 'nowhere' is not one of hours.calendars",
            id="rule-calendar",
        ),
        pytest.param(
            '[hours.response_targets.email]\nhigh = "0m"\n',
            "response_targets.email.high: must be longer than zero",
            id="zero-target",
        ),
        pytest.param(
            '[hours.response_targets.chat]\nlow = "61d"\n',
            "response_targets.chat.low: must be at most 60 days",
            id="target-too-long",
        ),
        pytest.param(
            '[hours.response_targets.email]\nhigh = "soon"\n', "duration", id="target-not-a-duration"
        ),
        pytest.param('[hours.response_targets.fax]\nhigh = "1h"\n', "fax", id="unknown-channel"),
        pytest.param(
            '[hours.urgent_note]\nen = "' + "x" * 501 + '"\n',
            "urgent_note.en: use 500 characters or fewer",
            id="long-urgent-note",
        ),
        pytest.param(
            '[hours.calendars.moon]\ntime_zone = "Moon/Base"\nweekly = {}\n',
            "unknown time zone 'Moon/Base'",
            id="bad-time-zone",
        ),
        pytest.param('[hours]\npromise = "hopeful"\n', "promise", id="bad-promise"),
    ],
)
def test_bad_hours_are_refused_with_a_message_that_says_where(config_file, text: str, message: str):
    with pytest.raises(InvalidSettingsError, match=re.escape(message)):
        load_settings(config_file(MINIMAL_TOML + text))


# -- triage ------------------------------------------------------------------------------------------


def test_triage_rules_come_from_the_file_in_order(config_file):
    environ = config_file(
        MINIMAL_TOML
        + '[triage]\nurgent_words = ["sofort"]\nurgent_words_tag = "eilig"\n'
        + '[[triage.rules]]\nname = "outage"\nkeywords = ["outage", "down"]\npriority = "urgent"\n'
        + 'queue = "incidents"\n'
        + '[[triage.rules]]\nname = "russian"\nlanguages = ["ru"]\ntags = ["ru-desk"]\n'
    )

    triage = load_settings(environ).triage

    assert [rule.name for rule in triage.rules] == ["outage", "russian"]
    assert triage.rules[0].keywords == ("outage", "down")
    assert triage.rules[0].priority is Priority.URGENT
    assert triage.rules[0].queue == "incidents"
    assert triage.rules[1].languages == ("ru",)
    assert triage.urgent_words == ("sofort",)
    assert triage.urgent_words_tag == "eilig"


def test_by_default_there_are_no_rules_but_urgent_words(config_file):
    triage = load_settings(config_file()).triage

    assert triage.rules == ()
    assert "urgent" in triage.urgent_words
    assert triage.urgent_words_priority is Priority.HIGH


def test_a_bad_triage_rule_fails_the_load(config_file):
    environ = config_file(MINIMAL_TOML + '[[triage.rules]]\nname = "broken"\npatterns = ["("]\nqueue = "x"\n')

    with pytest.raises(
        InvalidSettingsError, match=re.escape("pattern '(' is not a valid regular expression")
    ):
        load_settings(environ)


BAD_CHAT = '\n[chat.providers.slack]\nsigning_secret = "short"\n'
OFFICE_HOURS = (
    '\n[hours.calendars.office]\ntime_zone = "Europe/Berlin"\nholidays = {country = "DE"}\n'
    '[hours.calendars.office.weekly]\nmonday = ["09:00-17:00"]\n'
)


def test_a_function_validates_only_the_sections_it_reads(config_file):
    settings = load_settings(config_file(MINIMAL_TOML + BAD_CHAT), sections=())

    assert settings.sections_in_use() == []
    assert settings.surveys.enabled is False
    assert settings.sections_in_use() == ["surveys"]
    assert settings.forms["contact"] == FormSettings()
    assert settings.sections_in_use() == ["forms", "surveys"]
    with pytest.raises(InvalidSettingsError, match=r"chat\.providers\.slack\.signing_secret: Value error"):
        settings.chat  # noqa: B018 (the access validates it)


def test_every_section_is_validated_when_none_are_named(config_file):
    with pytest.raises(InvalidSettingsError, match=r"chat\.providers\.slack\.signing_secret"):
        load_settings(config_file(MINIMAL_TOML + BAD_CHAT))


def test_a_calendar_name_is_checked_without_building_the_sections(config_file):
    text = (
        MINIMAL_TOML
        + OFFICE_HOURS
        + '\n[chat.providers.slack]\nsigning_secret = "s3cret-s3cret"\ncalendar = "ofice"\n'
    )

    with pytest.raises(InvalidSettingsError, match=r"chat\.providers\.slack\.calendar: 'ofice' is not one"):
        load_settings(config_file(text), sections=())


def test_loading_settings_lazily_imports_no_calendar_and_no_holidays(config_file):
    # In a fresh interpreter: this one has long imported both.
    environ = config_file(MINIMAL_TOML + OFFICE_HOURS)
    code = (
        "import os, sys\nfrom frontdesk.config import load_settings\n"
        "settings = load_settings(os.environ, sections=())\nsettings.surveys\n"
        "print(sorted(m for m in sys.modules if m.startswith(('holidays', 'frontdesk.hours.calendar'))))\n"
        "settings.hours.calendar('office')\n"
        "print('holidays' in sys.modules)\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **environ},
        capture_output=True,
        text=True,
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ["[]", "True"]


def test_a_refresh_checks_the_sections_in_use_at_once(config_file, monkeypatch, caplog):
    environ = config_file(MINIMAL_TOML)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    clock = [1000.0]
    settings = config._RefreshingSettings(clock=lambda: clock[0])
    first = settings()
    assert first.email.reopen_window_days == 14  # this function reads the email section

    path = Path(environ["FRONTDESK_CONFIG_FILE"])
    path.write_text(MINIMAL_TOML + "\n[email]\nreopen_window_days = -1\n", encoding="utf-8")
    clock[0] += config.DEFAULT_SETTINGS_MAX_AGE_SECONDS
    assert settings() is first
    assert "settings_refresh_failed" in caplog.text

    # A bad edit to a section this function never reads is not its concern.
    path.write_text(MINIMAL_TOML + 'desk_name = "Edited"\n' + BAD_CHAT, encoding="utf-8")
    clock[0] += config.DEFAULT_SETTINGS_MAX_AGE_SECONDS
    assert settings().desk_name == "Edited"


def test_a_section_replaced_in_a_copy_is_the_new_one(config_file):
    settings = load_settings(config_file())
    assert settings.email.reopen_window_days == 14

    copied = settings.with_sections(email={"reopen_window_days": 3})

    assert copied.email.reopen_window_days == 3
    assert settings.email.reopen_window_days == 14


def test_a_section_as_written_never_shows_its_secrets(config_file):
    secret = "a-slack-signing-secret-in-the-document"
    text = MINIMAL_TOML + f'\n[chat.providers.slack]\nsigning_secret = "{secret}"\n'
    settings = load_settings(config_file(text), sections=())

    assert secret not in repr(settings)
    assert secret not in str(settings.model_dump())
    assert secret not in repr(settings.chat)  # the model holds it as a SecretStr
    assert settings.chat.providers["slack"].signing_secret.get_secret_value() == secret
