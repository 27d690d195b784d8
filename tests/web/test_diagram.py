"""What the process diagram highlights, computed from a real dossier's journal and view."""
from __future__ import annotations

from datetime import date

from api.web import diagram
from engine.service import Actor
from timers.sweep import sweep_days

from .conftest import newcomer

CASEWORKER = Actor("cw", "caseworker", "atlas")


def marks(engine, dossier_id: str) -> list[dict]:
    view = engine.dossier_view(dossier_id)
    return diagram.diagrams(engine, view, engine.history(dossier_id, limit=500)["entries"])


def test_a_new_dossier_waits_on_registration_with_its_deadline_running(engine):
    engine.import_newcomer(newcomer("n1"))
    [trajectory] = marks(engine, "n1")
    assert (trajectory["process"], trajectory["infraction"]) == ("trajectory", None)
    assert trajectory["waiting"] == ["register"]
    assert trajectory["armed"] == ["registration_deadline"]
    assert {"start_trajectory", "decide_target_group_task"} <= set(trajectory["done"])
    assert "register" not in trajectory["done"]
    assert "sf_decide_target_group_task__register" in trajectory["flows"]


def test_the_path_follows_completed_steps_but_a_join_waits_for_all(engine):
    engine.import_newcomer(newcomer("n1"))
    engine.handle("n1", "registered", {}, actor=CASEWORKER)
    engine.handle("n1", "contract_signed", {"components": ["mo", "nt2"]}, actor=CASEWORKER)
    [trajectory] = marks(engine, "n1")
    assert trajectory["waiting"] == ["mo", "nt2"]
    # the contract came first: it completed the intake as skipped
    assert {"register", "intake", "contract", "split_components", "vdab", "pnt"} <= set(trajectory["done"])
    assert "join_components" not in trajectory["done"]
    assert "sf_pnt__join_components" in trajectory["flows"]
    assert "sf_join_components__issue_attest_task" not in trajectory["flows"]
    assert trajectory["armed"] == []


def test_an_enforcement_instance_after_hand_over_waits_on_the_decision(engine, clock):
    engine.import_newcomer(newcomer("late1", obligation_start="2024-01-01"))
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 3))
    trajectory, enforcement = marks(engine, "late1")
    assert "registration_deadline" in trajectory["done"]  # the timer fired, and what followed it ran
    assert "establish_late_registration" in trajectory["done"]
    assert enforcement["infraction"] == "late1/1"
    assert enforcement["waiting"] == ["decide"]
    assert {"start_enforcement", "issue_notice_task", "await_regularisation", "regularisation_deadline",
            "hand_over_task"} <= set(enforcement["done"])
    # of the event gateway's three ways only the one taken is marked
    gateway_flows = [f for f in enforcement["flows"] if f.startswith("sf_await_regularisation__")]
    assert gateway_flows == ["sf_await_regularisation__regularisation_deadline"]
    assert "regularised" not in enforcement["done"]


def test_an_unknown_process_version_is_left_out(engine):
    engine.import_newcomer(newcomer("n1"))
    view = engine.dossier_view("n1")
    entries = engine.history("n1")["entries"]
    for entry in entries:
        if entry["process_version"]:
            entry["process_version"] = "trajectory@99"
    assert diagram.diagrams(engine, view, entries) == []
