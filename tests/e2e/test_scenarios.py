"""The scenario runner end to end: public scenarios through import, HTTP API and sweep."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

PUBLIC = Path(__file__).resolve().parents[2].parent / "shared" / "scenarios" / "public"
OUTCOME_KEYS = {"name", "target_group", "reasons", "agency", "region", "infractions", "attest_on", "b1_check",
                "fees_eur"}


@pytest.fixture(scope="module")
def public_dir():
    if not PUBLIC.is_dir():
        pytest.fail(f"the public scenarios are expected beside the project at {PUBLIC}")
    return PUBLIC


def test_public_scenarios_pass_and_outcomes_have_the_documented_shape(public_dir, tmp_path):
    out = tmp_path / "outcomes.json"
    result = CliRunner().invoke(app, ["scenario", "run", str(public_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    outcomes = json.loads(out.read_text())
    names = [json.loads(p.read_text())["name"] for p in sorted(public_dir.glob("*.json"))]
    assert [o["name"] for o in outcomes] == names
    for outcome in outcomes:
        assert OUTCOME_KEYS <= set(outcome)
        for infraction in outcome["infractions"]:
            assert set(infraction) == {"type", "established_on", "outcome", "handed_over_on", "fine_eur"}


def _scenario(public_dir, name="03-late-registration-handed-over-and-fined.json") -> dict:
    return json.loads((public_dir / name).read_text())


def test_mismatch_exits_1_and_names_the_field(public_dir, tmp_path):
    data = _scenario(public_dir)
    data["expect"]["infractions"][0]["fine_eur"] = 999
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["scenario", "run", str(path)])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "infractions: expected" in result.output and "999" in result.output


def test_refused_event_is_listed_and_changes_nothing(public_dir, tmp_path):
    data = _scenario(public_dir)
    data["events"][0]["fine_eur"] = 10_000  # outside the dated fine range
    data.pop("expect")
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "o.json"
    result = CliRunner().invoke(app, ["scenario", "run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    outcome, = json.loads(out.read_text())
    refused, = outcome["refused_events"]
    assert refused["index"] == 0 and refused["type"] == "enforcement_decision" and refused["status"] == 422
    assert "50" in refused["message"] and "5000" in refused["message"]
    assert outcome["infractions"][0]["outcome"] == "handed_over"


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["newcomer"].update(residence="tourist"), "$.newcomer.residence"),
    (lambda d: d["events"][1].update(on="2024-13-01"), "$.events[1].on"),
    (lambda d: d.pop("until"), "'until' is a required property"),
    (lambda d: d["events"][1].update(recorded_on="2000-01-01"), "$.events[1].recorded_on"),
])
def test_invalid_scenario_is_refused_with_its_json_path_and_nothing_runs(public_dir, tmp_path, mutate, words):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_scenario(public_dir)))
    bad_data = copy.deepcopy(_scenario(public_dir))
    mutate(bad_data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bad_data))
    out = tmp_path / "o.json"
    result = CliRunner().invoke(app, ["scenario", "run", str(good), str(bad), "--out", str(out)])
    assert result.exit_code == 2
    assert words in result.output
    assert not out.exists()


def test_public_scenarios_pass_into_one_postgres_store(public_dir, pg_schema_url):
    """`--database`: all scenarios into one store (here PostgreSQL), for the auditors' tools."""
    result = CliRunner().invoke(app, ["scenario", "run", str(public_dir), "--database", pg_schema_url])
    assert result.exit_code == 0, result.output
    assert f"{len(list(public_dir.glob('*.json')))} passed, 0 failed" in result.output
