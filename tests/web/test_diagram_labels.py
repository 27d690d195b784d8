"""The process diagrams' labels fit their shapes in bpmn-js (issue 14.5): no name is cut inside a word
("Inburgeringsa ttest uitreiken", "Aangeme ld") — every line bpmn-js lays out is made of whole words
of the element's name. Screenshots of both diagrams go to ``artifacts/screenshots/diagram-*.png``.
"""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from lxml import etree

from timers.sweep import sweep_days

from .browser_helpers import SCREENSHOTS, sign_in, wait_diagrams
from .conftest import newcomer

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def names(process: str) -> dict[str, str]:
    """Id → name of the named elements the diagram draws (those with a BPMNDI shape or edge)."""
    tree = etree.parse(str(PROCESSES / f"{process}.bpmn"))
    drawn = {el.get("bpmnElement") for el in tree.iter() if el.get("bpmnElement")}
    return {el.get("id"): el.get("name") for el in tree.iter() if el.get("name") and el.get("id") in drawn
            and el.tag.startswith(BPMN) and el.tag != f"{BPMN}process"}


def laid_out_lines(page, container: str) -> dict[str, list[str]]:
    """Element id → the lines bpmn-js drew for its name (inner label or external ``<id>_label``)."""
    return page.eval_on_selector_all(f"{container} .djs-element[data-element-id]", """els => {
        const out = {};
        for (const el of els) {
            const id = el.getAttribute('data-element-id').replace(/_label$/, '');
            const lines = [...el.querySelectorAll(':scope > .djs-visual text tspan')].map(t => t.textContent);
            if (lines.length) out[id] = (out[id] || []).concat(lines);
        }
        return out;
    }""")


def test_every_label_breaks_between_words(page, engine, clock):
    engine.import_newcomer(newcomer("late1", obligation_start="2024-01-01"))
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 3))  # an enforcement instance too
    page.set_viewport_size({"width": 1600, "height": 1000})
    sign_in(page, "auditor", "aud")
    page.goto("/ui/dossiers/late1")
    wait_diagrams(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    broken = []
    for container, process in (("#diagram-1", "trajectory"), ("#diagram-2", "enforcement")):
        page.locator(container).screenshot(path=str(SCREENSHOTS / f"diagram-{process}.png"))
        expected = names(process)
        drawn = laid_out_lines(page, container)
        assert set(expected) <= set(drawn)
        for element, lines in drawn.items():
            # whole words, or the parts of a hyphenated word broken after its hyphen ("B1-" / "controle")
            words = set(expected.get(element, "").split())
            words |= {part for word in list(words) for part in re.split(r"(?<=-)", word) if part}
            cut = [line for line in lines if not set(line.split()) <= words]
            if cut:
                broken.append(f"{process}/{element}: {lines}")
    assert broken == [], "\n".join(broken)
