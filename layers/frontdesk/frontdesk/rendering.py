"""Jinja2 templates from the project's templates/ folder.

HTML templates (*.html.j2) are autoescaped; every template fails on an undefined variable rather
than rendering a blank. Templates mark their text with _(); English is the source text, and each
other language is a gettext catalog, templates/locales/<lang>/LC_MESSAGES/frontdesk.po. Adding a
language is adding that one file: the catalogs present are the languages Frontdesk answers in.

The templates layer's build (templates/Makefile) also writes what a cold start would otherwise
make: each catalog compiled (frontdesk.mo beside its .po) and each template in Jinja's precompiled
form (compiled/, for Jinja's ModuleLoader, with CPython 3.13 bytecode). They are used when present
and made by the same code as here; a checkout has neither and compiles on first use.
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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
    from jinja2 import BaseLoader, Environment

    from frontdesk.config import Settings
    from frontdesk.http import HttpRequest

# Languages written right to left; pages and emails in them are marked dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"})


def direction(language: str) -> str:
    return "rtl" if language.split("-", 1)[0].lower() in RIGHT_TO_LEFT else "ltr"


def sentence(text: str) -> str:
    """Capitalise the first letter only (Jinja's capitalize lowers the rest)."""
    return text[:1].upper() + text[1:]


# Written by the templates layer's build, read when present (precompile below).
COMPILED_TEMPLATES = "compiled"
_JINJA_VERSION_FILE = "jinja2-version"
_TEMPLATE_FOLDERS = ("email/", "pages/", "chat/")


def compiled_catalog(language: str, directory: Path | None = None) -> bytes:
    """The .mo form of `language`'s catalog (fuzzy entries left out, as gettext would)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(language, directory).open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=CATALOG_DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    return compiled.getvalue()


def _built_catalog(language: str, directory: Path | None) -> Path:
    """Where the templates layer's build writes `language`'s compiled catalog: beside its .po."""
    return catalog_path(language, directory).with_suffix(".mo")


@cache
def translations(language: str, directory: Path | None = None) -> gettext.NullTranslations:
    """The catalog of `language`: its .mo when the build wrote one, else compiled in memory."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    built = _built_catalog(language, directory)
    if built.is_file():
        with built.open("rb") as mo_file:
            return gettext.GNUTranslations(mo_file)
    return gettext.GNUTranslations(io.BytesIO(compiled_catalog(language, directory)))


def _new_environment(loader: BaseLoader) -> Environment:
    """Every template's environment: precompiled templates are only valid for these options."""
    from jinja2 import Environment, StrictUndefined, select_autoescape

    env = Environment(
        loader=loader,
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["direction"] = direction
    env.filters["sentence"] = sentence
    return env


@cache
def _loader(directory: Path) -> BaseLoader:
    """The templates as source, behind their precompiled form when the build left one made by this
    same Jinja version (another version's generated code may not run on this one). One per folder,
    shared by every language's environment, so each precompiled template is imported once."""
    import jinja2

    source = jinja2.FileSystemLoader(directory)
    compiled = directory / COMPILED_TEMPLATES
    try:
        made_by = (compiled / _JINJA_VERSION_FILE).read_text(encoding="ascii").strip()
    except OSError:
        return source
    if made_by != jinja2.__version__:
        return source
    return jinja2.ChoiceLoader([jinja2.ModuleLoader(compiled), source])


@cache
def environment(language: str = SOURCE_LANGUAGE, directory: Path | None = None) -> Environment:
    """A Jinja environment speaking `language` (English for a language without a catalog)."""
    # Imported in _new_environment: a handler imports this module for the paths that render, and
    # Jinja2 is a twentieth of a cold start that a JSON post or a redirect never needs.
    env = _new_environment(_loader(directory or templates_dir()))
    known = language in available_languages(directory)
    catalog = translations(language, directory) if known else gettext.NullTranslations()
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    return env


def precompile(directory: Path) -> list[str]:
    """Write the compiled catalogs and the precompiled templates into a copy of the templates
    folder (the templates layer's build); the names of the templates compiled."""
    import jinja2

    for language in available_languages(directory) - {SOURCE_LANGUAGE}:
        _built_catalog(language, directory).write_bytes(compiled_catalog(language, directory))
    env = _new_environment(jinja2.FileSystemLoader(directory))
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]  # newstyle: compiled in
    names = env.list_templates(filter_func=lambda name: name.startswith(_TEMPLATE_FOLDERS))
    target = directory / COMPILED_TEMPLATES
    target.mkdir(exist_ok=True)
    env.compile_templates(target, zip=None, filter_func=names.__contains__, ignore_errors=False)
    (target / _JINJA_VERSION_FILE).write_text(jinja2.__version__ + "\n", encoding="ascii")
    return names


def render(name: str, *, lang: str, **context: Any) -> str:
    """Render template `name` in language `lang`; the template sees `lang` too (for <html lang>)."""
    return environment(lang).get_template(name).render(lang=lang, **context)


class Page(NamedTuple):
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
