"""Letters to the newcomer (issue 14 point 2; TRAJECTORY.md §6.1, §6.3, §6.4): journaled with the act they
announce, with a content hash; rendered to PDF from the journal alone; every stated field checked in the
text pypdf extracts."""
from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader
from sqlmodel import Session

from engine import letters
from engine.replay import replay_dossier
from letters import render
from rules import parameters
from tests.engine.helpers import OFFICER
from tests.engine.test_deadlines import Story, newcomer

MOTIVATION = "Betrokkene reageerde niet op de ingebrekestelling van 1 mei 2024.\nGeen verzachtende omstandigheden."


@pytest.fixture
def fined(tmp_path):
    """Late registration: infraction and notice 2024-05-01, hand-over 2024-06-01, fine of 250 on 2024-06-10."""
    s = Story(tmp_path, newcomer())
    s.sweep_to("2024-06-01")
    s.on("2024-06-10", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                "fine_eur": 250, "motivation": MOTIVATION}, actor=OFFICER)
    yield s
    s.engine.db.dispose()


def of(story) -> list[dict]:
    with Session(story.engine.db) as session:
        return letters.of_dossier(session, story.id)


def text(pdf: bytes) -> str:
    """The PDF's text with whitespace (line breaks of the layout) folded to single spaces."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_each_act_issues_its_letter_in_the_same_unit_of_work(fined):
    issued = of(fined)
    assert [(l["letter"], l["on"], l["reference"] if "reference" in l else l["reference"])
            for l in issued] == [("notice_of_default", "2024-05-01", "N1/1/IG"), ("hand_over", "2024-06-01", "N1/1/OD"),
                                 ("decision", "2024-06-10", "N1/1/BS")]
    kinds = [e.kind for e in fined.journal()]
    # the letter follows the fact it announces, in the same input's entries
    assert kinds[kinds.index("notice_issued") + 1] == "letter_issued"
    assert kinds[kinds.index("handed_over") + 1] == "letter_issued"
    assert kinds[kinds.index("decision_recorded") + 1] == "letter_issued"
    for letter in issued:
        assert letter["hash"] == letters.content_hash(letter["template"], letter["content"])
    assert [l["hash"] for l in fined.view()["letters"]] == [l["hash"] for l in issued]
    assert [l["template"] for l in issued] == ["ingebrekestelling_v1", "overdracht_v1", "beslissing_v1"]
    assert [l["sender"] for l in issued] == ["agii", "agii", "abb"]
    assert replay_dossier(fined.engine, fined.id).ok


def test_notice_of_default_states_every_fact(fined):
    notice = of(fined)[0]
    c = notice["content"]
    assert c["regularisation"]["last_day"] == "2024-05-31"
    assert c["regularisation"]["days"] == {"parameter": "regularisation_days", "value": 30, "from": "1900-01-01",
                                           "source": parameters.get("regularisation_days").values[0].source}
    assert c["objection"]["last_day"] == "2024-05-31"
    words = text(render.pdf([notice]))
    for expected in [
        "Agentschap Integratie en Inburgering",                      # letterhead of the dossier's agency
        "Ons kenmerk N1/1/IG", "Dossier N1", "Inbreuk N1/1",           # references
        "Datum 1 mei 2024",
        "Betreft: ingebrekestelling – niet tijdig aangemeld",
        "Inbreuk vastgesteld op 1 mei 2024", "Laatste tijdige dag was 30 april 2024",
        "Regularisatietermijn 30 dagen", "Uiterste datum 31 mei 2024",
        "tijd tot en met 31 mei 2024",
        "€ 50,00 tot € 5.000,00",                                    # the fine that may follow
        "decreet van 7 juni 2013 betreffende het Vlaamse integratie- en inburgeringsbeleid",
        "Bron: " + parameters.get("letter_legal_basis").values[0].source,
        "tot en met 31 mei 2024 (30 dagen vanaf de datum van deze brief) schriftelijk en gemotiveerd bezwaar",
        notice["hash"],
    ]:
        assert expected in words, expected


def test_hand_over_letter_states_every_fact(fined):
    hand_over = of(fined)[1]
    words = text(render.pdf([hand_over]))
    for expected in ["Ons kenmerk N1/1/OD", "Datum 1 juni 2024", "overdracht van uw dossier aan de handhavingsambtenaar",
                     "Ingebrekestelling van 1 mei 2024", "Einde regularisatietermijn 31 mei 2024",
                     "Overgedragen op 1 juni 2024", "€ 50,00 tot € 5.000,00", "decreet van 7 juni 2013",
                     hand_over["hash"]]:
        assert expected in words, expected


def test_decision_letter_quotes_the_motivation_and_states_the_amount(fined):
    decision = of(fined)[2]
    assert decision["content"]["motivation"] == MOTIVATION
    words = text(render.pdf([decision]))
    for expected in ["Agentschap Binnenlands Bestuur", "Ons kenmerk N1/1/BS", "Datum 10 juni 2024",
                     "Beslissing een administratieve geldboete", "Bedrag van de geldboete € 250,00",
                     "geldboete op van € 250,00", " ".join(MOTIVATION.split()),
                     "wet van 29 juli 1991", "tot en met 10 juli 2024 (30 dagen vanaf de datum van deze brief) beroep",
                     "De handhavingsambtenaar (officer-1)", decision["hash"]]:
        assert expected in words, expected


def test_a_batch_is_one_pdf_with_a_letter_per_page_run(fined):
    batch = render.pdf(of(fined))
    reader = PdfReader(io.BytesIO(batch))
    single = sum(len(PdfReader(io.BytesIO(render.pdf([l]))).pages) for l in of(fined))
    assert len(reader.pages) == single
    words = text(batch)
    assert words.index("Ons kenmerk N1/1/IG") < words.index("Ons kenmerk N1/1/OD") < words.index("Ons kenmerk N1/1/BS")


def test_letters_of_a_day_by_sender(fined):
    from datetime import date

    with Session(fined.engine.db) as session:
        assert [l["reference"] for l in letters.of_day(session, date(2024, 5, 1), "agii")] == ["N1/1/IG"]
        assert letters.of_day(session, date(2024, 5, 1), "abb") == []
        assert [l["letter"] for l in letters.of_day(session, date(2024, 6, 10), "abb")] == ["decision"]
        assert letters.of_day(session, date(2024, 5, 2)) == []


def test_an_edited_letter_is_refused(fined):
    notice = of(fined)[0]
    notice["content"] = json.loads(json.dumps(notice["content"]))
    notice["content"]["regularisation"]["last_day"] = "2024-06-30"
    with pytest.raises(render.TamperedLetter) as raised:
        render.pdf([notice])
    assert raised.value.code == "letter_tampered"


def test_a_dated_change_of_the_objection_period_is_stated_with_its_date(tmp_path):
    from engine.service import bootstrap
    from engine.settings import Settings

    law = parameters.default_law().with_overrides(
        {"objection_days": [{"from": "2024-04-01", "value": 14, "source": "hypothetical decree of 2024"}]}, "test")
    s = Story(tmp_path, newcomer())
    s.engine.db.dispose()
    s.engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/deadlines.db"), s.clock, law=law)
    s.sweep_to("2024-05-01")
    notice = of(s)[0]
    assert notice["content"]["objection"] == {"days": {"parameter": "objection_days", "value": 14,
                                                       "from": "2024-04-01", "source": "hypothetical decree of 2024"},
                                              "last_day": "2024-05-15"}
    words = text(render.pdf([notice]))
    assert "tot en met 15 mei 2024 (14 dagen vanaf de datum van deze brief)" in words
    assert "Bezwaartermijn: Geldig vanaf 1 april 2024. Bron: hypothetical decree of 2024" in words
    s.engine.db.dispose()


def test_the_cli_prints_an_agencys_letters_of_a_day(fined, tmp_path):
    from typer.testing import CliRunner

    from api.cli import app as cli
    from engine import access_log

    url = f"sqlite:///{tmp_path}/deadlines.db"
    out = tmp_path / "mailing.pdf"
    done = CliRunner().invoke(cli, ["letters", "print", "--agency", "agii", "--on", "2024-06-01", "--out", str(out),
                                    "--database", url])
    assert done.exit_code == 0, done.output
    assert "1 letter(s) of agii on 2024-06-01" in done.output
    words = text(out.read_bytes())
    assert "Ons kenmerk N1/1/OD" in words and "Overgedragen op 1 juni 2024" in words
    with fined.engine.reading() as connection:
        assert [(r["role"], r["route"]) for r in access_log.listing(connection, dossier_id="N1", limit=None)["items"]] \
            == [("operator", "cli letters print")]
    # the enforcement officers mail the decisions
    decisions = CliRunner().invoke(cli, ["letters", "print", "--agency", "abb", "--on", "2024-06-10", "--out", str(out),
                                         "--database", url])
    assert decisions.exit_code == 0 and "Ons kenmerk N1/1/BS" in text(out.read_bytes())
    none = CliRunner().invoke(cli, ["letters", "print", "--agency", "atlas", "--on", "2024-06-01", "--out",
                                    str(tmp_path / "none.pdf"), "--database", url])
    assert none.exit_code == 1 and "atlas issued no letters on 2024-06-01" in none.output
    assert not (tmp_path / "none.pdf").exists()
    bad = CliRunner().invoke(cli, ["letters", "print", "--agency", "nobody", "--out", str(out), "--database", url])
    assert bad.exit_code == 2 and "unknown agency 'nobody'" in bad.output


def test_the_texts_cover_every_infraction_type_and_sender():
    from api.letters import SENDERS
    from engine.commands import EVENT_SCHEMAS

    types = EVENT_SCHEMAS["enforcement_decision"]["properties"]["infraction"]["enum"]
    assert set(types) <= set(render.texts()["infractions"])
    assert set(SENDERS) <= set(render.texts()["senders"])


def test_a_text_missing_from_the_texts_file_is_named_not_a_crash(fined):
    notice = of(fined)[0]
    content = json.loads(json.dumps(notice["content"]))
    content["infraction"]["type"] = "an_unknown_type"
    broken = {**notice, "content": content, "hash": letters.content_hash(notice["template"], content)}
    with pytest.raises(render.LetterError) as raised:
        render.pdf([broken])
    assert raised.value.code == "letter_text_missing" and "N1/1/IG" in raised.value.message
    missing = {**notice, "template": "ingebrekestelling_v9"}
    missing["hash"] = letters.content_hash(missing["template"], notice["content"])
    with pytest.raises(render.LetterError) as raised:
        render.pdf([missing])
    assert raised.value.code == "letter_template"


def test_a_named_newcomer_is_addressed_by_name(tmp_path):
    """The register extract's optional name heads the address block (and is part of the hashed content);
    a letter to a newcomer without one keeps the anonymous address and its content as before."""
    s = Story(tmp_path, {**newcomer(), "name": "Ayşe Çelik"})
    try:
        s.sweep_to("2024-05-01")
        notice = of(s)[0]
        assert notice["content"]["addressee"] == "Ayşe Çelik"
        assert notice["hash"] == letters.content_hash(notice["template"], notice["content"])
        words = text(render.pdf([notice]))
        assert "Ayşe Çelik dossiernummer N1" in words and "Aan de inburgeraar" not in words
    finally:
        s.engine.db.dispose()


def test_a_newcomer_without_a_name_is_addressed_as_the_newcomer(fined):
    notice = of(fined)[0]
    assert "addressee" not in notice["content"]
    assert "Aan de inburgeraar dossiernummer N1" in text(render.pdf([notice]))
