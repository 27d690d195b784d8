"""Rendering letters to the newcomer as PDF (TRAJECTORY.md §6.1, §6.3, §6.4), from what the journal
recorded (:class:`engine.facts.LetterIssued`, built by :mod:`engine.letters`).

Why WeasyPrint (HTML + CSS → PDF) rather than ReportLab: the templates are files a non-programmer
edits — ``letters/templates/*.html`` (Jinja, the same template language as the web interface) with
one stylesheet ``letter.css`` (A4 page, margins, letterhead) and the texts in ``letters/texts.yaml``.
With ReportLab the layout is Python code (Platypus flowables), so every change of wording or layout
would be a code change. WeasyPrint is maintained by CourtBouillon, renders CSS paged media (``@page``,
page numbers) and needs Pango, a system library that ``scripts/pdf.sh`` installs when it is missing.

A letter is rendered only from its recorded ``template`` name and ``content``; the recorded ``hash``
is checked first (:class:`TamperedLetter` when it does not match), so the PDF states exactly what
was journaled, however late it is rendered again. Nothing here reads the dossier or the clock.
"""
from __future__ import annotations

import functools
import re
from datetime import date
from pathlib import Path
from typing import Iterable

import yaml
from jinja2 import (Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, TemplateSyntaxError,
                    UndefinedError, select_autoescape)

from engine.errors import Refused
from engine.letters import content_hash

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT / "templates"
TEXTS = ROOT / "texts.yaml"
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")


class LetterError(Refused):
    """A letter cannot be rendered (409 through the API); ``code`` is stable (engine/errors.py)."""

    def __init__(self, message: str, code: str, **params):
        super().__init__(message, 409, code=code, params=params)


class TamperedLetter(LetterError):
    """The recorded content does not match the recorded hash."""


@functools.lru_cache(maxsize=1)
def _texts_cached(mtime: float) -> dict:
    return yaml.safe_load(TEXTS.read_text(encoding="utf-8"))


def texts() -> dict:
    """``letters/texts.yaml`` (re-read when the file changes: it is meant to be edited)."""
    return _texts_cached(TEXTS.stat().st_mtime)


def dutch_date(value) -> str:
    """``2024-03-01`` → ``1 maart 2024``."""
    if value is None:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return f"{day.day} {texts()['months'][day.month - 1]} {day.year}"


#: the start date rules/parameters.py uses for "always" (a value in force since before any dossier)
BASELINE = "1900-01-01"


def in_force_since(cited: dict) -> str:
    """``Geldig vanaf 1 maart 2022. `` for a dated value, nothing for one in force since always."""
    return "" if cited["from"] <= BASELINE else f"Geldig vanaf {dutch_date(cited['from'])}. "


def euro(value) -> str:
    """``1250`` → ``€ 1.250,00`` (Dutch notation)."""
    text = f"{float(value):,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"€ {text}"


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["datum"] = dutch_date
    env.filters["euro"] = euro
    env.filters["sinds"] = in_force_since
    return env


def check(letter: dict) -> None:
    """Refuse a letter whose content does not match its recorded hash (an edited journal)."""
    if content_hash(letter["template"], letter["content"]) != letter["hash"]:
        raise TamperedLetter(f"letter {letter['content'].get('reference')}: the content does not match its "
                             "recorded hash", "letter_tampered", reference=letter["content"].get("reference"))


def html(letter: dict) -> str:
    """The letter as HTML (what the PDF is made from): ``letter`` = ``{template, content, hash}``."""
    check(letter)
    name = letter["template"]
    if not _TEMPLATE_NAME.fullmatch(name or ""):
        raise LetterError(f"template name {name!r} is not a template file name", "letter_template", template=name)
    try:
        template = _environment().get_template(f"{name}.html")
        return template.render(c=letter["content"], hash=letter["hash"], texts=texts())
    except TemplateNotFound as error:
        raise LetterError(f"template {error.name!r} not found in letters/templates", "letter_template",
                          template=error.name) from None
    except TemplateSyntaxError as error:  # an edit of a template broke it: say where
        raise LetterError(f"letters/templates/{error.name}: line {error.lineno}: {error.message}",
                          "letter_template_invalid", template=error.name, line=error.lineno) from None
    except UndefinedError as error:  # a text the template needs is missing from texts.yaml (or the content)
        raise LetterError(f"letter {letter['content'].get('reference')} with template {name!r}: {error.message} "
                          "(letters/texts.yaml)", "letter_text_missing", template=name) from None


def pdf(letters: Iterable[dict]) -> bytes:
    """One PDF of every letter, each starting on a new page (a mailing batch, or a single letter)."""
    from weasyprint import HTML  # imported here: only rendering needs Pango

    documents = [HTML(string=html(letter), base_url=str(TEMPLATES)).render() for letter in letters]
    if not documents:
        raise LetterError("no letters to render", "no_letters")
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()
