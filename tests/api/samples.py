"""A valid body for every event type (the OpenAPI/engine schemas accept each)."""
from engine.commands import EVENT_SCHEMAS

EVENT_BODIES = {
    "registered": {},
    "intake": {"advice": "cvo_standard"},
    "mo_exemption_test": {"core_percent": 60, "total_percent": 70},
    "refused_intake_or_contract": {},
    "contract_signed": {"components": ["mo", "nt2"]},
    "vdab_registered": {},
    "vdab_exempt": {"reason": "working"},
    "attendance": {"component": "mo", "percent": 90},
    "test_result": {"component": "nt2", "level": "A2"},
    "test_refused": {"component": "mo"},
    "pnt_hours": {"hours": 10},
    "pnt_not_fulfilled": {},
    "activity": {"kind": "work", "from": "2024-01-01", "to": "2024-06-30"},
    "suspended": {"from": "2024-02-01", "to": "2024-02-10"},
    "moved": {"nis_code": "11002"},
    "residence_changed": {"residence": "family_reunification_third_country"},
    "b1_test": {"passed": False},
    "b1_attained": {},
    "enforcement_decision": {"infraction": "late_registration", "decision": "no_fine"},
}
assert set(EVENT_BODIES) == set(EVENT_SCHEMAS), "a new event type needs a sample body here"
