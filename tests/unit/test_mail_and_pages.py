"""What Frontdesk writes: mail headers that cannot be injected, pages that escape everything."""

import base64
import hashlib
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from frontdesk.config import FormSettings, load_settings
from frontdesk.notify.email import OutgoingEmail, UnsafeHeaderError, mailbox
from frontdesk.rendering import render, render_page

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
ACK_CONTEXT = {
    "desk_name": "Desk",
    "reference": "FD-7K3M-Q9TX",
    "requester_name": HOSTILE,
    "subject": HOSTILE,
    "excerpt": HOSTILE,
    "promise": "24 hours",
    "lang": "fa",
}


def outgoing(subject: str = "Привет", name: str = "Олег Петров") -> OutgoingEmail:
    return OutgoingEmail(
        sender=mailbox("support@example.com", "Desk"),
        to=(mailbox("oleg@example.org", name),),
        subject=subject,
        text="text",
        html="<p>html</p>",
        language="ru",
        date=datetime(2026, 11, 23, tzinfo=UTC),
        auto_submitted="auto-replied",
    )


def test_unicode_headers_survive_the_round_trip():
    parsed = message_from_bytes(outgoing().to_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Привет"
    assert parsed["To"].addresses[0].display_name == "Олег Петров"
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["X-Auto-Response-Suppress"] == "All"
    assert parsed["Content-Language"] == "ru"
    assert parsed.get_body(("plain",)) is not None and parsed.get_body(("html",)) is not None


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: victim@example.com", "Hi\nX-Evil: 1"])
def test_a_subject_that_breaks_a_line_is_refused(subject: str):
    with pytest.raises(UnsafeHeaderError):
        outgoing(subject=subject).to_bytes()


def test_a_display_name_that_breaks_a_line_is_refused():
    with pytest.raises(UnsafeHeaderError):
        mailbox("a@example.org", "Eve\r\nBcc: x@example.com")
    with pytest.raises(UnsafeHeaderError):
        mailbox("no-at-sign")


def test_acknowledgement_html_escapes_customer_text_and_text_keeps_it():
    html = render("email/acknowledgement.html.j2", **ACK_CONTEXT)
    text = render("email/acknowledgement.txt.j2", **ACK_CONTEXT)
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'dir="rtl"' in html
    assert "<script>alert(1)</script>" in text


def test_a_missing_variable_fails_loudly():
    with pytest.raises(UndefinedError):
        render("email/acknowledgement.txt.j2", desk_name="Desk")


def test_pages_escape_values_and_allow_only_their_own_stylesheet():
    page = render_page(
        "pages/form.html.j2",
        lang="en",
        desk_name="Desk",
        form_id="contact",
        form=FormSettings(),
        values={"name": HOSTILE},
        errors={"email": "enter your email address"},
        error_list=[],
        submission_id="s",
        honeypot_field="website",
    )
    assert "<script>" not in page.html and "<img" not in page.html
    style = re.search(r"<style>(.*?)</style>", page.html, re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in page.content_security_policy
    assert "unsafe-inline" not in page.content_security_policy
    assert "script-src" not in page.content_security_policy  # default-src 'none' forbids scripts


def test_settings_come_from_a_file_then_the_environment(tmp_path: Path):
    config = tmp_path / "desk.toml"
    config.write_text(
        'sender_address = "help@example.com"\nsupport_domain = "example.com"\ndesk_name = "File"\n'
    )
    environ = {
        "FRONTDESK_CONFIG_FILE": str(config),
        "TICKETS_TABLE_NAME": "tickets",
        "FRONTDESK_DESK_NAME": "Env",
    }
    settings = load_settings(environ)
    assert settings.desk_name == "Env"
    assert "contact" in settings.forms
    assert settings.message_id_domain == "email.amazonses.com"
    assert (
        load_settings({**environ, "AWS_REGION": "eu-west-1"}).message_id_domain == "eu-west-1.amazonses.com"
    )


def test_settings_from_an_ssm_document_and_bad_values_are_refused():
    from pydantic import ValidationError

    document = '{"sender_address": "help@example.com", "support_domain": "example.com"}'
    environ = {"FRONTDESK_CONFIG_PARAMETER": "/frontdesk/x/config", "TICKETS_TABLE_NAME": "tickets"}
    assert load_settings(environ, read_parameter=lambda name: document).sender_address == "help@example.com"
    with pytest.raises(ValidationError):
        load_settings(
            environ, read_parameter=lambda name: '{"sender_address": "nope", "support_domain": "x"}'
        )
    with pytest.raises(ValidationError):
        load_settings(environ, read_parameter=lambda name: document[:-1] + ', "unknown_setting": 1}')
