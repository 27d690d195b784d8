"""Bytes at rest per process instance in every wait state of trajectory.bpmn and enforcement.bpmn.

    .venv/bin/python -m benchmarks.instance_size [--scale 0.01] [--seed 1] [--database URL] [--json FILE]

**Which wait states.** They are read from the BPMN files at run time (the engine's own parser,
``engine/spiff.py: parse_process``), not listed here: every user task, and every catching
intermediate event or event-based gateway with an event definition (timer, signal, message).
Boundary events are not wait states of their own: they wait together with their task and show
up in the *configuration* (what one instance waits in at once, e.g. the four parallel
components with the VDAB deadline).

**How instances get there.** Through the engine, never by writing rows: a seeded synthetic
population (``simulation.population.generate``) is driven through ``Engine.import_newcomer``,
``Engine.handle`` and the daily sweep (``simulation.driver.simulate(via="engine")``, one
process, a temporary SQLite store unless ``--database``). After each phase of each simulated
day (imports 00:00, sweep 02:00, events 09:00) every dossier whose version changed is sampled:
each of its waiting instances is read back from the store, its state deserialised to see where
it waits, and its bytes counted. So every state that stays in the store across a phase is
measured, in the sizes real histories give it (an aggregate grows with events, infractions and
fees). A wait state of the BPMN that no instance reached is listed as **not reached**.

**What is counted, per instance** (the figure the target is about):

* the instance's state blob as stored (``instance.state``: Spiff state without the spec, JSON, zlib);
* the dossier row's ``state`` (the aggregate: compressed JSON since revision 0009) — in full for every instance of the dossier;
* the instance's due-date index rows (``due_timer``: every column's value: id and due_at as 8
  bytes each, the text columns' UTF-8 bytes).

Printed beside it: the remaining columns of the instance and dossier rows (ids, status, version,
journal head, ...), the journal (the audit record, not the instance), and the whole store file
divided by the dossiers (tables, indexes and free pages). Page and B-tree overhead is not in the
per-instance figure.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import zlib
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET = 3500  # bytes, the worst wait state (issue 16)


def _value_bytes(value) -> int:
    if value is None:
        return 0
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, bool) or isinstance(value, int):
        return 8
    return len(str(value).encode())


def wait_elements(process_dir: Path = ROOT / "processes") -> dict[str, dict[str, str]]:
    """{process name: {element id: kind}} of every wait state in the BPMN files (see the module doc)."""
    from SpiffWorkflow.bpmn.specs.event_definitions import NoneEventDefinition
    from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
    from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
    from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent

    from engine import spiff
    from engine.processes import PROCESS_NAMES

    out: dict[str, dict[str, str]] = {}
    for name in PROCESS_NAMES:
        spec = spiff.parse_process((process_dir / f"{name}.bpmn").read_bytes(), name, f"{name}.bpmn")
        found = {}
        for task_name, task_spec in spec.task_specs.items():
            definition = getattr(task_spec, "event_definition", None)
            if task_spec.manual:
                found[task_name] = "user task"
            elif (isinstance(task_spec, CatchingEvent) and not isinstance(task_spec, (StartEvent, BoundaryEvent))
                  and definition is not None and not isinstance(definition, NoneEventDefinition)):
                found[task_name] = f"{type(task_spec).__name__} ({type(definition).__name__})"
        out[name] = dict(sorted(found.items()))
    return out


class Sampler:
    """Called after every phase of every simulated day: samples the dossiers whose version changed."""

    def __init__(self, url: str, wait: dict[str, dict[str, str]]):
        from engine.db import make_engine

        self.db = make_engine(url)
        self.wait = wait
        self.versions: dict[str, int] = {}
        self.specs: dict[int, tuple[str, object]] = {}
        # (process, configuration) -> list of sample dicts (only the largest few kept in full)
        self.by_config: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self.samples = 0

    def close(self) -> None:
        self.db.dispose()

    def _spec(self, conn, definition_id: int):
        from sqlalchemy import text

        from engine import spiff

        if definition_id not in self.specs:
            name, source, version = conn.execute(text("select name, source, version from process_definition "
                                                      "where id = :i"), {"i": definition_id}).one()
            self.specs[definition_id] = (name, spiff.parse_process(source.encode(), name, f"{name}@{version}"))
        return self.specs[definition_id]

    def __call__(self, phase: str, day: date) -> None:
        from sqlalchemy import text

        from engine import spiff

        with self.db.connect() as conn:
            changed = [(d, v) for d, v in conn.execute(text("select id, version from dossier"))
                       if self.versions.get(d) != v]
            for dossier_id, version in changed:
                self.versions[dossier_id] = version
                dossier = dict(conn.execute(text("select * from dossier where id = :d"), {"d": dossier_id})
                               .mappings().one())
                timers = defaultdict(list)
                for row in conn.execute(text("select * from due_timer where dossier_id = :d"), {"d": dossier_id}
                                        ).mappings():
                    timers[row["instance_id"]].append(dict(row))
                for row in conn.execute(text("select * from instance where dossier_id = :d and status = 'waiting'"),
                                        {"d": dossier_id}).mappings():
                    name, spec = self._spec(conn, row["definition_id"])
                    workflow = spiff.load_state(json.loads(zlib.decompress(row["state"])), spec)
                    config = "+".join(spiff.wait_states(workflow)) or "(nothing)"
                    state_blob = len(row["state"])
                    aggregate = _value_bytes(dossier["state"])
                    due = sum(sum(_value_bytes(v) for v in t.values()) for t in timers.get(row["id"], ()))
                    other = (sum(_value_bytes(v) for k, v in row.items() if k != "state")
                             + sum(_value_bytes(v) for k, v in dossier.items() if k != "state"))
                    self.by_config[(name, config)].append({
                        "bytes": state_blob + aggregate + due, "state": state_blob, "aggregate": aggregate,
                        "due_rows": due, "other_columns": other, "dossier": dossier_id, "day": day.isoformat(),
                        "phase": phase})
                    self.samples += 1

    def result(self) -> dict:
        configs = []
        elements: dict[tuple[str, str], list[int]] = defaultdict(list)
        for (process, config), samples in sorted(self.by_config.items()):
            sizes = [s["bytes"] for s in samples]
            worst = max(samples, key=lambda s: s["bytes"])
            configs.append({"process": process, "configuration": config, "instances": len(samples),
                            "median": statistics.median(sizes), "max": worst["bytes"], "worst": worst})
            for element in config.split("+"):
                elements[(process, element)].extend(sizes)
        states = []
        for process, found in self.wait.items():
            for element, kind in found.items():
                sizes = elements.get((process, element), [])
                states.append({"process": process, "state": element, "kind": kind, "instances": len(sizes),
                               "median": statistics.median(sizes) if sizes else None,
                               "max": max(sizes) if sizes else None})
        reached = [s for s in states if s["instances"]]
        worst = max(reached, key=lambda s: s["max"]) if reached else None
        return {"wait_states": states, "configurations": configs, "samples": self.samples,
                "not_reached": [f"{s['process']}:{s['state']}" for s in states if not s["instances"]],
                "max_bytes": worst["max"] if worst else None,
                "worst_state": f"{worst['process']}:{worst['state']}" if worst else None,
                "worst_state_median": worst["median"] if worst else None}


def store_totals(url: str) -> dict:
    from sqlalchemy import text

    from engine.db import make_engine

    db = make_engine(url)
    try:
        with db.connect() as conn:
            dossiers = conn.execute(text("select count(*) from dossier")).scalar()
            journal = conn.execute(text("select coalesce(sum(length(payload)), 0) from journal_entry")).scalar()
            entries = conn.execute(text("select count(*) from journal_entry")).scalar()
            instances = conn.execute(text("select count(*) from instance")).scalar()
    finally:
        db.dispose()
    out = {"dossiers": dossiers, "instances": instances, "journal_entries": entries,
           "journal_payload_per_dossier": journal / dossiers if dossiers else None}
    if url.startswith("sqlite:///"):
        import sqlite3

        path = url[len("sqlite:///"):]
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            pages, size = (conn.execute("PRAGMA page_count").fetchone()[0],
                           conn.execute("PRAGMA page_size").fetchone()[0])
        finally:
            conn.close()
        out["file_bytes_per_dossier"] = pages * size / dossiers if dossiers else None
    return out


def run(scale: float = 0.02, seed: int = 1, database: str | None = None, log=print) -> dict:
    import warnings

    from simulation.driver import simulate

    wait = wait_elements()
    log("   wait states read from the BPMN: " + "; ".join(f"{p}: {', '.join(w)}" for p, w in wait.items()))
    with tempfile.TemporaryDirectory(prefix="bench-size-") as tmp:
        url = database or f"sqlite:///{tmp}/size.db"
        from engine.service import bootstrap  # migrate and deploy first, so the sampler finds the tables
        from engine.clock import ManualClock, brussels_instant
        from engine.settings import Settings
        bootstrap(Settings(database_url=url, demo_data=False), ManualClock(brussels_instant(date(2023, 1, 1)))
                  ).db.dispose()
        sampler = Sampler(url, wait)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                run_ = simulate(2023, scale, seed, database_url=url, via="engine", workers=1, on_phase=sampler)
        finally:
            sampler.close()
        out = sampler.result()
        out["store"] = store_totals(url)
    out.update({"scale": scale, "seed": seed, "persons": run_.persons, "events": run_.events,
                "errors": len(run_.errors), "backend": url.split(":", 1)[0], "target": TARGET})
    return out


def format_result(out: dict) -> str:
    lines = [f"{out['samples']:,} instance samples from a simulated year (--scale {out['scale']}, seed {out['seed']}: "
             f"{out['persons']:,} newcomers, {out['events']:,} events, {out['backend']}); bytes = state blob + "
             "dossier state + the instance's due-index rows", "",
             f"{'wait state':42s} {'instances':>9s} {'median':>7s} {'max':>7s}"]
    for s in out["wait_states"]:
        name = f"{s['process']}:{s['state']}"
        if s["instances"]:
            lines.append(f"{name:42s} {s['instances']:9,d} {s['median']:7.0f} {s['max']:7.0f}")
        else:
            lines.append(f"{name:42s} {'NOT REACHED':>9s}")
    lines += ["", f"worst wait state: {out['worst_state']} — max {out['max_bytes']:,} B, median "
              f"{out['worst_state_median']:,.0f} B (target <= {out['target']:,} B: "
              f"{'met' if out['max_bytes'] <= out['target'] else 'NOT met'})"]
    if out["not_reached"]:
        lines.append(f"NOT REACHED (not measured): {', '.join(out['not_reached'])}")
    store = out["store"]
    lines.append(f"journal payload per dossier (audit record, not counted): "
                 f"{store['journal_payload_per_dossier']:,.0f} B; whole store file per dossier: "
                 f"{store.get('file_bytes_per_dossier', 0):,.0f} B")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=0.02, help="population scale (default 0.02: 1,096 newcomers; smaller ones miss rare states)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", help="an empty store (default: a temporary SQLite file)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = run(args.scale, args.seed, args.database)
    print(format_result(out))
    for config in sorted(out["configurations"], key=lambda c: -c["max"])[:12]:
        print(f"  {config['process']}: {config['configuration']}: {config['instances']} samples, median "
              f"{config['median']:.0f}, max {config['max']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 1 if out["not_reached"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
