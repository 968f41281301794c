"""The languages Frontdesk writes in: English, and each language with a translation catalog.

Catalogs are gettext .po files beside the templates, templates/locales/<lang>/LC_MESSAGES/
frontdesk.po; adding a language is adding that one file. Kept apart from rendering so intake can
ask which languages exist without importing Jinja.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path

TEMPLATES_DIR_VARIABLE = "FRONTDESK_TEMPLATES_DIR"
SOURCE_LANGUAGE = "en"
CATALOG_DOMAIN = "frontdesk"


def templates_dir() -> Path:
    """FRONTDESK_TEMPLATES_DIR (set in Lambda, where the templates layer sits), else the checkout's."""
    if configured := os.environ.get(TEMPLATES_DIR_VARIABLE):
        return Path(configured)
    return Path(__file__).resolve().parents[4] / "templates"


def catalog_path(language: str, directory: Path | None = None) -> Path:
    return (directory or templates_dir()) / "locales" / language / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po"


@cache
def available_languages(directory: Path | None = None) -> frozenset[str]:
    """The languages Frontdesk can write in: English and every language with a catalog."""
    locales = (directory or templates_dir()) / "locales"
    languages = locales.iterdir() if locales.is_dir() else ()
    found = {path.name for path in languages if catalog_path(path.name, directory).is_file()}
    return frozenset({SOURCE_LANGUAGE, *found})


def answer_language(candidates: Iterable[str | None], default: str) -> str:
    """The first of `candidates` Frontdesk can write in, else `default` (or English)."""
    available = available_languages()
    for language in candidates:
        if language and language in available:
            return language
    return default if default in available else SOURCE_LANGUAGE


def translatable(message: str) -> str:
    """Marks `message` for the catalogs (pybabel extract -k translatable); pages translate it when
    they show it. The text itself is the message id, English, with %(name)s placeholders."""
    return message
