"""Target group (TRAJECTORY.md §2; seed 001 §1; scenarios/README.md "Outcome")."""
import json
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import host
from rules.target_group import (
    EVIDENCE_KINDS, RESIDENCE_STATUSES, RULESET, TEMPORARY_PURPOSES, VERSION, TargetGroupDecision, decide,
)

ON = date(2024, 6, 1)


def newcomer(**changes):
    base = {
        "id": "N1", "birth_date": "1990-05-15", "nationalities": ["MA"],
        "residence": "family_reunification_belgian", "nis_code": "31005", "obligation_start": "2024-01-10",
    }
    base.update(changes)
    return base


def outcome(on=ON, **changes):
    decision = decide(newcomer(**changes), on)
    return decision.target_group, list(decision.reasons)


# ---------------------------------------------------------------- plain outcomes


def test_plain_obligated_foreigner():
    decision = decide(newcomer(), ON)
    assert decision.target_group == "obligated"
    assert decision.reasons == ()
    assert (decision.region, decision.agency) == ("west_vlaanderen", "agii")
    assert (decision.ruleset, decision.version) == (RULESET, VERSION) == ("target_group_v1", "1")


def test_belgian_only_not_born_abroad_is_entitled_without_reasons():
    assert outcome(nationalities=["BE"], residence="belgian_newcomer") == ("entitled", [])


@pytest.mark.parametrize("changes", [
    {"moved_in_from": "brussels"}, {"moved_in_from": "french_area"}, {"moved_in_from": "german_area"},
    {"belgian_born_abroad": True}, {"minister_of_religion": True},
])
def test_belgian_obligation_bases(changes):
    """(b) moved in, (c) Belgian born abroad, (d) minister of religion."""
    assert outcome(nationalities=["BE"], residence="belgian_newcomer", **changes) == ("obligated", [])


def test_belgian_with_a_third_country_nationality_is_a_foreigner_too():
    assert outcome(nationalities=["BE", "MA"]) == ("obligated", [])


# ---------------------------------------------------------------- exclusions


@pytest.mark.parametrize("changes, code", [
    ({"residence": "no_legal_residence"}, "no_legal_residence"),
    ({"residence": "short_stay"}, "short_stay"),
    ({"residence": "asylum_seeker"}, "asylum_pending"),
    ({"birth_date": "2006-01-11"}, "minor"),
    ({"nis_code": "52011"}, "outside_area"),
] + [({"residence": purpose}, "temporary_purpose") for purpose in TEMPORARY_PURPOSES])
def test_every_exclusion_code(changes, code):
    decision = decide(newcomer(**changes), ON)
    assert decision.target_group == "excluded"
    assert decision.reasons == (code,)


def test_all_applicable_exclusions_in_order():
    decision = decide(newcomer(residence="asylum_seeker", birth_date="2010-01-01", nis_code="62063"), ON)
    assert decision.reasons == ("asylum_pending", "minor", "outside_area")
    assert (decision.region, decision.agency) == (None, None)
    decision = decide(newcomer(residence="au_pair", birth_date="2010-01-01"), ON)
    assert decision.reasons == ("temporary_purpose", "minor")


def test_exclusions_beat_brussels_and_exemptions():
    assert outcome(residence="short_stay", nis_code="21004", nationalities=["FR"]) == ("excluded", ["short_stay"])


def test_age_is_taken_on_the_obligation_start():
    # turns 18 on 2024-01-10, the obligation start: adult
    assert outcome(birth_date="2006-01-10") == ("obligated", [])
    # turns 18 the day after the obligation start: minor, even when the decision is later
    assert outcome(birth_date="2006-01-11", on=date(2030, 1, 1)) == ("excluded", ["minor"])


def test_asylum_seekers_both_sides_of_2022_03_01():
    """Since 2022-03-01 pending asylum seekers are excluded; before, they were entitled (§2, §3)."""
    assert outcome(residence="asylum_seeker", on=date(2022, 3, 1)) == ("excluded", ["asylum_pending"])
    assert outcome(residence="asylum_seeker", on=date(2022, 2, 28)) == ("entitled", [])
    assert outcome(residence="asylum_seeker", on=date(2022, 2, 28), minister_of_religion=True) == ("entitled", [])
    assert outcome(residence="asylum_seeker", on=date(2022, 2, 28), nis_code="21004") == ("entitled", ["brussels_resident"])


# ---------------------------------------------------------------- Brussels and area


def test_brussels_resident_is_entitled_only_with_that_reason():
    decision = decide(newcomer(nis_code="21004", nationalities=["FR"], residence="temporary_protection",
                               evidence=["diploma_be_nl"]), ON)
    assert decision.target_group == "entitled"
    assert decision.reasons == ("brussels_resident",)
    assert (decision.region, decision.agency) == ("brussel", "agii")


def test_brussels_belgian_is_brussels_resident():
    assert outcome(nis_code="21001", nationalities=["BE"], residence="belgian_newcomer") == ("entitled", ["brussels_resident"])


@pytest.mark.parametrize("code, region, agency", [
    ("11002", "antwerpen_stad", "atlas"), ("44021", "gent_stad", "amal"), ("71016", "limburg", "agii"),
])
def test_region_and_agency(code, region, agency):
    decision = decide(newcomer(nis_code=code), ON)
    assert (decision.target_group, decision.region, decision.agency) == ("obligated", region, agency)


# ---------------------------------------------------------------- exemptions


@pytest.mark.parametrize("changes, code", [
    ({"nationalities": ["FR"], "residence": "labour_migrant_eu"}, "eu_plus"),
    ({"nationalities": ["NO"]}, "eu_plus"),
    ({"nationalities": ["CH"]}, "eu_plus"),
    ({"nationalities": ["BE", "NL"], "residence": "belgian_newcomer", "belgian_born_abroad": True}, "eu_plus"),
    ({"residence": "family_reunification_eu"}, "eu_family"),
    ({"evidence": ["free_movement"]}, "free_movement"),
    ({"evidence": ["illness_disability"]}, "illness_disability"),
    ({"evidence": ["has_attest"]}, "has_attest"),
    ({"evidence": ["reception_education"]}, "reception_education"),
    ({"residence": "labour_migrant_third_country"}, "temporary_migrant"),
    ({"residence": "student_third_country"}, "temporary_migrant"),
    ({"evidence": ["family_of_temporary_migrant"]}, "temporary_migrant"),
    ({"residence": "temporary_protection"}, "temporary_protection"),
    ({"evidence": ["diploma_be_nl"]}, "diploma_be_nl"),
    ({"birth_date": "1959-01-10"}, "age_65"),
])
def test_every_exemption_code(changes, code):
    assert outcome(**changes) == ("entitled", [code])


def test_belgian_plus_non_eu_nationality_is_not_eu_plus():
    assert outcome(nationalities=["BE", "MA"]) == ("obligated", [])
    assert outcome(nationalities=["BE"], residence="belgian_newcomer", moved_in_from="brussels") == ("obligated", [])


def test_age_65_boundary_on_the_obligation_start():
    assert outcome(birth_date="1959-01-11") == ("obligated", [])   # 64 on 2024-01-10
    assert outcome(birth_date="1959-01-10") == ("entitled", ["age_65"])


def test_all_applicable_exemptions_in_order():
    decision = decide(newcomer(
        nationalities=["MA", "FR"], residence="family_reunification_eu", birth_date="1950-01-01",
        evidence=["diploma_be_nl", "has_attest", "free_movement", "illness_disability",
                  "reception_education", "family_of_temporary_migrant", "fee_exempt"]), ON)
    assert decision.reasons == (
        "eu_plus", "eu_family", "free_movement", "illness_disability", "has_attest",
        "reception_education", "temporary_migrant", "diploma_be_nl", "age_65")


def test_fee_exempt_evidence_is_no_exemption():
    assert outcome(evidence=["fee_exempt"]) == ("obligated", [])


# ---------------------------------------------------------------- ministers of religion


@pytest.mark.parametrize("changes", [
    {"residence": "labour_migrant_third_country"},
    {"evidence": ["family_of_temporary_migrant"]},
    {"residence": "temporary_protection"},
    {"evidence": ["diploma_be_nl"]},
    {"birth_date": "1950-01-01"},
])
def test_the_last_four_exemptions_never_apply_to_ministers(changes):
    assert outcome(**changes) [0] == "entitled"
    assert outcome(minister_of_religion=True, **changes) == ("obligated", [])


@pytest.mark.parametrize("changes, code", [
    ({"nationalities": ["IT"]}, "eu_plus"),
    ({"residence": "family_reunification_eu"}, "eu_family"),
    ({"evidence": ["free_movement"]}, "free_movement"),
    ({"evidence": ["illness_disability"]}, "illness_disability"),
    ({"evidence": ["has_attest"]}, "has_attest"),
    ({"evidence": ["reception_education"]}, "reception_education"),
])
def test_other_exemptions_apply_to_ministers(changes, code):
    assert outcome(minister_of_religion=True, **changes) == ("entitled", [code])


def test_minister_keeps_the_general_exemptions_only():
    decision = decide(newcomer(minister_of_religion=True, residence="temporary_protection",
                               evidence=["has_attest", "diploma_be_nl"], birth_date="1950-01-01"), ON)
    assert decision.reasons == ("has_attest",)


# ---------------------------------------------------------------- inputs and record


def test_dates_as_objects_or_texts_give_the_same_decision():
    as_text = decide(newcomer(), "2024-06-01")
    as_dates = decide(newcomer(birth_date=date(1990, 5, 15), obligation_start=date(2024, 1, 10)), ON)
    assert as_text == as_dates


def test_decision_record_is_json_and_names_what_decided():
    decision = decide(newcomer(nationalities=["FR"], evidence=["diploma_be_nl"]), ON)
    record = decision.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record["reasons"] == ["eu_plus", "diploma_be_nl"]
    assert record["inputs"]["on"] == "2024-06-01"
    assert record["inputs"]["newcomer"]["obligation_start"] == "2024-01-10"
    facts = record["inputs"]["facts"]
    assert facts["age"] == 33 and facts["reform_2022"] is True and facts["nationality_classes"] == ["eu_plus"]
    assert isinstance(decision, TargetGroupDecision)
    with pytest.raises(Exception):
        decision.target_group = "excluded"


@pytest.mark.parametrize("changes, message", [
    ({"residence": "tourist"}, "residence 'tourist'"),
    ({"nationalities": []}, "nationalities"),
    ({"nationalities": "MA"}, "nationalities"),
    ({"nationalities": ["mar"]}, "nationalities"),
    ({"nis_code": "123"}, "not five digits"),
    ({"birth_date": "1990-02-30"}, "1990-02-30 is not a calendar date"),
    ({"obligation_start": "2024-13-01"}, "2024-13-01 is not a calendar date"),
    ({"moved_in_from": "wallonia"}, "moved_in_from"),
    ({"evidence": ["bribe"]}, "evidence"),
    ({"minister_of_religion": "yes"}, "minister_of_religion"),
    ({"birth_date": "2025-01-01"}, "before the birth date"),
])
def test_malformed_newcomers_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        decide(newcomer(**changes), ON)


def test_missing_key_is_named():
    facts = newcomer()
    del facts["residence"]
    with pytest.raises(ValueError, match="residence"):
        decide(facts, ON)


def test_the_ruleset_really_runs_in_durable_rules():
    assert RULESET in host.defined_rulesets()


# ---------------------------------------------------------------- against an independent reading of §2

EXEMPTION_ORDER = ["eu_plus", "eu_family", "free_movement", "illness_disability", "has_attest",
                   "reception_education", "temporary_migrant", "temporary_protection", "diploma_be_nl", "age_65"]
EU_PLUS = {"FR", "NL", "DE", "IS", "LI", "NO", "CH", "PL", "RO"}


def oracle(n, on):
    """A straightforward reading of TRAJECTORY.md §2, for comparison only."""
    start = date.fromisoformat(n["obligation_start"])
    birth = date.fromisoformat(n["birth_date"])
    age = start.year - birth.year - ((start.month, start.day) < (birth.month, birth.day))
    code = n["nis_code"]
    if code in ("11002", "44021") or code[:2] in ("21", "23", "24") or code[0] in "1347":
        area = "brussels" if code.startswith("21") else "flanders"
    else:
        area = None
    residence, evidence = n["residence"], set(n.get("evidence", []))
    excluded = []
    if residence == "no_legal_residence":
        excluded.append("no_legal_residence")
    if residence == "short_stay":
        excluded.append("short_stay")
    if residence == "asylum_seeker" and on >= date(2022, 3, 1):
        excluded.append("asylum_pending")
    if residence in TEMPORARY_PURPOSES:
        excluded.append("temporary_purpose")
    if age < 18:
        excluded.append("minor")
    if area is None:
        excluded.append("outside_area")
    if excluded:
        return "excluded", excluded
    if area == "brussels":
        return "entitled", ["brussels_resident"]
    minister = n.get("minister_of_religion", False)
    if not (set(n["nationalities"]) - {"BE"} or n.get("moved_in_from") or n.get("belgian_born_abroad") or minister):
        return "entitled", []
    if residence == "asylum_seeker":  # only reached before 2022-03-01
        return "entitled", []
    exemptions = {
        "eu_plus": bool(set(n["nationalities"]) & EU_PLUS),
        "eu_family": residence == "family_reunification_eu",
        "free_movement": "free_movement" in evidence,
        "illness_disability": "illness_disability" in evidence,
        "has_attest": "has_attest" in evidence,
        "reception_education": "reception_education" in evidence,
        "temporary_migrant": not minister and (residence in ("labour_migrant_third_country", "student_third_country")
                                               or "family_of_temporary_migrant" in evidence),
        "temporary_protection": not minister and residence == "temporary_protection",
        "diploma_be_nl": not minister and "diploma_be_nl" in evidence,
        "age_65": not minister and age >= 65,
    }
    reasons = [code for code in EXEMPTION_ORDER if exemptions[code]]
    return ("entitled", reasons) if reasons else ("obligated", [])


newcomers = st.fixed_dictionaries(
    {
        "id": st.just("N"),
        "birth_date": st.dates(date(1930, 1, 1), date(2015, 12, 31)).map(date.isoformat),
        "nationalities": st.lists(st.sampled_from(["BE", "MA", "FR", "NO", "SY", "CH", "TR"]), min_size=1, max_size=3, unique=True),
        "residence": st.sampled_from(RESIDENCE_STATUSES),
        "nis_code": st.sampled_from(["11002", "44021", "12345", "24062", "31005", "41002", "71016", "21004", "52011", "91013"]),
        "obligation_start": st.dates(date(2016, 1, 1), date(2030, 12, 31)).map(date.isoformat),
    },
    optional={
        "minister_of_religion": st.booleans(),
        "belgian_born_abroad": st.booleans(),
        "moved_in_from": st.sampled_from([None, "brussels", "french_area", "german_area"]),
        "evidence": st.lists(st.sampled_from(EVIDENCE_KINDS), unique=True, max_size=4),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(newcomers, st.dates(date(2020, 1, 1), date(2026, 12, 31)))
def test_rules_agree_with_an_independent_reading_of_the_law(n, on):
    decision = decide(n, on)
    assert (decision.target_group, list(decision.reasons)) == oracle(n, on)
