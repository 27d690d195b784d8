"""The access log: who read which dossier, when, and through which door.

Every read of a dossier's personal data — the API (dossier, history, as-of, replay), the web
interface (dossier, event form and audit pages) and the CLI (``dossier as-of``, ``replay``) —
appends one row here before the data is handed out: who (user, role, agency), when (the
business clock of the engine and the wall clock), which dossier and which route.

Append-only and hash-chained as one chain for the whole log (like :mod:`engine.journal` per
dossier): each row's hash covers its content and the previous row's hash, and the head row
(``access_log_head``) keeps the last seq and hash, so an edited, inserted or deleted row — also
the last one — breaks the chain and :func:`verify` names it. ``inburgering journal verify``
checks it with the journals. Appends are serialised: SQLite writes one transaction at a time
(``BEGIN IMMEDIATE``), PostgreSQL locks the head row (``FOR UPDATE``).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from .clock import wall_now
from .models import AccessLogEntry, AccessLogHead

GENESIS = "0" * 64
COLUMNS = ("seq", "wall_time", "business_time", "user", "role", "agency", "dossier_id", "route")


@dataclass(frozen=True)
class Read:
    """One read of one dossier, before it gets its place in the chain."""

    user: str
    role: str
    agency: Optional[str]
    dossier_id: str
    route: str


def row_hash(prev_hash: str, row: dict) -> str:
    body = json.dumps({"prev": prev_hash, **{k: row[k] for k in COLUMNS}}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _sa_engine(target):
    """An Engine (engine.service), an SQLAlchemy engine, or a database URL → (SA engine, writer turn)."""
    from contextlib import nullcontext

    from .db import make_engine, writer_queue

    if isinstance(target, str):
        db = make_engine(target)
        queue = writer_queue(db)
        return db, (queue.turn if queue is not None else nullcontext), True
    if hasattr(target, "db") and hasattr(target, "_writer_turn"):
        return target.db, target._writer_turn, False
    queue = writer_queue(target)
    return target, (queue.turn if queue is not None else nullcontext), False


def record(target, reads: Iterable[Read], *, business_time: datetime) -> int:
    """Append ``reads`` in one transaction; returns the seq of the last row (0 when none)."""
    reads = list(reads)
    if not reads:
        return 0
    db, turn, owned = _sa_engine(target)
    try:
        with turn(), db.connect() as connection:
            with connection.begin():
                return append(connection, reads, business_time=business_time, wall_time=wall_now(),
                              lock=db.url.get_backend_name() == "postgresql")
    finally:
        if owned:
            db.dispose()


def append(connection: Connection, reads: list[Read], *, business_time: datetime, wall_time: datetime,
           lock: bool) -> int:
    """Chain ``reads`` onto the head inside the caller's transaction."""
    head = AccessLogHead.__table__
    query = select(head.c.seq, head.c.hash).where(head.c.id == 1)
    if lock:
        query = query.with_for_update()
    current = connection.execute(query).first()
    if current is None:  # a store migrated before the head row existed cannot happen; be safe
        connection.execute(insert(head).values(id=1, seq=0, hash=""))
        seq, prev = 0, GENESIS
    else:
        seq, prev = current.seq, current.hash or GENESIS
    rows = []
    for read in reads:
        seq += 1
        row = {"seq": seq, "wall_time": wall_time.isoformat(), "business_time": business_time.isoformat(),
               "user": read.user, "role": read.role, "agency": read.agency, "dossier_id": read.dossier_id,
               "route": read.route}
        digest = row_hash(prev, row)
        rows.append({**row, "prev_hash": prev, "hash": digest})
        prev = digest
    connection.execute(insert(AccessLogEntry.__table__), rows)
    connection.execute(update(head).where(head.c.id == 1).values(seq=seq, hash=prev))
    return seq


def _filtered(query, dossier_id: Optional[str], user: Optional[str]):
    table = AccessLogEntry.__table__
    if dossier_id is not None:
        query = query.where(table.c.dossier_id == dossier_id)
    if user is not None:
        query = query.where(table.c.user == user)
    return query


def listing(connection: Connection, *, dossier_id: Optional[str] = None, user: Optional[str] = None,
            offset: int = 0, limit: Optional[int] = 100) -> dict:
    """Rows for one dossier and/or one user, oldest first, with the total count."""
    table = AccessLogEntry.__table__
    total = connection.execute(_filtered(select(func.count()).select_from(table), dossier_id, user)).scalar_one()
    query = _filtered(select(*[table.c[name] for name in COLUMNS]), dossier_id, user).order_by(table.c.seq)
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    items = [dict(row._mapping) for row in connection.execute(query)]
    return {"total": total, "offset": offset, "limit": limit, "items": items}


def to_csv(items: Iterable[dict]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for item in items:
        writer.writerow(["" if item[name] is None else _safe_cell(item[name]) for name in COLUMNS])
    return out.getvalue()


def _safe_cell(value):
    """No spreadsheet formula injection through a user name or dossier id."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@dataclass(frozen=True)
class Break:
    seq: Optional[int]
    entry_id: Optional[int]
    problem: str

    def __str__(self) -> str:
        where = f"entry {self.entry_id} (seq {self.seq})" if self.entry_id is not None else f"seq {self.seq}"
        return f"access log: {where}: {self.problem}"


def verify(connection: Connection, *, batch: int = 5000) -> tuple[int, Optional[Break]]:
    """(rows checked, the first break or None)."""
    table = AccessLogEntry.__table__
    head = connection.execute(select(AccessLogHead.__table__.c.seq, AccessLogHead.__table__.c.hash)).first()
    head_seq, head_hash = (head.seq, head.hash or GENESIS) if head is not None else (0, GENESIS)
    prev, expected, checked, last_id = GENESIS, 1, 0, None
    while True:
        query = select(table).order_by(table.c.seq, table.c.id).limit(batch)
        if last_id is not None:
            query = query.where(table.c.seq > expected - 1)
        rows = list(connection.execute(query))
        if not rows:
            break
        for row in rows:
            if row.seq > head_seq:
                return checked, Break(row.seq, row.id, f"beyond the log's head (seq {head_seq}): inserted")
            if row.seq != expected:
                problem = ("a row is missing before it (deleted)" if row.seq > expected
                           else "sequence number repeats or goes back (inserted)")
                return checked, Break(row.seq, row.id, problem)
            if row.prev_hash != prev:
                return checked, Break(row.seq, row.id, "does not link to the previous row (inserted or reordered)")
            if row_hash(prev, dict(row._mapping)) != row.hash:
                return checked, Break(row.seq, row.id, "content does not match its hash (edited)")
            prev, expected, checked, last_id = row.hash, expected + 1, checked + 1, row.id
        if len(rows) < batch:
            break
    if head_seq != expected - 1 or head_hash != prev:
        return checked, Break(expected, None, f"chain ends at seq {expected - 1} but the head says {head_seq} "
                                              "(rows deleted at the end, or appended outside the engine)")
    return checked, None
