"""Every page and error path in Dutch, in Chromium with a Belgian Dutch locale (issue 14.1): no English
sentence on any of them — the engine's refusals, the replay and as-of results, the report included.

English is found by its function words ("the", "before", "must", ...), which no Dutch sentence
contains; ids, codes and e-mail-like tokens are left out first. Each page is screenshotted
(``artifacts/screenshots/nl-*.png``) and checked with axe-core like the other browser tests.
"""
from __future__ import annotations

import re
from datetime import date

from timers.sweep import sweep_days

from .browser_helpers import sign_in, visit, wait_diagrams
from .conftest import at, newcomer

#: words of English sentences that Dutch does not use ("is", "was", "of", "in", "over", "door" are Dutch)
ENGLISH = re.compile(r"\b(the|and|with|from|before|after|does|not|must|this|that|which|for|were|has|been|cannot|"
                     r"only|into|are|should|there|your|you|please|nothing|unknown|invalid|error|found|required|"
                     r"outside|range|already|waits|page|results|none|None)\b")
#: tokens that are not sentences: ids and codes (late_registration, n1/1, trajectory@1, cw-atlas), the
#: language switch ("English") and the API's name
NOT_TEXT = re.compile(r"\S*[_@/]\S*|\bEnglish\b|\bBPMN\.io\b")


def english_on(page) -> list[str]:
    text = page.evaluate("() => document.body.innerText")
    found = []
    for line in text.splitlines():
        cleaned = NOT_TEXT.sub(" ", line)
        if ENGLISH.search(cleaned):
            found.append(line.strip())
    return found


def check(page, name: str, walked: list[str]) -> None:
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "nl", name
    visit(page, f"nl-{name}")
    assert english_on(page) == [], name
    walked.append(name)


def _post_event(page, dossier: str, event: str, fill: dict | None = None, select: dict | None = None) -> None:
    page.goto(f"/ui/dossiers/{dossier}/events/{event}")
    for field, value in (select or {}).items():
        page.select_option(f"#f-{field}", value)
    for field, value in (fill or {}).items():
        page.fill(f"#f-{field}", value)
    page.click("form.event-form button[type=submit]")


def test_every_page_and_error_path_is_dutch(page, engine, clock):
    from engine.service import Actor

    caseworker = Actor("cw", "caseworker", "atlas")
    engine.import_newcomer(newcomer("late1", obligation_start="2024-01-01"))  # handed over by 2024-05-03
    engine.import_newcomer(newcomer("r1", evidence=["fee_exempt"], obligation_start="2024-01-01"))
    engine.import_newcomer(newcomer("x1", nis_code="99999"))  # excluded
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 13))
    at(clock, date(2024, 5, 14))
    engine.import_newcomer(newcomer("n1", obligation_start="2024-05-01"))
    engine.handle("r1", "registered", {}, actor=caseworker)
    engine.handle("r1", "intake", {"advice": "cbe_nt2"}, actor=caseworker)
    engine.handle("r1", "contract_signed", {"components": ["mo", "nt2", "vdab", "pnt"]}, actor=caseworker)
    engine.handle("r1", "test_result", {"component": "mo", "core_percent": 70, "total_percent": 80}, actor=caseworker)
    walked: list[str] = []

    # ----- caseworker: worklist, dossiers, every form, the engine's refusals
    sign_in(page, "caseworker", "cw-atlas", "atlas")
    check(page, "worklist", walked)
    page.goto("/ui/worklist?page=99")
    check(page, "worklist-page-out-of-range", walked)
    page.goto("/ui/dossiers/r1")
    wait_diagrams(page)
    check(page, "dossier", walked)
    forms = page.eval_on_selector_all(".actions a[href*='/events/']", "els => els.map(e => e.getAttribute('href'))")
    assert len(forms) >= 5
    for href in forms:
        page.goto(href)
        check(page, "form-" + href.rsplit("/", 1)[-1].split("?")[0], walked)
    page.goto("/ui/dossiers/x1")
    check(page, "dossier-excluded", walked)

    _post_event(page, "n1", "contract_signed")  # not registered yet: the engine refuses (not_waiting)
    assert "wacht niet op" in page.locator("#error-summary").inner_text()
    check(page, "refused-not-waiting", walked)
    _post_event(page, "n1", "registered", fill={"on": "2024-04-01"})  # before the obligation start
    assert "vóór het begin van de inburgeringsplicht" in page.locator("#err-on").inner_text()
    check(page, "refused-before-obligation", walked)
    _post_event(page, "n1", "registered", fill={"on": "2024-06-01"})  # after today
    assert "na vandaag" in page.locator("#err-on").inner_text()
    check(page, "refused-future", walked)
    _post_event(page, "r1", "suspended", fill={"from": "2024-05-10", "to": "2024-05-01"})
    assert "De periode eindigt" in page.locator("#err-to").inner_text()
    check(page, "refused-period-reversed", walked)
    _post_event(page, "r1", "test_result", fill={"core_percent": "250"}, select={"component": "mo"})
    check(page, "form-value-out-of-range", walked)
    page.goto("/ui/dossiers/nope")
    check(page, "dossier-not-found", walked)
    page.goto("/ui/audit")
    check(page, "forbidden", walked)
    page.goto("/ui/no-such-page")
    check(page, "page-not-found", walked)

    # ----- enforcement officer: the queue, a fine outside the legal range
    sign_in(page, "enforcement_officer", "officer-1")
    check(page, "enforcement", walked)
    _post_event(page, "late1", "enforcement_decision", fill={"fine_eur": "20", "motivation": "geen reactie"},
                select={"infraction_id": "late1/1", "decision": "fine"})  # the form decides by infraction id
    assert "buiten de wettelijke vork" in page.locator("#err-fine_eur").inner_text()
    assert "€ 50" in page.locator("#err-fine_eur").inner_text()
    check(page, "refused-fine-out-of-range", walked)

    # ----- auditor: audit, as of a date, replay, report, access log
    sign_in(page, "auditor", "auditor-1")
    check(page, "audit", walked)
    page.goto("/ui/audit/dossiers/r1?as_of=2024-05-14&replay=1")
    check(page, "audit-dossier-as-of-replay", walked)
    page.goto("/ui/audit/dossiers/n1?as_of=2024-01-10")  # before the dossier existed
    assert "bestond nog niet op 10 januari 2024" in page.evaluate("() => document.body.innerText")
    check(page, "audit-as-of-before-import", walked)
    page.goto("/ui/audit/dossiers/r1?as_of=2024-13-01")
    check(page, "audit-as-of-bad-date", walked)
    page.goto("/ui/audit/reports?year=2024")
    page.wait_for_function("() => { const i = document.querySelector('.chart img'); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    check(page, "report", walked)
    page.goto("/ui/audit/reports?year=12")
    check(page, "report-bad-year", walked)
    page.goto("/ui/audit/access?dossier=r1")
    check(page, "access-log", walked)
    page.goto("/ui/audit/access?user=")
    check(page, "access-log-no-filter", walked)

    # ----- admin: incidents and processes
    sign_in(page, "admin", "root")
    check(page, "admin-incidents", walked)
    page.goto("/ui/admin/incidents")
    check(page, "admin-incidents-list", walked)
    page.goto("/ui/admin/incidents/999")
    check(page, "admin-incident-not-found", walked)
    page.goto("/ui/admin/processes")
    check(page, "admin-processes", walked)
    page.goto("/ui/login")
    check(page, "login", walked)
    assert len(walked) >= 30
    # the detector does see English: the same refusal page in English trips it
    sign_in(page, "enforcement_officer", "officer-1")
    page.goto("/ui/enforcement?lang=en")
    _post_event(page, "late1", "enforcement_decision", fill={"fine_eur": "20", "motivation": "geen reactie"},
                select={"infraction_id": "late1/1", "decision": "fine"})  # the form decides by infraction id
    assert "outside the legal range" in page.locator("#err-fine_eur").inner_text()
    assert english_on(page)
