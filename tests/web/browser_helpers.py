"""What the browser tests do on every page: screenshots, the axe-core check, sign-in, diagrams."""
from __future__ import annotations

from .conftest import AXE, SCREENSHOTS

BLOCKING = ("serious", "critical")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def check_accessibility(page, name: str) -> None:
    """axe-core (vendored from npm) on the page: no serious or critical violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    blocking = [v for v in result if v["impact"] in BLOCKING]
    assert not blocking, f"{name}: accessibility violations {blocking}"


def visit(page, name: str) -> None:
    """Screenshot and accessibility check of the page as it stands."""
    page.wait_for_load_state("load")
    assert not page.js_errors, f"{name}: JavaScript errors {page.js_errors}"
    shot(page, name)
    check_accessibility(page, name)


def sign_in(page, role: str, user: str, agency: str = "") -> None:
    page.goto("/ui/login")
    page.select_option("#f-role", role)
    page.fill("#f-user", user)
    page.select_option("#f-agency", agency)
    page.click("form.form button[type=submit]")
    page.wait_for_load_state("load")


def wait_diagrams(page) -> None:
    page.wait_for_function("""() => {
        const boxes = [...document.querySelectorAll('.bpmn')];
        return boxes.length > 0 && boxes.every(b => b.dataset.ready === 'true' || b.dataset.ready === 'error');
    }""")
    assert not page.locator(".bpmn[data-ready=error]").count(), "a diagram failed to load"


def marked(page, marker: str, container: str = "#diagram-1") -> set[str]:
    """Ids of the BPMN elements carrying a canvas marker (wf-waiting, wf-armed, wf-done)."""
    return set(page.eval_on_selector_all(f"{container} .djs-element.{marker}",
                                         "els => els.map(e => e.getAttribute('data-element-id'))"))
