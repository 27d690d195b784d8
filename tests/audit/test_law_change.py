"""A law change as the rules layer expects it — a new dated parameter value and a new ruleset
version in force from a date D — leaves every recorded history replayable, while dossiers
after D are decided by the new rule. A change that rewrites the past is caught by the replay.

The hypothetical decree, in force from D = 2030-01-01: attendance of 70 % is enough (a new
dated value of ``attendance_min_percent``), and refusing a test is no longer an infraction
(infractions ruleset ``infractions_2022`` version 99).
"""
from __future__ import annotations

import shutil
from datetime import date, time
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from engine.clock import ManualClock, brussels_instant
from engine.replay import replay_all, replay_dossier
from rules import host, infractions, parameters
from rules.dates import as_date

D = date(2030, 1, 1)
NEW_VERSION = "99"  # far from any real version, so a real infractions v2 can never collide with it


def _parameters_with(tmp_path: Path, name: str, change) -> MappingProxyType:
    """The package's parameter files, copied, with ``change(document)`` applied to one of them."""
    target = tmp_path / "parameters"
    shutil.copytree(Path(parameters.__file__).parent / "parameters", target)
    path = target / f"{name}.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return MappingProxyType(parameters.load(target))


def _define_new_ruleset() -> None:
    """Version 99: the 2022 rules, except that a refused test is no longer sanctioned."""
    from rules.conditions import equals, is_true

    name = f"{infractions.REGIME_2022}_v{NEW_VERSION}"
    if name in host.defined_rulesets():
        return
    fresh = equals("target_group", "obligated") & ~is_true("open_same")
    rules = [rule for rule in infractions._rules_2022() if rule.name != "refused_test"]
    rules.append(host.Rule("refused_test_not_sanctioned", fresh & equals("kind", "test_refused"),
                           infractions._decide(None, "refused_test_not_sanctioned")))
    host.define(name, rules)


@pytest.fixture
def new_law(monkeypatch, tmp_path):
    """From D: attendance minimum 70 % (a dated YAML value) and infractions ruleset version 99."""
    loaded = _parameters_with(tmp_path, "attendance_min_percent", lambda doc: doc["values"].append(
        {"from": D.isoformat(), "value": 70, "source": "test: hypothetical decree lowering the minimum"}))
    monkeypatch.setattr(parameters, "_cache", lambda: loaded)
    _define_new_ruleset()
    original = infractions.ruleset_for

    def ruleset_for(on_date):
        name, version = original(on_date)
        return (name, NEW_VERSION) if name == infractions.REGIME_2022 and as_date(on_date) >= D else (name, version)

    monkeypatch.setattr(infractions, "ruleset_for", ruleset_for)


@pytest.fixture
def engine(tmp_path):
    from engine.service import bootstrap
    from engine.settings import Settings

    eng = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/law.db", demo_data=False),
                    ManualClock(brussels_instant(date(2029, 1, 1))))
    yield eng
    eng.db.dispose()


def _story(engine, dossier_id: str, year: int, *, attendance: bool = True) -> None:
    """Obligated newcomer whose MO attendance is 75 % a month after the contract, and who
    refuses the NT2 test a month later."""
    from engine.service import Actor

    caseworker = Actor("auditor-test", "caseworker", "amal")
    engine.clock.set(brussels_instant(date(year, 2, 1)))
    engine.import_newcomer({"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
                            "residence": "recognised_refugee", "nis_code": "44021",
                            "obligation_start": f"{year}-02-01"})
    for day, event, body in ((date(year, 2, 10), "registered", {}),
                             (date(year, 2, 15), "intake", {"advice": "cvo_standard"}),
                             (date(year, 3, 1), "contract_signed", {"components": ["mo", "nt2"]}),
                             (date(year, 4, 1), "attendance", {"component": "mo", "percent": 75}),
                             (date(year, 5, 2), "test_refused", {"component": "nt2"})):
        if event == "attendance" and not attendance:
            continue
        engine.clock.set(brussels_instant(day, time(9)))
        engine.handle(dossier_id, event, body, actor=caseworker)


def _decisions(engine, dossier_id: str) -> dict:
    """The infraction rule decisions of a dossier, by trigger."""
    entries = engine.history(dossier_id, limit=500)["entries"]
    return {e["payload"]["trigger"]: e for e in entries
            if e["kind"] == "rule_decision" and e["payload"].get("question") == "infraction"}


def test_old_histories_replay_unchanged_under_the_new_law(new_law, audit_store):
    summary = replay_all(audit_store)
    assert summary.ok, summary.to_dict()["divergences"]


def test_the_new_rule_decides_after_d_and_the_old_one_before(new_law, engine):
    _story(engine, "BEFORE", 2029)
    _story(engine, "AFTER", 2030)
    before, after = _decisions(engine, "BEFORE"), _decisions(engine, "AFTER")
    # 2029: 75 % < 80 % is irregular participation; refusing a test is an infraction (version 1)
    assert [(d["ruleset"], d["rule_version"], d["payload"]["infraction"]) for d in before.values()] == [
        ("infractions_2022", "1", "irregular_participation"), ("infractions_2022", "1", "refused_test")]
    # 2030: 75 % ≥ 70 % is regular (the dated parameter; no infraction question is even asked);
    # the refusal is decided by version 99, which no longer sanctions it
    assert list(after) == ["test_refused"]
    assert (after["test_refused"]["ruleset"], after["test_refused"]["rule_version"]) == (
        "infractions_2022", NEW_VERSION)
    assert after["test_refused"]["payload"]["infraction"] is None
    assert after["test_refused"]["payload"]["reason"] == "refused_test_not_sanctioned"
    assert [i["type"] for i in engine.outcome("BEFORE")["infractions"]] == [
        "irregular_participation", "refused_test"]
    assert engine.outcome("AFTER")["infractions"] == []
    # both histories replay to the letter under the code that made them
    assert replay_dossier(engine, "BEFORE").ok
    assert replay_dossier(engine, "AFTER").ok


def test_a_new_dossier_after_d_diverges_when_replayed_without_the_new_law(engine, monkeypatch, tmp_path):
    """The decision recorded under version 99 cannot be reproduced by code that lacks it."""
    with monkeypatch.context() as patch:
        loaded = _parameters_with(tmp_path, "attendance_min_percent", lambda doc: doc["values"].append(
            {"from": D.isoformat(), "value": 70, "source": "test"}))
        patch.setattr(parameters, "_cache", lambda: loaded)
        _define_new_ruleset()
        original = infractions.ruleset_for
        patch.setattr(infractions, "ruleset_for", lambda on: (original(on)[0], NEW_VERSION)
                      if as_date(on) >= D else original(on))
        _story(engine, "AFTER", 2030, attendance=False)
    result = replay_dossier(engine, "AFTER")
    assert not result.ok
    assert (result.first_divergence["kind"], result.first_divergence["field"]) == ("rule_version", "rule_version")
    assert (result.first_divergence["recorded"], result.first_divergence["replayed"]) == (NEW_VERSION, "1")
    assert result.first_divergence["entry_kind"] == "rule_decision"


def test_a_ruleset_rewritten_for_the_past_is_caught(monkeypatch, audit_store):
    _define_new_ruleset()
    monkeypatch.setattr(infractions, "ruleset_for", lambda on: (infractions.REGIME_2022, NEW_VERSION))
    result = replay_dossier(audit_store, "N3")
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["kind"], divergence["field"], divergence["entry_kind"]) == (
        "rule_version", "rule_version", "rule_decision")
    assert (divergence["recorded"], divergence["replayed"]) == ("1", NEW_VERSION)
    assert divergence["business_time"].startswith("2024-01-16")


def test_a_parameter_changed_for_the_past_is_caught(monkeypatch, tmp_path, audit_store):
    """Registration period rewritten from 3 to 4 months since 1900 instead of from a new date."""
    def rewrite(doc):
        doc["values"][0]["value"] = 4
    loaded = _parameters_with(tmp_path, "registration_months", rewrite)
    monkeypatch.setattr(parameters, "_cache", lambda: loaded)
    result = replay_dossier(audit_store, "N2")
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["field"], divergence["entry_kind"]) == ("payload", "timer_armed")
    assert divergence["recorded"]["due_at"] != divergence["replayed"]["due_at"]
