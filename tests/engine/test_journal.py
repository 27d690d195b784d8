"""`journal verify` catches an edited, a deleted and an inserted entry (both backends)."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app
from engine import journal
from engine.models import JournalEntry
from timers.sweep import sweep_days

from .helpers import newcomer


@pytest.fixture
def filled(engine, clock):
    engine.import_newcomer(newcomer("N1"))
    engine.import_newcomer(newcomer("N2", nis_code="11002"))
    sweep_days(engine, clock, date(2024, 5, 1), date(2024, 5, 1))  # N1 and N2: late registration
    return engine


def _breaks(engine):
    with engine.session() as session:
        return [(d, str(b)) for d, b in journal.verify_all(session) if b is not None]


def test_intact_journal_verifies(filled):
    assert _breaks(filled) == []
    with filled.session() as session:
        kinds = [e.kind for e in journal.history(session, "N1", limit=1000)]
    assert kinds[:4] == ["import", "target_group_decided", "deadline_armed", "instance_started"]
    assert {"sweep", "deadline_fired", "infraction_established", "notice_issued"} <= set(kinds)


def test_edited_entry_is_named(filled):
    with filled.session() as session:
        session.execute(text("UPDATE journal_entry SET payload = replace(payload, '2024-05-01', '2024-05-02') "
                             "WHERE dossier_id = 'N1' AND kind = 'infraction_established'"))
    (dossier, message), = _breaks(filled)
    assert dossier == "N1" and "edited" in message


def test_deleted_entry_is_named(filled):
    with filled.session() as session:
        session.execute(text("DELETE FROM journal_entry WHERE dossier_id = 'N2' AND seq = 3"))
    (dossier, message), = _breaks(filled)
    assert dossier == "N2" and "seq 4" in message and "missing" in message


def test_deleted_last_entry_is_caught_by_the_head(filled):
    with filled.session() as session:
        last = session.execute(text("SELECT max(seq) FROM journal_entry WHERE dossier_id = 'N2'")).scalar()
        session.execute(text(f"DELETE FROM journal_entry WHERE dossier_id = 'N2' AND seq = {last}"))
    (dossier, message), = _breaks(filled)
    assert dossier == "N2" and "head" in message


def test_appended_entry_is_named(filled):
    with filled.session() as session:
        first = session.get(JournalEntry, 1)
        session.add(JournalEntry(dossier_id=first.dossier_id, seq=99, kind="decision_recorded", actor="someone",
                                 business_time=first.business_time, business_date=first.business_date,
                                 payload='{"decision":"no_fine"}', prev_hash=first.hash, hash="f" * 64))
    (dossier, message), = _breaks(filled)
    assert dossier == first.dossier_id and "inserted" in message


def test_entry_inserted_mid_chain_with_a_valid_own_hash_is_named(filled):
    """A forger who knows the hash recipe still cannot splice an entry into the chain."""
    with filled.session() as session:
        first = session.exec(select(JournalEntry).where(JournalEntry.dossier_id == "N1",
                                                        JournalEntry.seq == 1)).one()
        session.execute(text("UPDATE journal_entry SET seq = seq + 1000 WHERE dossier_id = 'N1' AND seq >= 2"))
        session.execute(text("UPDATE journal_entry SET seq = seq - 999 WHERE dossier_id = 'N1' AND seq >= 1000"))
        payload = '{"decision":"no_fine"}'
        digest = journal.entry_hash(first.hash, dossier_id="N1", seq=2, kind="decision_recorded", actor="x",
                                    business_time=first.business_time, schema_version=1, process_version=None,
                                    ruleset=None, rule_version=None, payload=payload)
        session.add(JournalEntry(dossier_id="N1", seq=2, kind="decision_recorded", actor="x",
                                 business_time=first.business_time, business_date=first.business_date,
                                 payload=payload, prev_hash=first.hash, hash=digest))
    (dossier, message), = _breaks(filled)
    assert dossier == "N1" and "seq 3" in message and "inserted or reordered" in message


def test_cli_verify_exit_codes(filled, database_url):
    runner = CliRunner()
    ok = runner.invoke(app, ["journal", "verify", "--database", database_url])
    assert ok.exit_code == 0, ok.output
    assert "2 dossiers verified" in ok.output
    with filled.session() as session:
        session.execute(text("UPDATE journal_entry SET actor = 'tampered' WHERE dossier_id = 'N2' AND seq = 2"))
    broken = runner.invoke(app, ["journal", "verify", "--database", database_url])
    assert broken.exit_code == 1
    assert "dossier N2" in broken.output and "seq 2" in broken.output


def test_a_facts_payload_text_is_the_canonical_json_of_its_payload():
    """Fact.payload_text (one pass of the encoder, engine/facts.py) writes the journal's payload
    column byte for byte as canonical(as_payload()) did: on every entry of the golden histories
    (tests/golden: every kind a scenario or a simulated year journals), and on values the
    histories do not hold (a datetime, a tuple, a nested date, a value JSON has no type for)."""
    import json
    from datetime import datetime, timezone
    from pathlib import Path

    from engine import exports, facts

    kinds = set()
    for name in ("scenarios-next", "scenarios-public", "sim-2023-s7"):
        export = exports.read(Path(__file__).resolve().parents[1] / "golden" / f"{name}.jsonl.gz")
        for record in export.dossiers:
            for entry in record.entries:
                if entry["schema_version"] != facts.SCHEMA_VERSION:
                    continue
                fact = facts.parse(entry["kind"], json.loads(entry["payload"]))
                assert fact.payload_text() == journal.canonical(fact.as_payload()) == entry["payload"], entry
                kinds.add(entry["kind"])
    assert len(kinds) >= 30

    odd = facts.CommandReceived("x", {"at": datetime(2024, 1, 2, 3, 4, tzinfo=timezone.utc),
                                      "days": (date(2024, 1, 1), [date(2024, 2, 1)]), "n": 1.5,
                                      "what": {1, 2} and frozenset({3}), "none": None, "b": True})
    assert odd.payload_text() == journal.canonical(odd.as_payload())
    assert '"at":"2024-01-02T03:04:00+00:00"' in odd.payload_text()
    registered = facts.Registered(date(2024, 2, 1))  # its own as_payload: without an office
    assert registered.payload_text() == journal.canonical(registered.as_payload()) == '{"on":"2024-02-01"}'
