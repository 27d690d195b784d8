"""The journal: append-only, one row per fact, hash-chained per dossier.

It is the source of truth for auditors (ENGINEERING.md principle 4; TRAJECTORY.md
§8): who, what, when by the business clock, which process version and which rule
version decided. Each entry's hash covers its content and the previous entry's
hash; the dossier row keeps the head (last seq and hash), so an edited, inserted
or deleted entry — also the last one — breaks the chain and :func:`verify` names it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator

from sqlalchemy import insert
from sqlmodel import Session, select

from .clock import business_date
from .models import Dossier, JournalEntry

SCHEMA_VERSION = 1
GENESIS = "0" * 64


def canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(prev_hash: str, *, dossier_id: str, seq: int, kind: str, actor: str, business_time: str,
               schema_version: int, process_version, ruleset, rule_version, payload: str) -> str:
    body = canonical({
        "prev": prev_hash, "dossier": dossier_id, "seq": seq, "kind": kind, "actor": actor,
        "time": business_time, "schema": schema_version, "process": process_version,
        "ruleset": ruleset, "rule_version": rule_version, "payload": payload,
    })
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Fact:
    """A fact to journal, before it gets its place in the chain."""

    kind: str
    payload: dict
    actor: str = "system"
    process_version: str | None = None
    ruleset: str | None = None
    rule_version: str | None = None


def link(dossier, at: datetime, facts: Iterable[Fact]) -> list[dict]:
    """The journal rows of ``facts``, chained onto the dossier's head, which moves to the last one.

    Nothing is written: :func:`write` inserts the rows, in the caller's transaction, after the
    caller's version check (``engine.context.DossierContext.write``)."""
    rows = []
    prev = dossier.journal_head or GENESIS
    seq = dossier.journal_seq
    when = at.isoformat()
    day = business_date(at).isoformat()
    for fact in facts:
        seq += 1
        payload = canonical(fact.payload)
        digest = entry_hash(prev, dossier_id=dossier.id, seq=seq, kind=fact.kind, actor=fact.actor,
                            business_time=when, schema_version=SCHEMA_VERSION,
                            process_version=fact.process_version, ruleset=fact.ruleset,
                            rule_version=fact.rule_version, payload=payload)
        rows.append({"dossier_id": dossier.id, "seq": seq, "kind": fact.kind, "actor": fact.actor,
                     "business_time": when, "business_date": day, "schema_version": SCHEMA_VERSION,
                     "process_version": fact.process_version, "ruleset": fact.ruleset,
                     "rule_version": fact.rule_version, "payload": payload, "prev_hash": prev, "hash": digest})
        prev = digest
    dossier.journal_seq = seq
    dossier.journal_head = prev
    return rows


def write(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(JournalEntry.__table__), rows)  # Core: no ORM bulk bookkeeping


@dataclass(frozen=True)
class Break:
    dossier_id: str
    seq: int | None
    entry_id: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry {self.entry_id} (seq {self.seq})" if self.entry_id is not None else f"seq {self.seq}"
        return f"dossier {self.dossier_id}: {where}: {self.problem}"


def verify_dossier(dossier: Dossier, entries: list[JournalEntry]) -> Break | None:
    """The first break in one dossier's chain, or None when it is intact."""
    prev = GENESIS
    expected_seq = 1
    for entry in entries:
        if entry.seq > dossier.journal_seq:
            return Break(dossier.id, entry.seq, entry.id,
                         f"beyond the dossier's head (seq {dossier.journal_seq}): inserted")
        if entry.seq != expected_seq:
            problem = ("an entry is missing before it (deleted)" if entry.seq > expected_seq
                       else "sequence number repeats or goes back (inserted)")
            return Break(dossier.id, entry.seq, entry.id, problem)
        if entry.prev_hash != prev:
            return Break(dossier.id, entry.seq, entry.id, "does not link to the previous entry (inserted or reordered)")
        digest = entry_hash(prev, dossier_id=entry.dossier_id, seq=entry.seq, kind=entry.kind, actor=entry.actor,
                            business_time=entry.business_time, schema_version=entry.schema_version,
                            process_version=entry.process_version, ruleset=entry.ruleset,
                            rule_version=entry.rule_version, payload=entry.payload)
        if digest != entry.hash:
            return Break(dossier.id, entry.seq, entry.id, "content does not match its hash (edited)")
        prev = entry.hash
        expected_seq += 1
    if dossier.journal_seq != expected_seq - 1 or (dossier.journal_head or GENESIS) != prev:
        return Break(dossier.id, expected_seq, None,
                     f"chain ends at seq {expected_seq - 1} but the dossier's head says {dossier.journal_seq} "
                     "(entries deleted at the end, or appended outside the engine)")
    return None


def verify_all(session: Session) -> Iterator[tuple[str, Break | None]]:
    """Verify every dossier's chain; yields (dossier id, first break or None)."""
    for dossier in session.exec(select(Dossier).order_by(Dossier.id)):
        entries = list(session.exec(select(JournalEntry).where(JournalEntry.dossier_id == dossier.id)
                                    .order_by(JournalEntry.seq, JournalEntry.id)))
        yield dossier.id, verify_dossier(dossier, entries)
    orphans = session.exec(select(JournalEntry.dossier_id).where(
        JournalEntry.dossier_id.not_in(select(Dossier.id))).distinct())
    for dossier_id in orphans:
        yield dossier_id, Break(dossier_id, None, None, "entries for a dossier that does not exist (inserted)")


def history(session: Session, dossier_id: str, *, offset: int = 0, limit: int = 100,
            until_date: str | None = None) -> list[JournalEntry]:
    query = select(JournalEntry).where(JournalEntry.dossier_id == dossier_id)
    if until_date is not None:
        query = query.where(JournalEntry.business_date <= until_date)
    return list(session.exec(query.order_by(JournalEntry.seq).offset(offset).limit(limit)))


def entry_dict(entry: JournalEntry) -> dict:
    return {
        "seq": entry.seq, "kind": entry.kind, "actor": entry.actor, "business_time": entry.business_time,
        "process_version": entry.process_version, "ruleset": entry.ruleset, "rule_version": entry.rule_version,
        "payload": json.loads(entry.payload), "hash": entry.hash,
    }
