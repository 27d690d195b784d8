"""Versioned storage (issue 11 point 6): the stores written by release 0.1 (tests/fixtures/stores/)
are opened by the current code — Alembic migrates them from revision 0002, the aggregate is upcast
from format 1, the instance states load as format 1 — and then *advanced*: a new newcomer, events
on the old dossiers, the daily sweep for a year, the officers' decisions. Every history then
replays (older entries compared by their decisions, the newer ones entry by entry) and every
hash chain verifies. Old trajectories run on process version 1 (without the optional intake):
the engine serves them, and ``inburgering migrate`` moves those that can move.

Each case runs on SQLite (a copy of the file) and on PostgreSQL (the file's rows copied into a
schema at revision 0002, then migrated by the code under test).
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlmodel import Session
from typer.testing import CliRunner

from engine import journal, migration, projection
from engine.asof import state_as_of
from engine.clock import ManualClock, brussels_instant, business_date
from engine.context import load as load_dossier
from engine.db import make_engine
from engine.dossier import DossierState, state_format
from engine.errors import NotFound
from engine.models import Dossier, Instance, JournalEntry, ProcessDefinition
from engine.registry import dispatch
from engine.replay import SourceStore, replay_all, replay_dossier
from engine.reports import report
from engine.service import Actor, bootstrap
from engine.settings import Settings
from rules import fees
from timers.sweep import sweep_days

from .helpers import CASEWORKER, newcomer
from .old_stores import OLD_STORES, copy_store, revision

ADMIN = Actor("old-store-test", "admin")
OFFICER = Actor("officer-1", "enforcement_officer")
SECRET = "old-store-test-signing-key-0123456789"
#: what each store holds (tests/fixtures/stores/README.md), so that no loop below can pass empty
EXPECTED = {
    "scenarios-0.1": {"dossiers": 6, "waiting_intake": 2},
    "sim-0.1": {"dossiers": 110, "waiting_intake": 7, "waiting_register": 65},
}


@pytest.fixture(params=OLD_STORES)
def store(request):
    return request.param


@pytest.fixture
def old_store(store, database_url) -> str:
    """A private copy of the 0.1 store, still at revision 0002."""
    return copy_store(store, database_url)


def _latest(url: str) -> datetime:
    db = make_engine(url)
    try:
        with db.connect() as connection:
            times = connection.execute(text("SELECT business_time FROM journal_entry")).scalars().all()
    finally:
        db.dispose()
    return max(datetime.fromisoformat(t) for t in times)


def _open(url: str, *, days_after: int = 1):
    """The current code on the old store: migrated, the current processes deployed, the clock at 09:00
    on the day after its last journal entry."""
    day = business_date(_latest(url)) + timedelta(days=days_after)
    clock = ManualClock(brussels_instant(day, time(9)))
    engine = bootstrap(Settings(database_url=url, jwt_secret=SECRET, demo_data=False), clock)
    return engine, clock


@pytest.fixture
def scenarios_store(database_url) -> str:
    """The 0.1 store of the public scenarios (dossiers N1-N6), for the cases written on its stories."""
    return copy_store("scenarios-0.1", database_url)


@pytest.fixture
def opened(old_store):
    engine, clock = _open(old_store)
    yield engine, clock
    engine.db.dispose()


def _rows(engine) -> list[Dossier]:
    with Session(engine.db) as session:
        return list(session.execute(select(Dossier).order_by(Dossier.id)).scalars())


def _waiting(row) -> list[str]:
    return [step for step in row.waiting_on.split(",") if step]


def _trajectory_version(engine, dossier_id: str) -> int:
    with Session(engine.db) as session:
        return session.execute(select(ProcessDefinition.version)
                               .join(Instance, ProcessDefinition.id == Instance.definition_id)
                               .where(Instance.dossier_id == dossier_id,
                                      Instance.process_name == "trajectory")).scalar_one()


def _journal(engine, dossier_id: str) -> list[JournalEntry]:
    with Session(engine.db) as session:
        return list(session.execute(select(JournalEntry).where(JournalEntry.dossier_id == dossier_id)
                                    .order_by(JournalEntry.seq)).scalars())


def _client(engine) -> tuple[TestClient, dict]:
    from api.app import create_app
    from api.auth import issue_token

    settings = Settings(database_url=str(engine.db.url), jwt_secret=SECRET, demo_data=False)
    token = issue_token(settings, role="admin", user="old-store-test", now=engine.clock.now())
    return TestClient(create_app(engine, settings)), {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- opening


def test_the_old_store_migrates_and_every_dossier_loads(store, old_store):
    assert revision(old_store) == "0002"
    with SourceStore(old_store).session() as session:  # as release 0.1 left it: every state of format 1
        formats = {state_format(json.loads(s)) for s in session.execute(text("SELECT state FROM dossier")).scalars()}
    assert formats == {1}

    engine, _ = _open(old_store)
    try:
        from alembic.script import ScriptDirectory
        from engine.db import alembic_config

        assert revision(old_store) == ScriptDirectory.from_config(alembic_config(engine.db)).get_current_head()
        with Session(engine.db) as session:
            versions = session.execute(select(ProcessDefinition.name, ProcessDefinition.version)).all()
            formats = set(session.execute(select(Instance.state_format)).scalars())
        # release 0.1's processes stay version 1; today's files are deployed as version 2
        assert sorted(versions) == [("enforcement", 1), ("enforcement", 2), ("trajectory", 1), ("trajectory", 2)]
        assert formats == {1}

        rows = _rows(engine)
        assert len(rows) == EXPECTED[store]["dossiers"]
        for row in rows:
            view = engine.dossier_view(row.id)
            assert view["target_group"] == row.target_group
            with engine.reading() as connection:
                ctx = load_dossier(connection, engine.processes, dispatch, row.id, engine.clock.now())
            # the aggregate (format 1, upcast) and the BPMN instances (format 1) agree with the row
            assert ctx.state.waiting == _waiting(row)
            steps = ctx.ready_steps() + ["decide" for i in ctx.state.infractions
                                         if i.outcome == "handed_over" and ctx.decision_waits(i.id)]
            assert sorted(steps) == sorted(_waiting(row)), row.id
            assert ctx.state.has_trajectory == _trajectory_started(engine, row.id), row.id
    finally:
        engine.db.dispose()


def _trajectory_started(engine, dossier_id: str) -> bool:
    with Session(engine.db) as session:
        return session.execute(select(Instance.id).where(Instance.dossier_id == dossier_id,
                                                         Instance.process_name == "trajectory")).first() is not None


def test_the_journal_of_release_0_1_projects_to_the_state_it_stored(opened):
    """The partial projection of an old journal (engine/upcast.py derives what 0.1 did not record:
    deadlines from their timers, test passes by the rule of their day) folds to what release 0.1
    stored: outcome, deadlines and infractions."""
    engine, _ = opened
    source = SourceStore(engine)
    for row in _rows(engine):
        recorded, problem = source.load(row.id)
        assert problem is None
        assert {e.schema_version for e in recorded} == {1}
        folded = projection.fold(row.id, projection.read(recorded))
        stored = source.state(row.id)
        assert folded.outcome() == stored.outcome(), row.id
        assert _deadlines(folded) == _deadlines(stored), row.id
        assert _infractions(folded) == _infractions(stored), row.id


def _deadlines(state: DossierState) -> dict:
    return {name: (d.start, d.last_timely, d.status) for name, d in state.deadlines.items()}


def _infractions(state: DossierState) -> list:
    return [(i.id, i.type, i.established_on, i.outcome, i.notice_on, i.regularisation_last_day, i.handed_over_on,
             i.decision, i.fine_eur) for i in state.infractions]


# ---------------------------------------------------------------- advancing


def test_the_old_store_advances_replays_and_verifies(store, opened):
    engine, clock = opened
    today = clock.now().date()
    before = {row.id: [(e.seq, e.hash) for e in _journal(engine, row.id)] for row in _rows(engine)}

    # a new newcomer starts on today's process version
    engine.import_newcomer({"id": "NEW-1", "birth_date": "1991-03-03", "nationalities": ["AF"],
                            "residence": "recognised_refugee", "nis_code": "44021",
                            "obligation_start": today.isoformat()})
    assert _trajectory_version(engine, "NEW-1") == 2
    engine.handle("NEW-1", "registered", {}, actor=ADMIN)

    # events on the old dossiers, each in the step its (version 1) trajectory waits in
    done = Counter()
    for row in _rows(engine):
        waiting = _waiting(row)
        if row.id == "NEW-1" or row.target_group == "excluded":
            continue
        if "register" in waiting:
            engine.handle(row.id, "registered", {}, actor=ADMIN)
            done["registered"] += 1
        if "intake" in waiting:
            engine.handle(row.id, "intake", {"advice": "cvo_standard"}, actor=ADMIN)
            engine.handle(row.id, "contract_signed", {"components": ["mo", "nt2", "vdab"]}, actor=ADMIN)
            done["contract"] += 1
        elif "nt2" in waiting:
            engine.handle(row.id, "test_result", {"component": "nt2", "level": "A2"}, actor=ADMIN)
            done["nt2"] += 1
    assert done["contract"] == EXPECTED[store]["waiting_intake"]

    # a year of daily sweeps: the VDAB deadlines of the new contracts run out, notices, hand-overs
    sweep_days(engine, clock, today + timedelta(days=1), today + timedelta(days=365))
    clock.set(brussels_instant(today + timedelta(days=366), time(9)))
    handed_over = [(row.id, i.id) for row in _rows(engine) for i in engine.dossier_state(row.id).infractions
                   if i.outcome == "handed_over"]
    low, _ = fees.fine_range(clock.now().date())
    for dossier_id, infraction_id in handed_over:
        engine.handle(dossier_id, "enforcement_decision", {"infraction_id": infraction_id, "decision": "fine",
                                                          "fine_eur": low, "motivation": "old-store test"},
                      actor=OFFICER)

    # the new facts on old dossiers are of the current schema; the old entries are untouched
    new_kinds = Counter()
    for dossier_id, old in before.items():
        entries = _journal(engine, dossier_id)
        assert [(e.seq, e.hash) for e in entries[:len(old)]] == old
        assert all(e.schema_version == 2 for e in entries[len(old):])
        new_kinds.update(e.kind for e in entries[len(old):])
    if store == "scenarios-0.1":  # N2 and N3 sign a contract with VDAB and never register with VDAB
        assert new_kinds["infraction_established"] >= 2 and new_kinds["decision_recorded"] >= 1
    assert new_kinds["contract_signed"] == done["contract"]
    assert len(handed_over) == new_kinds["decision_recorded"] > 0

    summary = replay_all(engine)
    assert summary.ok, summary.to_dict()["divergences"][:3]
    assert summary.dossiers == EXPECTED[store]["dossiers"] + 1

    result = CliRunner().invoke(_cli(), ["journal", "verify", "--database", str(engine.db.url.render_as_string(
        hide_password=False))])
    assert result.exit_code == 0, result.output
    assert f"journal intact: {EXPECTED[store]['dossiers'] + 1} dossiers verified" in result.output


def _cli():
    from api.cli import app

    return app


def test_a_contract_on_a_version_1_trajectory_skips_the_waiting_intake(opened):
    """Release 0.1's trajectory is the linear one the engine still runs: a contract signed while the
    intake waits completes the intake as skipped, on version 1, and no intake can be recorded after it."""
    engine, _ = opened
    client, headers = _client(engine)
    row = next(r for r in _rows(engine) if _waiting(r) == ["intake"] and r.target_group != "excluded")
    assert _trajectory_version(engine, row.id) == 1

    response = client.post(f"/dossiers/{row.id}/events/contract_signed", json={"components": ["mo", "nt2"]},
                           headers=headers)
    assert response.status_code < 300, response.text
    assert engine.dossier_view(row.id)["contract_signed_on"] == engine.clock.now().date().isoformat()
    completed = [e for e in _journal(engine, row.id) if e.kind == "task_completed"]
    assert '"skipped":true' in completed[-3].payload or any('"skipped":true' in e.payload for e in completed)
    refused = client.post(f"/dossiers/{row.id}/events/intake", json={"advice": "cbe"}, headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "not_waiting"
    assert _trajectory_version(engine, row.id) == 1  # it stays on the version it started on


def test_an_old_dossier_excluded_after_its_trajectory_started_can_become_obligated_again(store, opened):
    """Release 0.1 kept no ``has_trajectory``: a dossier excluded by a move after its trajectory had
    started must not get a second trajectory when a move makes it obligated again (it did: a
    duplicate instance id, an incident and a 500)."""
    engine, _ = opened
    candidates = [r for r in _rows(engine) if r.target_group == "excluded" and _trajectory_started(engine, r.id)]
    if store == "scenarios-0.1":
        assert candidates == []
        return
    assert [r.id for r in candidates] == ["SIM2023-000052"]
    row = candidates[0]
    engine.handle(row.id, "moved", {"nis_code": "44021"}, actor=ADMIN)  # Ghent: the Dutch-language area
    assert engine.dossier_state(row.id).target_group == "obligated"
    with Session(engine.db) as session:
        trajectories = session.execute(select(Instance.id).where(Instance.dossier_id == row.id,
                                                                 Instance.process_name == "trajectory")).all()
    assert len(trajectories) == 1
    assert replay_dossier(engine, row.id).ok


# ---------------------------------------------------------------- migrating


def test_migrate_moves_the_old_trajectories_that_can_move(store, opened):
    engine, _ = opened
    on_v1 = [r for r in _rows(engine) if _trajectory_started(engine, r.id)
             and _waiting_instance(engine, r.id) and _trajectory_version(engine, r.id) == 1]
    waiting_register = {r.id for r in on_v1 if _waiting(r) == ["register"]}
    assert len(waiting_register) == EXPECTED[store].get("waiting_register", 0)

    plan = migration.migrate(engine, "trajectory", 2, dry_run=True, detail=True)
    movable = {i["dossier_id"] for i in plan.instances if i["can_migrate"]}
    blocked = {i["dossier_id"]: i["reasons"] for i in plan.instances if not i["can_migrate"]}
    assert movable | set(blocked) == {r.id for r in on_v1}
    # version 2 changed only the intake's documentation (it says the intake is optional): every waiting
    # trajectory can move, wherever it waits
    assert waiting_register <= movable
    for reasons in blocked.values():  # only what the sweep must do first (a timer already due)
        assert all("are due now" in reason for reason in reasons), reasons

    done = migration.migrate(engine, "trajectory", 2)
    assert done.counts.get("migrated", 0) == len(movable)
    assert done.counts.get("blocked", 0) == len(blocked)
    for dossier_id in movable:
        assert _trajectory_version(engine, dossier_id) == 2
    for dossier_id in blocked:
        assert _trajectory_version(engine, dossier_id) == 1

    # a moved trajectory takes the contract without the intake, as a new one does
    for dossier_id in sorted(waiting_register)[:3]:
        engine.handle(dossier_id, "registered", {}, actor=ADMIN)
        assert engine.dossier_state(dossier_id).waiting == ["intake"]
        engine.handle(dossier_id, "contract_signed", {"components": ["mo"]}, actor=ADMIN)
        assert engine.dossier_state(dossier_id).waiting == ["mo"]
    summary = replay_all(engine)
    assert summary.ok, summary.to_dict()["divergences"][:3]


def _waiting_instance(engine, dossier_id: str) -> bool:
    with Session(engine.db) as session:
        return session.execute(select(Instance.id).where(Instance.dossier_id == dossier_id,
                                                         Instance.process_name == "trajectory",
                                                         Instance.status == "waiting")).first() is not None


# ---------------------------------------------------------------- reading the past


def test_as_of_and_reports_over_the_old_store(opened):
    engine, _ = opened
    source = SourceStore(engine)
    states = {row.id: source.state(row.id) for row in _rows(engine)}
    client, headers = _client(engine)
    for dossier_id, stored in states.items():
        start = stored.obligation_start
        with pytest.raises(NotFound) as raised:
            state_as_of(engine, dossier_id, start - timedelta(days=1))
        assert raised.value.code == "not_yet_known"
        last = max(date.fromisoformat(e.business_date) for e in source.load(dossier_id)[0])
        for day in (start, start + timedelta(days=45), start + timedelta(days=200), last):
            view = state_as_of(engine, dossier_id, day)
            assert view["consistent"] is None  # entries of release 0.1: no whole-state check
            assert view["journal_intact"] is True
        final = state_as_of(engine, dossier_id, last)
        assert {k: final[k] for k in ("target_group", "infractions", "attest_on", "b1_check", "fees_eur")} == {
            k: v for k, v in stored.outcome().items() if k in ("target_group", "infractions", "attest_on",
                                                                "b1_check", "fees_eur")}
        assert [(d["name"], d["last_timely_day"], d["status"]) for d in final["deadlines"]] == [
            (d.name, d.last_timely.isoformat(), d.status) for d in stored.deadlines.values()]
        response = client.get(f"/dossiers/{dossier_id}", params={"as_of": last.isoformat()}, headers=headers)
        assert response.status_code == 200, response.text
        assert client.get(f"/dossiers/{dossier_id}/history", headers=headers).status_code == 200

    last_year = max(date.fromisoformat(e.business_date).year for _, e in source.entries())
    years = range(min(s.obligation_start.year for s in states.values()), last_year + 1)
    for year in years:
        figures = report(engine, year)
        assert figures["registrations"]["total"]["total"] == sum(
            s.registered_on is not None and s.registered_on.year == year for s in states.values())
        assert figures["attests"]["total"] == sum(
            s.attest_on is not None and s.attest_on.year == year for s in states.values())
        firsts = [min(s.infractions, key=lambda i: i.established_on).established_on
                  for s in states.values() if s.infractions]
        assert figures["first_infractions"]["total"] == sum(day.year == year for day in firsts)
        assert figures["advice"]["total"]["total"] == sum(
            s.intake_on is not None and s.intake_on.year == year for s in states.values())
        # a published "foto" of mid-year saw at most as much
        foto = report(engine, year, as_of=date(year, 6, 30))
        assert foto["registrations"]["total"]["total"] <= figures["registrations"]["total"]["total"]
        assert client.get(f"/reports/{year}", headers=headers).status_code == 200


def test_the_dossier_view_of_an_untouched_old_dossier_names_what_it_waits_for(opened):
    engine, _ = opened
    row = next(r for r in _rows(engine) if _waiting(r))
    assert engine.dossier_view(row.id)["waiting_on"] == _waiting(row)


# ---------------------------------------------------------------- replaying mixed journals


def test_an_older_release_may_record_one_inputs_decisions_in_another_order(scenarios_store):
    """Release 0.1 recorded a VDAB registration's fulfilment (dossier N4) before the regularisation it
    brings; today's code the other way round. The decisions of one input are compared as a set."""
    engine, _ = _open(scenarios_store)
    recorded = [(e.seq, e.kind) for e in _journal(engine, "N4") if e.kind in ("component_fulfilled", "infraction_closed")]
    result = replay_dossier(engine, "N4")
    assert result.ok, result.first_divergence
    from engine.replay import Replayer

    with Replayer.for_source(engine) as replayer:
        replayer.replay("N4", SourceStore(engine).load("N4")[0])
        replayed = [r.kind for r in replayer.journal("N4") if r.kind in ("component_fulfilled", "infraction_closed")]
    engine.db.dispose()
    assert [k for _, k in recorded] != replayed and sorted(k for _, k in recorded) == sorted(replayed)


def test_a_forged_decision_of_release_0_1_is_named(scenarios_store):
    """The fine of dossier N3 rewritten in its 0.1 journal and the chain recomputed (a forger who knows
    the hashing): the replay names the dossier, the entry and that it is a decision."""
    engine, _ = _open(scenarios_store)
    try:
        [entry] = [e for e in _journal(engine, "N3") if e.kind == "decision_recorded"]
        payload = json.loads(entry.payload)
        assert payload["fine_eur"] == 150
        _forge(engine, "N3", entry.seq, {**payload, "fine_eur": 300})
        result = replay_dossier(engine, "N3")
    finally:
        engine.db.dispose()
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["dossier_id"], divergence["seq"], divergence["field"], divergence["entry_kind"]) == (
        "N3", entry.seq, "decision", "decision_recorded")
    assert "300" in json.dumps(divergence["recorded"]) and "150" in json.dumps(divergence["replayed"])


def test_a_forged_entry_recorded_after_the_old_ones_is_named_entry_by_entry(store, opened):
    engine, _ = opened
    row = next(r for r in _rows(engine) if _waiting(r) == ["intake"] and r.target_group != "excluded")
    engine.handle(row.id, "intake", {"advice": "cbe"}, actor=ADMIN)
    [entry] = [e for e in _journal(engine, row.id) if e.kind == "intake_recorded"]
    assert entry.schema_version == 2
    assert replay_dossier(engine, row.id).ok
    _forge(engine, row.id, entry.seq, {**json.loads(entry.payload), "advice": "cbe_alfa"})
    result = replay_dossier(engine, row.id)
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["dossier_id"], divergence["seq"], divergence["field"], divergence["entry_kind"]) == (
        row.id, entry.seq, "payload", "intake_recorded")
    assert (divergence["recorded"]["advice"], divergence["replayed"]["advice"]) == ("cbe_alfa", "cbe")


def _forge(engine, dossier_id: str, seq: int, payload: dict) -> None:
    """Rewrite one entry's payload and recompute the dossier's chain and head."""
    from engine.journal import GENESIS, canonical, entry_hash

    with engine.session() as session:
        entries = list(session.execute(select(JournalEntry).where(JournalEntry.dossier_id == dossier_id)
                                       .order_by(JournalEntry.seq)).scalars())
        prev = GENESIS
        for entry in entries:
            if entry.seq == seq:
                entry.payload = canonical(payload)
            entry.prev_hash = prev
            entry.hash = entry_hash(prev, dossier_id=dossier_id, seq=entry.seq, kind=entry.kind, actor=entry.actor,
                                    business_time=entry.business_time, schema_version=entry.schema_version,
                                    process_version=entry.process_version, ruleset=entry.ruleset,
                                    rule_version=entry.rule_version, payload=entry.payload,
                                    effective_date=entry.effective_date)
            prev = entry.hash
        row = session.get(Dossier, dossier_id)
        row.journal_head = prev
    assert all(problem is None for _, problem in _verify(engine))


def _verify(engine):
    with Session(engine.db) as session:
        return list(journal.verify_all(session))


# ---------------------------------------------------------------- the aggregate of format 1


def _format_1_state(**changes) -> dict:
    """A dossier state as release 0.1 stored it (no ``format`` key; ``pnt_hours``; suspensions as pairs)."""
    empty = {"listed": False, "fulfilled_on": None, "fulfilled_by": None}
    state = {
        "id": "OLD", "newcomer": {"id": "OLD", "birth_date": "1990-01-01", "nationalities": ["SY"],
                                  "residence": "recognised_refugee", "nis_code": "44021",
                                  "obligation_start": "2024-01-02"},
        "target_group": "obligated", "reasons": [], "region": "gent", "agency": "amal",
        "decided_by": {"ruleset": "target_group_v1", "version": "1", "on": "2024-01-02"},
        "registered_on": "2024-01-20", "advice": "cbe", "intake_on": "2024-02-01", "contract_signed_on": "2024-03-01",
        "components": {c: dict(empty, listed=c != "pnt") for c in ("mo", "nt2", "vdab", "pnt")},
        "mo_passed_on": None, "nt2_passed_on": None, "vdab_registered_on": None, "vdab_exempt_reason": None,
        "pnt_hours": 12, "attest_on": None, "b1_due_on": None, "b1_outcome": None, "b1_attained_on": [],
        "activities": [], "suspensions": [["2024-04-01", "2024-04-10"]],
        # the VDAB deadline of a contract of 1 March (last timely day 1 May) moved by the 10 suspended days
        "deadlines": {"vdab": {"name": "vdab", "start": "2024-03-01", "last_timely": "2024-05-11", "status": "running"}},
        "infractions": [], "fees": [],
    }
    state.update(changes)
    return state


def test_a_format_1_state_is_upcast_with_what_the_rows_know():
    data = _format_1_state()
    assert state_format(data) == 1
    bare = DossierState.from_json(data)
    assert (bare.waiting, bare.has_trajectory) == ([], True)
    assert bare.pnt_reports == [(None, 12)] and bare.pnt_hours_until(date(2000, 1, 1)) == 12
    assert bare.suspensions == [(date(2024, 4, 1), date(2024, 4, 10), 10)]
    assert bare.obligation_start == date(2024, 1, 2)

    hinted = DossierState.from_json(data, waiting=["mo", "nt2", "vdab"], has_trajectory=True)
    assert hinted.waiting == ["mo", "nt2", "vdab"]
    excluded = DossierState.from_json(_format_1_state(target_group="excluded"), waiting=["intake"], has_trajectory=True)
    assert excluded.has_trajectory is True  # excluded now, but its trajectory was started before
    assert DossierState.from_json(_format_1_state(target_group="excluded")).has_trajectory is False
    # a format-2 state keeps its own and ignores the hints
    current = DossierState.from_json(hinted.to_json(), waiting=["register"], has_trajectory=False)
    assert (current.waiting, current.has_trajectory) == (["mo", "nt2", "vdab"], True)
    with pytest.raises(ValueError, match="format 3 is newer"):
        DossierState.from_json({**hinted.to_json(), "format": 3})


def test_a_format_1_deadline_moved_by_a_suspension_is_not_moved_twice():
    """Release 0.1 moved a running deadline by every suspension when it was recorded; the upcast finds the
    law's last timely day before them, so that a suspension recorded now adds only its own days."""
    from rules import dates

    state = DossierState.from_json(_format_1_state())
    vdab = state.deadlines["vdab"]
    assert (vdab.last_timely, vdab.base_last_timely) == (date(2024, 5, 11), date(2024, 5, 1))
    later = state.suspensions + [(date(2024, 4, 20), date(2024, 4, 24), 5)]
    assert dates.apply_suspensions(vdab.base_last_timely, vdab.start, later) == date(2024, 5, 16)

    # 0.1 also moved a deadline that started after the suspension began (recorded while it ran): no law's
    # day gives that back, so it keeps the day 0.1 stored, which no recorded suspension moves again
    started_inside = _format_1_state(deadlines={"vdab": {"name": "vdab", "start": "2024-04-05",
                                                         "last_timely": "2024-06-15", "status": "running"}})
    vdab = DossierState.from_json(started_inside).deadlines["vdab"]
    assert vdab.base_last_timely == date(2024, 6, 15)
    assert dates.apply_suspensions(vdab.base_last_timely, vdab.start, state.suspensions) == date(2024, 6, 15)
    # a regularisation period moved by a suspension, likewise
    infraction = {"id": "OLD/1", "type": "late_vdab_registration", "established_on": "2024-03-25",
                  "component": None, "outcome": "open", "notice_on": "2024-03-25",
                  "regularisation_last_day": "2024-05-04", "handed_over_on": None, "decided_on": None,
                  "decision": None, "fine_eur": None, "closed_on": None, "ruleset": "infractions_2022",
                  "rule_version": "1"}
    open_one = DossierState.from_json(_format_1_state(infractions=[infraction])).infractions[0]
    assert (open_one.regularisation_last_day, open_one.regularisation_base_last_day) == (
        date(2024, 5, 4), date(2024, 4, 24))


# ---------------------------------------------------------------- an infraction open on release 0.1's enforcement


def _release_source(name: str) -> str:
    import sqlite3

    from .old_stores import store_file

    uri = f"file:{store_file('scenarios-0.1')}?mode=ro"  # read only: the file is never changed
    with sqlite3.connect(uri, uri=True) as connection:
        return connection.execute("SELECT source FROM process_definition WHERE name = ? AND version = 1",
                                  (name,)).fetchone()[0]


def test_a_late_fact_that_version_1_enforcement_cannot_withdraw_is_a_409(database_url):
    """Release 0.1's enforcement process has no ``withdrawn`` signal, and an instance waiting for its
    regularisation cannot move to version 2 (the event it waits on changed). A registration recorded
    late, dated before the deadline, would withdraw the infraction: it is refused with 409
    ``process_version_cannot`` naming the version, nothing changes, no incident — it was a 500."""
    from engine.incidents import count_open
    from engine.processes import ProcessRepository

    v1 = _release_source("enforcement")

    class Release01Enforcement(ProcessRepository):
        def read_sources(self):
            return {**super().read_sources(), "enforcement": v1.encode("utf-8")}

    clock = ManualClock(brussels_instant(date(2024, 1, 1)))
    settings = Settings(database_url=database_url, jwt_secret=SECRET, demo_data=False)
    old = bootstrap(settings, clock, processes=Release01Enforcement())
    old.import_newcomer({"id": "LATE", "birth_date": "1990-01-01", "nationalities": ["SY"],
                         "residence": "recognised_refugee", "nis_code": "44021", "obligation_start": "2024-01-01"})
    sweep_days(old, clock, date(2024, 4, 1), date(2024, 4, 2))  # the registration deadline runs out
    old.db.dispose()

    engine = bootstrap(settings, clock)  # today's processes: enforcement@2 is current
    try:
        [infraction] = engine.dossier_state("LATE").infractions
        assert (infraction.type, infraction.outcome) == ("late_registration", "open")
        assert migration.migrate(engine, "enforcement", 2, dry_run=True).counts == {"blocked": 1}
        clock.set(brussels_instant(date(2024, 4, 5), time(9)))
        client, headers = _client(engine)
        before = [(e.seq, e.hash) for e in _journal(engine, "LATE")]
        response = client.post("/dossiers/LATE/events/registered", json={"on": "2024-03-30"}, headers=headers)
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["code"] == "process_version_cannot"
        assert body["params"] == {"infraction": infraction.id, "outcome": "open", "signal": "withdrawn",
                                  "process": "enforcement@1", "current": "enforcement@2"}
        assert [(e.seq, e.hash) for e in _journal(engine, "LATE")] == before
        assert count_open(engine) == 0
        # a registration of today regularises it within its period: version 1 knows that signal
        response = client.post("/dossiers/LATE/events/registered", json={}, headers=headers)
        assert response.status_code < 300, response.text
        assert engine.dossier_state("LATE").infractions[0].outcome == "regularised"
        assert replay_dossier(engine, "LATE").ok
    finally:
        engine.db.dispose()


def test_revision_0008_folds_the_names_already_in_the_store(database_url):
    """A store at revision 0007 whose dossiers carry register names gets them in the search column."""
    import json

    from alembic import command
    from sqlalchemy import text

    from engine.db import alembic_config, make_engine

    db = make_engine(database_url)
    try:
        with db.begin() as connection:
            config = alembic_config(db)
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        with db.begin() as connection:
            for dossier_id, newcomer in (("A", {"name": " Ayşe  Çelik "}), ("B", {}), ("C", {"name": "Ömer"})):
                connection.execute(text("INSERT INTO dossier (id, version, target_group, waiting_on, state, "
                                        "journal_seq, journal_head) VALUES (:id, 1, 'obligated', '', :s, 0, '')"),
                                   {"id": dossier_id, "s": json.dumps({"newcomer": newcomer})})
        with db.begin() as connection:
            config = alembic_config(db)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        with db.connect() as connection:
            keys = dict(connection.execute(text("SELECT id, name_key FROM dossier ORDER BY id")).all())
        assert keys == {"A": "ayse celik", "B": None, "C": "omer"}
    finally:
        db.dispose()


def test_revision_0009_compresses_the_aggregate_and_reads_what_was_stored_before(database_url):
    """A store at revision 0008 (the aggregate as JSON text) is read as it is after the upgrade; the next
    save writes it compressed; the downgrade writes every row back as JSON text."""
    import json

    from alembic import command
    from sqlalchemy import text

    from engine.db import alembic_config, make_engine
    from engine.dossier import decode_state

    def to(revision: str, down: bool = False) -> None:
        with db.begin() as connection:
            config = alembic_config(db)
            config.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(config, revision)

    def stored(dossier_id: str):
        with db.connect() as connection:
            return connection.execute(text("SELECT state FROM dossier WHERE id = :id"), {"id": dossier_id}).scalar()

    clock = ManualClock(brussels_instant(date(2024, 2, 1), time(9)))  # newcomer(): obligation start 2024-01-31
    db = make_engine(database_url)
    try:
        to("head")
        engine = bootstrap(Settings(database_url=database_url, demo_data=False), clock)
        engine.import_newcomer(newcomer("OLD"))
        engine.import_newcomer(newcomer("NEW"))
        plain = json.dumps(decode_state(stored("OLD")), separators=(",", ":"))
        engine.db.dispose()
        to("0008", down=True)  # as release 0.x kept it: JSON text
        assert json.loads(stored("OLD")) == json.loads(plain) and isinstance(stored("NEW"), str)
        to("head")
        engine = bootstrap(Settings(database_url=database_url, demo_data=False), clock)
        try:
            raw = stored("OLD")  # not rewritten: text on SQLite, its UTF-8 bytes in PostgreSQL's bytea
            assert (raw if isinstance(raw, str) else bytes(raw).decode()) == plain
            assert engine.dossier_view("OLD")["target_group"] == "obligated"  # read as it was
            engine.handle("OLD", "registered", {}, actor=CASEWORKER)
            compressed = bytes(stored("OLD"))
            assert compressed[:1] != b"{" and len(compressed) < len(plain)  # the save compressed it
            assert decode_state(compressed)["registered_on"] is not None
            assert replay_dossier(engine, "OLD").ok
        finally:
            engine.db.dispose()
    finally:
        db.dispose()
