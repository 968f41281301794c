"""Jinja2 templates from the project's templates/ folder.

HTML templates (*.html.j2) are autoescaped; every template fails on an undefined variable rather
than rendering a blank. Templates mark their text with _() so translations can be installed
per language; English is the source text.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES_DIR_VARIABLE = "FRONTDESK_TEMPLATES_DIR"
# Languages written right to left; pages and emails in them are marked dir="rtl".
RIGHT_TO_LEFT = frozenset({"ar", "arc", "ckb", "dv", "fa", "he", "ks", "ps", "sd", "ug", "ur", "yi"})


def direction(language: str) -> str:
    return "rtl" if language.split("-", 1)[0].lower() in RIGHT_TO_LEFT else "ltr"


def sentence(text: str) -> str:
    """Capitalise the first letter only (Jinja's capitalize lowers the rest)."""
    return text[:1].upper() + text[1:]


def templates_dir() -> Path:
    """FRONTDESK_TEMPLATES_DIR (set in Lambda, where the templates layer sits), else the checkout's."""
    if configured := os.environ.get(TEMPLATES_DIR_VARIABLE):
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "templates"


@cache
def environment(directory: Path | None = None) -> Environment:
    env = Environment(
        loader=FileSystemLoader(directory or templates_dir()),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.globals["direction"] = direction
    env.filters["sentence"] = sentence
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


@dataclass(frozen=True)
class Page:
    html: str
    content_security_policy: str


@cache
def _stylesheet() -> tuple[Markup, str]:
    css = environment().get_template("pages/frontdesk.css").render()
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return Markup(css), f"'sha256-{digest}'"  # noqa: S704 - our own stylesheet, not user input


def render_page(name: str, **context: Any) -> Page:
    """An HTML page whose one inline stylesheet is allowed by hash; no script may run."""
    css, css_hash = _stylesheet()
    html = render(name, stylesheet=css, **context)
    policy = (
        f"default-src 'none'; style-src {css_hash}; img-src 'self' data:; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    return Page(html, policy)
