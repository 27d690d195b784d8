"""Infraction rulesets per regime (TRAJECTORY.md §3, §4, §6; scenarios/README.md "Deadlines")."""
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import host
from rules.infractions import KINDS, InfractionDecision, evaluate, ruleset_for

NEW = date(2024, 5, 1)      # a trigger date under the 2022 regime
OLD = date(2021, 6, 1)      # under the regime before 2022-03-01


def decide(kind, on=NEW, target_group="obligated", **extra):
    trigger = {"kind": kind, "on": on, "target_group": target_group, "contract_signed_on": None,
               "component": None, "percent": None, "open_same": False}
    trigger.update(extra)
    decision = evaluate(trigger)
    return decision.infraction, decision.reason, decision.ruleset


def test_ruleset_for_both_sides_of_2022_03_01():
    assert ruleset_for(date(2022, 2, 28)) == ("infractions_pre2022", "1")
    assert ruleset_for(date(2022, 3, 1)) == ("infractions_2022", "1")


# ---------------------------------------------------------------- 2022 regime


@pytest.mark.parametrize("kind, infraction", [
    ("registration_deadline", "late_registration"),
    ("reregistration_deadline", "late_registration_after_infraction"),
    ("vdab_deadline", "late_vdab_registration"),
    ("b1_check", "b1_not_attained"),
    ("test_refused", "refused_test"),
    ("refused_intake_or_contract", "refused_intake_or_contract"),
    ("pnt_not_fulfilled", "pnt_not_fulfilled"),
])
def test_2022_direct_infractions(kind, infraction):
    assert decide(kind) == (infraction, kind, "infractions_2022")
    assert decide(kind, target_group="entitled") == (None, "not_obligated", "infractions_2022")
    assert decide(kind, target_group="excluded") == (None, "not_obligated", "infractions_2022")
    assert decide(kind, open_same=True) == (None, "already_open", "infractions_2022")


def test_2022_attendance_boundary_is_exact():
    assert decide("attendance", percent=79.99999999999999)[0] == "irregular_participation"
    assert decide("attendance", percent=1e-05)[0] == "irregular_participation"


@pytest.mark.parametrize("percent, expected", [
    (0, ("irregular_participation", "attendance_below_minimum")),
    (49, ("irregular_participation", "attendance_below_minimum")),
    (79, ("irregular_participation", "attendance_below_minimum")),
    (79.99, ("irregular_participation", "attendance_below_minimum")),
    (80, (None, "attendance_sufficient")),
    (100, (None, "attendance_sufficient")),
])
def test_2022_attendance(percent, expected):
    assert decide("attendance", component="mo", percent=percent)[:2] == expected


def test_2022_attendance_only_for_obligated_and_once():
    assert decide("attendance", component="nt2", percent=10, target_group="entitled")[:2] == (None, "not_obligated")
    assert decide("attendance", component="nt2", percent=10, open_same=True)[:2] == (None, "already_open")


# ---------------------------------------------------------------- pre-2022 regime


@pytest.mark.parametrize("kind, infraction", [
    ("registration_deadline", "late_registration"),
    ("reregistration_deadline", "late_registration_after_infraction"),
    ("test_refused", "refused_test"),
    ("refused_intake_or_contract", "refused_intake_or_contract"),
])
def test_pre2022_registration_and_refusals_as_in_2022(kind, infraction):
    assert decide(kind, on=OLD) == (infraction, kind, "infractions_pre2022")
    assert decide(kind, on=OLD, target_group="entitled") == (None, "not_obligated", "infractions_pre2022")
    assert decide(kind, on=OLD, open_same=True) == (None, "already_open", "infractions_pre2022")


@pytest.mark.parametrize("kind", ["vdab_deadline", "b1_check", "pnt_not_fulfilled"])
@pytest.mark.parametrize("target_group", ["obligated", "entitled"])
def test_pre2022_components_did_not_exist(kind, target_group):
    assert decide(kind, on=OLD, target_group=target_group) == (None, "not_in_regime", "infractions_pre2022")


@pytest.mark.parametrize("percent, obligated, entitled", [
    (0, "early_termination", "early_termination"),
    (49.5, "early_termination", "early_termination"),
    (50, "irregular_participation", None),
    (79, "irregular_participation", None),
    (80, None, None),
    (95, None, None),
])
def test_pre2022_attendance(percent, obligated, entitled):
    assert decide("attendance", on=OLD, component="mo", percent=percent)[0] == obligated
    assert decide("attendance", on=OLD, component="mo", percent=percent, target_group="entitled")[0] == entitled
    assert decide("attendance", on=OLD, component="mo", percent=percent, target_group="excluded") == (
        None, "not_obligated", "infractions_pre2022")


def test_pre2022_reasons():
    assert decide("attendance", on=OLD, percent=30)[:2] == ("early_termination", "attendance_below_early_termination")
    assert decide("attendance", on=OLD, percent=60)[:2] == ("irregular_participation", "attendance_below_minimum")
    assert decide("attendance", on=OLD, percent=60, target_group="entitled")[:2] == (None, "not_obligated")
    assert decide("attendance", on=OLD, percent=90)[:2] == (None, "attendance_sufficient")
    assert decide("attendance", on=OLD, percent=30, target_group="entitled", open_same=True)[:2] == (None, "already_open")


# ---------------------------------------------------------------- regime date


def test_the_contract_date_chooses_the_regime():
    # contract signed before 2022-03-01: old rules even for a trigger in 2024
    assert decide("attendance", on=NEW, contract_signed_on=date(2022, 2, 28), percent=30, target_group="entitled")[::2] == (
        "early_termination", "infractions_pre2022")
    assert decide("vdab_deadline", on=NEW, contract_signed_on=date(2022, 2, 28))[:2] == (None, "not_in_regime")
    # contract on 2022-03-01: new rules
    assert decide("attendance", on=NEW, contract_signed_on=date(2022, 3, 1), percent=30, target_group="entitled")[::2] == (
        None, "infractions_2022")
    assert decide("attendance", on=NEW, contract_signed_on=date(2022, 3, 1), percent=60)[0] == "irregular_participation"


def test_without_a_contract_the_trigger_date_chooses():
    assert decide("registration_deadline", on=date(2022, 2, 28))[2] == "infractions_pre2022"
    assert decide("registration_deadline", on=date(2022, 3, 1))[2] == "infractions_2022"


def test_iso_texts_are_accepted_and_the_record_is_complete():
    decision = evaluate({"kind": "registration_deadline", "on": "2024-05-01", "target_group": "obligated",
                         "contract_signed_on": None, "component": None, "percent": None, "open_same": False})
    assert decision == InfractionDecision("late_registration", "registration_deadline", "infractions_2022", "1")
    assert decision.to_dict() == {"infraction": "late_registration", "reason": "registration_deadline",
                                  "ruleset": "infractions_2022", "version": "1"}


@pytest.mark.parametrize("changes, message", [
    ({"kind": "late"}, "kind 'late'"),
    ({"target_group": "refugee"}, "target_group 'refugee'"),
    ({"component": "vdab"}, "component 'vdab'"),
    ({"kind": "attendance", "percent": None}, "needs a percent"),
    ({"kind": "attendance", "percent": 101}, "percent 101"),
    ({"kind": "attendance", "percent": True}, "percent True"),
    ({"open_same": "no"}, "open_same"),
    ({"on": "2024-02-30"}, "2024-02-30 is not a calendar date"),
])
def test_malformed_triggers_are_refused(changes, message):
    trigger = {"kind": "registration_deadline", "on": NEW, "target_group": "obligated"}
    trigger.update(changes)
    with pytest.raises(ValueError, match=message):
        evaluate(trigger)


def test_missing_keys_are_named():
    with pytest.raises(ValueError, match="'target_group'"):
        evaluate({"kind": "registration_deadline", "on": NEW})


def test_rulesets_are_registered_with_versioned_names():
    assert {"infractions_2022_v1", "infractions_pre2022_v1"} <= set(host.defined_rulesets())


triggers = st.fixed_dictionaries({
    "kind": st.sampled_from(KINDS),
    "on": st.dates(date(2019, 1, 1), date(2026, 12, 31)),
    "target_group": st.sampled_from(["obligated", "entitled", "excluded"]),
    "contract_signed_on": st.none() | st.dates(date(2019, 1, 1), date(2026, 12, 31)),
    "component": st.sampled_from([None, "mo", "nt2"]),
    "percent": st.floats(0, 100) | st.integers(0, 100),
    "open_same": st.booleans(),
})


@settings(max_examples=300, deadline=None)
@given(triggers)
def test_every_trigger_gets_exactly_one_decision_consistent_with_the_law(trigger):
    decision = evaluate(trigger)  # raises unless exactly one rule decided
    regime_date = trigger["contract_signed_on"] or trigger["on"]
    new = regime_date >= date(2022, 3, 1)
    assert decision.ruleset == ("infractions_2022" if new else "infractions_pre2022")
    if decision.infraction is not None:
        assert not trigger["open_same"]
        if decision.infraction != "early_termination":
            assert trigger["target_group"] == "obligated"
        else:
            assert not new and trigger["target_group"] in ("obligated", "entitled") and trigger["percent"] < 50
    if trigger["target_group"] == "excluded" or (new and trigger["target_group"] == "entitled"):
        assert decision.infraction is None
