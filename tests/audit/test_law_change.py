"""A law change as the rules layer expects it — a new dated parameter value and a new ruleset
version in force from a date D — leaves every recorded history replayable, while dossiers
after D are decided by the new rule. A change that rewrites the past is caught by the replay,
and never changes a past report or as-of view (they read the recorded facts).

The hypothetical decree, in force from D = 2030-01-01: attendance of 70 % is enough (a new
dated value of ``attendance_min_percent``), and refusing a test is no longer an infraction
(infractions ruleset ``infractions_2022`` version 99, named from D by a new dated value of
``infraction_ruleset``). No monkeypatching: the law is a :class:`rules.parameters.Law` the
engine (and the replayer) is built with, and the new ruleset is registered under its name.
"""
from __future__ import annotations

from datetime import date, time

import pytest

from engine.asof import state_as_of
from engine.clock import ManualClock, brussels_instant
from engine.replay import Replayer, replay_all, replay_dossier
from engine.reports import report
from rules import host, infractions, parameters

D = date(2030, 1, 1)
NEW_VERSION = "99"  # far from any real version, so a real infractions v2 can never collide with it
NEW_RULESET = f"{infractions.REGIME_2022}_v{NEW_VERSION}"


def _define_new_ruleset() -> None:
    """Version 99: the 2022 rules, except that a refused test is no longer sanctioned."""
    from rules.conditions import equals, is_true

    if NEW_RULESET in host.defined_rulesets():
        return
    fresh = equals("target_group", "obligated") & ~is_true("open_same")
    rules = [rule for rule in infractions._rules_2022() if rule.name != "refused_test"]
    rules.append(host.Rule("refused_test_not_sanctioned", fresh & equals("kind", "test_refused"),
                           infractions._decide(None, "refused_test_not_sanctioned")))
    host.define(NEW_RULESET, rules)


def decree() -> parameters.Law:
    """From D: attendance minimum 70 % and infractions ruleset version 99 (two dated values)."""
    _define_new_ruleset()
    return parameters.default_law().with_overrides({
        "attendance_min_percent": [{"from": D.isoformat(), "value": 70,
                                    "source": "test: hypothetical decree lowering the minimum"}],
        "infraction_ruleset": [{"from": D.isoformat(), "value": NEW_RULESET,
                                "source": "test: hypothetical decree, refusals no longer sanctioned"}],
    }, "decree-2030")


def _engine(tmp_path, law=None, name="law"):
    from engine.service import bootstrap
    from engine.settings import Settings

    return bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/{name}.db", demo_data=False),
                     ManualClock(brussels_instant(date(2029, 1, 1))), law=law)


@pytest.fixture
def engine(tmp_path):
    eng = _engine(tmp_path, decree())
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
    return {e["payload"]["trigger"]: e for e in entries if e["kind"] == "infraction_rule_decision"}


def test_old_histories_replay_unchanged_under_the_new_law(audit_store):
    with Replayer.for_source(audit_store, law=decree()) as replayer:
        summary = replay_all(audit_store, replayer=replayer)
    assert summary.ok, summary.to_dict()["divergences"]


def test_the_new_rule_decides_after_d_and_the_old_one_before(engine):
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
    assert after["test_refused"]["payload"]["law"]["infraction_ruleset"] == {"value": NEW_RULESET,
                                                                             "from": D.isoformat()}
    assert [i["type"] for i in engine.outcome("BEFORE")["infractions"]] == [
        "irregular_participation", "refused_test"]
    assert engine.outcome("AFTER")["infractions"] == []
    # both histories replay to the letter under the law that made them
    with Replayer.for_source(engine, law=decree()) as replayer:
        assert replay_dossier(engine, "BEFORE", replayer=replayer).ok
        assert replay_dossier(engine, "AFTER", replayer=replayer).ok


def test_a_new_dossier_after_d_diverges_when_replayed_without_the_new_law(engine):
    """The decision recorded under version 99 cannot be reproduced by the law that lacks it."""
    _story(engine, "AFTER", 2030, attendance=False)
    result = replay_dossier(engine, "AFTER")  # the package's law: no decree
    assert not result.ok
    assert (result.first_divergence["kind"], result.first_divergence["field"]) == ("rule_version", "rule_version")
    assert (result.first_divergence["recorded"], result.first_divergence["replayed"]) == (NEW_VERSION, "1")
    assert result.first_divergence["entry_kind"] == "infraction_rule_decision"


def test_a_ruleset_rewritten_for_the_past_is_caught(audit_store):
    _define_new_ruleset()
    rewritten = parameters.default_law().with_overrides(
        {"infraction_ruleset": [{"from": "2022-03-01", "value": NEW_RULESET, "source": "test: rewrites the past"}]},
        "rewrite")
    with Replayer.for_source(audit_store, law=rewritten) as replayer:
        result = replay_dossier(audit_store, "N3", replayer=replayer)
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["kind"], divergence["field"], divergence["entry_kind"]) == (
        "rule_version", "rule_version", "infraction_rule_decision")
    assert (divergence["recorded"], divergence["replayed"]) == ("1", NEW_VERSION)
    assert divergence["business_time"].startswith("2024-01-16")


def test_a_parameter_changed_for_the_past_is_caught_by_replay_and_changes_no_past_answer(tmp_path, audit_store):
    """Registration period rewritten from 3 to 4 months since 1900 instead of from a new date: the
    replay names the divergence; the reports and as-of views, which read the recorded facts, do not
    change — not even those of a store that goes on running under the rewritten law."""
    rewritten = parameters.default_law().with_overrides(
        {"registration_months": [{"from": "1900-01-01", "value": 4, "source": "test: rewrites the past"}]},
        "rewrite")
    with Replayer.for_source(audit_store, law=rewritten) as replayer:
        result = replay_dossier(audit_store, "N2", replayer=replayer)
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["field"], divergence["entry_kind"]) == ("payload", "deadline_armed")
    assert divergence["recorded"]["last_timely"] != divergence["replayed"]["last_timely"]

    # the past read from the facts is the same under either law
    before = (report(audit_store, 2024), state_as_of(audit_store, "N2", date(2024, 5, 10)))
    with parameters.using(rewritten):
        after = (report(audit_store, 2024), state_as_of(audit_store, "N2", date(2024, 5, 10)))
    assert after == before
    assert before[1]["infractions"][0]["established_on"] == "2024-05-01"  # as recorded, by 3 months


def test_a_store_keeps_its_past_when_a_dated_parameter_changes_for_a_past_period(tmp_path):
    """The same store, first under the law, then under a law whose regularisation period for 2029 is
    60 days: the past report and as-of view are unchanged, new decisions follow the changed value,
    and the replay (under the changed law) names the first decision it would now take differently."""
    under_law = _engine(tmp_path, None, "store")
    _story(under_law, "PAST", 2029)
    past_report = report(under_law, 2029)
    past_view = state_as_of(under_law, "PAST", date(2029, 4, 15))
    assert past_view["infraction_details"][0]["regularisation_last_day"] == "2029-05-01"
    under_law.db.dispose()

    changed = parameters.default_law().with_overrides(
        {"regularisation_days": [{"from": "2029-01-01", "value": 60, "source": "test: retroactive change"}]},
        "retroactive")
    under_change = _engine(tmp_path, changed, "store")
    _story(under_change, "LATER", 2029)
    assert report(under_change, 2029)["registrations"]["total"]["total"] == 2
    assert state_as_of(under_change, "PAST", date(2029, 4, 15)) == past_view
    later = under_change.dossier_view("LATER")["infraction_details"][0]
    assert later["regularisation_last_day"] == "2029-05-31"  # the changed value decides new notices
    for key in ("attest_duration_months", "mo_tests", "first_infractions", "advice"):
        assert report(under_change, 2029)[key] != {} and past_report[key] is not None
    with Replayer.for_source(under_change, law=changed) as replayer:
        result = replay_dossier(under_change, "PAST", replayer=replayer)
    assert not result.ok
    assert (result.first_divergence["entry_kind"], result.first_divergence["field"]) == ("notice_issued", "payload")
    under_change.db.dispose()


# ---------------------------------------------------------------- a ruleset under a new name

D2031 = date(2031, 1, 1)
REGIME_2031 = "infractions_2031"


def _define_regime_2031() -> str:
    """A new infraction regime, not a new version of an old one: the 2022 rules, except that attendance
    below the minimum is no longer sanctioned. Registered under its own name; nothing dispatches on it."""
    durable = f"{REGIME_2031}_v1"
    if durable not in host.defined_rulesets():
        from rules.conditions import equals, is_true

        fresh = equals("target_group", "obligated") & ~is_true("open_same")
        rules = [rule for rule in infractions._rules_2022() if rule.name != "irregular_participation"]
        rules.append(host.Rule("attendance_not_sanctioned", fresh & equals("kind", "attendance"),
                               infractions._decide(None, "attendance_not_sanctioned")))
        host.define(durable, rules)
    return durable


def regime_2031() -> parameters.Law:
    """The package's law plus one dated value: ``infraction_ruleset`` names the new regime from 2031."""
    return parameters.default_law().with_overrides({"infraction_ruleset": [
        {"from": D2031.isoformat(), "value": _define_regime_2031(),
         "source": "test: a hypothetical 2031 regime, attendance no longer sanctioned"}]}, "regime-2031")


def test_a_ruleset_under_a_new_name_decides_from_its_date_and_the_old_one_before(tmp_path):
    """The law change is data: a ruleset registered under a new name and one dated value. Contracts before
    2031 keep the 2022 regime, contracts from 2031 get the new one — found by the date, with no edit of
    ``rules/infractions.py`` and nothing patched."""
    engine = _engine(tmp_path, regime_2031(), "regime")
    try:
        _story(engine, "IN-2030", 2030)
        _story(engine, "IN-2031", 2031)
        before, after = _decisions(engine, "IN-2030"), _decisions(engine, "IN-2031")
        assert {t: (d["ruleset"], d["rule_version"], d["payload"]["infraction"]) for t, d in before.items()} == {
            "attendance": ("infractions_2022", "1", "irregular_participation"),
            "test_refused": ("infractions_2022", "1", "refused_test")}
        assert {t: (d["ruleset"], d["rule_version"], d["payload"]["infraction"]) for t, d in after.items()} == {
            "attendance": (REGIME_2031, "1", None),
            "test_refused": (REGIME_2031, "1", "refused_test")}
        assert after["attendance"]["payload"]["reason"] == "attendance_not_sanctioned"
        assert after["attendance"]["payload"]["law"]["infraction_ruleset"] == {"value": f"{REGIME_2031}_v1",
                                                                             "from": D2031.isoformat()}
        assert before["attendance"]["payload"]["law"]["infraction_ruleset"]["from"] == "2022-03-01"
        assert [i["type"] for i in engine.outcome("IN-2031")["infractions"]] == ["refused_test"]
        # both histories replay under the law that made them; without it the 2031 decision is named
        with Replayer.for_source(engine, law=regime_2031()) as replayer:
            assert replay_all(engine, replayer=replayer).ok
        assert replay_dossier(engine, "IN-2030").ok
        result = replay_dossier(engine, "IN-2031")
        assert not result.ok
        assert (result.first_divergence["entry_kind"], result.first_divergence["field"],
                result.first_divergence["recorded"], result.first_divergence["replayed"]) == (
            "infraction_rule_decision", "ruleset", REGIME_2031, "infractions_2022")
    finally:
        engine.db.dispose()
