"""The synthetic population on its own (no engine): deterministic, valid scenarios, calibrated facts."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.commands import validate_event, validate_newcomer
from rules import geography
from simulation import calibration as cal
from simulation.population import generate, quotas

ROOT = Path(__file__).resolve().parents[2]
UNTIL = date(2026, 12, 31)


@pytest.fixture(scope="module")
def population():
    return generate(2023, 0.02, 1)


def test_quotas_are_exact_and_deterministic():
    assert quotas(10, {"a": 0.5, "b": 0.3, "c": 0.2}) == {"a": 5, "b": 3, "c": 2}
    assert sum(quotas(1096, cal.INFLOW_BY_REGION).values()) == 1096
    assert quotas(3, {"a": 1, "b": 1, "c": 1, "d": 1}) == {"a": 1, "b": 1, "c": 1, "d": 0}


def test_same_seed_same_population_other_seed_another(population):
    again = generate(2023, 0.02, 1)
    assert [(p.newcomer, p.events) for p in again.persons] == [(p.newcomer, p.events) for p in population.persons]
    other = generate(2023, 0.02, 2)
    assert [p.newcomer for p in other.persons] != [p.newcomer for p in population.persons]


def test_every_person_is_a_valid_scenario(population):
    validator = Draft202012Validator(json.loads((ROOT / "engine" / "schemas" / "scenario.json").read_text()))
    for person in population.persons:
        scenario = person.scenario(UNTIL)
        errors = list(validator.iter_errors(scenario))
        assert not errors, f"{person.id}: {errors[0].message}"
        validate_newcomer(person.newcomer)
        located = geography.locate(person.newcomer["nis_code"])
        assert located is not None and located.region in cal.INFLOW_BY_REGION  # the Flemish Region's register
        days = [e["on"] for e in person.events]
        assert days == sorted(days) and all(d >= person.newcomer["obligation_start"] for d in days)
        for event in person.events:
            validate_event(event["type"], {k: v for k, v in event.items() if k not in ("on", "type")})


def test_size_regions_and_target_groups(population):
    assert len(population) == round(cal.INFLOW_TOTAL * 0.02)
    regions = Counter(geography.locate(p.newcomer["nis_code"]).region for p in population.persons)
    for region, count in cal.INFLOW_BY_REGION.items():
        assert abs(regions[region] - count * 0.02) <= 1
    groups = population.planned()  # decided by rules.target_group on the generated facts
    assert abs(groups["obligated"] / len(population) - cal.OBLIGATED_INFLOW / cal.INFLOW_TOTAL) < 0.02


def test_population_plan_matches_the_published_delays(population):
    registered = [(p.start, p.plan["registered_on"]) for p in population.persons if "registered_on" in p.plan]
    from rules.dates import add_months
    within_1 = sum(on <= add_months(start, 1) for start, on in registered) / len(registered)
    within_3 = sum(on <= add_months(start, 3) for start, on in registered) / len(registered)
    late = sum(on > add_months(start, 12) for start, on in registered) / len(registered)
    assert abs(within_1 - 0.32) < 0.01 and abs(within_3 - 0.59) < 0.01 and abs(late - 0.18) < 0.01


def test_every_registration_names_an_office_of_the_region_it_happens_in(population):
    """Seed 000 Q1: the simulated registrations name an office serving the person's region on the day,
    in about the proportions of Tabel 1 within a region."""
    from rules import offices

    seen = Counter()
    for person in population.persons:
        for event in person.events:
            if event["type"] != "registered":
                continue
            code = person.newcomer["nis_code"]
            for moved in sorted((e for e in person.events if e["type"] == "moved"), key=lambda e: e["on"]):
                if moved["on"] <= event["on"]:
                    code = moved["nis_code"]
            office = offices.office_on(event["office"], date.fromisoformat(event["on"]))
            assert office is not None and office.region == geography.locate(code).region, (person.id, event)
            seen[event["office"]] += 1
    # Vestiging Leuven had 993 of Vlaams-Brabant's 2,475 first registrations in 2020, Infopunt Asse 7
    brabant = {o: n for o, n in seen.items() if offices.office_on(o, date(2023, 1, 1)).region == "vlaams_brabant"}
    assert max(brabant, key=brabant.get) == "vestiging_leuven"
    assert brabant.get("infopunt_asse", 0) < brabant["vestiging_leuven"] / 10


def test_decisions_shared_with_other_processes_give_the_same_population(monkeypatch):
    """``generate(workers=2)`` decides part of the target groups in another process: the same persons,
    plans and events as deciding them all here."""
    from simulation import population as module

    monkeypatch.setattr(module, "PARALLEL_DECISIONS", 50)  # (the real threshold needs 10,000 newcomers)
    one = generate(2023, 0.004, 5)
    calls = []
    two = generate(2023, 0.004, 5, workers=2, on_progress=lambda done, total: calls.append((done, total)))
    assert len(one) > 50
    assert [(p.newcomer, p.plan, p.events) for p in two.persons] == \
        [(p.newcomer, p.plan, p.events) for p in one.persons]
    assert calls[-1] == (len(two), len(two))  # the progress reaches the end


def test_generate_refuses_no_workers():
    with pytest.raises(ValueError, match="workers must be 1 or more"):
        generate(2023, 0.001, 1, workers=0)
