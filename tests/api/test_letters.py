"""Letters through the HTTP API (issue 14 point 2): a dossier's letters listed and downloaded by its readers
only, each download a read in the access log; an agency's mailing of a day as one PDF; bad input is a 4xx
naming what is wrong. SQLite and PostgreSQL."""
from __future__ import annotations

import io
from datetime import date

from pypdf import PdfReader

from engine import access_log
from timers.sweep import sweep_days
from tests.conftest import at

MOTIVATION = "Geen reactie op de ingebrekestelling; geen verzachtende omstandigheden."


def text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def fined(client, auth, newcomer, engine, clock) -> str:
    """n1 (Atlas, obligation 2024-01-15): infraction and notice 2024-04-16, hand-over 2024-05-17, fine 2024-05-20;
    n2 a day later: notice 2024-04-17, hand-over 2024-05-18."""
    newcomer("n1")
    newcomer("n2", obligation_start="2024-01-16")
    sweep_days(engine, clock, date(2024, 2, 2), date(2024, 5, 20))
    at(clock, date(2024, 5, 20))
    response = client.post("/dossiers/n1/events/enforcement_decision", headers=auth("enforcement_officer", user="olga"),
                           json={"infraction": "late_registration", "decision": "fine", "fine_eur": 300,
                                 "motivation": MOTIVATION})
    assert response.status_code == 200, response.text
    return "n1"


def reads(engine, dossier_id):
    with engine.reading() as connection:
        return [(r["user"], r["route"]) for r in access_log.listing(connection, dossier_id=dossier_id,
                                                                   limit=None)["items"]]


def test_a_dossiers_letters_are_listed_and_downloaded_by_its_readers(client, auth, newcomer, engine, clock):
    fined(client, auth, newcomer, engine, clock)
    anna = auth("caseworker", "atlas", user="anna")
    listed = client.get("/dossiers/n1/letters", headers=anna)
    assert listed.status_code == 200, listed.text
    assert [(l["number"], l["letter"], l["on"], l["reference"], l["sender"]) for l in listed.json()["letters"]] == [
        (1, "notice_of_default", "2024-04-16", "n1/1/IG", "atlas"), (2, "hand_over", "2024-05-17", "n1/1/OD", "atlas"),
        (3, "decision", "2024-05-20", "n1/1/BS", "abb")]
    pdf = client.get("/dossiers/n1/letters/3.pdf", headers=anna)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == 'attachment; filename="brief-n1-3.pdf"'
    words = text(pdf.content)
    assert "Ons kenmerk n1/1/BS" in words and "€ 300,00" in words and MOTIVATION in words
    assert "De handhavingsambtenaar (olga)" in words
    assert reads(engine, "n1") == [("anna", "GET /dossiers/{dossier_id}/letters"),
                                   ("anna", "GET /dossiers/{dossier_id}/letters/{number}.pdf")]
    # another agency's caseworker sees nothing, and nothing is logged
    ghent = auth("caseworker", "amal", user="gert")
    assert client.get("/dossiers/n1/letters", headers=ghent).status_code == 404
    assert client.get("/dossiers/n1/letters/1.pdf", headers=ghent).status_code == 404
    assert len(reads(engine, "n1")) == 2


def test_bad_letter_requests_are_4xx_naming_the_problem(client, auth, newcomer, engine, clock):
    fined(client, auth, newcomer, engine, clock)
    admin = auth("admin")
    missing = client.get("/dossiers/n1/letters/9.pdf", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "letter_not_found"
    assert client.get("/dossiers/n1/letters/0.pdf", headers=admin).status_code == 422
    assert client.get("/dossiers/n1/letters/x.pdf", headers=admin).status_code == 422
    assert client.get("/dossiers/n1/letters/99999999999999999999999.pdf", headers=admin).status_code == 422
    assert client.get("/dossiers/nope/letters/1.pdf", headers=admin).status_code == 404
    assert client.get("/dossiers/n1/letters/1.pdf").status_code == 401
    assert client.get("/dossiers/n1/letters?x=1", headers=admin).status_code == 422


def test_an_agency_prints_its_letters_of_a_day_as_one_pdf(client, auth, newcomer, engine, clock):
    fined(client, auth, newcomer, engine, clock)
    anna = auth("caseworker", "atlas", user="anna")
    mailing = client.get("/letters/mailing.pdf?on=2024-04-16", headers=anna)
    assert mailing.status_code == 200, mailing.text
    assert mailing.headers["content-disposition"] == 'attachment; filename="brieven-atlas-2024-04-16.pdf"'
    words = text(mailing.content)
    assert "Ons kenmerk n1/1/IG" in words and "ingebrekestelling" in words and "n2/1" not in words
    assert reads(engine, "n1")[-1] == ("anna", "GET /letters/mailing.pdf")
    assert reads(engine, "n2") == []
    # the enforcement officers' decisions are their own mailing
    officer = auth("enforcement_officer", user="olga")
    decisions = client.get("/letters/mailing.pdf?on=2024-05-20", headers=officer)
    assert decisions.status_code == 200 and "Ons kenmerk n1/1/BS" in text(decisions.content)
    # default day: today by the store's clock (2024-05-20: only the officer's decision was issued)
    none = client.get("/letters/mailing.pdf", headers=anna)
    assert none.status_code == 404 and none.json()["code"] == "no_letters"
    assert "atlas issued no letters on 2024-05-20" in none.json()["message"]
    sweep_days(engine, clock, date(2024, 5, 21), date(2024, 5, 21))
    at(clock, date(2024, 5, 21), 12)
    anna = auth("caseworker", "atlas", user="anna")  # a token of the new day
    assert client.get("/letters/mailing.pdf", headers=anna).status_code == 404
    hand_overs = client.get("/letters/mailing.pdf?on=2024-05-18", headers=anna)
    assert hand_overs.status_code == 200 and "Ons kenmerk n2/1/OD" in text(hand_overs.content)


def test_the_mailing_is_refused_clearly(client, auth, newcomer, engine, clock):
    fined(client, auth, newcomer, engine, clock)
    anna = auth("caseworker", "atlas", user="anna")
    other = client.get("/letters/mailing.pdf?agency=amal&on=2024-04-16", headers=anna)
    assert other.status_code == 403 and other.json()["code"] == "other_agency"
    unknown = client.get("/letters/mailing.pdf?agency=xyz&on=2024-04-16", headers=auth("admin"))
    assert unknown.status_code == 422 and unknown.json()["path"] == "$.query.agency"
    assert client.get("/letters/mailing.pdf?on=2024-02-30", headers=anna).json()["path"] == "$.query.on"
    assert client.get("/letters/mailing.pdf?on=2024-04-16", headers=auth("auditor")).status_code == 403
    # an admin without an agency gets every sender's letters of the day
    every = client.get("/letters/mailing.pdf?on=2024-04-16", headers=auth("admin"))
    assert every.status_code == 200 and every.headers["content-disposition"].endswith('brieven-alle-2024-04-16.pdf"')
    assert "Ons kenmerk n1/1/IG" in text(every.content)
    assert client.get("/letters/mailing.pdf?agency=atlas&on=2024-04-16", headers=auth("admin")).status_code == 200
