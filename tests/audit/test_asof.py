"""The state of a dossier as of any date, from the journal alone."""
from __future__ import annotations

import json
from datetime import date

import pytest

from engine.asof import state_as_of
from engine.errors import NotFound
from engine.replay import Replayer

from .helpers import entry, seq_of, sql


def _deadline(view: dict, name: str) -> dict:
    return next(d for d in view["deadlines"] if d["name"] == name)


def test_scenario_03_before_the_deadline(audit_store):
    view = state_as_of(audit_store, "N3", date(2024, 1, 15))
    assert view["infractions"] == []
    assert _deadline(view, "registration") == {"name": "registration", "start": "2023-10-15",
                                                "last_timely_day": "2024-01-15", "status": "running"}
    assert view["consistent"] and view["journal_intact"]


def test_scenario_03_on_1_february_2024_late_registration_open_not_handed_over(audit_store):
    view = state_as_of(audit_store, "N3", date(2024, 2, 1))
    assert view["as_of"] == "2024-02-01"
    assert view["target_group"] == "obligated"
    assert (view["agency"], view["region"]) == ("agii", "west_vlaanderen")
    assert view["infractions"] == [{"type": "late_registration", "established_on": "2024-01-16",
                                    "outcome": "open", "handed_over_on": None, "fine_eur": None}]
    [detail] = view["infraction_details"]
    assert detail["notice_on"] == "2024-01-16"
    assert detail["regularisation_last_day"] == "2024-02-15"
    assert (detail["ruleset"], detail["rule_version"]) == ("infractions_2022", "1")
    assert _deadline(view, "registration")["status"] == "fired"
    assert view["registered_on"] is None
    assert view["waiting_on"] == ["register"]
    assert [t["timer"] for t in view["timers"]] == ["regularisation"]
    assert view["consistent"] is True and view["divergence"] is None


def test_scenario_03_after_the_hand_over_and_after_the_fine(audit_store):
    handed = state_as_of(audit_store, "N3", date(2024, 2, 16))
    assert handed["infractions"][0]["outcome"] == "handed_over"
    assert handed["infractions"][0]["handed_over_on"] == "2024-02-16"
    assert _deadline(handed, "reregistration") == {"name": "reregistration", "start": "2024-02-16",
                                                    "last_timely_day": "2024-05-16", "status": "running"}
    fined = state_as_of(audit_store, "N3", date(2024, 3, 20))
    assert fined["infractions"][0]["outcome"] == "fined" and fined["infractions"][0]["fine_eur"] == 150
    assert fined["registered_on"] is None
    registered = state_as_of(audit_store, "N3", date(2024, 4, 2))
    assert registered["registered_on"] == "2024-04-02"
    assert _deadline(registered, "reregistration")["status"] == "met"


def test_as_of_is_not_the_current_state(audit_store):
    from engine.db import make_engine
    from engine.dossier import decode_state
    from engine.models import Dossier
    from sqlmodel import Session

    db = make_engine(audit_store)
    with Session(db) as session:
        current = decode_state(session.get(Dossier, "N3").state)
    db.dispose()
    assert current["infractions"][0]["outcome"] == "fined"
    assert current["registered_on"] == "2024-04-02"
    past = state_as_of(audit_store, "N3", date(2024, 2, 1))
    assert past["infractions"][0]["outcome"] == "open" and past["registered_on"] is None


def test_scenario_01_the_attest_day_and_the_day_before(audit_store):
    with Replayer.for_source(audit_store) as replayer:  # one in-memory engine for several questions
        before = state_as_of(audit_store, "N1", date(2025, 1, 19), replayer=replayer)
        on = state_as_of(audit_store, "N1", date(2025, 1, 20), replayer=replayer)
        end = state_as_of(audit_store, "N1", date(2027, 2, 1), replayer=replayer)
    assert before["attest_on"] is None and before["b1_check"] is None
    assert before["components"]["mo"]["fulfilled_on"] == "2024-05-10"
    assert before["components"]["nt2"]["fulfilled_on"] is None
    assert on["attest_on"] == "2025-01-20"
    assert on["b1_check"] == {"due_on": "2027-01-20", "outcome": "pending"}
    assert end["b1_check"] == {"due_on": "2027-01-20", "outcome": "exempt"}
    assert before["fees_eur"] == on["fees_eur"] == 360


def test_scenario_02_during_the_regularisation_period(audit_store):
    view = state_as_of(audit_store, "N2", date(2024, 5, 10))
    assert view["infractions"][0]["outcome"] == "open"
    assert state_as_of(audit_store, "N2", date(2024, 5, 20))["infractions"][0]["outcome"] == "regularised"


def test_before_the_import_the_dossier_did_not_exist(audit_store):
    with pytest.raises(NotFound, match="did not exist yet on 2023-10-14"):
        state_as_of(audit_store, "N3", date(2023, 10, 14))
    with pytest.raises(NotFound):
        state_as_of(audit_store, "nobody", date(2024, 1, 1))


def test_a_tampered_journal_is_flagged_in_the_answer(store_copy):
    seq = seq_of(store_copy, "N3", "command", '"enforcement_decision"')
    payload = entry(store_copy, "N3", seq)["payload"]
    payload["payload"]["fine_eur"] = 50
    sql(store_copy, "UPDATE journal_entry SET payload = ? WHERE dossier_id = 'N3' AND seq = ?",
        json.dumps(payload, sort_keys=True, separators=(",", ":")), seq)
    view = state_as_of(store_copy, "N3", date(2024, 2, 1))
    assert view["journal_intact"] is False
    assert view["journal_problem"]["seq"] == seq
