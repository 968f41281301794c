"""Settings: defaults, a configuration document (file or SSM parameter), then the environment."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from frontdesk.config import FormSettings, Settings, load_settings, read_config_file
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
    assert settings.first_response_hours[Channel.CHAT] == 0.25


def test_the_default_has_a_contact_form(config_file):
    settings = load_settings(config_file())

    assert list(settings.forms) == ["contact"]
    assert settings.forms["contact"] == FormSettings()
    assert settings.forms["contact"].title == "Contact support"
    assert settings.forms["contact"].max_custom_fields == 20


def test_the_file_sets_values_and_forms(config_file):
    environ = config_file(
        MINIMAL_TOML
        + 'desk_name = "Acme Help"\nreference_prefix = "ACME"\n'
        + '[forms.billing]\ntitle = "Billing"\nqueue = "billing"\npriority = "high"\ntags = ["money"]\n'
    )

    settings = load_settings(environ)

    assert settings.desk_name == "Acme Help"
    assert settings.reference_prefix == "ACME"
    assert settings.forms == {
        "billing": FormSettings(title="Billing", queue="billing", priority=Priority.HIGH, tags=("money",))
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
    ],
)
def test_bad_settings_are_refused(config_file, text: str):
    with pytest.raises(ValidationError):
        load_settings(config_file(text))


def test_a_bad_value_from_the_environment_is_refused(config_file):
    with pytest.raises(ValidationError):
        load_settings({**config_file(), "FRONTDESK_SENDER_ADDRESS": "nobody"})


def test_the_table_name_is_required():
    with pytest.raises(ValidationError):
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
    asked: list[str] = []
    document = {"sender_address": "help@example.com", "support_domain": "example.com", "desk_name": "SSM"}

    def read_parameter(name: str) -> str:
        asked.append(name)
        return json.dumps(document)

    environ = {"FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config", "TICKETS_TABLE_NAME": "tickets"}

    # When
    settings = load_settings(environ, read_parameter=read_parameter)

    # Then
    assert asked == ["/frontdesk/prod/config"]
    assert settings.desk_name == "SSM"
    assert settings.sender_address == "help@example.com"


def test_the_environment_overrides_the_ssm_parameter():
    document = json.dumps({"sender_address": "help@example.com", "support_domain": "example.com"})
    environ = {
        "FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config",
        "TICKETS_TABLE_NAME": "tickets",
        "FRONTDESK_DESK_NAME": "Env",
    }

    assert load_settings(environ, read_parameter=lambda name: document).desk_name == "Env"


def test_a_bad_ssm_document_is_refused():
    document = json.dumps({"sender_address": "help@example.com", "support_domain": "x.com", "oops": True})
    environ = {"FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config", "TICKETS_TABLE_NAME": "tickets"}

    with pytest.raises(ValidationError):
        load_settings(environ, read_parameter=lambda name: document)


def test_the_file_wins_over_the_parameter(config_file):
    def must_not_be_called(name: str) -> str:
        raise AssertionError(f"read {name}")

    environ = {**config_file(), "FRONTDESK_CONFIG_PARAMETER": "/frontdesk/prod/config"}

    assert load_settings(environ, read_parameter=must_not_be_called).sender_address == "help@example.com"


def test_settings_are_frozen(config_file):
    settings = load_settings(config_file())

    with pytest.raises(ValidationError):
        settings.desk_name = "changed"  # type: ignore[misc]
    assert isinstance(settings, Settings)
