"""The report people read (issue 14.5): Dutch by default, integer axes for counts, "geen gegevens"
on empty panels, never ``None`` nor a source code like ``(000 Q1)``; the CLI in Dutch unless ``--lang en``.

The charts are saved to ``artifacts/screenshots/report-*.png`` for a person to look at.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.web import charts
from api.web.i18n import MESSAGES, Translator
from engine.reports import report

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ENGLISH = re.compile(r"\b(the|Registrations|Advice|within|months|tests|issued|First|None|by type)\b")
NL = 0


@pytest.fixture(scope="module")
def report_2024(audit_store):
    return report(audit_store, 2024)


def _texts(fig) -> list[str]:
    out = [fig._suptitle.get_text()]
    for ax in fig.axes:
        out.append(ax.get_title())
        out += [t.get_text() for t in ax.texts]
        out += [label.get_text() for label in ax.get_xticklabels() + ax.get_yticklabels()]
        out += [ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return [t for t in out if t]


def _save(fig, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fig.savefig(SCREENSHOTS / name, format="png", dpi=100)


def _panel(fig, heading_key: str):
    prefix = MESSAGES[heading_key][NL].split("(")[0].split("{")[0].strip()
    [ax] = [ax for ax in fig.axes if ax.get_title().startswith(prefix)]
    return ax


def test_the_chart_speaks_dutch_with_integer_count_axes(report_2024):
    fig = charts.figure(Translator("nl"), report_2024)
    _save(fig, "report-2024-nl.png")
    texts = _texts(fig)
    assert not [t for t in texts if ENGLISH.search(t)], texts
    assert texts[0].startswith("Inburgering 2024 — journaal tot ")
    registrations = _panel(fig, "chart.registrations")
    assert registrations.get_title() == "Aanmeldingen per agentschap en regio (7 aanmeldingen)"
    ticks = registrations.get_xticks()
    assert len(ticks) > 1 and all(float(t).is_integer() for t in ticks)  # never 0.2 of a registration
    first = _panel(fig, "chart.first_infractions")
    assert all(float(t).is_integer() for t in first.get_xticks())
    assert {label.get_text() for label in first.get_yticklabels()} == {
        MESSAGES["value.late_registration"][NL], MESSAGES["value.late_vdab_registration"][NL],
        MESSAGES["value.irregular_participation"][NL]}
    mo = _panel(fig, "chart.mo")
    assert [t.get_text() for t in mo.texts] == ["80 %", "100 %"]  # per test, per person


def test_an_empty_year_says_geen_gegevens_and_never_none(audit_store):
    empty = report(audit_store, 2023)
    fig = charts.figure(Translator("nl"), empty)
    _save(fig, "report-2023-empty-nl.png")
    texts = _texts(fig)
    assert not any("None" in t for t in texts), texts
    for ax in fig.axes:
        if not ax.patches:  # no bar drawn: the panel says so and has no meaningless axis
            assert [t.get_text() for t in ax.texts] == ["geen gegevens"], ax.get_title()
            assert list(ax.get_yticks()) == [] and list(ax.get_xticks()) == []
    duration = _panel(fig, "chart.duration")
    assert duration.get_title() == "Mediaan maanden van contract tot attest (alle: geen gegevens)"


def test_the_chart_in_english_on_request(report_2024):
    fig = charts.figure(Translator("en"), report_2024)
    _save(fig, "report-2024-en.png")
    titles = [ax.get_title() for ax in fig.axes]
    assert "Registrations by agency and region (7 registrations)" in titles


def test_the_text_report_is_dutch_with_belgian_numbers(report_2024):
    text = charts.to_text(Translator("nl"), report_2024)
    assert text.startswith("Inburgeringsrapport 2024 — journaal tot ")
    assert "Resultaten MO-testen (2024)" in text
    assert "80 %" in text and "80.0%" not in text
    assert "(000 Q1)" not in text and "None" not in text
    english = charts.to_text(Translator("en"), report_2024)
    assert "MO test results (2024)" in english and "80%" in english


def test_cli_report_is_dutch_by_default_and_english_with_lang(audit_store, tmp_path):
    runner = CliRunner()
    dutch = runner.invoke(app, ["report", "--year", "2024", "--database", audit_store])
    assert dutch.exit_code == 0, dutch.output
    assert "Inburgeringsrapport 2024" in dutch.output and "Aanmeldingen per agentschap/regio" in dutch.output
    assert "(000 Q1)" not in dutch.output
    english = runner.invoke(app, ["report", "--year", "2024", "--lang", "en", "--database", audit_store])
    assert english.exit_code == 0 and "Civic-integration report 2024" in english.output
    wrong = runner.invoke(app, ["report", "--year", "2024", "--lang", "fr", "--database", audit_store])
    assert wrong.exit_code == 2 and "--lang" in wrong.output
    chart = tmp_path / "r.png"
    drawn = runner.invoke(app, ["report", "--year", "2024", "--format", "png", "--out", str(chart),
                                "--database", audit_store])
    assert drawn.exit_code == 0 and chart.read_bytes()[:4] == b"\x89PNG"
