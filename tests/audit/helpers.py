"""Helpers of the audit tests: build an audited store from scenarios, tamper with it."""
from __future__ import annotations

import json
import sqlite3
import warnings
from pathlib import Path

PUBLIC = Path(__file__).resolve().parents[3] / "shared" / "scenarios" / "public"

#: An obligated newcomer in Limburg who fails an MO test once, has irregular NT2 attendance
#: (regularised) and gets the attest on 2024-10-01 (contract 2024-02-01: 8 months).
EXTRA = {
    "name": "limburg-mo-retake-irregular-attendance",
    "newcomer": {"id": "N7", "birth_date": "1993-06-30", "nationalities": ["SY"],
                 "residence": "recognised_refugee", "nis_code": "71022", "obligation_start": "2024-01-02"},
    "events": [
        {"on": "2024-01-20", "type": "registered"},
        {"on": "2024-01-25", "type": "intake", "advice": "cbe_alfa"},
        {"on": "2024-02-01", "type": "contract_signed", "components": ["mo", "nt2"]},
        {"on": "2024-03-01", "type": "attendance", "component": "nt2", "percent": 60},
        {"on": "2024-03-20", "type": "attendance", "component": "nt2", "percent": 85},
        {"on": "2024-04-01", "type": "test_result", "component": "mo", "core_percent": 40, "total_percent": 60},
        {"on": "2024-05-01", "type": "test_result", "component": "mo", "core_percent": 55, "total_percent": 55},
        {"on": "2024-10-01", "type": "test_result", "component": "nt2", "level": "A2"},
    ],
    "until": "2024-12-31",
    "expect": {
        "target_group": "obligated", "agency": "agii", "region": "limburg", "attest_on": "2024-10-01",
        "infractions": [{"type": "irregular_participation", "established_on": "2024-03-01",
                         "outcome": "regularised", "handed_over_on": None, "fine_eur": None}],
    },
}


def build_store(directory: Path, extra: list[dict] = (), name: str = "audit.db") -> str:
    """Run the public scenarios (and ``extra``) into one SQLite store; returns its URL."""
    from api.scenarios import load_scenarios, run_scenarios

    files = sorted(str(p) for p in PUBLIC.glob("*.json"))
    for number, data in enumerate(extra):
        path = directory / f"extra-{number}.json"
        path.write_text(json.dumps(data))
        files.append(str(path))
    url = f"sqlite:///{directory / name}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcomes, failures = run_scenarios(load_scenarios(files), database_url=url)
    assert failures == 0, outcomes
    return url


def sqlite_path(url: str) -> str:
    return url[len("sqlite:///"):]


def sql(url: str, statement: str, *params) -> list:
    """Run raw SQL against a SQLite store (the way a tamperer would)."""
    with sqlite3.connect(sqlite_path(url)) as conn:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    return rows


def rehash(url: str, dossier_id: str) -> None:
    """Recompute a dossier's whole hash chain and head after an edit — a forger who knows the
    hashing scheme. The chain then verifies; only a replay can tell the history is false."""
    from engine.journal import GENESIS, entry_hash

    with sqlite3.connect(sqlite_path(url)) as conn:
        rows = conn.execute(
            "SELECT id, seq, kind, actor, business_time, schema_version, process_version, ruleset, "
            "rule_version, payload, effective_date FROM journal_entry WHERE dossier_id = ? ORDER BY seq",
            (dossier_id,)).fetchall()
        prev = GENESIS
        for (entry_id, seq, kind, actor, business_time, schema_version, process_version, ruleset,
             rule_version, payload, effective_date) in rows:
            digest = entry_hash(prev, dossier_id=dossier_id, seq=seq, kind=kind, actor=actor,
                                business_time=business_time, schema_version=schema_version,
                                process_version=process_version, ruleset=ruleset, rule_version=rule_version,
                                payload=payload, effective_date=effective_date)
            conn.execute("UPDATE journal_entry SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, entry_id))
            prev = digest
        conn.execute("UPDATE dossier SET journal_head = ?, journal_seq = ? WHERE id = ?",
                     (prev, len(rows), dossier_id))
        conn.commit()


def entry(url: str, dossier_id: str, seq: int) -> dict:
    """One stored entry: kind and parsed payload."""
    [(kind, payload)] = sql(url, "SELECT kind, payload FROM journal_entry WHERE dossier_id = ? AND seq = ?",
                            dossier_id, seq)
    return {"kind": kind, "payload": json.loads(payload)}


def seq_of(url: str, dossier_id: str, kind: str, contains: str = "") -> int:
    """The first seq of an entry of ``kind`` whose payload text contains ``contains``."""
    rows = sql(url, "SELECT seq FROM journal_entry WHERE dossier_id = ? AND kind = ? AND payload LIKE ? "
                    "ORDER BY seq", dossier_id, kind, f"%{contains}%")
    assert rows, f"no {kind} entry containing {contains!r} in {dossier_id}"
    return rows[0][0]
