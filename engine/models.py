"""Storage tables (SQLModel). The schema itself is owned by the Alembic migrations.

Times are stored as integer epoch seconds (UTC) where they are compared or
indexed (``due_at``), and as ISO 8601 text with offset where they are read by
people (journal business time): portable between SQLite and PostgreSQL, no
time-zone surprises.
"""
from __future__ import annotations

from typing import Optional

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ProcessDefinition(SQLModel, table=True):
    """One deployed version of a BPMN process; instances stay on the version they started on."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("name", "version"), UniqueConstraint("name", "content_hash"))

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: int
    content_hash: str
    source: str = Field(sa_column=Column(Text, nullable=False))
    deployed_at: str


class Dossier(SQLModel, table=True):
    """One newcomer: the aggregate's state plus the columns worklists query on."""

    __tablename__ = "dossier"

    id: str = Field(primary_key=True)
    version: int = 0
    target_group: str = Field(index=True)
    agency: Optional[str] = Field(default=None, index=True)
    region: Optional[str] = None
    next_due_at: Optional[int] = Field(default=None, sa_column=Column(BigInteger, index=True))
    waiting_on: str = ""
    state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # engine.dossier.encode_state; revision 0009
    journal_seq: int = 0
    journal_head: str = ""
    journal_time: Optional[str] = None  # business time of the last journal entry (never goes back)
    name_key: Optional[str] = None  # the register name folded for search (engine/desk.py name_key); revision 0008


class Instance(SQLModel, table=True):
    """A BPMN process instance: serialized Spiff state without the spec (zlib JSON)."""

    __tablename__ = "instance"
    __table_args__ = (Index("ix_instance_dossier_id_status", "dossier_id", "status"),)

    id: str = Field(primary_key=True)
    dossier_id: str = Field(foreign_key="dossier.id")  # indexed with status (revision 0006)
    definition_id: int = Field(foreign_key="process_definition.id")
    process_name: str
    infraction_id: Optional[str] = None
    status: str = "waiting"
    lock_version: int = 0
    state: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state_format: int = 1  # engine.spiff.STATE_FORMAT of the blob


class JournalEntry(SQLModel, table=True):
    """Append-only journal, hash-chained per dossier."""

    __tablename__ = "journal_entry"
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)

    id: Optional[int] = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    dossier_id: str  # indexed by the unique (dossier_id, seq) constraint
    seq: int
    kind: str = Field(index=True)
    actor: str
    business_time: str  # entry time, by the store's business clock
    business_date: str = Field(index=True)
    effective_date: Optional[str] = None  # the day the fact happened (schema 2 and later)
    schema_version: int = 1
    process_version: Optional[str] = None
    ruleset: Optional[str] = None
    rule_version: Optional[str] = None
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str
    hash: str


class DueTimer(SQLModel, table=True):
    """The due-date index the sweep reads (``due_at <= now``), one row per waiting timer."""

    __tablename__ = "due_timer"
    __table_args__ = (UniqueConstraint("instance_id", "timer"), Index("ix_due_timer_due_at", "due_at"))

    id: Optional[int] = Field(default=None, primary_key=True)
    dossier_id: str = Field(index=True)
    instance_id: str
    timer: str
    due_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class BusinessClock(SQLModel, table=True):
    """The store's business "now": one row (engine/clock.py, :class:`StoreClock`)."""

    __tablename__ = "business_clock"

    id: int = Field(default=1, primary_key=True)
    mode: str  # "manual" (demo, simulation: moves only when told) | "wall" (production)
    now_us: int = Field(sa_column=Column(BigInteger, nullable=False))  # epoch microseconds, UTC
class StoreSecret(SQLModel, table=True):
    """Keys this store generated for itself: the demo signing key, the CSRF key (api/csrf.py)."""

    __tablename__ = "store_secret"

    name: str = Field(primary_key=True)
    value: str = Field(sa_column=Column(Text, nullable=False))


class AccessLogEntry(SQLModel, table=True):
    """Append-only record of every read of a dossier (engine/access_log.py), one hash chain."""

    __tablename__ = "access_log"
    __table_args__ = (UniqueConstraint("seq"),)

    id: Optional[int] = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    seq: int
    wall_time: str
    business_time: str
    user: str = Field(index=True)
    role: str
    agency: Optional[str] = None
    dossier_id: str = Field(index=True)
    route: str
    prev_hash: str
    hash: str


class AccessLogHead(SQLModel, table=True):
    """The access log's head (last seq and hash), one row: deleting the last entries breaks the chain."""

    __tablename__ = "access_log_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = ""


class DossierClaim(SQLModel, table=True):
    """Who works a dossier (engine/desk.py): one caseworker per dossier, claimed or assigned (revision 0007)."""

    __tablename__ = "dossier_claim"

    dossier_id: str = Field(primary_key=True)
    user: str = Field(index=True)
    assigned_by: str
    claimed_at: str  # business time (the store's clock), ISO 8601 with offset
