"""Replaying process histories: every recorded dossier replays to the letter; a tampered,
reordered, truncated or forged journal is reported with the entry where it goes wrong."""
from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from engine import replay
from engine.errors import NotFound
from engine.replay import Replayer, replay_all, replay_dossier

from .helpers import entry, rehash, seq_of, sql

DOSSIERS = ["N1", "N2", "N3", "N4", "N5", "N6", "N7"]


def test_every_scenario_dossier_replays_without_divergence(audit_store):
    progress = []
    summary = replay_all(audit_store, on_progress=lambda done, total, result: progress.append((done, total)))
    assert [r.dossier_id for r in summary.results] == DOSSIERS
    assert summary.ok, summary.to_dict()["divergences"]
    assert progress == [(n, len(DOSSIERS)) for n in range(1, len(DOSSIERS) + 1)]
    recorded = dict(sql(audit_store, "SELECT dossier_id, COUNT(*) FROM journal_entry GROUP BY dossier_id"))
    assert {r.dossier_id: r.entries_checked for r in summary.results} == recorded
    assert summary.to_dict()["diverged"] == 0


def test_replay_accepts_an_engine_a_session_and_a_reused_replayer(audit_store):
    from engine.clock import ManualClock, brussels_instant
    from engine.service import bootstrap
    from engine.settings import Settings
    from datetime import date

    engine = bootstrap(Settings(database_url=audit_store, demo_data=False),
                       ManualClock(brussels_instant(date(2027, 6, 1))))
    try:
        assert replay_dossier(engine, "N3").ok
        with Session(engine.db) as session:
            assert replay_dossier(session, "N2").ok
        with Replayer.for_source(engine) as replayer:
            assert replay_dossier(engine, "N3", replayer=replayer).ok
            assert replay_dossier(engine, "N3", replayer=replayer).ok  # again, same in-memory engine
    finally:
        engine.db.dispose()


def test_a_replayed_dossier_leaves_nothing_behind_in_the_replay_store(audit_store):
    """replay_all forgets each dossier once compared (rows and cache entry), so a long audit keeps the
    in-memory store small; a dossier replayed again starts from nothing."""
    from sqlalchemy import text

    with Replayer.for_source(audit_store) as replayer:
        assert replay_all(audit_store, replayer=replayer, dossier_ids=["N2", "N3"]).ok
        with replayer.engine.db.connect() as connection:
            for table in ("dossier", "instance", "due_timer", "journal_entry"):
                assert connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0, table
        assert len(replayer.engine.cache) == 0
        assert replay_all(audit_store, replayer=replayer, dossier_ids=["N3"]).ok


def test_unknown_dossier_is_not_found(audit_store):
    with pytest.raises(NotFound):
        replay_dossier(audit_store, "nobody")


def test_an_edited_payload_is_reported_as_tampering(store_copy):
    seq = seq_of(store_copy, "N1", "command", '"intake"')
    payload = entry(store_copy, "N1", seq)["payload"]
    payload["payload"]["advice"] = "cbe_alfa"
    sql(store_copy, "UPDATE journal_entry SET payload = ? WHERE dossier_id = 'N1' AND seq = ?",
        json.dumps(payload, sort_keys=True, separators=(",", ":")), seq)

    result = replay_dossier(store_copy, "N1")
    assert not result.ok
    assert result.first_divergence["kind"] == "tamper"
    assert result.first_divergence["seq"] == seq
    assert "edited" in result.first_divergence["message"]
    # the other dossiers are untouched
    summary = replay_all(store_copy)
    assert [r.dossier_id for r in summary.diverged] == ["N1"]


def test_two_swapped_entries_are_reported_as_reordering(store_copy):
    first = seq_of(store_copy, "N3", "deadline_fired")
    second = first + 1  # the rule decision made when the timer fired
    sql(store_copy, "UPDATE journal_entry SET seq = -1 WHERE dossier_id = 'N3' AND seq = ?", first)
    sql(store_copy, "UPDATE journal_entry SET seq = ? WHERE dossier_id = 'N3' AND seq = ?", first, second)
    sql(store_copy, "UPDATE journal_entry SET seq = ? WHERE dossier_id = 'N3' AND seq = -1", second)

    result = replay_dossier(store_copy, "N3")
    assert not result.ok
    assert result.first_divergence["kind"] == "tamper"
    assert result.first_divergence["seq"] == first
    assert "reordered" in result.first_divergence["message"] or "edited" in result.first_divergence["message"]


def test_a_deleted_last_entry_is_reported(store_copy):
    [(last,)] = sql(store_copy, "SELECT MAX(seq) FROM journal_entry WHERE dossier_id = 'N2'")
    sql(store_copy, "DELETE FROM journal_entry WHERE dossier_id = 'N2' AND seq = ?", last)
    result = replay_dossier(store_copy, "N2")
    assert not result.ok and result.first_divergence["kind"] == "tamper"
    assert "deleted" in result.first_divergence["message"]


def test_a_forged_derived_fact_with_a_recomputed_chain_is_caught_by_the_replay(store_copy):
    """The forger rewrites the hand-over date and recomputes every hash: the chain verifies,
    but re-executing the inputs does not give that fact."""
    seq = seq_of(store_copy, "N3", "handed_over")
    payload = entry(store_copy, "N3", seq)["payload"]
    assert payload["on"] == "2024-02-16"
    payload["on"] = "2024-03-16"
    sql(store_copy, "UPDATE journal_entry SET payload = ? WHERE dossier_id = 'N3' AND seq = ?",
        json.dumps(payload, sort_keys=True, separators=(",", ":")), seq)
    rehash(store_copy, "N3")

    from engine import journal
    from engine.db import make_engine
    db = make_engine(store_copy)
    with Session(db) as session:
        assert dict(journal.verify_all(session))["N3"] is None  # the chain alone no longer tells
    db.dispose()

    result = replay_dossier(store_copy, "N3")
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["kind"], divergence["seq"], divergence["field"]) == ("divergence", seq, "payload")
    assert divergence["recorded"]["on"] == "2024-03-16"
    assert divergence["replayed"]["on"] == "2024-02-16"
    assert result.entries_checked == seq - 1


def test_a_forged_input_is_caught_where_its_consequences_differ(store_copy):
    """An inserted command with a recomputed chain: the replay stops where the recorded
    history no longer follows from its inputs."""
    seq = seq_of(store_copy, "N4", "command", '"vdab_registered"')
    payload = entry(store_copy, "N4", seq)["payload"]
    payload["type"] = "vdab_exempt"
    payload["payload"] = {"reason": "working", "on": payload["payload"]["on"]}
    sql(store_copy, "UPDATE journal_entry SET payload = ? WHERE dossier_id = 'N4' AND seq = ?",
        json.dumps(payload, sort_keys=True, separators=(",", ":")), seq)
    rehash(store_copy, "N4")

    result = replay_dossier(store_copy, "N4")
    assert not result.ok
    divergence = result.first_divergence
    assert divergence["kind"] == "divergence" and divergence["seq"] == seq + 1
    assert (divergence["field"], divergence["recorded"], divergence["replayed"]) == (
        "kind", "vdab_registered", "vdab_exempted")


def test_a_missing_process_version_is_reported(store_copy):
    sql(store_copy, "UPDATE journal_entry SET process_version = 'enforcement@7' "
                    "WHERE dossier_id = 'N2' AND kind = 'instance_started' AND process_version = 'enforcement@1'")
    rehash(store_copy, "N2")
    result = replay_dossier(store_copy, "N2")
    assert not result.ok
    assert result.first_divergence["field"] == "process_version"
    assert result.first_divergence["recorded"] == "enforcement@7"


def test_an_input_the_current_engine_refuses_is_reported(store_copy):
    """A recorded fine outside the legal range (forged, chain recomputed) is refused on replay."""
    seq = seq_of(store_copy, "N3", "command", '"enforcement_decision"')
    payload = entry(store_copy, "N3", seq)["payload"]
    payload["payload"]["fine_eur"] = 99999
    sql(store_copy, "UPDATE journal_entry SET payload = ? WHERE dossier_id = 'N3' AND seq = ?",
        json.dumps(payload, sort_keys=True, separators=(",", ":")), seq)
    rehash(store_copy, "N3")

    result = replay_dossier(store_copy, "N3")
    assert not result.ok
    divergence = result.first_divergence
    assert (divergence["seq"], divergence["field"], divergence["recorded"]) == (seq, "execution", "accepted")
    assert divergence["replayed"].startswith("InvalidInput")
    assert result.entries_checked == seq - 1


def test_a_missing_store_is_not_created(tmp_path):
    with pytest.raises(NotFound):
        replay_all(f"sqlite:///{tmp_path}/typo.db")
    assert not (tmp_path / "typo.db").exists()


def test_replay_in_worker_processes_gives_the_results_of_one_process(store_copy, monkeypatch):
    """Replay in worker processes (this one and started ones, each with its own in-memory engine, taking
    dossiers a chunk at a time): the same results,
    in the same order, a tampered dossier named the same way, progress over all of them."""
    seq = seq_of(store_copy, "N4", "command", '"intake"')
    payload = entry(store_copy, "N4", seq)["payload"]
    payload["payload"]["advice"] = "cbe_alfa"
    sql(store_copy, "UPDATE journal_entry SET payload = ? WHERE dossier_id = 'N4' AND seq = ?",
        json.dumps(payload, sort_keys=True, separators=(",", ":")), seq)
    one = replay_all(store_copy, workers=1)
    progress = []
    two = replay_all(store_copy, workers=2, on_progress=lambda done, total, result: progress.append((done, total)))
    assert [r.to_dict() for r in two.results] == [r.to_dict() for r in one.results]
    assert [r.dossier_id for r in two.diverged] == ["N4"] and two.diverged[0].first_divergence["kind"] == "tamper"
    assert progress == [(n, len(DOSSIERS)) for n in range(1, len(DOSSIERS) + 1)]
    first = replay_all(store_copy, workers=2, stop_at_first=True)
    assert [r.dossier_id for r in first.diverged] == ["N4"]  # found, and the replay stopped there
    # dossiers handed out one at a time: to this process and two started ones, and to started ones only
    monkeypatch.setattr(replay, "CHUNK", 1)
    three = replay_all(store_copy, workers=3)
    assert [r.to_dict() for r in three.results] == [r.to_dict() for r in one.results]
    only_workers = replay._replay_in_workers(store_copy, DOSSIERS, 2, None, False, take_part=False)
    assert [r.to_dict() for r in only_workers] == [r.to_dict() for r in one.results]
    with pytest.raises(ValueError, match="workers"):
        replay_all(store_copy, workers=0)


def test_the_source_stores_entries_are_the_journal_rows_field_for_field(audit_store):
    """``SourceStore.entries`` reads columns (not ORM objects) into :class:`Recorded` by position: the
    columns must follow the fields, or every report would read the wrong ones."""
    from engine.models import JournalEntry

    store = replay.SourceStore(audit_store)
    try:
        read = store.entries()
        with Session(store.db) as session:
            rows = session.query(JournalEntry).order_by(JournalEntry.dossier_id, JournalEntry.seq).all()
            expected = [(row.dossier_id, replay.Recorded.of(row)) for row in rows]
    finally:
        store.close()
    assert read and read == expected
