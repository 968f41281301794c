"""`frontdesk check-config`: a configuration document validated as the functions read it from SSM."""

import json
import re
from pathlib import Path

import pytest

from frontdesk_tools.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def deploy_guide_example() -> str:
    """The configuration the deployment guide tells a newcomer to start from."""
    guide = README.read_text(encoding="utf-8").split("## Deploying to AWS", 1)[1]
    (example,) = re.findall(r"a minimal production document:\n\n```json\n(.*?)```", guide, re.S)
    assert isinstance(example, str)
    return example.replace("<openssl rand -base64 32>", "k" * 44).replace(
        "<openssl rand -base64 48>", "s" * 64
    )


def test_the_deploy_guides_example_configuration_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    document = tmp_path / "config.json"
    document.write_text(deploy_guide_example(), encoding="utf-8")

    assert main(["check-config", str(document)]) == 0
    assert "valid. Desk 'Example Support' sending as help@support.example.com" in capsys.readouterr().out


def test_each_problem_is_named_by_its_field_and_no_value_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    document = tmp_path / "config.json"
    secret = "short-secret"
    document.write_text(
        json.dumps(
            {
                "sender_address": "not an address",
                "support_domain": "support.example.com",
                "email": {"reply_address_key": secret},
                "colour": "blue",
            }
        ),
        encoding="utf-8",
    )

    assert main(["check-config", str(document)]) == 1
    errors = capsys.readouterr().err
    assert f"{document}: sender_address: " in errors
    assert f"{document}: email.reply_address_key: Value error, use at least 16 bytes" in errors
    assert f"{document}: colour: Extra inputs are not permitted" in errors
    assert secret not in errors and "not an address" not in errors


def test_calendars_are_checked_from_their_own_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    config = json.loads(deploy_guide_example())
    calendars = config.pop("hours")["calendars"]
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "calendars.json").write_text(json.dumps(calendars), encoding="utf-8")

    code = main(
        ["check-config", str(tmp_path / "config.json"), "--calendars", str(tmp_path / "calendars.json")]
    )

    assert code == 0
    assert "calendars: office" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("{oops", "config: not JSON", id="not-json"),
        pytest.param("[1, 2]", "must be a JSON object", id="not-an-object"),
    ],
)
def test_a_document_that_is_not_a_json_object_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
):
    (tmp_path / "config.json").write_text(text, encoding="utf-8")

    assert main(["check-config", str(tmp_path / "config.json")]) == 1
    assert message in capsys.readouterr().err


def test_a_missing_file_is_one_line_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["check-config", str(tmp_path / "nowhere.json")]) == 1
    assert capsys.readouterr().err.startswith("frontdesk check-config: ")
