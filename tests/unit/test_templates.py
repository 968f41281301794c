"""Every template renders, escapes customer text in HTML, and pages allow only their own stylesheet."""

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from frontdesk.config import FormSettings
from frontdesk.forms.submission import FieldError
from frontdesk.rendering import direction, render, render_page, sentence, templates_dir

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = SCRIPT + IMG

ACK_TEMPLATES = [
    "email/acknowledgement.subject.txt.j2",
    "email/acknowledgement.txt.j2",
    "email/acknowledgement.html.j2",
]


def ack_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "desk_name": "Acme Support",
        "reference": "FD-7K3M-Q9TX",
        "requester_name": "Ana",
        "subject": "Late order",
        "excerpt": "My order is late.\nIt was due Monday.",
        "promise": "24 hours",
        "lang": "en",
    }
    return {**context, **overrides}


def form_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "lang": "en",
        "desk_name": "Acme Support",
        "form_id": "contact",
        "form": FormSettings(),
        "values": {},
        "errors": {},
        "error_list": [],
        "submission_id": "x",
        "honeypot_field": "website",
    }
    return {**context, **overrides}


def thanks_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "lang": "en",
        "desk_name": "Acme Support",
        "form": FormSettings(),
        "form_id": "contact",
        "reference": "FD-7K3M-Q9TX",
    }
    return {**context, **overrides}


PAGES = {
    "pages/form.html.j2": form_context,
    "pages/thanks.html.j2": thanks_context,
    "pages/not_found.html.j2": lambda **overrides: {"desk_name": "Acme Support", "lang": "en", **overrides},
}


def assert_no_raw_markup(html: str) -> None:
    assert "<script" not in html
    assert "<img" not in html
    assert "onerror=alert(1)>" not in html


# -- which templates exist -------------------------------------------------------------------------


def test_without_a_configured_folder_the_checkout_templates_are_used(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FRONTDESK_TEMPLATES_DIR", raising=False)

    assert templates_dir() == TEMPLATES


def test_every_template_in_the_folder_is_covered_here():
    found = {path.relative_to(TEMPLATES).as_posix() for path in TEMPLATES.rglob("*.j2")}

    assert found == {*ACK_TEMPLATES, *PAGES, "pages/base.html.j2"}


# -- the acknowledgement email ---------------------------------------------------------------------


def test_the_acknowledgement_subject_names_the_reference_and_the_subject():
    subject = render("email/acknowledgement.subject.txt.j2", **ack_context())

    assert subject == "[FD-7K3M-Q9TX] We have your request: Late order\n"


def test_the_acknowledgement_text_greets_promises_and_quotes():
    text = render("email/acknowledgement.txt.j2", **ack_context())

    assert text.startswith("Hello Ana,\n")
    assert "Thank you for contacting Acme Support." in text
    assert "will answer within 24 hours." in text
    assert "Your reference is FD-7K3M-Q9TX." in text
    assert "> My order is late.\n> It was due Monday.\n" in text
    assert text.endswith("-- \nAcme Support\n")


def test_the_acknowledgement_without_a_name_says_hello():
    assert render("email/acknowledgement.txt.j2", **ack_context(requester_name="")).startswith("Hello,\n")


def test_the_acknowledgement_html_carries_the_same_facts():
    html = render("email/acknowledgement.html.j2", **ack_context())

    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en" dir="ltr">' in html
    assert "<p>Hello Ana,</p>" in html
    assert "Your reference is FD-7K3M-Q9TX." in html
    assert "My order is late.\nIt was due Monday.</blockquote>" in html


USED_VARIABLES = {
    "email/acknowledgement.subject.txt.j2": ["reference", "subject"],
    "email/acknowledgement.txt.j2": ["requester_name", "desk_name", "promise", "reference", "excerpt"],
    "email/acknowledgement.html.j2": [
        "lang",
        "requester_name",
        "desk_name",
        "promise",
        "reference",
        "excerpt",
    ],
}


@pytest.mark.parametrize(
    ("name", "missing"),
    [(name, variable) for name, variables in USED_VARIABLES.items() for variable in variables],
)
def test_an_acknowledgement_without_a_variable_fails_loudly(name: str, missing: str):
    context = ack_context()
    del context[missing]

    with pytest.raises(UndefinedError, match=missing):
        render(name, **context)


@pytest.mark.parametrize("field", ["requester_name", "excerpt", "desk_name", "reference", "promise"])
def test_the_acknowledgement_html_escapes_each_value(field: str):
    html = render("email/acknowledgement.html.j2", **ack_context(**{field: HOSTILE}))

    assert_no_raw_markup(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_acknowledgement_html_escapes_every_customer_field_at_once():
    html = render(
        "email/acknowledgement.html.j2",
        **ack_context(requester_name=HOSTILE, subject=HOSTILE, excerpt=HOSTILE),
    )

    assert_no_raw_markup(html)
    assert (
        "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;,</p>"
        in html
    )


@pytest.mark.parametrize("name", ["email/acknowledgement.subject.txt.j2", "email/acknowledgement.txt.j2"])
def test_the_text_templates_keep_customer_text_literally(name: str):
    text = render(name, **ack_context(requester_name=HOSTILE, subject=HOSTILE, excerpt=HOSTILE))

    assert HOSTILE in text
    assert "&lt;" not in text
    assert "&#34;" not in text


def test_a_percent_sign_in_customer_text_is_kept():
    text = render("email/acknowledgement.txt.j2", **ack_context(requester_name="100% Ana %(desk)s"))

    assert text.startswith("Hello 100% Ana %(desk)s,\n")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("fa", "rtl"),
        ("fa-IR", "rtl"),
        ("AR", "rtl"),
        ("he", "rtl"),
        ("ur-PK", "rtl"),
        ("en", "ltr"),
        ("en-GB", "ltr"),
        ("ru", "ltr"),
        ("", "ltr"),
    ],
)
def test_direction(language: str, expected: str):
    assert direction(language) == expected


def test_a_persian_acknowledgement_is_right_to_left():
    html = render("email/acknowledgement.html.j2", **ack_context(lang="fa"))

    assert '<html lang="fa" dir="rtl">' in html


@pytest.mark.parametrize(
    ("text", "expected"), [("enter your name", "Enter your name"), ("", ""), ("ABC", "ABC")]
)
def test_sentence_capitalises_only_the_first_letter(text: str, expected: str):
    assert sentence(text) == expected


# -- pages -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_renders_a_whole_document(name: str):
    page = render_page(name, **PAGES[name]())

    assert page.html.startswith("<!DOCTYPE html>")
    assert '<html lang="en" dir="ltr">' in page.html
    assert "\u2013 Acme Support</title>" in page.html
    assert page.html.rstrip().endswith("</html>")


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_page_is_right_to_left_in_persian(name: str):
    page = render_page(name, **PAGES[name](lang="fa"))

    assert '<html lang="fa" dir="rtl">' in page.html


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_page_without_a_variable_fails_loudly(name: str):
    context = PAGES[name]()
    del context["desk_name"]

    with pytest.raises(UndefinedError, match="desk_name"):
        render_page(name, **context)


@pytest.mark.parametrize(
    "missing", ["form", "form_id", "values", "errors", "submission_id", "honeypot_field"]
)
def test_the_form_page_without_a_variable_fails_loudly(missing: str):
    context = form_context()
    del context[missing]

    with pytest.raises(UndefinedError):
        render_page("pages/form.html.j2", **context)


def test_the_form_page_posts_to_its_form_with_its_fields():
    html = render_page("pages/form.html.j2", **form_context(submission_id="sub-1")).html

    assert '<form method="post" action="/forms/contact" accept-charset="utf-8" novalidate>' in html
    assert '<input type="hidden" name="submission_id" value="sub-1">' in html
    for field in ("name", "email", "subject"):
        assert f'name="{field}"' in html
    assert '<textarea id="message" name="message"' in html
    assert '<input type="text" id="website" name="website" tabindex="-1" autocomplete="off" value="">' in html
    assert "<h1>Contact support</h1>" in html
    assert 'class="error-summary"' not in html


def test_the_form_page_shows_each_error_by_its_field_and_in_a_summary():
    errors = [
        FieldError(field="email", message="enter your email address"),
        FieldError(field="order", message="must be text"),
    ]

    html = render_page(
        "pages/form.html.j2",
        **form_context(errors={e.field: e.message for e in errors}, error_list=errors),
    ).html

    assert "<title>Error: Contact support \u2013 Acme Support</title>" in html
    assert '<li><a href="#email">Enter your email address</a></li>' in html
    assert "<li>order: must be text</li>" in html
    assert '<span class="error" id="email-error">' in html
    assert 'aria-describedby="email-hint email-error" aria-invalid="true"' in html


@pytest.mark.parametrize("field", ["name", "email", "subject", "message"])
def test_the_form_page_escapes_values_sent_back(field: str):
    html = render_page("pages/form.html.j2", **form_context(values={field: HOSTILE})).html

    assert_no_raw_markup(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_form_page_escapes_field_names_and_messages_in_errors():
    errors = [FieldError(field=HOSTILE, message=HOSTILE), FieldError(field="name", message=HOSTILE)]

    html = render_page(
        "pages/form.html.j2",
        **form_context(errors={e.field: e.message for e in errors}, error_list=errors),
    ).html

    assert_no_raw_markup(html)


def test_the_thanks_page_shows_the_reference():
    html = render_page("pages/thanks.html.j2", **thanks_context()).html

    assert '<p class="reference" id="reference">FD-7K3M-Q9TX</p>' in html
    assert '<a href="/forms/contact">' in html


def test_the_thanks_page_without_a_reference_promises_an_email():
    html = render_page("pages/thanks.html.j2", **thanks_context(reference=None)).html

    assert 'id="reference"' not in html
    assert "We will answer by email." in html


def test_the_thanks_page_escapes_the_reference():
    html = render_page("pages/thanks.html.j2", **thanks_context(reference=HOSTILE)).html

    assert_no_raw_markup(html)


def test_the_not_found_page_says_so():
    html = render_page("pages/not_found.html.j2", **PAGES["pages/not_found.html.j2"]()).html

    assert "<h1>Page not found</h1>" in html


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_content_security_policy_allows_exactly_the_inline_stylesheet(name: str):
    # When
    page = render_page(name, **PAGES[name]())

    # Then: one <style> element, whose contents hash to the policy's style-src
    styles = re.findall(r"<style>(.*?)</style>", page.html, re.DOTALL)
    assert len(styles) == 1
    assert styles[0].strip()
    digest = base64.b64encode(hashlib.sha256(styles[0].encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{digest}';" in page.content_security_policy
    assert "unsafe-inline" not in page.content_security_policy
    assert "unsafe-eval" not in page.content_security_policy
    assert page.content_security_policy.startswith("default-src 'none';")
    assert "script-src" not in page.content_security_policy
    assert "frame-ancestors 'none'" in page.content_security_policy
    assert "form-action 'self'" in page.content_security_policy


def test_the_stylesheet_is_the_project_css_file():
    html = render_page("pages/not_found.html.j2", **PAGES["pages/not_found.html.j2"]()).html

    css = (TEMPLATES / "pages" / "frontdesk.css").read_text(encoding="utf-8")
    assert f"<style>{css}</style>" in html
