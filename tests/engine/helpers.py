"""Small helpers for engine tests: newcomers, actors, moving the clock and sweeping."""
from __future__ import annotations

from datetime import date, time

from engine.clock import brussels_instant
from engine.service import Actor
from timers.sweep import sweep_days

CASEWORKER = Actor("cw-1", "caseworker", "agii")
OFFICER = Actor("officer-1", "enforcement_officer")


def newcomer(id_: str = "N1", **overrides) -> dict:
    base = {"id": id_, "birth_date": "1990-01-01", "nationalities": ["SY"], "residence": "recognised_refugee",
            "nis_code": "31005", "obligation_start": "2024-01-31"}
    base.update(overrides)
    return base


def on(engine, clock, day: date, event_type: str, payload: dict | None = None, actor: Actor = CASEWORKER,
       since: date | None = None) -> dict:
    """Sweep every day from ``since`` (if given) through ``day``, then apply the event at 09:00."""
    if since is not None:
        sweep_days(engine, clock, since, day)
    clock.set(brussels_instant(day, time(9)))
    return engine.handle("N1" if "dossier" not in (payload or {}) else payload.pop("dossier"), event_type,
                         payload or {}, actor=actor)


def through_every_wait_state(engine, clock, check, components=("mo", "nt2", "vdab")) -> None:
    """Take dossier N1 through the trajectory's and the enforcement process's wait states — import, the
    registration deadline fired and handed over, a late registration, a contract with ``components``, a
    test result, the officer's decision — calling ``check()`` at each stop."""
    engine.import_newcomer(newcomer())
    check()
    on(engine, clock, date(2024, 6, 10), "registered", since=date(2024, 1, 31))  # deadline fired, handed over
    check()
    on(engine, clock, date(2024, 6, 11), "contract_signed", {"components": list(components)})
    on(engine, clock, date(2024, 6, 12), "test_result", {"component": "mo", "core_percent": 80, "total_percent": 70})
    check()
    handed = [i for i in engine.dossier_state("N1").infractions if i.outcome == "handed_over"]
    assert handed, "the scenario must reach a hand-over"
    on(engine, clock, date(2024, 6, 13), "enforcement_decision",
       {"infraction_id": handed[0].id, "decision": "no_fine", "motivation": "eerste inbreuk"}, actor=OFFICER)
    check()
