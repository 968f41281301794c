"""Every template renders, escapes customer text in HTML, and pages allow only their own stylesheet."""

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from frontdesk.forms.posted import FieldError
from frontdesk.forms.settings import FormSettings
from frontdesk.language.catalogs import templates_dir
from frontdesk.rendering import (
    direction,
    environment,
    render,
    render_page,
    sentence,
    translations,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = SCRIPT + IMG
HOSTILE_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"

ACK_SUBJECT = "email/acknowledgement.subject.txt.j2"
ACK_TEXT = "email/acknowledgement.txt.j2"
ACK_HTML = "email/acknowledgement.html.j2"
CHAT_ACK = "chat/acknowledgement.txt.j2"
ACK_TEMPLATES = [ACK_SUBJECT, ACK_TEXT, ACK_HTML, CHAT_ACK]
# Imported by the acknowledgements for their promise, never rendered alone.
MACRO_TEMPLATES = ["email/acknowledgement_promise.txt.j2"]
REPLY_TEMPLATES = ["email/reply.subject.txt.j2", "email/reply.txt.j2", "email/reply.html.j2"]

REOPENS = "Monday, November 30, 2026, 9:00 AM (Central European Standard Time)"
DUE = "Monday, November 30, 2026, 10:30 AM (Central European Standard Time)"
URGENT_NOTE = "For outages call +49 30 1234 5678."


def in_hours(**overrides: Any) -> dict[str, Any]:
    """What compose() gives the templates while the desk is open."""
    context: dict[str, Any] = {
        "desk_name": "Acme Support",
        "reference": "FD-7K3M-Q9TX",
        "requester_name": "Ana",
        "subject": "Late order",
        "excerpt": "My order is late.\nIt was due Monday.",
        "desk_open": True,
        "reopens": "",
        "promise_within": "24 hours",
        "promise_by": DUE,
        "urgent_note": "",
        "promise_measured": False,
    }
    return {**context, **overrides}


def out_of_hours(**overrides: Any) -> dict[str, Any]:
    """What compose() gives the templates while the desk is closed."""
    closed = {"desk_open": False, "reopens": REOPENS, "promise_within": "", "urgent_note": URGENT_NOTE}
    return in_hours(**{**closed, **overrides})


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
        "locale_hint": "",
    }
    return {**context, **overrides}


def with_errors(*errors: FieldError, **overrides: Any) -> dict[str, Any]:
    """The form page's context for `errors`, shaped as forms.web passes them."""
    return form_context(errors={error.field: error for error in errors}, error_list=list(errors), **overrides)


def thanks_context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "lang": "en",
        "desk_name": "Acme Support",
        "form": FormSettings(),
        "form_id": "contact",
        "reference": "FD-7K3M-Q9TX",
    }
    return {**context, **overrides}


def not_found_context(**overrides: Any) -> dict[str, Any]:
    return {"desk_name": "Acme Support", "lang": "en", **overrides}


def survey_page_context(**overrides: Any) -> dict[str, Any]:
    context = {
        "desk_name": "Acme Support",
        "lang": "en",
        "reference": "FD-7K3M-Q9TX",
        "ask_nps": True,
        "csat_scores": (1, 2, 3, 4, 5),
        "nps_scores": tuple(range(11)),
        "comment_max_chars": 2000,
        "values": {},
        "error_list": [],
        "errors": {},
    }
    return {**context, **overrides}


def survey_notice_context(**overrides: Any) -> dict[str, Any]:
    return {"desk_name": "Acme Support", "lang": "en", "kind": "thanks", **overrides}


PAGES = {
    "pages/form.html.j2": form_context,
    "pages/thanks.html.j2": thanks_context,
    "pages/not_found.html.j2": not_found_context,
    "pages/survey.html.j2": survey_page_context,
    "pages/survey_notice.html.j2": survey_notice_context,
}
SURVEY_TEMPLATES = [
    "email/survey.subject.txt.j2",
    "email/survey.txt.j2",
    "email/survey.html.j2",
    "chat/survey.txt.j2",
]


def survey_mail_context(**overrides: Any) -> dict[str, Any]:
    context = {
        "desk_name": "Acme Support",
        "reference": "FD-7K3M-Q9TX",
        "subject": "Invoice missing",
        "url": "https://support.example.com/surveys/FD-7K3M-Q9TX.1.2.en.sig",
        "scores": (1, 2, 3, 4, 5),
        "valid_days": 14,
    }
    return {**context, **overrides}


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

    assert found == {
        *ACK_TEMPLATES,
        *MACRO_TEMPLATES,
        *REPLY_TEMPLATES,
        *SURVEY_TEMPLATES,
        *PAGES,
        "pages/base.html.j2",
    }


def test_render_needs_a_language():
    with pytest.raises(TypeError, match="lang"):
        render(ACK_SUBJECT, **in_hours())


def test_a_language_without_a_catalog_is_written_in_english_but_declared_as_asked():
    html = render(ACK_HTML, lang="de", **in_hours())

    assert '<html lang="de" dir="ltr">' in html
    assert "<p>Hello Ana,</p>" in html


CATALOG = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Hello %(name)s,"
msgstr "Salut %(name)s,"

#, fuzzy
msgid "Error"
msgstr "Erreur"
"""


def templates_with_a_catalog(directory: Path, language: str) -> Path:
    """A templates folder with one template and a catalog for `language`."""
    (directory / "greeting.txt.j2").write_text(
        '{{ _("Hello %(name)s,", name=name) }} {{ _("Error") }}', encoding="utf-8"
    )
    folder = directory / "locales" / language / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "frontdesk.po").write_text(CATALOG, encoding="utf-8")
    return directory


def test_a_catalog_translates_and_leaves_fuzzy_entries_out(tmp_path: Path):
    folder = templates_with_a_catalog(tmp_path, "xx")

    catalog = translations("xx", folder)

    assert catalog.gettext("Hello %(name)s,") == "Salut %(name)s,"
    assert catalog.gettext("Error") == "Error"


def test_a_template_speaks_the_language_of_its_environment(tmp_path: Path):
    folder = templates_with_a_catalog(tmp_path, "xx")

    translated = environment("xx", folder).get_template("greeting.txt.j2").render(name="Ana")
    untranslated = environment("yy", folder).get_template("greeting.txt.j2").render(name="Ana")

    assert translated == "Salut Ana, Error"
    assert untranslated == "Hello Ana, Error"


# -- the acknowledgement email ---------------------------------------------------------------------


def test_the_acknowledgement_subject_names_the_reference_and_the_subject():
    subject = render(ACK_SUBJECT, lang="en", **in_hours())

    assert subject == "[FD-7K3M-Q9TX] We have your request: Late order\n"


def test_the_acknowledgement_text_greets_promises_and_quotes():
    text = render(ACK_TEXT, lang="en", **in_hours())

    assert text.startswith("Hello Ana,\n")
    assert (
        "Thank you for contacting Acme Support. We have received your request and a member of our "
        "team will answer within 24 hours.\n"
    ) in text
    assert "Your reference is FD-7K3M-Q9TX." in text
    assert "> My order is late.\n> It was due Monday.\n" in text
    assert text.endswith("-- \nAcme Support\n")


def test_the_acknowledgement_without_a_name_says_hello():
    assert render(ACK_TEXT, lang="en", **in_hours(requester_name="")).startswith("Hello,\n")


def test_the_acknowledgement_html_carries_the_same_facts():
    html = render(ACK_HTML, lang="en", **in_hours())

    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en" dir="ltr">' in html
    assert "<p>Hello Ana,</p>" in html
    assert "will answer within 24 hours.</p>" in html
    assert "Your reference is FD-7K3M-Q9TX." in html
    assert "My order is late.\nIt was due Monday.</blockquote>" in html


@pytest.mark.parametrize("name", [ACK_TEXT, ACK_HTML, CHAT_ACK])
def test_in_hours_the_acknowledgement_promises_the_target_and_says_nothing_of_closing(name: str):
    # Given the desk is open; reopens and the urgent note are set to show the template hides them
    # whatever it is given, except the note, which compose() leaves empty in hours
    output = render(name, lang="en", **in_hours(reopens=REOPENS))

    assert "will answer within 24 hours." in output
    assert "away" not in output
    assert REOPENS not in output
    assert DUE not in output  # "within" says it already
    assert URGENT_NOTE not in output
    assert 'id="out-of-hours"' not in output


@pytest.mark.parametrize("name", [ACK_TEXT, ACK_HTML, CHAT_ACK])
def test_out_of_hours_the_acknowledgement_says_when_we_are_back_and_when_we_answer(name: str):
    output = render(name, lang="en", **out_of_hours())

    assert "Thank you for contacting Acme Support. We have received your request." in output
    assert "within" not in output
    assert (
        f"Our team is away at the moment. We are back on {REOPENS}, and a member of our team will "
        f"answer by {DUE}."
    ) in output
    assert URGENT_NOTE in output


def test_the_out_of_hours_notice_stands_out_in_html():
    html = render(ACK_HTML, lang="en", **out_of_hours())

    assert re.search(r'<p id="out-of-hours" [^>]*>Our team is away at the moment\.', html)
    assert f"<p>{URGENT_NOTE}</p>" in html


def test_a_promise_by_a_time_is_made_when_no_duration_is_honest():
    text = render(ACK_TEXT, lang="en", **in_hours(promise_within=""))

    assert f"will answer by {DUE}.\n" in text


def test_without_any_time_the_acknowledgement_promises_as_soon_as_possible():
    in_hours_text = render(ACK_TEXT, lang="en", **in_hours(promise_within="", promise_by=""))
    closed_text = render(ACK_TEXT, lang="en", **out_of_hours(reopens="", promise_by=""))

    assert "will answer as soon as possible." in in_hours_text
    assert "Our team is away at the moment and will answer as soon as possible." in closed_text


def test_closed_with_a_reopening_but_no_due_time_says_when_we_are_back():
    text = render(ACK_TEXT, lang="en", **out_of_hours(promise_by=""))

    assert f"We are back on {REOPENS} and will answer as soon as possible." in text


@pytest.mark.parametrize("name", [ACK_TEXT, ACK_HTML, CHAT_ACK])
def test_a_measured_promise_says_what_it_is_based_on(name: str):
    measured = render(name, lang="en", **in_hours(promise_measured=True))
    target = render(name, lang="en", **in_hours())

    assert "median time to a first answer over the last 7 days" in measured
    assert "median" not in target


def test_the_chat_acknowledgement_is_short_and_names_the_reference():
    text = render(CHAT_ACK, lang="en", **in_hours())

    assert text.strip().splitlines() == [
        "Thank you for contacting Acme Support. We have received your request and a member of our "
        "team will answer within 24 hours.",
        "Your reference is FD-7K3M-Q9TX.",
    ]


# What each template reads, in hours (a promise within a duration) and out of hours.
_EMAIL_BODY_IN_HOURS = [
    "requester_name",
    "desk_name",
    "desk_open",
    "promise_within",
    "promise_measured",
    "urgent_note",
    "reference",
    "excerpt",
]
_EMAIL_BODY_CLOSED = [
    "requester_name",
    "desk_name",
    "desk_open",
    "reopens",
    "promise_by",
    "promise_measured",
    "urgent_note",
    "reference",
    "excerpt",
]
USED_VARIABLES = {
    (ACK_SUBJECT, "in hours"): ["reference", "subject"],
    (ACK_TEXT, "in hours"): _EMAIL_BODY_IN_HOURS,
    (ACK_HTML, "in hours"): _EMAIL_BODY_IN_HOURS,
    (CHAT_ACK, "in hours"): ["desk_name", "desk_open", "promise_within", "promise_measured", "reference"],
    (ACK_TEXT, "out of hours"): _EMAIL_BODY_CLOSED,
    (ACK_HTML, "out of hours"): _EMAIL_BODY_CLOSED,
    (CHAT_ACK, "out of hours"): [
        "desk_name",
        "desk_open",
        "reopens",
        "promise_by",
        "promise_measured",
        "urgent_note",
        "reference",
    ],
}
VARIANTS = {"in hours": in_hours, "out of hours": out_of_hours}


@pytest.mark.parametrize(
    ("name", "variant", "missing"),
    [(name, variant, variable) for (name, variant), names in USED_VARIABLES.items() for variable in names],
)
def test_an_acknowledgement_without_a_variable_fails_loudly(name: str, variant: str, missing: str):
    context = VARIANTS[variant]()
    del context[missing]

    with pytest.raises(UndefinedError, match=missing):
        render(name, lang="en", **context)


ESCAPED_FIELDS = [
    "requester_name",
    "excerpt",
    "desk_name",
    "reference",
    "promise_within",
    "promise_by",
    "reopens",
    "urgent_note",
]


def hostile(field: str) -> dict[str, Any]:
    """A context whose `field` is hostile, in the variant that shows that field."""
    shown_when_closed = {"promise_by", "reopens", "urgent_note"}
    return (out_of_hours if field in shown_when_closed else in_hours)(**{field: HOSTILE})


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize("field", ESCAPED_FIELDS)
def test_the_acknowledgement_html_escapes_each_value_once(field: str, language: str):
    html = render(ACK_HTML, lang=language, **hostile(field))

    assert_no_raw_markup(html)
    assert HOSTILE_ESCAPED in html
    assert "&amp;lt;" not in html  # escaped once, not twice (the promise comes from a text macro)


def test_the_acknowledgement_html_escapes_every_customer_field_at_once():
    html = render(ACK_HTML, lang="en", **in_hours(requester_name=HOSTILE, subject=HOSTILE, excerpt=HOSTILE))

    assert_no_raw_markup(html)
    assert f"<p>Hello {HOSTILE_ESCAPED},</p>" in html


@pytest.mark.parametrize("name", [ACK_SUBJECT, ACK_TEXT, CHAT_ACK])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_text_templates_keep_every_value_literally(name: str, variant: str):
    values = dict.fromkeys((*ESCAPED_FIELDS, "subject"), HOSTILE)
    values = {**values, "promise_within": HOSTILE if variant == "in hours" else ""}

    text = render(name, lang="en", **VARIANTS[variant](**values))

    assert HOSTILE in text
    assert "&lt;" not in text
    assert "&#34;" not in text


def test_a_percent_sign_in_customer_text_is_kept():
    text = render(ACK_TEXT, lang="en", **in_hours(requester_name="100% Ana %(desk)s"))

    assert text.startswith("Hello 100% Ana %(desk)s,\n")


@pytest.mark.parametrize("field", ["desk_name", "reopens", "promise_by", "urgent_note"])
def test_a_percent_sign_in_a_promise_value_is_kept(field: str):
    value = "50% %(time)s %s"

    text = render(ACK_TEXT, lang="en", **out_of_hours(**{field: value}))

    assert value in text


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


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_persian_acknowledgement_is_right_to_left(variant: str):
    html = render(ACK_HTML, lang="fa", **VARIANTS[variant]())

    assert '<html lang="fa" dir="rtl">' in html


@pytest.mark.parametrize("language", ["en", "ru", "kk", "vi"])
def test_acknowledgements_in_other_languages_are_left_to_right(language: str):
    html = render(ACK_HTML, lang=language, **in_hours())

    assert f'<html lang="{language}" dir="ltr">' in html


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
    "missing", ["form", "form_id", "values", "errors", "submission_id", "honeypot_field", "locale_hint"]
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
    assert '<p class="intro">Tell us what you need and we will answer by email.</p>' in html
    assert 'class="error-summary"' not in html


def test_the_form_page_passes_on_a_chosen_language_as_a_hidden_locale():
    html = render_page("pages/form.html.j2", **form_context(lang="ru", locale_hint="ru")).html

    assert '<input type="hidden" name="locale" value="ru">' in html


def test_the_form_page_without_a_chosen_language_sends_no_locale():
    html = render_page("pages/form.html.j2", **form_context()).html

    assert 'name="locale"' not in html


def test_the_form_page_escapes_the_locale_hint():
    html = render_page("pages/form.html.j2", **form_context(locale_hint=HOSTILE)).html

    assert_no_raw_markup(html)
    assert f'name="locale" value="{HOSTILE_ESCAPED}"' in html


def test_the_form_page_takes_its_title_and_intro_in_the_page_language():
    form = FormSettings(title={"en": "Billing questions", "ru": "Вопросы по оплате"}, intro={"ru": "Пишите."})

    russian = render_page("pages/form.html.j2", **form_context(lang="ru", form=form)).html
    english = render_page("pages/form.html.j2", **form_context(form=form)).html

    assert "<h1>Вопросы по оплате</h1>" in russian
    assert "<title>Вопросы по оплате \u2013 Acme Support</title>" in russian
    assert '<p class="intro">Пишите.</p>' in russian
    assert "<h1>Billing questions</h1>" in english
    # a language without its own intro gets the default one
    assert '<p class="intro">Tell us what you need and we will answer by email.</p>' in english


def test_the_form_page_escapes_a_configured_title_and_intro():
    form = FormSettings(title={"en": HOSTILE}, intro={"en": HOSTILE})

    html = render_page("pages/form.html.j2", **form_context(form=form)).html

    assert_no_raw_markup(html)
    assert f"<h1>{HOSTILE_ESCAPED}</h1>" in html


def test_the_form_page_shows_each_error_by_its_field_and_in_a_summary():
    errors = (
        FieldError.of("email", "enter your email address"),
        FieldError.of("order", "must be text"),
    )

    html = render_page("pages/form.html.j2", **with_errors(*errors)).html

    assert "<title>Error: Contact support \u2013 Acme Support</title>" in html
    assert '<li><a href="#email">Enter your email address</a></li>' in html
    assert "<li>order: must be text</li>" in html
    assert '<span class="error" id="email-error">' in html
    assert 'aria-describedby="email-hint email-error" aria-invalid="true"' in html


def test_the_form_page_fills_in_the_values_of_an_error():
    error = FieldError.of("message", "use %(limit)s characters or fewer", limit=500)

    html = render_page("pages/form.html.j2", **with_errors(error)).html

    assert '<li><a href="#message">Use 500 characters or fewer</a></li>' in html
    assert '<span class="visually-hidden">Error:</span> Use 500 characters or fewer</span>' in html


def test_the_form_page_shows_an_error_without_a_catalog_id_as_its_message():
    html = render_page(
        "pages/form.html.j2", **with_errors(FieldError(field="form", message="try later"))
    ).html

    assert "<li>Try later</li>" in html


@pytest.mark.parametrize("field", ["name", "email", "subject", "message"])
def test_the_form_page_escapes_values_sent_back(field: str):
    html = render_page("pages/form.html.j2", **form_context(values={field: HOSTILE})).html

    assert_no_raw_markup(html)
    assert HOSTILE_ESCAPED in html


def test_the_form_page_escapes_field_names_and_messages_in_errors():
    errors = (
        FieldError(field=HOSTILE, message=HOSTILE),
        FieldError(field="name", message=HOSTILE),
        FieldError.of(HOSTILE, "use %(limit)s characters or fewer", limit=HOSTILE),
    )

    html = render_page("pages/form.html.j2", **with_errors(*errors)).html

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
    html = render_page("pages/not_found.html.j2", **not_found_context()).html

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


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_stylesheet_is_the_project_css_file_in_every_language(language: str):
    html = render_page("pages/not_found.html.j2", **not_found_context(lang=language)).html

    css = (TEMPLATES / "pages" / "frontdesk.css").read_text(encoding="utf-8")
    assert f"<style>{css}</style>" in html


# -- an agent's reply -------------------------------------------------------------------------------


def reply_context(**overrides: Any) -> dict[str, Any]:
    return {
        "desk_name": "Acme",
        "reference": "FD-7K3M-Q9TX",
        "subject": "Invoice 77",
        "text": "Hello Ana,\nsee attached.",
        **overrides,
    }


def test_a_reply_keeps_the_agents_text_and_the_reference():
    text = render("email/reply.txt.j2", lang="en", **reply_context())

    assert text.startswith("Hello Ana,\nsee attached.\n")
    assert "Your reference is FD-7K3M-Q9TX." in text
    assert (
        render("email/reply.subject.txt.j2", lang="en", **reply_context()).strip()
        == "Re: [FD-7K3M-Q9TX] Invoice 77"
    )


@pytest.mark.parametrize("field", ["text", "subject", "desk_name"])
def test_a_reply_escapes_everything_in_html(field: str):
    html = render("email/reply.html.j2", lang="fa", **reply_context(**{field: HOSTILE}))

    assert_no_raw_markup(html)
    assert '<html lang="fa" dir="rtl">' in html


# -- surveys ---------------------------------------------------------------------------------------


def test_the_survey_mail_links_each_score_to_the_page_and_escapes_the_subject():
    context = survey_mail_context(subject='<img src=x onerror=alert(1)> & "more"')
    html = render("email/survey.html.j2", lang="en", **context)
    text = render("email/survey.txt.j2", lang="en", **context)

    for score in range(1, 6):
        assert f'href="{context["url"]}?csat={score}"' in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;more&#34;" in html
    assert_no_raw_markup(html)
    assert context["url"] in text and context["subject"] in text  # plain text keeps it literally
    assert (
        render("email/survey.subject.txt.j2", lang="en", **context).strip() == "How did we do? [FD-7K3M-Q9TX]"
    )


@pytest.mark.parametrize("language", ["ru", "kk", "vi", "fa"])
def test_the_survey_is_asked_in_the_customers_language(language: str):
    text = render("email/survey.txt.j2", lang=language, **survey_mail_context())
    chat = render("chat/survey.txt.j2", lang=language, **survey_mail_context())
    page = render_page("pages/survey.html.j2", **survey_page_context(lang=language))

    assert "How satisfied" not in text and "How satisfied" not in chat and "How did we do" not in page.html
    assert survey_mail_context()["url"] in text and survey_mail_context()["url"] in chat


def test_the_survey_page_labels_every_choice_and_ticks_the_score_from_the_mail():
    page = render_page("pages/survey.html.j2", **survey_page_context(values={"csat": 4})).html

    for score in range(1, 6):
        assert f'<label for="csat-{score}">' in page
    for score in range(11):
        assert f'<label for="nps-{score}">{score}</label>' in page
    assert 'id="csat-4" name="csat" value="4" required checked' in page
    assert page.count(" checked") == 1
    assert "<legend>" in page and 'method="post"' in page
    assert_no_raw_markup(page)


def test_the_survey_page_without_nps_does_not_ask_it():
    page = render_page("pages/survey.html.j2", **survey_page_context(ask_nps=False)).html

    assert 'name="nps"' not in page


def test_the_survey_page_escapes_a_returned_comment():
    page = render_page(
        "pages/survey.html.j2", **survey_page_context(values={"comment": "</textarea><script>x</script>"})
    ).html

    assert "&lt;/textarea&gt;&lt;script&gt;" in page
    assert_no_raw_markup(page)


@pytest.mark.parametrize("kind", ["thanks", "already", "expired", "not_found"])
def test_each_survey_notice_has_its_own_words(kind: str):
    page = render_page("pages/survey_notice.html.j2", **survey_notice_context(kind=kind)).html

    assert f'data-kind="{kind}"' in page and "<h1>" in page
