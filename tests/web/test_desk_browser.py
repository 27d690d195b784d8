"""Issue 14 in headless Chromium (Dutch locale): finding and owning work, deciding a chosen infraction with
a motivation, uploading a register extract, downloading a journal. Every page is screenshotted to
``artifacts/screenshots/`` (``40-…``) and checked with axe-core."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

from timers.sweep import sweep_days

from .browser_helpers import sign_in, visit
from .conftest import at, newcomer


def test_caseworker_searches_claims_filters_mine_and_releases(page, engine, clock):
    for dossier_id, start in (("DEMO-001", "2024-01-20"), ("DEMO-002", "2024-01-05"), ("DEMO-003", "2024-01-10")):
        engine.import_newcomer(newcomer(dossier_id, obligation_start=start))
    engine.import_newcomer(newcomer("GENT-1", nis_code="44021"))  # another agency

    sign_in(page, "caseworker", "cw-anna", "atlas")
    rows = page.locator("table.worklist tbody tr")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["DEMO-002", "DEMO-003",
                                                                                     "DEMO-001"]
    page.click("button[aria-label='Dossier DEMO-003 opnemen']")
    assert page.url.endswith("claim=taken") and "/ui/worklist" in page.url
    assert page.locator("#claim-notice").inner_text() == "Het dossier staat op jouw naam."
    assert rows.filter(has=page.locator("th", has_text="DEMO-003")).locator("td.holder").inner_text() == "jij"
    visit(page, "40-worklist-claimed")

    page.check("#f-mine")
    page.click("form.filters:not(.search) button[type=submit]")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["DEMO-003"]
    visit(page, "41-worklist-mine")

    page.goto("/ui/worklist")
    page.select_option("#f-sort", "-dossier_id")
    page.fill("#f-due_to", "2024-04-10")  # last timely days: 002 04-05, 003 04-10, 001 04-20
    page.click("form.filters:not(.search) button[type=submit]")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["DEMO-003", "DEMO-002"]
    page.fill("#f-due_from", "2024-05-01")
    page.click("form.filters:not(.search) button[type=submit]")
    assert page.locator("#err-due_from").is_visible()  # after the last date: said at the field, nothing listed
    visit(page, "42-worklist-filter-error")

    page.goto("/ui/worklist")
    page.fill("#f-q", "demo-00")
    page.click("form.search button[type=submit]")
    assert page.locator("table.search-results tbody tr").count() == 3
    assert "GENT-1" not in page.locator("main").inner_text()
    visit(page, "43-search")
    page.fill("#f-q", "demo-002")  # one match: straight to the dossier
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/ui/dossiers/DEMO-002")
    assert page.locator("#holder").inner_text() == "Niemand behandelt dit dossier."
    page.click(".owner button:text-is('Opnemen')")
    page.wait_for_url("**/ui/dossiers/DEMO-002?claim=taken")
    assert "cw-anna" in page.locator("#holder").inner_text()
    visit(page, "44-dossier-claimed")
    page.click(".owner button:text-is('Vrijgeven')")
    assert page.locator("#claim-notice").inner_text() == "Het dossier is vrijgegeven."
    assert engine.worklist("atlas", claimed_by="cw-anna")["total"] == 1  # DEMO-003 only


def test_claim_held_by_someone_else_is_refused_with_the_holder(page, engine):
    from engine import desk
    from engine.service import Actor

    engine.import_newcomer(newcomer("n1"))
    sign_in(page, "caseworker", "cw-bart", "atlas")
    desk.claim(engine, "n1", Actor("cw-else", "caseworker", "atlas"))  # meanwhile, by a colleague
    page.click("button[aria-label='Dossier n1 opnemen']")
    assert "cw-else" in page.locator("main").inner_text()
    visit(page, "45-claim-conflict")


def test_admin_assigns_a_dossier(page, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(page, "admin", "lead-1")
    page.goto("/ui/dossiers/n1")
    page.fill("#f-assign-user", "cw-carl")
    page.click(".owner form[aria-label='Toewijzen'] button")
    page.wait_for_url("**/ui/dossiers/n1?claim=taken")
    assert "cw-carl" in page.locator("#holder").inner_text() and "lead-1" in page.locator("#holder").inner_text()
    visit(page, "46-dossier-assigned")


def test_officer_filters_the_queue_and_decides_a_chosen_infraction_with_motivation(page, engine, clock):
    for dossier_id, nis in (("DEMO-001", "11002"), ("DEMO-002", "11002"), ("GENT-7", "44021")):
        engine.import_newcomer(newcomer(dossier_id, obligation_start="2024-01-01", nis_code=nis))
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 3))  # three infractions handed over
    at(clock, date(2024, 5, 6))

    sign_in(page, "enforcement_officer", "officer-1")
    rows = page.locator("table.queue tbody tr")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["DEMO-001/1", "DEMO-002/1",
                                                                                     "GENT-7/1"]
    assert "(3 resultaten)" in page.locator(".pager").inner_text()  # the total counts infractions
    visit(page, "47-enforcement-queue")
    page.select_option("#f-agency", "atlas")
    page.select_option("#f-sort", "-dossier_id")
    page.click("form.filters:not(.search) button[type=submit]")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["DEMO-002/1", "DEMO-001/1"]
    visit(page, "48-enforcement-queue-filtered")

    page.click("a[aria-label='Beslissen over DEMO-002/1']")
    assert page.locator("#f-infraction_id").input_value() == "DEMO-002/1"
    assert page.locator("textarea#f-motivation").count() == 1
    page.select_option("#f-decision", "no_fine")
    page.fill("#f-fine_eur", "100")
    page.click("form.event-form button[type=submit]")  # no motivation, and a fine without `fine`
    assert page.locator("#err-motivation").is_visible()
    assert page.locator("#err-fine_eur").inner_text().endswith("Laat dit veld leeg bij deze keuze.")
    assert page.locator(".error-summary").is_visible()
    visit(page, "49-decision-form-errors")
    page.fill("#f-fine_eur", "")
    page.fill("#f-motivation", "Eerste inbreuk; de nieuwkomer heeft zich intussen aangemeld.")
    page.click("form.event-form button[type=submit]")
    page.wait_for_url("**/ui/dossiers/DEMO-002?done=enforcement_decision")
    assert "intussen aangemeld" in page.locator("#h-infractions + .scroll").inner_text()
    detail = engine.dossier_view("DEMO-002")["infraction_details"][0]
    assert (detail["outcome"], detail["decision"]) == ("not_fined", "no_fine")
    assert detail["motivation"] == "Eerste inbreuk; de nieuwkomer heeft zich intussen aangemeld."
    visit(page, "50-dossier-decided-by-id")

    page.goto("/ui/enforcement")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["DEMO-001/1", "GENT-7/1"]
    # the type-based (conformance) form is still there
    page.goto("/ui/dossiers/DEMO-001/events/enforcement_decision?infraction=late_registration")
    assert page.locator("#f-infraction").input_value() == "late_registration"
    assert page.locator("#f-infraction_id").count() == 0


def test_register_extract_upload_shows_line_errors_and_imports_nothing_then_all(page, engine, tmp_path):
    good = [newcomer("UP-1"), newcomer("UP-2", obligation_start="2024-01-10")]
    bad = [good[0], "{kapot", {**good[1], "nationalities": ["maroc"]}, good[0]]
    bad_file, good_file = tmp_path / "bad.jsonl", tmp_path / "good.jsonl"
    bad_file.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in bad) + "\n")
    good_file.write_text("\n".join(json.dumps(x) for x in good) + "\n")

    sign_in(page, "register_import", "batch-1")
    assert page.url.endswith("/ui/import")
    page.set_input_files("#f-extract", str(bad_file))
    page.click("form.form button[type=submit]")
    problems = page.locator("#import-problems tbody tr")
    assert [problems.nth(i).locator("th").inner_text() for i in range(problems.count())] == ["2", "3", "4"]
    assert "$.nationalities[0]" in problems.nth(1).inner_text()
    assert page.locator("#import-result").inner_text().startswith("Niets geïmporteerd")
    assert engine.dossier_ids() == []
    visit(page, "51-import-errors")

    page.set_input_files("#f-extract", str(good_file))
    page.click("form.form button[type=submit]")
    assert page.locator("#import-result").inner_text() == "2 nieuwkomers geïmporteerd."
    assert engine.dossier_ids() == ["UP-1", "UP-2"]
    visit(page, "52-import-done")


def test_auditor_downloads_the_journal_and_the_download_is_access_logged(page, engine):
    from engine import access_log

    engine.import_newcomer(newcomer("a1"))
    sign_in(page, "auditor", "aud-1")
    page.goto("/ui/audit/dossiers/a1")
    visit(page, "53-audit-export")
    with page.expect_download() as info:
        page.click("#journal-csv")
    rows = list(csv.DictReader(io.StringIO(open(info.value.path(), encoding="utf-8").read())))
    assert rows and rows[0]["seq"] == "1" and rows[0]["kind"]
    with page.expect_download() as info:
        page.click("#journal-json")
    document = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert document["dossier_id"] == "a1" and len(document["entries"]) == len(rows)
    with engine.reading() as connection:
        routes = [r["route"] for r in access_log.listing(connection, dossier_id="a1", user="aud-1")["items"]]
    assert routes.count("GET /ui/audit/dossiers/{dossier_id}/journal") == 2
