"""Conformance: every scenario of ``tests/scenarios`` (ours, one per convention of the scenarios
README this round), ``../shared/scenarios/public`` and ``../shared/scenarios/next`` runs through
the real import, HTTP API and sweep (:func:`api.scenarios.run_scenarios`) and gives exactly its
``expect``. The expectations of ``tests/scenarios`` are computed by hand from the conventions; each
file's ``description`` shows the arithmetic.

A failure names the scenario, its file and every differing field.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.scenarios import Scenario, compare, load_scenarios, run_scenarios

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "scenarios"
DIRECTORIES = {"ours": ROOT / "tests" / "scenarios", "public": SHARED / "public", "next": SHARED / "next"}


def _files() -> list:
    params = []
    for label, folder in DIRECTORIES.items():
        for path in sorted(folder.glob("*.json")):
            params.append(pytest.param(path, id=f"{label}/{path.stem}"))
    return params


def test_every_scenario_folder_is_there_and_validates():
    for label, folder in DIRECTORIES.items():
        assert folder.is_dir(), f"{label} scenarios expected at {folder}"
        scenarios = load_scenarios([str(folder)])  # raises naming the file and JSON path of an error
        assert scenarios, f"no scenarios in {folder}"
        for scenario in scenarios:
            assert scenario.data.get("expect"), f"{scenario.source} has nothing to check"
    names = [s.name for folder in DIRECTORIES.values() for s in load_scenarios([str(folder)])]
    assert len(names) == len(set(names)), "scenario names must be unique"


@pytest.mark.parametrize("path", _files())
def test_scenario_gives_its_expected_outcome(path):
    scenario, = load_scenarios([str(path)])
    outcomes, failures = run_scenarios([scenario])
    diffs = compare(scenario.data["expect"], outcomes[0])
    assert not diffs, f"{scenario.name} ({path}):\n" + "\n".join(diffs)
    assert failures == 0


def test_all_scenarios_into_one_postgres_store(pg_schema_url):
    """The same files into one PostgreSQL store (``scenario run --database``), as the auditors' tools read them."""
    scenarios = load_scenarios([str(folder) for folder in DIRECTORIES.values()])
    seen = []
    outcomes, failures = run_scenarios(scenarios, database_url=pg_schema_url,
                                       on_result=lambda s, o, d: seen.append((s.name, d)))
    assert failures == 0, [(name, diffs) for name, diffs in seen if diffs]
    assert len(outcomes) == len(scenarios)


# ---------------------------------------------------------------- the comparison itself


EXPECTED_REFUSAL = {"index": 1, "on": "2024-03-02", "type": "intake", "status": 409}
GOT_REFUSAL = {**EXPECTED_REFUSAL, "message": "dossier X does not wait for intake; it waits for: register"}


@pytest.mark.parametrize("expected, matches", [
    ([EXPECTED_REFUSAL], True),
    ([GOT_REFUSAL], True),
    ([{**EXPECTED_REFUSAL, "status": 422}], False),
    ([{**EXPECTED_REFUSAL, "index": 2}], False),
    ([{**EXPECTED_REFUSAL, "message": "another wording"}], False),
    ([], False),
    ([EXPECTED_REFUSAL, EXPECTED_REFUSAL], False),
])
def test_refused_events_are_compared_on_the_keys_the_scenario_gives(expected, matches):
    diffs = compare({"refused_events": expected}, {"refused_events": [GOT_REFUSAL]})
    assert (diffs == []) is matches
    if not matches:
        assert diffs[0].startswith("refused_events: expected")


def test_other_fields_are_compared_whole():
    outcome = {"infractions": [{"type": "late_registration", "established_on": "2024-05-01", "outcome": "open",
                                "handed_over_on": None, "fine_eur": None}], "fees_eur": 90}
    partial = {"infractions": [{"type": "late_registration", "established_on": "2024-05-01"}]}
    assert compare(partial, outcome) and compare(partial, outcome)[0].startswith("infractions: expected")
    assert compare({"fees_eur": 90}, outcome) == []
    assert compare({"fees_eur": 180}, outcome) == ["fees_eur: expected 180, got 90"]


def _write(tmp_path, data: dict) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    return path


def _base(events: list) -> dict:
    return {"name": "x", "until": "2024-06-01", "events": events,
            "newcomer": {"id": "X1", "birth_date": "1990-01-01", "nationalities": ["SY"],
                         "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": "2024-01-31"}}


def test_an_effective_date_after_the_entry_day_goes_to_the_api_and_is_refused_there(tmp_path):
    path = _write(tmp_path, _base([{"on": "2024-03-10", "recorded_on": "2024-03-01", "type": "registered"}]))
    scenario, = load_scenarios([str(path)])
    (outcome,), _ = run_scenarios([scenario])
    refused, = outcome["refused_events"]
    assert refused["status"] == 422 and "$.on" in refused["message"] and "2024-03-10" in refused["message"]
    assert outcome["infractions"][0]["type"] == "late_registration"  # the refused registration changed nothing


def test_an_entry_day_before_the_run_begins_is_an_invalid_file(tmp_path):
    from api.scenarios import ScenarioError

    path = _write(tmp_path, _base([{"on": "2024-01-20", "type": "registered"}]))
    with pytest.raises(ScenarioError, match=r"\$\.events\[0\]\.on: 2024-01-20 is before the obligation start"):
        load_scenarios([str(path)])
    assert isinstance(load_scenarios([str(_write(tmp_path, _base([])))])[0], Scenario)
