"""Jinja2 templates from the project's templates/ folder.

HTML templates (*.html.j2) are autoescaped; every template fails on an undefined variable rather
than rendering a blank. Templates mark their text with _(); English is the source text, and each
other language is a gettext catalog, templates/locales/<lang>/LC_MESSAGES/frontdesk.po. Adding a
language is adding that one file: the catalogs present are the languages Frontdesk answers in.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from frontdesk.language.catalogs import (
    CATALOG_DOMAIN,
    SOURCE_LANGUAGE,
    answer_language,
    available_languages,
    catalog_path,
    templates_dir,
)
from frontdesk.language.tags import primary_language, ranked_languages

if TYPE_CHECKING:
    from jinja2 import Environment

    from frontdesk.config import Settings
    from frontdesk.http import HttpRequest

# Languages written right to left; pages and emails in them are marked dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"})


def direction(language: str) -> str:
    return "rtl" if language.split("-", 1)[0].lower() in RIGHT_TO_LEFT else "ltr"


def sentence(text: str) -> str:
    """Capitalise the first letter only (Jinja's capitalize lowers the rest)."""
    return text[:1].upper() + text[1:]


@cache
def translations(language: str, directory: Path | None = None) -> gettext.NullTranslations:
    """The catalog of `language`, compiled in memory (fuzzy entries left out, as gettext would)."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(language, directory).open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=CATALOG_DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def environment(language: str = SOURCE_LANGUAGE, directory: Path | None = None) -> Environment:
    """A Jinja environment speaking `language` (English for a language without a catalog)."""
    # Imported here: a handler imports this module for the paths that render, and Jinja2 is a
    # twentieth of a cold start that a JSON post or a redirect never needs.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(directory or templates_dir()),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    known = language in available_languages(directory)
    catalog = translations(language, directory) if known else gettext.NullTranslations()
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals["direction"] = direction
    env.filters["sentence"] = sentence
    return env


def render(name: str, *, lang: str, **context: Any) -> str:
    """Render template `name` in language `lang`; the template sees `lang` too (for <html lang>)."""
    return environment(lang).get_template(name).render(lang=lang, **context)


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


@cache
def _stylesheet() -> tuple[Markup, str]:
    css = environment(SOURCE_LANGUAGE).get_template("pages/frontdesk.css").render()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return Markup(css), f"'sha256-{digest}'"  # noqa: S704 - our own stylesheet, not user input


def render_page(name: str, *, lang: str, **context: Any) -> Page:
    """An HTML page whose one inline stylesheet is allowed by hash; no script may run."""
    css, css_hash = _stylesheet()
    html = render(name, lang=lang, stylesheet=css, **context)
    policy = (
        f"default-src 'none'; style-src {css_hash}; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return Page(html, policy)


def page_language(request: HttpRequest, settings: Settings, chosen: str | None = None) -> tuple[str, bool]:
    """The language of a page, and whether the visitor asked for it (a language the form then
    passes on as the ticket's hint), rather than getting the desk's default.

    Asked for: `chosen` (the locale a posted form carried), ?lang=, then Accept-Language.
    """
    asked = [primary_language(chosen), primary_language(request.query.get("lang"))]
    asked += ranked_languages(request.header("accept-language"))
    available = available_languages()
    for language in asked:
        if language in available:
            return language, True
    return answer_language([], settings.default_language), False
