"""End to end in headless Chromium: caseworker, enforcement officer, auditor; keyboard only.

Each page visited is screenshotted to ``artifacts/screenshots/`` and checked with axe-core.
"""
from __future__ import annotations

from datetime import date

from timers.sweep import sweep_days

from .browser_helpers import check_accessibility, marked, shot, sign_in, visit, wait_diagrams
from .conftest import at, newcomer


def test_caseworker_records_registration_and_contract(page, engine, clock):
    engine.import_newcomer(newcomer("n1"))
    engine.import_newcomer(newcomer("n2", obligation_start="2024-01-05"))
    engine.import_newcomer(newcomer("g1", nis_code="44021"))  # In-Gent: not on Atlas's worklist

    page.goto("/")
    assert page.url.endswith("/ui/login")
    visit(page, "01-login")
    sign_in(page, "caseworker", "cw-atlas", "atlas")
    assert page.url.endswith("/ui/worklist")
    rows = page.locator("table.worklist tbody tr")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == ["n2", "n1"]  # soonest first
    visit(page, "02-worklist")

    page.click("table.worklist a:text-is('n1')")
    wait_diagrams(page)
    assert marked(page, "wf-waiting") == {"register"}
    assert "registration_deadline" in marked(page, "wf-armed")
    assert {"start_trajectory", "decide_target_group_task"} <= marked(page, "wf-done")
    visit(page, "03-dossier-new")

    page.click(".actions.suggested >> text=Aanmelding bij het agentschap")
    visit(page, "04-form-registered")
    page.click("form.event-form button[type=submit]")
    wait_diagrams(page)
    assert page.locator(".notice.success").is_visible()
    assert marked(page, "wf-waiting") == {"intake"}
    assert "register" in marked(page, "wf-done")

    page.click(".actions a:text-is('Inburgeringscontract ondertekend')")
    page.click("form.event-form button[type=submit]")  # no component ticked: refused by the engine, shown at the field
    assert page.locator(".field-error").count() == 1
    assert page.locator("fieldset#f-components .field-error").is_visible()
    visit(page, "05-form-contract-error")
    page.check("#f-components-mo")
    page.check("#f-components-nt2")
    page.click("form.event-form button[type=submit]")
    wait_diagrams(page)
    assert marked(page, "wf-waiting") == {"mo", "nt2"}
    # signing the contract first completed the intake as skipped
    assert {"register", "intake", "contract", "split_components", "pnt", "vdab"} <= marked(page, "wf-done")
    assert page.locator("#waiting-on").inner_text().startswith("Maatschappelijke")
    visit(page, "06-dossier-after-contract")

    page.goto("/ui/worklist?lang=en")
    assert page.locator("h1").inner_text() == "Worklist"
    page.goto("/ui/worklist?step=mo")
    assert page.locator("html").get_attribute("lang") == "en"  # the choice is remembered
    assert page.locator("table.worklist tbody tr").count() == 1
    visit(page, "07-worklist-filtered-en")


def test_enforcement_officer_decides_a_handed_over_dossier(page, engine, clock):
    engine.import_newcomer(newcomer("late1", obligation_start="2024-01-01"))  # registration due 2024-04-01
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 3))  # infraction, notice, 30 days, hand-over
    at(clock, date(2024, 5, 6))

    sign_in(page, "enforcement_officer", "officer-1")
    assert page.url.endswith("/ui/enforcement")
    assert page.locator("tbody tr").count() == 1
    visit(page, "10-enforcement-queue")

    page.click("a[href*='events/enforcement_decision']")  # the infraction chosen in the queue, by its id
    assert page.locator("#f-infraction_id").input_value() == "late1/1"
    page.select_option("#f-decision", "fine")
    page.fill("#f-motivation", "Niet tijdig aangemeld, geen reactie op de ingebrekestelling.")
    page.fill("#f-fine_eur", "10")
    page.click("form.event-form button[type=submit]")
    assert "50" in page.locator("#err-fine_eur").inner_text()  # outside the legal range, next to the field
    visit(page, "11-decision-form-error")
    page.fill("#f-fine_eur", "250")
    page.click("form.event-form button[type=submit]")
    wait_diagrams(page)
    assert "beboet" in page.locator("#h-infractions + .scroll").inner_text()
    enforcement = "#diagram-2"
    assert {"decide", "record_decision_task", "end_decided"} <= marked(page, "wf-done", enforcement)
    visit(page, "12-dossier-decided")
    page.goto("/ui/enforcement")
    assert page.locator("tbody tr").count() == 0


def test_auditor_sees_timeline_state_as_of_replay_and_report(page, engine, clock):
    from engine.service import Actor

    engine.import_newcomer(newcomer("a1"))
    caseworker = Actor("cw", "caseworker", "atlas")
    at(clock, date(2024, 2, 12))
    engine.handle("a1", "registered", {}, actor=caseworker)
    at(clock, date(2024, 3, 1))
    engine.handle("a1", "intake", {"advice": "cvo_standard"}, actor=caseworker)
    engine.handle("a1", "contract_signed", {"components": ["mo", "vdab"]}, actor=caseworker)

    sign_in(page, "auditor", "auditor-1")
    assert page.url.endswith("/ui/audit")
    visit(page, "20-audit")
    page.fill("#f-dossier", "a1")
    page.click("#h-find ~ form button[type=submit]")
    assert page.url.endswith("/ui/audit/dossiers/a1")
    assert page.locator("#history tbody tr").count() >= 10
    page.fill("#f-as_of", "2024-02-20")
    page.click("#h-asof ~ form button[type=submit]")
    assert page.locator("#as-of-waiting").inner_text() == "Intake"  # on 20 February it waited on the intake
    page.click("#h-replay ~ form button[type=submit]")
    assert "Identiek herafgespeeld" in page.locator("#replay-result").inner_text()
    visit(page, "21-audit-dossier")

    page.click(".lead a")
    wait_diagrams(page)
    timeline = page.locator("#timeline li")
    assert timeline.count() >= 10
    assert "Stap afgerond" in page.locator("#timeline").inner_text()
    visit(page, "22-dossier-timeline-auditor")

    page.goto("/ui/audit/reports?year=2024")
    page.wait_for_function("() => { const i = document.querySelector('.chart img'); return i && i.complete && i.naturalWidth > 0; }")
    assert page.locator(".report-tables table").count() >= 5
    visit(page, "23-report")


def test_keyboard_only_worklist_and_form(page, engine):
    engine.import_newcomer(newcomer("k1"))
    sign_in(page, "caseworker", "cw-kb", "atlas")

    def tab_until(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate("sel => document.activeElement && document.activeElement.matches(sel)", selector):
                outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"{selector} has no visible focus"
                return
        raise AssertionError(f"Tab never reached {selector}")

    page.goto("/ui/worklist")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    tab_until("#f-step")
    page.keyboard.press("ArrowDown")  # the first step: register
    tab_until("form.filters button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/worklist?step=register*")
    tab_until("table.worklist a")
    shot(page, "30-keyboard-worklist")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/dossiers/k1")
    tab_until(".actions.suggested a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/events/registered")
    tab_until("form.event-form button[type=submit]")
    shot(page, "31-keyboard-form")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/dossiers/k1?done=registered")
    assert engine.dossier_view("k1")["registered_on"] == "2024-02-01"

    # a form with fields, by keyboard: the intake advice
    tab_until(".actions.suggested a")
    page.keyboard.press("Enter")
    page.wait_for_url("**/events/intake")
    tab_until("#f-advice")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    tab_until("form.event-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/dossiers/k1?done=intake")
    assert engine.dossier_view("k1")["advice"] == "cbe"  # the second advice in the list
    check_accessibility(page, "keyboard-dossier")
