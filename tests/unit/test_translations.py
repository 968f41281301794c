"""Every language is complete: the catalogs hold every message, and every template renders in
every language with no variable missing and no English left."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from frontdesk import rendering
from frontdesk.forms.posted import FieldError
from frontdesk.forms.settings import FormSettings
from frontdesk.language import catalogs
from frontdesk.language.catalogs import TEMPLATES_DIR_VARIABLE, available_languages, catalog_path
from frontdesk.language.detection import detect_language
from frontdesk.language.formatting import format_duration, format_moment
from frontdesk.rendering import environment, precompile, render, render_page
from frontdesk_tools import precompile_templates

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FILE = ROOT / "templates" / "locales" / "frontdesk.pot"
LANGUAGES = sorted(available_languages() - {"en"})
PLACEHOLDER = re.compile(r"%\([a-z_]+\)s")
DUE = datetime(2026, 11, 30, 10, 30, tzinfo=UTC)
REOPENS = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_languages_frontdesk_writes_are_at_least_these():
    assert {"en", "ru", "kk", "vi", "fa"} <= available_languages()


@cache
def source_messages() -> frozenset[str]:
    """What the templates and the code mark for translation today, extracted as `make messages` does."""
    method_map = [("layers/frontdesk/frontdesk/**.py", "python"), ("templates/**.j2", "jinja2")]
    options = {"templates/**.j2": {"extensions": "jinja2.ext.do", "trimmed": "true"}}
    keywords = {"_": None, "gettext": None, "translatable": None}
    found = extract_from_dir(str(ROOT), method_map, options, keywords=keywords)
    return frozenset(str(message) for _, _, message, _, _ in found)


@cache
def catalog(path: Path) -> Catalog:
    with path.open("rb") as po_file:
        return read_po(po_file)


def test_the_message_template_is_up_to_date_with_the_sources():
    in_template = {str(message.id) for message in catalog(TEMPLATE_FILE) if message.id}

    missing, stale = source_messages() - in_template, in_template - source_messages()

    assert not missing and not stale, f"run `make messages`: missing {sorted(missing)}, stale {sorted(stale)}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(language: str):
    translated = {str(m.id): m for m in catalog(catalog_path(language)) if m.id}

    untranslated = sorted(msgid for msgid in source_messages() if not translated.get(msgid))
    assert not [msgid for msgid in untranslated if msgid not in translated], "missing from the catalog"
    problems = []
    for msgid in sorted(source_messages()):
        message = translated[msgid]
        if not message.string or message.fuzzy:
            problems.append(f"untranslated or fuzzy: {msgid!r}")
        elif sorted(PLACEHOLDER.findall(str(message.string))) != sorted(PLACEHOLDER.findall(msgid)):
            problems.append(f"placeholders differ: {msgid!r} -> {message.string!r}")
    assert not problems, "\n".join(problems)


# -- every template, every language, with sample data ---------------------------------------------


def ack_context(language: str, *, desk_open: bool) -> dict[str, Any]:
    return {
        "desk_name": "Acme",
        "reference": "FD-7K3M-Q9TX",
        "requester_name": "Ana",
        "subject": "Order 1234",
        "excerpt": "Order 1234",
        "desk_open": desk_open,
        "reopens": "" if desk_open else format_moment(REOPENS, BERLIN, language),
        "promise_within": format_duration(timedelta(hours=2), language) if desk_open else "",
        "promise_by": format_moment(DUE, BERLIN, language),
        "urgent_note": "",
        "promise_measured": True,
    }


def form_context(language: str) -> dict[str, Any]:
    errors = [
        FieldError.of("name", "enter your name"),
        FieldError.of("message", "use %(limit)s characters or fewer", limit=20000),
        FieldError.of("form", "we could not save your message just now; try again"),
    ]
    return {
        "desk_name": "Acme",
        "form_id": "contact",
        "form": FormSettings(),
        "values": {},
        "errors": {error.field: error for error in errors},
        "error_list": errors,
        "submission_id": "x",
        "honeypot_field": "website",
        "locale_hint": language,
    }


def rendered_in(language: str) -> dict[str, str]:
    """Every template that customers see, rendered in `language`."""
    out: dict[str, str] = {}
    for desk_open in (True, False):
        variant = "open" if desk_open else "closed"
        context = ack_context(language, desk_open=desk_open)
        for name in ("subject.txt", "txt", "html"):
            out[f"acknowledgement.{name} ({variant})"] = render(
                f"email/acknowledgement.{name}.j2", lang=language, **context
            )
        out[f"chat acknowledgement ({variant})"] = render(
            "chat/acknowledgement.txt.j2", lang=language, **context
        )
    reply = {"desk_name": "Acme", "reference": "FD-7K3M-Q9TX", "subject": "Order 1234", "text": "Order 1234"}
    out["reply.txt"] = render("email/reply.txt.j2", lang=language, **reply)
    out["reply.html"] = render("email/reply.html.j2", lang=language, **reply)
    out["form"] = render_page("pages/form.html.j2", lang=language, **form_context(language)).html
    out["thanks"] = render_page(
        "pages/thanks.html.j2",
        lang=language,
        desk_name="Acme",
        form=FormSettings(),
        form_id="contact",
        reference="FD-7K3M-Q9TX",
    ).html
    out["thanks (no reference)"] = render_page(
        "pages/thanks.html.j2",
        lang=language,
        desk_name="Acme",
        form=FormSettings(),
        form_id="contact",
        reference="",
    ).html
    out["not found"] = render_page("pages/not_found.html.j2", lang=language, desk_name="Acme").html
    return out


def visible_text(document: str) -> str:
    without_style = re.sub(r"<style>.*?</style>|<[^>]+>", " ", document, flags=re.DOTALL)
    return " ".join(without_style.split())


# Sentences of the English source, checked for in every other language's output.
ENGLISH = (
    "Thank you for contacting",
    "We have received your request",
    "Your reference is",
    "You wrote:",
    "You do not need to reply",
    "Our team is away",
    "median time",
    "We are back on",
    "We have your request",
    "Contact support",
    "Your name",
    "Email address",
    "How can we help?",
    "There is a problem",
    "enter your name",
    "characters or fewer",
    "could not save your message",
    "Send another message",
    "Page not found",
    "Hello",
    "Error",
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_in_every_language_with_no_english_left(language: str):
    for name, output in rendered_in(language).items():
        text = visible_text(output)
        left = [english for english in ENGLISH if english.lower() in text.lower()]
        assert not left, f"{name} in {language} still says {left}: {text[:300]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_acknowledgement_reads_as_its_language(language: str):
    for desk_open in (True, False):
        text = render(
            "email/acknowledgement.txt.j2", lang=language, **ack_context(language, desk_open=desk_open)
        )
        detection = detect_language(text.replace("Order 1234", "").replace("Acme", ""))
        assert detection is not None and detection.language == language, (language, detection)


@pytest.mark.parametrize("language", sorted(available_languages()))
def test_documents_declare_their_language_and_direction(language: str):
    direction = "rtl" if language == "fa" else "ltr"
    for name, output in rendered_in(language).items():
        if name.startswith(("acknowledgement.html", "reply.html", "form", "thanks", "not found")):
            assert f'<html lang="{language}" dir="{direction}">' in output, name


# -- the templates layer: catalogs compiled and templates precompiled by its build -----------------


def built_templates_layer(directory: Path) -> Path:
    """The templates layer as its build (templates/Makefile) leaves it."""
    layer = directory / "opt"
    shutil.copytree(ROOT / "templates", layer, ignore=shutil.ignore_patterns("Makefile", "*.pot"))
    assert precompile_templates.main([str(layer)]) == 0
    return layer


def forget_templates() -> None:
    """Drop the environments, catalogs and stylesheet read so far (they are cached per process)."""
    for cached in (rendering.environment, rendering._loader, rendering.translations, rendering._stylesheet):
        cached.cache_clear()
    catalogs.available_languages.cache_clear()


@pytest.mark.parametrize("language", sorted(available_languages()))
def test_the_layers_compiled_templates_and_catalogs_render_as_their_sources(
    language: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from_sources = rendered_in(language)
    layer = built_templates_layer(tmp_path)
    monkeypatch.setenv(TEMPLATES_DIR_VARIABLE, str(layer))

    def no_compiling(*_: object) -> bytes:
        raise AssertionError("a catalog was compiled although the layer has its .mo")

    monkeypatch.setattr(rendering, "compiled_catalog", no_compiling)
    forget_templates()
    try:
        from_layer = rendered_in(language)
        used = environment(language).get_template("email/reply.txt.j2")
    finally:
        forget_templates()

    assert from_layer == from_sources
    assert used.filename is not None and Path(used.filename).parent == layer / "compiled"


def test_every_template_is_precompiled_and_every_catalog_compiled(tmp_path: Path):
    layer = built_templates_layer(tmp_path)

    templates = {
        path.relative_to(layer).as_posix()
        for folder in ("email", "pages", "chat")
        for path in (layer / folder).iterdir()
    }
    assert precompile(layer) == sorted(templates)
    assert {path.parent.parent.name for path in layer.glob("locales/*/LC_MESSAGES/frontdesk.mo")} == set(
        LANGUAGES
    )


def test_templates_precompiled_by_another_jinja_version_are_left_alone(tmp_path: Path):
    layer = built_templates_layer(tmp_path)
    (layer / "compiled" / "jinja2-version").write_text("2.11.3\n", encoding="ascii")

    used = environment("en", layer).get_template("email/reply.txt.j2")

    assert used.filename == str(layer / "email" / "reply.txt.j2")


def test_the_checkouts_own_templates_are_never_precompiled(capsys: pytest.CaptureFixture[str]):
    assert precompile_templates.main([str(ROOT / "templates")]) == 2
    assert "precompile a copy" in capsys.readouterr().err
    assert not (ROOT / "templates" / "compiled").exists()
