"""Letters in the web interface (issue 14 point 2): the dossier page lists the letters and downloads them (a
read of the dossier, logged); the mailing page gives an agency its letters of a day as one PDF. The browser
test runs Chromium in Dutch, checks axe-core and saves screenshots of the pages and of a rendered letter."""
from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from engine import access_log
from engine.service import Actor
from timers.sweep import sweep_days

from .browser_helpers import sign_in, visit
from .conftest import SCREENSHOTS, at, newcomer
from .conftest import sign_in as sign_in_client

MOTIVATION = "Betrokkene reageerde niet op de ingebrekestelling van 16 april 2024 en gaf geen reden op."


def fined(engine, clock) -> None:
    """n1 (Atlas): notice 2024-04-16, hand-over 2024-05-17, fine of 400 on 2024-05-20 with a motivation."""
    engine.import_newcomer(newcomer("n1"))
    engine.import_newcomer(newcomer("g1", nis_code="44021"))  # Amal (Gent): not Atlas's
    sweep_days(engine, clock, date(2024, 2, 2), date(2024, 5, 20))
    at(clock, date(2024, 5, 20))
    engine.handle("n1", "enforcement_decision", {"infraction": "late_registration", "decision": "fine",
                                                 "fine_eur": 400, "motivation": MOTIVATION},
                  actor=Actor("olga", "enforcement_officer"))


def text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def reads(engine, dossier_id):
    with engine.reading() as connection:
        return [(r["user"], r["route"]) for r in access_log.listing(connection, dossier_id=dossier_id,
                                                                   limit=None)["items"]]


def test_the_dossier_page_lists_the_letters_and_downloads_them(client, engine, clock):
    fined(engine, clock)
    sign_in_client(client, "caseworker", "atlas", user="anna")
    page = client.get("/ui/dossiers/n1")
    assert page.status_code == 200
    for expected in ('id="h-letters"', "n1/1/IG", "n1/1/OD", "n1/1/BS", "ingebrekestelling", "overdracht aan de handhaving",
                     "beslissing van de handhavingsambtenaar", "/ui/dossiers/n1/letters/3.pdf"):
        assert expected in page.text, expected
    pdf = client.get("/ui/dossiers/n1/letters/3.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert MOTIVATION in text(pdf.content) and "€ 400,00" in text(pdf.content)
    assert reads(engine, "n1")[-1] == ("anna", "GET /ui/dossiers/{dossier_id}/letters/{number}.pdf")
    assert client.get("/ui/dossiers/n1/letters/7.pdf").status_code == 404
    assert client.get("/ui/dossiers/n1/letters/x.pdf").status_code == 422
    assert client.get("/ui/dossiers/g1/letters/1.pdf").status_code == 404  # another agency's dossier


def test_the_mailing_page(client, engine, clock):
    fined(engine, clock)
    sign_in_client(client, "caseworker", "atlas", user="anna")
    page = client.get("/ui/letters?on=2024-04-16")
    assert page.status_code == 200 and "n1/1/IG" in page.text and "/ui/letters/mailing.pdf?agency=atlas&amp;on=2024-04-16" in page.text
    assert "geen brieven" in client.get("/ui/letters").text  # today (2024-05-20): only the officer's decision
    pdf = client.get("/ui/letters/mailing.pdf?agency=atlas&on=2024-04-16")
    assert pdf.status_code == 200 and "Ons kenmerk n1/1/IG" in text(pdf.content)
    assert reads(engine, "n1")[-1] == ("anna", "GET /ui/letters/mailing.pdf")
    assert client.get("/ui/letters?agency=amal").status_code == 403
    assert client.get("/ui/letters?agency=nobody").status_code == 422
    assert client.get("/ui/letters?on=2024-02-30").status_code == 422
    assert client.get("/ui/letters/mailing.pdf?on=2024-05-20").status_code == 404
    sign_in_client(client, "admin", user="root")
    every = client.get("/ui/letters?on=2024-04-16")
    assert every.status_code == 200 and "Brieven van alle afzenders op 2024-04-16" in every.text and "n1/1/IG" in every.text
    sign_in_client(client, "auditor", user="ines")
    assert client.get("/ui/letters").status_code == 403


def test_letters_in_chromium_in_dutch(page, engine, clock):
    fined(engine, clock)
    sign_in(page, "caseworker", "anna", "atlas")
    page.goto("/ui/dossiers/n1")
    rows = page.locator("#h-letters ~ table.letters tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("td").nth(0).inner_text() for i in range(3)] == [
        "ingebrekestelling", "overdracht aan de handhaving", "beslissing van de handhavingsambtenaar"]
    page.locator("#h-letters").scroll_into_view_if_needed()
    visit(page, "letters-01-dossier")
    with page.expect_download() as download:
        page.click("a[aria-label='Brief n1/1/BS downloaden (PDF)']")
    saved = SCREENSHOTS / "letters-n1-1-BS.pdf"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    download.value.save_as(str(saved))
    assert download.value.suggested_filename == "brief-n1-3.pdf"
    words = text(saved.read_bytes())
    assert "Ons kenmerk n1/1/BS" in words and MOTIVATION in words and "€ 400,00" in words

    page.click("nav >> text=Brieven")
    assert page.url.endswith("/ui/letters")
    page.fill("#f-on", "2024-04-16")
    page.click("form.form button[type=submit]")
    assert page.locator("table.letters tbody tr").count() == 1
    visit(page, "letters-02-mailing")
    with page.expect_download() as batch:
        page.click("#mailing-pdf")
    assert batch.value.suggested_filename == "brieven-atlas-2024-04-16.pdf"
    assert "Ons kenmerk n1/1/IG" in text(open(batch.value.path(), "rb").read())

    # the letter itself as a person sees it: its first page rendered to PNG (pdftoppm, scripts/pdf.sh)
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: scripts/pdf.sh installs poppler-utils")
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(saved),
                    str(SCREENSHOTS / "letters-03-beslissing-pagina-1")], check=True)
    image = SCREENSHOTS / "letters-03-beslissing-pagina-1.png"
    assert image.stat().st_size > 10_000
