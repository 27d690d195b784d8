"""The journal: append-only, one row per fact, hash-chained per dossier.

It is the source of truth for auditors (ENGINEERING.md principle 4; TRAJECTORY.md
§8): who, what, when it was entered by the business clock, the day it happened (the
effective date), which process version and which rule version decided. Each entry is one
typed fact (:mod:`engine.facts`, its ``schema_version`` the fact's version). Each entry's
hash covers its content and the previous entry's hash; the dossier row keeps the head
(last seq and hash), so an edited, inserted or deleted entry — also the last one — breaks
the chain and :func:`verify_dossier` names it, as it names entry times that go back.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator

from sqlmodel import Session, select

from . import driver
from .clock import business_date
from .facts import Fact
from .models import Dossier, JournalEntry
from .statements import JOURNAL_INSERT

GENESIS = "0" * 64


#: json.dumps(..., sort_keys=True, separators=(",", ":"), default=str), its encoder built once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def canonical(payload: dict) -> str:
    """The canonical JSON text the hash chain covers (sorted keys, no spaces)."""
    return _CANONICAL(payload)


def entry_hash(prev_hash: str, *, dossier_id: str, seq: int, kind: str, actor: str, business_time: str,
               schema_version: int, process_version, ruleset, rule_version, payload: str,
               effective_date: str | None = None) -> str:
    body = {
        "prev": prev_hash, "dossier": dossier_id, "seq": seq, "kind": kind, "actor": actor,
        "time": business_time, "schema": schema_version, "process": process_version,
        "ruleset": ruleset, "rule_version": rule_version, "payload": payload,
    }
    if schema_version >= 2:  # schema 1 entries (release 0.1) had no effective date
        body["on"] = effective_date
    return hashlib.sha256(_CANONICAL(body).encode()).hexdigest()


@dataclass(frozen=True)
class Recording:
    """A fact to journal with who recorded it and under which process version, before it gets its
    place in the chain."""

    fact: Fact
    actor: str = "system"
    process_version: str | None = None


def link(dossier, at: datetime, recordings: Iterable[Recording]) -> list[dict]:
    """The journal rows of ``recordings``, chained onto the dossier's head, which moves to the last one.

    Entry times never go back within a dossier: an instant before the dossier's last entry (a
    wall clock stepped back) is recorded as that last entry's time. Nothing is written:
    :func:`write` inserts the rows, in the caller's transaction, after the caller's version check
    (``engine.context.DossierContext.write``)."""
    rows = []
    prev = dossier.journal_head or GENESIS
    seq = dossier.journal_seq
    when = at.isoformat()
    if dossier.journal_time and datetime.fromisoformat(dossier.journal_time) > at:
        when = dossier.journal_time
    day = business_date(datetime.fromisoformat(when)).isoformat()
    for recording in recordings:
        fact = recording.fact
        seq += 1
        payload = fact.payload_text()
        effective = fact.effective()
        effective = effective.isoformat() if effective is not None else None
        ruleset, rule_version = getattr(fact, "ruleset", None), getattr(fact, "rule_version", None)
        digest = entry_hash(prev, dossier_id=dossier.id, seq=seq, kind=fact.kind, actor=recording.actor,
                            business_time=when, schema_version=fact.version,
                            process_version=recording.process_version, ruleset=ruleset,
                            rule_version=rule_version, payload=payload, effective_date=effective)
        rows.append({"dossier_id": dossier.id, "seq": seq, "kind": fact.kind, "actor": recording.actor,
                     "business_time": when, "business_date": day, "effective_date": effective,
                     "schema_version": fact.version, "process_version": recording.process_version,
                     "ruleset": ruleset, "rule_version": rule_version, "payload": payload,
                     "prev_hash": prev, "hash": digest})
        prev = digest
    if rows:
        dossier.journal_time = when
    dossier.journal_seq = seq
    dossier.journal_head = prev
    return rows


def write(session, rows: list[dict]) -> None:
    """Insert the rows :func:`link` built, in the transaction of ``session`` (a Session, a
    Connection or an :mod:`engine.driver` writer): one statement built once, one driver call."""
    if rows:
        driver.writer(session).executemany(JOURNAL_INSERT, rows)


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
    last_time = None
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
                            rule_version=entry.rule_version, payload=entry.payload,
                            effective_date=entry.effective_date)
        if digest != entry.hash:
            return Break(dossier.id, entry.seq, entry.id, "content does not match its hash (edited)")
        instant = datetime.fromisoformat(entry.business_time)
        if last_time is not None and instant < last_time:
            return Break(dossier.id, entry.seq, entry.id,
                         f"entry time {entry.business_time} is before the previous entry's ({last_time.isoformat()}): "
                         "the journal runs backwards")
        last_time = instant
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
        "effective_date": entry.effective_date, "schema_version": entry.schema_version,
        "process_version": entry.process_version, "ruleset": entry.ruleset, "rule_version": entry.rule_version,
        "payload": json.loads(entry.payload), "hash": entry.hash,
    }
