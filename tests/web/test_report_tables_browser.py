"""Seed 000 question 1 in headless Chromium (Dutch locale): a caseworker registers a newcomer at an office
picked from the offices of the dossier's region, and the auditor reads the table of first registrations
per region and office, and per centrumstad. Every page is checked with axe-core and screenshotted to
``artifacts/screenshots/``."""
from __future__ import annotations

from datetime import date

from engine.service import Actor

from .browser_helpers import sign_in, visit
from .conftest import at, newcomer

AGII = Actor("cw-agii", "caseworker", "agii")


def test_registration_at_an_office_and_the_report_of_first_registrations_in_dutch(page, engine, clock):
    engine.import_newcomer(newcomer("m1", nis_code="12025"))                      # Mechelen (provincie Antwerpen)
    engine.import_newcomer(newcomer("m2", nis_code="12025", nationalities=["NL"], residence="labour_migrant_eu"))
    engine.import_newcomer(newcomer("b1", nis_code="31005"))                      # Brugge
    engine.import_newcomer(newcomer("x1", nis_code="13040"))                      # Turnhout
    engine.import_newcomer(newcomer("a1"))                                        # Antwerpen stad (Atlas)
    at(clock, date(2024, 2, 12))
    engine.handle("m2", "registered", {"office": "loket_mechelen"}, actor=AGII)
    engine.handle("b1", "registered", {"office": "vestiging_brugge"}, actor=AGII)
    engine.handle("x1", "registered", {}, actor=AGII)                               # no office recorded
    engine.handle("a1", "registered", {"office": "atlas"}, actor=Actor("cw", "caseworker", "atlas"))

    sign_in(page, "caseworker", "cw-agii", "agii")
    page.goto("/ui/dossiers/m1/events/registered")
    options = page.locator("#f-office option")
    labels = [options.nth(i).inner_text() for i in range(options.count())]
    assert "Loket Mechelen" in labels and "Loket Boom" in labels
    assert "Vestiging Brugge" not in labels and "Atlas" not in labels  # only the offices of the dossier's region
    assert page.locator("label[for=f-office]").inner_text() == "Loket van aanmelding"
    page.select_option("#f-office", "loket_mechelen")
    visit(page, "30-form-registered-office")
    page.click("form.event-form button[type=submit]")
    page.wait_for_load_state("load")
    assert page.locator(".notice.success").is_visible()

    sign_in(page, "auditor", "auditor-1")
    page.goto("/ui/audit/reports?year=2024")
    page.wait_for_function("() => { const i = document.querySelector('.chart img'); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    table = page.locator("#h-first_registrations ~ .scroll table")
    assert page.locator("#h-first_registrations").inner_text().startswith("Personen met een eerste aanmelding")
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    assert headers == ["regio / loket", "verplicht", "gerechtigd", "onbepaald", "totaal"]
    rows = {r.locator("th").inner_text().strip(): [c.strip() for c in r.locator("td").all_inner_texts()]
            for r in table.locator("tbody tr").all()}
    assert rows["Loket Mechelen"] == ["1", "1", "0", "2"]  # m1 (obligated) through the form, m2 (entitled)
    assert rows["Vestiging Brugge"] == ["1", "0", "0", "1"]
    assert rows["loket niet geregistreerd"] == ["1", "0", "0", "1"]  # Turnhout, no office
    assert rows["Atlas"] == ["1", "0", "0", "1"]
    assert rows["totaal"] == ["4", "1", "0", "5"]
    assert table.locator("tbody tr.nested th", has_text="Loket Mechelen").count() == 1  # indented under its region
    cities = page.locator("#h-centrumsteden ~ .scroll table")
    city_rows = {r.locator("th").inner_text().strip(): [c.strip() for c in r.locator("td").all_inner_texts()]
                 for r in cities.locator("tbody tr").all()}
    assert len(city_rows) == 14  # the 13 centrumsteden and their total
    assert city_rows["Mechelen"][-1] == "2" and city_rows["Brugge"][-1] == "1" and city_rows["Turnhout"][-1] == "1"
    assert city_rows["Sint-Niklaas"][-1] == "0"
    page.locator("#h-first_registrations").scroll_into_view_if_needed()
    visit(page, "31-report-first-registrations")


def test_the_timeline_names_the_office_of_a_registration():
    from api.web.i18n import Translator
    from api.web.views import timeline_line

    entry = {"kind": "registered", "payload": {"on": "2024-02-12", "office": "loket_tielt"}}
    assert timeline_line(Translator("nl"), entry) == "op 12 februari 2024 bij Loket Tielt (Sociaal huis)"
    assert timeline_line(Translator("en"), entry) == "on 12 February 2024 at Loket Tielt (Sociaal huis)"
    assert timeline_line(Translator("nl"), {"kind": "registered", "payload": {"on": "2024-02-12"}}) == "op 12 februari 2024"
