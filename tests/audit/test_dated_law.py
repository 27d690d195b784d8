"""The regime parameters of TRAJECTORY.md §3 are applied by date (issue 11 point 5): on each side of its
date a dossier is decided by the value then in force, and the recorded fact cites it.

* ``pnt_component`` (2023-01-01, read on the contract date): a contract of 2022-06-01 listing PNT does
  not require it — the PNT step is closed as ``not_in_regime`` and ``pnt_not_fulfilled`` is refused
  (the repro of issue 11) — while one of 2023-01-02 does, and the same record is an infraction.
* ``mo_combined_scoring`` (2023-03-01, read on the test day): the MO test is judged as the test alone
  before, as the combined 60/40 result from that day (the rule and its dated value are recorded).
* ``nt2_required_level`` and ``nt2_lesson_hours`` have one value since 1900; a law with a new dated
  value (a :class:`rules.parameters.Law`, no code edit) shows that the test day and the contract day
  pick the value.
"""
from __future__ import annotations

from datetime import date, time

import pytest

from engine.clock import ManualClock, brussels_instant
from engine.errors import Refused
from engine.service import Actor, bootstrap
from engine.settings import Settings
from rules import parameters

CASEWORKER = Actor("dated-law-test", "caseworker", "amal")
REFORM = date(2025, 1, 1)


def _engine(database_url, law=None):
    return bootstrap(Settings(database_url=database_url, demo_data=False),
                     ManualClock(brussels_instant(date(2020, 1, 1))), law=law)


@pytest.fixture
def make_engine(database_url):
    made = []

    def make(law=None):
        made.append(_engine(database_url, law))
        return made[-1]
    yield make
    for engine in made:
        engine.db.dispose()


def _at(engine, day: date) -> None:
    engine.clock.set(brussels_instant(day, time(9)))


def _newcomer(engine, dossier_id: str, start: date) -> None:
    engine.clock.set(brussels_instant(start))
    engine.import_newcomer({"id": dossier_id, "birth_date": "1990-05-05", "nationalities": ["SY"],
                            "residence": "recognised_refugee", "nis_code": "44021",
                            "obligation_start": start.isoformat()})


def _event(engine, dossier_id: str, day: date, event: str, body: dict | None = None) -> None:
    _at(engine, day)
    engine.handle(dossier_id, event, body or {}, actor=CASEWORKER)


def _contract(engine, dossier_id: str, start: date, signed: date, components: list[str], advice="cbe") -> None:
    _newcomer(engine, dossier_id, start)
    _event(engine, dossier_id, start.replace(day=10), "registered")
    _event(engine, dossier_id, start.replace(day=20), "intake", {"advice": advice})
    _event(engine, dossier_id, signed, "contract_signed", {"components": components})


def _facts(engine, dossier_id: str, kind: str) -> list[dict]:
    return [e for e in engine.history(dossier_id, limit=1000)["entries"] if e["kind"] == kind]


def test_pnt_is_a_component_only_of_contracts_from_its_date(make_engine):
    engine = make_engine()
    assert parameters.default_law().in_force("pnt_component", date(2023, 1, 1)).start == date(2023, 1, 1)
    _contract(engine, "PNT-BEFORE", date(2022, 4, 1), date(2022, 6, 1), ["mo", "nt2", "pnt"])
    _contract(engine, "PNT-AFTER", date(2022, 11, 1), date(2023, 1, 2), ["mo", "nt2", "pnt"])

    [before] = _facts(engine, "PNT-BEFORE", "contract_signed")
    assert before["payload"]["required"] == ["mo", "nt2"]
    assert before["payload"]["law"]["pnt_component"] == {"value": False, "from": "1900-01-01"}
    assert engine.dossier_view("PNT-BEFORE")["components"]["pnt"] == {
        "listed": False, "fulfilled_on": "2022-06-01", "fulfilled_by": "not_in_regime"}
    assert "pnt" not in engine.dossier_state("PNT-BEFORE").waiting
    with pytest.raises(Refused) as refused:
        _event(engine, "PNT-BEFORE", date(2022, 7, 1), "pnt_not_fulfilled")
    assert refused.value.status == 409 and refused.value.code == "not_waiting"
    assert engine.outcome("PNT-BEFORE")["infractions"] == []

    [after] = _facts(engine, "PNT-AFTER", "contract_signed")
    assert after["payload"]["required"] == ["mo", "nt2", "pnt"]
    assert after["payload"]["law"]["pnt_component"] == {"value": True, "from": "2023-01-01"}
    assert "pnt" in engine.dossier_state("PNT-AFTER").waiting
    _event(engine, "PNT-AFTER", date(2023, 2, 1), "pnt_not_fulfilled")
    assert [i["type"] for i in engine.outcome("PNT-AFTER")["infractions"]] == ["pnt_not_fulfilled"]


def test_the_mo_test_is_judged_by_the_scoring_rule_of_its_day(make_engine):
    engine = make_engine()
    for dossier_id, day in (("MO-BEFORE", date(2023, 2, 28)), ("MO-FROM", date(2023, 3, 1))):
        _contract(engine, dossier_id, date(2022, 10, 1), date(2022, 12, 1), ["mo"])
        _event(engine, dossier_id, day, "test_result", {"component": "mo", "core_percent": 55, "total_percent": 52})
    [before] = _facts(engine, "MO-BEFORE", "test_judged")
    [after] = _facts(engine, "MO-FROM", "test_judged")
    assert (before["payload"]["rule"], after["payload"]["rule"]) == ("mo_test_only", "mo_combined_60_40")
    assert before["payload"]["law"]["mo_combined_scoring"] == {"value": False, "from": "1900-01-01"}
    assert after["payload"]["law"]["mo_combined_scoring"] == {"value": True, "from": "2023-03-01"}
    # TRAJECTORY.md §3 ASSUMPTION: the combined result passes on the same thresholds
    assert before["payload"]["passed"] is after["payload"]["passed"] is True
    assert engine.dossier_view("MO-FROM")["attest_on"] == "2023-03-01"


def test_the_nt2_level_required_is_that_of_the_test_day(make_engine):
    raised = parameters.default_law().with_overrides(
        {"nt2_required_level": [{"from": REFORM.isoformat(), "value": "B1", "source": "test: a stricter NT2"}]},
        "nt2-b1")
    engine = make_engine(raised)
    for dossier_id, day in (("NT2-BEFORE", date(2024, 12, 31)), ("NT2-FROM", REFORM)):
        _contract(engine, dossier_id, date(2024, 9, 1), date(2024, 10, 1), ["nt2"])
        _event(engine, dossier_id, day, "test_result", {"component": "nt2", "level": "A2"})
    [before] = _facts(engine, "NT2-BEFORE", "test_judged")
    [after] = _facts(engine, "NT2-FROM", "test_judged")
    assert (before["payload"]["passed"], after["payload"]["passed"]) == (True, False)
    assert before["payload"]["law"]["nt2_required_level"] == {"value": "A2", "from": "1900-01-01"}
    assert after["payload"]["law"]["nt2_required_level"] == {"value": "B1", "from": REFORM.isoformat()}
    assert engine.dossier_view("NT2-BEFORE")["components"]["nt2"]["fulfilled_by"] == "nt2_test"
    assert "nt2" in engine.dossier_state("NT2-FROM").waiting
    _event(engine, "NT2-FROM", date(2025, 3, 1), "test_result", {"component": "nt2", "level": "B1"})
    assert engine.dossier_view("NT2-FROM")["components"]["nt2"]["fulfilled_on"] == "2025-03-01"


def test_the_nt2_lesson_hours_are_those_of_the_contract_day(make_engine):
    hours = dict(parameters.value("nt2_lesson_hours", date(2024, 1, 1)), cbe=700)
    longer = parameters.default_law().with_overrides(
        {"nt2_lesson_hours": [{"from": REFORM.isoformat(), "value": hours, "source": "test: a longer cbe course"}]},
        "nt2-hours")
    engine = make_engine(longer)
    _contract(engine, "HOURS-BEFORE", date(2024, 10, 1), date(2024, 12, 31), ["nt2"])
    _contract(engine, "HOURS-FROM", date(2024, 10, 1), REFORM, ["nt2"])
    [before] = _facts(engine, "HOURS-BEFORE", "contract_signed")
    [after] = _facts(engine, "HOURS-FROM", "contract_signed")
    assert (before["payload"]["nt2_lesson_hours"], after["payload"]["nt2_lesson_hours"]) == (600, 700)
    assert after["payload"]["law"]["nt2_lesson_hours"]["from"] == REFORM.isoformat()
