"""Which calibrated indicators the engine produces, and which the population generator alone does.

The experiment (issue 16): write a journal straight from :func:`simulation.population.generate`
— for every person the register import, the target group the generator planned, and every planned
event as a caseworker command, on its planned day — with **no** BPMN, no sweep and no engine
command run; then compute the auditors' report and the cohort figures from that journal exactly as
``simulate`` does (:func:`engine.reports.report`, :func:`simulation.calibration.cohort_figures`).

An indicator whose value from that journal equals its value from a real ``simulate`` of the same
(year, scale, seed, until) is an **input**: the generator put it there, and the engine merely
carried it (it is a check of the plumbing, not of the engine). Every other indicator is
**engine-derived**: it needs what only the engine writes (attests, infractions, hand-overs,
decisions recorded on handed-over infractions, components fulfilled by rule).

:data:`simulation.calibration.Indicator.origin` declares the label of each indicator; the
simulation tests run this experiment on the calibrated run and check the declared labels against
it (``tests/simulation/test_simulate.py``), so the labels are measured, not asserted.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date, datetime, time as dtime
from typing import Optional

from engine.clock import brussels_instant
from rules import geography

from . import calibration
from .population import Population, generate

IMPORT_TIME = dtime(0, 0)
EVENT_TIME = dtime(9, 0)


def journal_facts(person, until: date) -> list[tuple[datetime, str, dict, str]]:
    """(business time, kind, payload, actor) of one person's generator-only journal.

    The one place the payloads are built. They are written as journal entries of schema 1 (release
    0.1's untyped ``import``, ``rule_decision``, ``command``): the reports read such entries through
    engine/upcast.py, which derives the steps a command records — exactly what a generator-only
    journal can claim, with no engine decision in it."""
    newcomer = {k: v for k, v in person.newcomer.items() if k != "insz"}
    located = geography.locate(newcomer["nis_code"])
    start = person.start
    facts = [(brussels_instant(start, IMPORT_TIME), "import", {"newcomer": newcomer}, "system:register-import"),
             (brussels_instant(start, IMPORT_TIME), "rule_decision",
              {"question": "target_group", "target_group": person.plan["target_group"], "reasons": [],
               "region": located.region if located else None, "agency": located.agency if located else None},
              "system:register-import")]
    for event in person.events:
        if event["on"] > until.isoformat():
            continue
        payload = {k: v for k, v in event.items() if k not in ("on", "type")}
        facts.append((brussels_instant(date.fromisoformat(event["on"]), EVENT_TIME), "command",
                      {"type": event["type"], "payload": payload}, "caseworker:generator"))
    return facts


@dataclass
class _Head:
    """What :func:`engine.journal.link` needs of a dossier row."""

    id: str
    journal_seq: int = 0
    journal_head: str = ""


def _schema_1_row(head: _Head, at: datetime, kind: str, payload: dict, actor: str) -> dict:
    """One journal row of schema 1, chained onto ``head`` (what engine.journal.link wrote in release 0.1)."""
    from engine import journal
    from engine.clock import business_date

    seq = head.journal_seq + 1
    prev = head.journal_head or journal.GENESIS
    text = journal.canonical(payload)
    when = at.isoformat()
    digest = journal.entry_hash(prev, dossier_id=head.id, seq=seq, kind=kind, actor=actor, business_time=when,
                                schema_version=1, process_version=None, ruleset=None, rule_version=None,
                                payload=text)
    head.journal_seq, head.journal_head = seq, digest
    return {"dossier_id": head.id, "seq": seq, "kind": kind, "actor": actor, "business_time": when,
            "business_date": business_date(at).isoformat(), "effective_date": None, "schema_version": 1,
            "process_version": None, "ruleset": None, "rule_version": None, "payload": text,
            "prev_hash": prev, "hash": digest}


def write_generator_journal(url: str, population: Population, until: date) -> int:
    """Write the generator-only journal of every person into the (empty, migrated) store at ``url``."""
    from engine import journal
    from engine.db import make_engine, migrate

    db = make_engine(url)
    written = 0
    try:
        migrate(db)
        with db.begin() as conn:
            for person in population.persons:
                head = _Head(person.id)
                rows = [_schema_1_row(head, at, kind, payload, actor)
                        for at, kind, payload, actor in journal_facts(person, until)]
                journal.write(conn, rows)
                written += len(rows)
    finally:
        db.dispose()
    return written


def generator_only(year: int, scale: float, seed: int, until: Optional[date] = None,
                   population: Optional[Population] = None) -> dict:
    """Report, cohort figures and comparison computed from the generator-only journal."""
    from engine import reports
    from engine.db import make_engine

    from .driver import default_until

    until = until or default_until(year)
    pop = population or generate(year, scale, seed)
    with tempfile.TemporaryDirectory(prefix="inburgering-generator-only-") as tmp:
        url = f"sqlite:///{tmp}/generator.db"
        entries = write_generator_journal(url, pop, until)
        report = reports.report(url, year)
        db = make_engine(url)
        try:
            cohort = calibration.cohort_figures(db, year, until)
        finally:
            db.dispose()
    return {"entries": entries, "report": report, "cohort": cohort,
            "comparison": calibration.compare(report, cohort)}


def classify(engine_comparison: list[dict], generator_comparison: list[dict]) -> dict[str, str]:
    """``input`` where the generator-only value equals the engine run's value, else ``engine``."""
    generated = {row["key"]: row["simulated"] for row in generator_comparison}
    out = {}
    for row in engine_comparison:
        mine, theirs = row["simulated"], generated.get(row["key"])
        same = (mine is None and theirs is None) or (
            mine is not None and theirs is not None and abs(mine - theirs) <= 1e-9)
        out[row["key"]] = "input" if same else "engine"
    return out
