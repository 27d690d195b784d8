"""Golden histories (issue 11 point 4; tests/golden/README.md): journal exports recorded by an earlier
commit are replayed by today's code on every run, on SQLite and PostgreSQL. A change that alters a
past decision fails here, naming the dossier, the entry (seq, kind) and the field. The last tests
show that it does fail: a decision altered in a loaded copy, and the replay run under a changed law.
"""
from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from engine import exports, journal
from engine.db import make_engine
from engine.models import JournalEntry
from engine.replay import DECISION_SIGNATURES, Replayer, replay_all
from rules import parameters

from .helpers import rehash, sql

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
NAMES = ("scenarios-next", "scenarios-public", "sim-2023-s7")
SCENARIOS = ROOT.parent / "shared" / "scenarios"


@functools.lru_cache(maxsize=None)
def _golden(name: str) -> exports.JournalExport:
    return exports.read(GOLDEN / f"{name}.jsonl.gz")


def golden(name: str) -> exports.JournalExport:
    """A private copy of a golden export (read once per session)."""
    return copy.deepcopy(_golden(name))


def _explain(name: str, summary) -> str:
    lines = [exports.describe(r.first_divergence) for r in summary.diverged]
    return (f"golden history {name}: {len(lines)} of {summary.dossiers} dossiers no longer replay — a past "
            "decision or its record changed:\n  " + "\n  ".join(lines)
            + "\n(if that is meant: scripts/golden.py --regenerate and justify it in the commit; tests/golden/README.md)")


def test_the_golden_histories_are_committed_and_small():
    files = sorted(p.name for p in GOLDEN.glob("*.jsonl.gz"))
    assert files == [f"{name}.jsonl.gz" for name in NAMES]
    assert sum((GOLDEN / f).stat().st_size for f in files) < 3_000_000
    assert (GOLDEN / "README.md").is_file()


def test_the_golden_histories_hold_every_kind_of_decision():
    """Something to break: between them the files record every decision the replay compares."""
    kinds = {e["kind"] for name in NAMES for d in _golden(name).dossiers for e in d.entries}
    wanted = set(DECISION_SIGNATURES) | {"infraction_rule_decision", "test_judged", "deadline_armed",
                                         "deadline_fired", "contract_signed", "intake_recorded"}
    assert wanted <= kinds, sorted(wanted - kinds)
    assert len(_golden("sim-2023-s7").dossiers) == 110
    assert sorted(d.id for d in _golden("scenarios-public").dossiers) == ["N1", "N2", "N3", "N4", "N5", "N6"]
    for name in NAMES:  # recorded by the current journal schema, with the processes they ran on
        export = _golden(name)
        assert {e["schema_version"] for d in export.dossiers for e in d.entries} == {2}
        assert {d["name"] for d in export.definitions} == {"trajectory", "enforcement"}


@pytest.mark.parametrize("name", NAMES)
def test_every_golden_history_replays_unchanged(name, database_url):
    export = golden(name)
    assert exports.verify(export) == []  # every hash chain of the file holds
    exports.load_into(export, database_url)
    db = make_engine(database_url)
    try:
        with Session(db) as session:
            problems = [str(p) for _, p in journal.verify_all(session) if p is not None]
            stored = session.execute(select(func.count()).select_from(JournalEntry)).scalar()
    finally:
        db.dispose()
    assert problems == []
    assert stored == export.entries
    definitions = [(d["name"], d["version"], d["source"]) for d in export.definitions]
    with Replayer(definitions) as replayer:
        summary = replay_all(database_url, replayer=replayer)
    assert summary.dossiers == len(export.dossiers)
    assert summary.ok, _explain(name, summary)
    assert summary.entries_checked == export.entries


# ---------------------------------------------------------------- the golden replay can fail


def _first(export: exports.JournalExport, kind: str) -> tuple[str, dict]:
    return next((d.id, e) for d in export.dossiers for e in d.entries if e["kind"] == kind)


def test_a_decision_altered_in_a_loaded_copy_is_named(tmp_path):
    """The regularisation period of the first notice of the public scenarios moved one day later in the
    loaded store, the chain recomputed as a forger would: the replay names dossier, entry and field."""
    export = golden("scenarios-public")
    dossier_id, entry = _first(export, "notice_issued")
    url = exports.load_into(export, f"sqlite:///{tmp_path}/copy.db")
    payload = json.loads(entry["payload"])
    payload["regularisation_last_day"] = "2099-01-01"
    sql(url, "UPDATE journal_entry SET payload = ? WHERE dossier_id = ? AND seq = ?",
        journal.canonical(payload), dossier_id, entry["seq"])
    rehash(url, dossier_id)

    summary = replay_all(url)
    assert [r.dossier_id for r in summary.diverged] == [dossier_id]
    divergence = summary.diverged[0].first_divergence
    assert (divergence["dossier_id"], divergence["seq"], divergence["entry_kind"], divergence["field"]) == (
        dossier_id, entry["seq"], "notice_issued", "payload")
    assert divergence["recorded"]["regularisation_last_day"] == "2099-01-01"
    assert divergence["replayed"]["regularisation_last_day"] == json.loads(entry["payload"])["regularisation_last_day"]
    line = exports.describe(divergence)
    assert line.startswith(f"dossier {dossier_id}: seq {entry['seq']} (notice_issued), field payload: ")


def test_an_export_altered_without_its_hashes_is_refused_on_load(tmp_path):
    export = golden("scenarios-public")
    dossier_id, entry = _first(export, "infraction_rule_decision")
    payload = json.loads(entry["payload"])
    payload["infraction"] = None
    entry["payload"] = journal.canonical(payload)
    [found] = exports.verify(export)
    assert (found.dossier_id, found.seq) == (dossier_id, entry["seq"])
    with pytest.raises(exports.ExportError, match=f"dossier {dossier_id}: .*seq {entry['seq']}.*edited"):
        exports.load_into(export, f"sqlite:///{tmp_path}/refused.db")
    assert not (tmp_path / "refused.db").exists()  # checked before anything is written


def test_a_law_changed_for_the_past_is_named_by_the_golden_replay():
    """Replayed under a law whose regularisation period is 45 days since 1900 (not a new dated value):
    every dossier with a notice of default diverges at its first notice, in its payload; the others
    replay unchanged."""
    rewritten = parameters.default_law().with_overrides(
        {"regularisation_days": [{"from": "1900-01-01", "value": 45, "source": "test: rewrites the past"}]},
        "rewrite")
    for name in ("scenarios-public", "scenarios-next"):
        export = golden(name)
        expected = {}
        for record in export.dossiers:
            notice = next((e for e in record.entries if e["kind"] == "notice_issued"), None)
            if notice is not None:
                expected[record.id] = (notice["seq"], "notice_issued", "payload")
        assert expected, name
        summary = exports.replay_export(export, law=rewritten)
        found = {r.dossier_id: (r.first_divergence["seq"], r.first_divergence["entry_kind"],
                                r.first_divergence["field"]) for r in summary.diverged}
        assert found == expected, name
        for result in summary.diverged:
            assert result.first_divergence["replayed"]["law"]["regularisation_days"] == {"value": 45,
                                                                                        "from": "1900-01-01"}


# ---------------------------------------------------------------- the command


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "golden.py"), *args], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def test_the_golden_command_checks_and_prints_the_differences(tmp_path):
    exports.write(golden("scenarios-next"), tmp_path / "scenarios-next.jsonl.gz")
    ok = _script("--golden-dir", str(tmp_path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "scenarios-next.jsonl.gz: 2 dossiers, 59 entries replay unchanged" in ok.stdout

    export = golden("scenarios-next")
    url = exports.load_into(export, f"sqlite:///{tmp_path}/forged.db")
    dossier_id, entry = _first(export, "fee_charged")
    payload = {**json.loads(entry["payload"]), "amount": 1}
    sql(url, "UPDATE journal_entry SET payload = ? WHERE dossier_id = ? AND seq = ?",
        journal.canonical(payload), dossier_id, entry["seq"])
    rehash(url, dossier_id)
    exports.write(exports.export_store(url, meta=export.meta), tmp_path / "scenarios-next.jsonl.gz")
    failed = _script("--golden-dir", str(tmp_path))
    assert failed.returncode == 1
    assert "1 of 2 dossiers differ" in failed.stdout
    assert f"dossier {dossier_id}: seq {entry['seq']} (fee_charged), field payload" in failed.stdout


@pytest.mark.skipif(not (SCENARIOS / "next").is_dir(), reason="regenerating needs ../shared/scenarios/next")
def test_regenerating_records_the_histories_again(tmp_path):
    done = _script("--regenerate", "--only", "scenarios-next", "--golden-dir", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "new file" in done.stdout
    fresh = exports.read(tmp_path / "scenarios-next.jsonl.gz")
    assert fresh.meta["recipe"].startswith("inburgering scenario run ../shared/scenarios/next")
    assert exports.replay_export(fresh).ok
    again = _script("--regenerate", "--only", "scenarios-next", "--golden-dir", str(tmp_path))
    assert again.returncode == 0 and "unchanged" in again.stdout and "nothing changed" in again.stdout
    assert _script("--regenerate", "--only", "nope", "--golden-dir", str(tmp_path)).returncode == 2
