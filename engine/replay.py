"""Replaying process histories: re-run a dossier's journaled inputs and compare (TRAJECTORY.md §8).

The journal records the *external inputs* of every dossier — ``import`` (the register
extract), ``command`` (a caseworker's or officer's event) and ``sweep`` (the deadline
sweep at an instant) — each at its business time, followed by the facts the engine
derived from it (rule decisions with their ruleset and version, process steps,
timers, notices, hand-overs, ...). A replay:

1. checks the recorded hash chain (:func:`engine.journal.verify_dossier`); an edited,
   inserted, deleted or reordered entry is reported as a ``tamper`` divergence;
2. deploys into a fresh in-memory store the BPMN sources the source store recorded
   (``process_definition``), pinning for every input the process version the journal
   says was started then;
3. re-executes the inputs in order through the real :class:`engine.service.Engine`
   with a :class:`engine.clock.ManualClock` set to each input's business time;
4. compares the replayed journal with the recorded one, entry by entry, on
   ``seq, kind, actor, business_time, process_version, ruleset, rule_version, payload``
   (and ``schema_version``), and reports the first difference.

The rules are those of the *current* code (and the law it is given): a replay is the check
that today's code still takes every recorded decision. A rule decision the current rules
would now take differently — another ruleset or version for the same date, another outcome,
another dated parameter — shows up as a divergence: the safety check that a law change was
added as a new dated ruleset or value and did not rewrite the past. Reports and as-of views
never replay; they read the recorded facts (:mod:`engine.projection`).

A journal with entries of an older schema (release 0.1) cannot match entry for entry (the
formats differ); its replay is compared input by input (:func:`compare_decisions`): the inputs
the older release recorded by the decisions both schemas record, the inputs recorded since (an
old store advanced by this release) entry by entry.

Public API: :func:`replay_dossier`, :func:`replay_all`, :class:`ReplayResult`,
:class:`ReplaySummary`, :class:`Replayer` (one in-memory engine, reusable for many
dossiers; :mod:`engine.asof` uses it too).
"""
from __future__ import annotations

import itertools
import json
import queue
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterable, Iterator, Optional

from sqlalchemy import bindparam, delete
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine as SAEngine
from sqlmodel import Session, select

from . import driver
from .clock import ManualClock, brussels_instant
from .db import is_in_memory, make_engine
from .errors import NotFound
from .facts import SCHEMA_VERSION
from .journal import verify_dossier
from .models import Dossier, JournalEntry, ProcessDefinition
from .processes import Deployed, ProcessRepository
from .settings import Settings
from .statements import DOSSIER, DOSSIER_TIMERS_DELETE, INSTANCE, JOURNAL
from .workers import FAILED, cpu_workers, messages, spawn_context

__all__ = [
    "EXTERNAL_KINDS",
    "COMPARED_FIELDS",
    "Recorded",
    "ReplayResult",
    "ReplaySummary",
    "Replayer",
    "SourceStore",
    "replay_dossier",
    "replay_all",
]

#: journal kinds that are inputs from outside the engine; every other kind is derived
#: (``instance_migrated``: an operator moved an instance to another process version, engine/migration.py)
EXTERNAL_KINDS = ("import", "command", "sweep", "instance_migrated")
#: the fields compared between a recorded and a replayed entry, in the order they are checked
COMPARED_FIELDS = ("seq", "kind", "actor", "business_time", "effective_date", "process_version", "ruleset",
                   "rule_version", "payload", "schema_version")

#: what the chain check needs of a dossier row (``dossier_id``)
_DOSSIER_HEAD = sa_select(DOSSIER.c.id, DOSSIER.c.journal_seq, DOSSIER.c.journal_head).where(
    DOSSIER.c.id == bindparam("dossier_id"))
#: one dossier's journal in chain order (``dossier_id``)
_JOURNAL_OF = sa_select(JOURNAL).where(JOURNAL.c.dossier_id == bindparam("dossier_id")).order_by(
    JOURNAL.c.seq, JOURNAL.c.id)
#: forget one dossier in the replay store (``dossier_id``), children first
_RESET = (delete(JOURNAL).where(JOURNAL.c.dossier_id == bindparam("dossier_id")), DOSSIER_TIMERS_DELETE,
          delete(INSTANCE).where(INSTANCE.c.dossier_id == bindparam("dossier_id")),
          delete(DOSSIER).where(DOSSIER.c.id == bindparam("dossier_id")))


# ---------------------------------------------------------------- recorded entries


@dataclass(frozen=True)
class Recorded:
    """One journal entry as plain data (detached from any session)."""

    seq: int
    kind: str
    actor: str
    business_time: str
    business_date: str
    schema_version: int
    process_version: Optional[str]
    ruleset: Optional[str]
    rule_version: Optional[str]
    payload: str  # canonical JSON text, exactly as stored
    hash: str = ""
    effective_date: Optional[str] = None

    @classmethod
    def of(cls, entry: JournalEntry) -> "Recorded":
        """The entry's :data:`_RECORDED_COLUMNS` (a JournalEntry or anything with those attributes)."""
        return cls(*_RECORDED_OF(entry))

    @property
    def data(self) -> dict:
        return json.loads(self.payload)

    @property
    def instant(self) -> datetime:
        return datetime.fromisoformat(self.business_time)

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL_KINDS

    def summary(self) -> dict:
        return {"seq": self.seq, "kind": self.kind, "actor": self.actor, "business_time": self.business_time,
                "effective_date": self.effective_date, "process_version": self.process_version,
                "ruleset": self.ruleset,
                "rule_version": self.rule_version, "payload": _loads(self.payload)}


def _loads(text: str):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


#: the journal's columns a :class:`Recorded` holds, in the order of its fields
_RECORDED_COLUMNS = (JournalEntry.seq, JournalEntry.kind, JournalEntry.actor, JournalEntry.business_time,
                     JournalEntry.business_date, JournalEntry.schema_version, JournalEntry.process_version,
                     JournalEntry.ruleset, JournalEntry.rule_version, JournalEntry.payload, JournalEntry.hash,
                     JournalEntry.effective_date)
_RECORDED_OF = attrgetter(*(column.key for column in _RECORDED_COLUMNS))


def groups(entries: list[Recorded]) -> list[list[Recorded]]:
    """Split a journal into units: one external input followed by the facts derived from it.

    Derived entries before the first input (which a sound journal never has) form a
    group of their own, so that the comparison reports them.
    """
    out: list[list[Recorded]] = []
    for entry in entries:
        if entry.external or not out:
            out.append([entry])
        else:
            out[-1].append(entry)
    return out


# ---------------------------------------------------------------- the source store


class SourceStore:
    """Read access to the store being audited: an :class:`engine.service.Engine`, an SQLAlchemy
    engine, a database URL, or an open :class:`sqlmodel.Session` (used as is, in the caller's
    transaction). Every read otherwise runs in its own short transaction, so an audit never
    holds a lock on a production store for long."""

    def __init__(self, source):
        self._session: Optional[Session] = None
        self._owned: Optional[SAEngine] = None
        if isinstance(source, Session):
            self._session = source
            self.db = source.get_bind()
        elif isinstance(source, str):
            path = source[len("sqlite:///"):] if source.startswith("sqlite:///") else None
            if path and path != ":memory:" and not Path(path).exists():
                raise NotFound(f"no store at {source}", code="store_not_found", params={"source": str(source)})
            self._owned = make_engine(source)
            self.db = self._owned
        elif isinstance(source, SourceStore):
            self._session, self.db = source._session, source.db
        elif hasattr(source, "db") and hasattr(source, "processes"):  # engine.service.Engine
            self.db = source.db
        elif isinstance(source, SAEngine):
            self.db = source
        else:
            raise TypeError(f"cannot read a journal from {source!r}: give an Engine, a database URL, "
                            "an SQLAlchemy engine or a Session")

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self._session is not None:
            yield self._session
            return
        with Session(self.db) as session:
            yield session

    def close(self) -> None:
        if self._owned is not None:
            self._owned.dispose()
            self._owned = None

    def definitions(self) -> list[tuple[str, int, str]]:
        """Every deployed process version: (name, version, BPMN source), oldest first."""
        with self.session() as session:
            rows = session.exec(select(ProcessDefinition).order_by(ProcessDefinition.name,
                                                                   ProcessDefinition.version)).all()
            return [(row.name, row.version, row.source) for row in rows]

    def dossier_ids(self) -> list[str]:
        """Every dossier with a row or with journal entries (orphan entries are audited too)."""
        with self.session() as session:
            ids = set(session.exec(select(Dossier.id)).all())
            ids.update(session.exec(select(JournalEntry.dossier_id).distinct()).all())
        return sorted(ids)

    def load(self, dossier_id: str) -> tuple[list[Recorded], Optional[dict]]:
        """The dossier's recorded journal (by seq) and the first break of its chain, if any.

        Read on the driver's cursor in a read-only snapshot (:func:`engine.driver.snapshot`: no write
        lock), the rows as plain records: SQLAlchemy Core's result rows cost 0.5 ms a dossier, 7 %
        of a replay (2026-12-03); in the caller's session when one was given."""
        by_id = {"dossier_id": dossier_id}
        if self._session is not None:
            row = self._session.execute(_DOSSIER_HEAD, by_id).first()
            entries = self._session.execute(_JOURNAL_OF, by_id).all()
        else:
            with driver.snapshot(self.db) as reader:
                heads = reader.rows(_DOSSIER_HEAD, by_id)
                entries = [SimpleNamespace(**found) for found in reader.rows(_JOURNAL_OF, by_id)]
            row = SimpleNamespace(**heads[0]) if heads else None
        if row is None and not entries:
            raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found",
                           params={"dossier": dossier_id})
        if row is None:
            problem = {"seq": None, "entry_id": None,
                       "problem": "entries for a dossier that does not exist (inserted)"}
        else:
            found = verify_dossier(row, entries)
            problem = None if found is None else {"seq": found.seq, "entry_id": found.entry_id,
                                                  "problem": found.problem}
        return [Recorded.of(e) for e in entries], problem

    def state(self, dossier_id: str):
        """The dossier's stored state (its snapshot), or None when there is no dossier row."""
        from .context import stored_state

        with self.session() as session:
            row = session.get(Dossier, dossier_id)
            return stored_state(session, row) if row is not None else None

    def entries(self, *, kinds: Iterable[str] | None = None, until_date: str | None = None,
                dossier_ids: Iterable[str] | None = None) -> list[tuple[str, Recorded]]:
        """Journal entries of every dossier (optionally only some kinds / up to a business date),
        ordered by dossier and seq."""
        query = select(JournalEntry.dossier_id, *_RECORDED_COLUMNS)  # the columns, not ORM objects: a
        # report reads every entry of the year, and building a JournalEntry for each was a third of it
        if kinds is not None:
            query = query.where(JournalEntry.kind.in_(list(kinds)))
        if until_date is not None:
            query = query.where(JournalEntry.business_date <= until_date)
        if dossier_ids is not None:
            query = query.where(JournalEntry.dossier_id.in_(list(dossier_ids)))
        with self.session() as session:
            rows = session.execute(query.order_by(JournalEntry.dossier_id, JournalEntry.seq)).all()
        return [(row[0], Recorded(*row[1:])) for row in rows]


# ---------------------------------------------------------------- the replay engine


class ReplayError(RuntimeError):
    """The replay machinery itself cannot run (not a divergence of a dossier)."""


class _RecordedProcesses(ProcessRepository):
    """Deploys the BPMN sources the audited store recorded, and starts the version the journal names."""

    def __init__(self, definitions: list[tuple[str, int, str]]):
        super().__init__()
        self._recorded = sorted(definitions, key=lambda d: (d[0], d[1]))
        self._versions: dict[tuple[str, int], Deployed] = {}
        self._pins: dict[str, Deployed] = {}

    def deploy(self, session: Session, sources: dict[str, bytes] | None = None, *, at: str) -> list[Deployed]:
        if sources is not None or not self._recorded:
            deployed = super().deploy(session, sources, at=at)
            for item in deployed:
                self._versions.setdefault((item.name, item.version), item)
            return deployed
        deployed = []
        for name, version, source in self._recorded:
            item = super().deploy(session, {name: source.encode("utf-8")}, at=at)[0]
            if item.version != version:
                raise ReplayError(f"process {name}: recorded versions are not contiguous "
                                  f"(version {version} deployed as {item.version})")
            self._versions[(name, version)] = item
            deployed.append(item)
        return deployed

    def has(self, name: str, version: int) -> bool:
        return (name, version) in self._versions

    def pin(self, name: str, version: int) -> None:
        self._pins[name] = self._versions[(name, version)]

    def unpin(self) -> None:
        self._pins.clear()

    def current(self, name: str) -> Deployed:
        pinned = self._pins.get(name)
        return pinned if pinned is not None else super().current(name)


def parse_actor(label: str):
    """``"role:user"`` → :class:`engine.service.Actor` (no agency: replays are not access-checked)."""
    from .service import Actor

    role, _, user = label.partition(":")
    if not user:
        return Actor(label, "system")
    return Actor(user, role)


def _parse_version(label: str) -> tuple[str, int] | None:
    name, _, version = (label or "").partition("@")
    return (name, int(version)) if version.isdigit() else None


@dataclass
class _Run:
    """What happened while re-executing one dossier's inputs."""

    executed: int = 0  # input groups executed
    error: Optional[dict] = None  # why the replay had to stop, if it did
    stopped_at: Optional[int] = None  # seq of the first input not executed


class Replayer:
    """A fresh in-memory engine that re-executes journaled inputs (one per replay run).

    ``definitions`` are the recorded process sources, ``(name, version, source)``;
    dossiers replayed one after the other share the engine (each is removed before
    it is replayed again, so the in-memory store stays small).
    """

    def __init__(self, definitions: list[tuple[str, int, str]], *, law=None):
        from .service import bootstrap

        self.clock = ManualClock(brussels_instant(date(2000, 1, 1)))
        self.processes = _RecordedProcesses(definitions)
        self.engine = bootstrap(Settings(database_url="sqlite://", demo_data=False), self.clock,
                                processes=self.processes, law=law)
        self._ran: set[str] = set()  # dossiers with rows in the replay store

    @classmethod
    def for_source(cls, source, *, law=None) -> "Replayer":
        return cls(SourceStore(source).definitions(), law=law)

    def close(self) -> None:
        self.engine.db.dispose()

    def __enter__(self) -> "Replayer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ----- running -------------------------------------------------------
    def reset(self, dossier_id: str) -> None:
        """Forget a dossier in the replay store (nothing to do when this replayer never ran it)."""
        if dossier_id not in self._ran:
            return
        with self.engine.unit() as connection:
            for statement in _RESET:
                connection.execute(statement, {"dossier_id": dossier_id})
        self.engine.cache.forget(dossier_id)
        self._ran.discard(dossier_id)

    def run(self, dossier_id: str, recorded_groups: list[list[Recorded]]) -> _Run:
        """Re-execute the inputs of ``recorded_groups`` (a fresh start for this dossier)."""
        self.reset(dossier_id)
        self._ran.add(dossier_id)
        run = _Run()
        try:
            for group in recorded_groups:
                head = group[0]
                run.stopped_at = head.seq
                problem = self._pin(group)
                if problem is not None:
                    run.error = problem
                    return run
                if not head.external:
                    run.error = {"seq": head.seq, "field": "kind", "recorded": head.kind,
                                 "replayed": None, "message": f"derived entry {head.kind!r} without an input "
                                                              "before it"}
                    return run
                try:
                    self._execute(dossier_id, head)
                except Exception as err:  # noqa: BLE001 - any failure is this dossier's divergence
                    run.error = {"seq": head.seq, "field": "execution", "recorded": "accepted",
                                 "replayed": f"{type(err).__name__}: {getattr(err, 'message', err)}",
                                 "message": f"the {head.kind} at seq {head.seq} "
                                            f"({_describe(head)}) fails on replay: {err}"}
                    return run
                run.executed += 1
            run.stopped_at = None
            return run
        finally:
            self.processes.unpin()

    def _pin(self, group: list[Recorded]) -> Optional[dict]:
        for entry in group:
            if entry.kind != "instance_started":
                continue
            parsed = _parse_version(entry.process_version)
            if parsed is None or not self.processes.has(*parsed):
                return {"seq": entry.seq, "field": "process_version", "recorded": entry.process_version,
                        "replayed": None, "message": f"process version {entry.process_version!r} is not "
                                                     "deployed in the audited store"}
            self.processes.pin(*parsed)
        return None

    def _execute(self, dossier_id: str, entry: Recorded) -> None:
        self.clock.set(entry.instant)
        data = entry.data
        if entry.kind == "import":
            self.engine.import_newcomer(data["newcomer"], actor=parse_actor(entry.actor))
        elif entry.kind == "command":
            self.engine.handle(dossier_id, data["type"], data["payload"], actor=parse_actor(entry.actor),
                               check_access=False)
        elif entry.kind == "sweep":
            with self.engine.unit() as connection:  # as the sweep fires it (timers/sweep.py)
                self.engine.fire_due_timers(connection, dossier_id, entry.instant)
        elif entry.kind == "instance_migrated":  # move the replayed instance the same way, to the recorded version
            from .migration import replay_migration
            replay_migration(self.engine, dossier_id, data, entry.actor, entry.instant)
        else:  # pragma: no cover - guarded by the caller
            raise ReplayError(f"not an input: {entry.kind}")

    def journal(self, dossier_id: str) -> list[Recorded]:
        """The replayed journal of ``dossier_id``, as the replay store holds it (read back, on the
        driver's cursor as :meth:`SourceStore.load` reads the recorded one)."""
        with driver.snapshot(self.engine.db) as reader:
            return [Recorded.of(SimpleNamespace(**found))
                    for found in reader.rows(_JOURNAL_OF, {"dossier_id": dossier_id})]

    # ----- replay + compare -----------------------------------------------
    def replay(self, dossier_id: str, recorded: list[Recorded], chain_problem: Optional[dict] = None
               ) -> "ReplayResult":
        if chain_problem is not None:
            seq = chain_problem["seq"]
            return ReplayResult(dossier_id, False, 0, {
                "dossier_id": dossier_id, "kind": "tamper", "seq": seq, "field": "hash",
                "recorded": next((e.hash for e in recorded if e.seq == seq), None), "replayed": None,
                "message": f"journal chain broken at seq {seq}: {chain_problem['problem']}",
            })
        run = self.run(dossier_id, groups(recorded))
        replayed = self.journal(dossier_id)
        if any(entry.schema_version < SCHEMA_VERSION for entry in recorded):
            return compare_decisions(dossier_id, recorded, replayed, run.error, run.stopped_at)
        return compare(dossier_id, recorded, replayed, run.error, run.stopped_at)


def _describe(entry: Recorded) -> str:
    if entry.kind == "command":
        return f"{entry.data.get('type')} at {entry.business_time}"
    return f"{entry.kind} at {entry.business_time}"


def compare(dossier_id: str, recorded: list[Recorded], replayed: list[Recorded],
            error: Optional[dict] = None, stopped_at: Optional[int] = None) -> "ReplayResult":
    """The first difference between a recorded and a replayed journal. ``error``: why the
    replay had to stop at the input with seq ``stopped_at``; a difference before that input
    is reported first, else ``error``."""
    limit = None if error is None else (stopped_at if stopped_at is not None else error["seq"])
    checked = 0
    for index in range(max(len(recorded), len(replayed))):
        old = recorded[index] if index < len(recorded) else None
        new = replayed[index] if index < len(replayed) else None
        seq = (old or new).seq
        if limit is not None and seq >= limit:
            break
        divergence = _first_difference(dossier_id, old, new)
        if divergence is not None:
            return ReplayResult(dossier_id, False, checked, divergence)
        checked += 1
    if error is not None:
        return ReplayResult(dossier_id, False, checked, {"dossier_id": dossier_id, "kind": "divergence", **error})
    return ReplayResult(dossier_id, True, checked, None)


#: What a replay of a journal with entries of an older schema compares: the legal content of the
#: decisions both schemas record (journal entries of release 0.1 are read through engine/upcast.py).
DECISION_SIGNATURES = {
    "target_group_decided": ("target_group", "reasons", "region", "agency"),
    "infraction_established": ("infraction", "type", "on", "component"),
    "notice_issued": ("infraction", "on", "regularisation_last_day"),
    "handed_over": ("infraction", "on"),
    "infraction_closed": ("infraction", "outcome"),
    "decision_recorded": ("infraction", "decision", "fine_eur"),
    "attest_issued": ("attest_on", "b1_in_scope"),
    "b1_checked": ("due_on", "outcome"),
    "fee_charged": ("item", "amount", "on"),
    "component_fulfilled": ("component", "on", "by"),
}


def decisions(entries: list[Recorded]) -> list[tuple[int, tuple]]:
    """(seq, signature) of the decisions in a journal, in order (see :data:`DECISION_SIGNATURES`)."""
    from .projection import read

    out = []
    for stored in read(entries):
        keys = DECISION_SIGNATURES.get(stored.fact.kind)
        if keys is not None:
            payload = stored.fact.as_payload()
            out.append((stored.seq, (stored.fact.kind, *(json.dumps(payload[k], sort_keys=True) for k in keys))))
    return out


#: what is compared between a recorded entry of the current schema and its replay in a journal that
#: also holds older entries: everything but ``seq`` (the older inputs before it recorded other numbers
#: of entries than their replay does, so the numbering is shifted)
COMPARED_AFTER_OLDER = tuple(name for name in COMPARED_FIELDS if name != "seq")


def compare_decisions(dossier_id: str, recorded: list[Recorded], replayed: list[Recorded],
                      error: Optional[dict] = None, stopped_at: Optional[int] = None) -> "ReplayResult":
    """The first difference between a journal that holds entries of an older release and its replay by
    this one, input by input (:func:`groups`: an input and the entries derived from it):

    * an input recorded by an older release (schema below :data:`engine.facts.SCHEMA_VERSION`): entry
      formats differ between releases, the law's decisions must not — the decisions both record
      (:data:`DECISION_SIGNATURES`) are compared as a set per input, since a release may record the
      decisions of one input in another order (a regularisation before or after the component it
      fulfils);
    * an input recorded by this release after them (an old store advanced by this one): entry by
      entry, on every compared field but ``seq`` (:data:`COMPARED_AFTER_OLDER`).

    ``error``/``stopped_at`` as for :func:`compare`. ``entries_checked`` counts the recorded entries of
    the inputs that matched."""
    old_groups = groups([e for e in recorded if stopped_at is None or e.seq < stopped_at])
    new_groups = groups(replayed)
    checked = 0
    for index in range(max(len(old_groups), len(new_groups))):
        old = old_groups[index] if index < len(old_groups) else None
        new = new_groups[index] if index < len(new_groups) else None
        if old is None or new is None:
            head = (old or new)[0]
            what = ("recorded input missing from the replay" if new is None
                    else "the replay has an input the journal lacks")
            return ReplayResult(dossier_id, False, checked, {
                "dossier_id": dossier_id, "kind": "divergence", "seq": head.seq, "field": "entry",
                "entry_kind": head.kind, "recorded": head.summary() if old else None,
                "replayed": head.summary() if new else None,
                "message": f"input {index + 1} ({_describe(head)}): {what}"})
        if old[0].schema_version < SCHEMA_VERSION:
            divergence = _decision_difference(dossier_id, index, old, new)
        else:
            divergence = next(filter(None, (
                _first_difference(dossier_id, a, b, COMPARED_AFTER_OLDER)
                for a, b in itertools.zip_longest(old, new))), None)
        if divergence is not None:
            return ReplayResult(dossier_id, False, checked, divergence)
        checked += len(old)
    if error is not None:
        return ReplayResult(dossier_id, False, checked, {"dossier_id": dossier_id, "kind": "divergence", **error})
    return ReplayResult(dossier_id, True, checked, None)


def _decision_difference(dossier_id: str, index: int, old: list[Recorded], new: list[Recorded]) -> Optional[dict]:
    """The first decision of one input that its recording and its replay do not share (as multisets)."""
    recorded, replayed = decisions(old), decisions(new)
    unmatched = Counter(signature for _, signature in replayed)
    unmatched.subtract(signature for _, signature in recorded)
    missing = next(((seq, sig) for seq, sig in recorded if unmatched[sig] < 0), None)
    extra = next(((seq, sig) for seq, sig in replayed if unmatched[sig] > 0), None)
    if missing is None and extra is None:
        return None
    head = old[0]
    if missing is not None:
        seq, signature = missing
        twin = next((list(sig) for _, sig in replayed if sig[0] == signature[0] and unmatched[sig] > 0), None)
        message = (f"decision recorded at seq {seq} by the {_describe(head)} is not taken on replay: recorded "
                   f"{list(signature)}, replayed {twin if twin is not None else 'nothing of that kind'}")
        return {"dossier_id": dossier_id, "kind": "divergence", "seq": seq, "field": "decision",
                "entry_kind": signature[0], "recorded": list(signature), "replayed": twin, "message": message}
    seq, signature = extra
    return {"dossier_id": dossier_id, "kind": "divergence", "seq": head.seq, "field": "decision",
            "entry_kind": signature[0], "recorded": None, "replayed": list(signature),
            "message": f"the replay of the {_describe(head)} (input {index + 1}, recorded at seq {head.seq}) "
                       f"takes a decision the journal lacks: {list(signature)}"}


def _first_difference(dossier_id: str, old: Optional[Recorded], new: Optional[Recorded],
                      fields: tuple = COMPARED_FIELDS) -> Optional[dict]:
    if old is None or new is None:
        present = old or new
        what = "recorded entry missing from the replay" if new is None else "replay has an entry the journal lacks"
        return {"dossier_id": dossier_id, "kind": "divergence", "seq": present.seq, "field": "entry",
                "entry_kind": present.kind, "business_time": present.business_time,
                "recorded": old.summary() if old else None, "replayed": new.summary() if new else None,
                "message": f"seq {present.seq} ({present.kind}): {what}"}
    for name in fields:
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            if name == "payload":
                a, b = _loads(a), _loads(b)
                if a == b:  # same JSON, different text (cannot happen with canonical text)
                    continue
            kind = "rule_version" if name in ("ruleset", "rule_version") else "divergence"
            return {"dossier_id": dossier_id, "kind": kind, "seq": old.seq, "field": name,
                    "recorded": a, "replayed": b, "entry_kind": old.kind,
                    "business_time": old.business_time,
                    "message": f"seq {old.seq} ({old.kind} at {old.business_time}): {name} differs: "
                               f"recorded {json.dumps(a, sort_keys=True, default=str)}, "
                               f"replayed {json.dumps(b, sort_keys=True, default=str)}"}
    return None


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class ReplayResult:
    """``first_divergence``: ``{dossier_id, kind (tamper | divergence | rule_version), seq, field,
    recorded, replayed, message}`` or None when the replay reproduced every entry."""

    dossier_id: str
    ok: bool
    entries_checked: int
    first_divergence: Optional[dict]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReplaySummary:
    results: list[ReplayResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def dossiers(self) -> int:
        return len(self.results)

    @property
    def diverged(self) -> list[ReplayResult]:
        return [r for r in self.results if not r.ok]

    @property
    def entries_checked(self) -> int:
        return sum(r.entries_checked for r in self.results)

    @property
    def rate(self) -> float:
        """Dossiers replayed per second."""
        return self.dossiers / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {"ok": self.ok, "dossiers": self.dossiers, "diverged": len(self.diverged),
                "entries_checked": self.entries_checked, "seconds": round(self.seconds, 3),
                "dossiers_per_second": round(self.rate, 2),
                "divergences": [r.first_divergence for r in self.diverged]}


# ---------------------------------------------------------------- entry points


def replay_dossier(source, dossier_id: str, *, replayer: Optional[Replayer] = None) -> ReplayResult:
    """Replay one dossier of ``source`` (Engine, URL, SQLAlchemy engine or Session) and compare
    (under the law of ``replayer``, or the package's).

    Raises :class:`engine.errors.NotFound` when the store has neither the dossier nor entries of it.
    """
    store = SourceStore(source)
    try:
        recorded, problem = store.load(dossier_id)
        if replayer is not None:
            return replayer.replay(dossier_id, recorded, problem)
        with Replayer(store.definitions()) as own:
            return own.replay(dossier_id, recorded, problem)
    finally:
        store.close()


#: below this many dossiers a replay runs in this process: starting a worker costs about a second
PARALLEL_FROM = 200


def default_workers(dossiers: int) -> int:
    """Worker processes for replaying ``dossiers``: one per CPU (at most 4) from :data:`PARALLEL_FROM`
    dossiers on, else 1 (this process)."""
    return cpu_workers() if dossiers >= PARALLEL_FROM else 1


def replay_all(source, *, dossier_ids: Iterable[str] | None = None,
               on_progress: Callable[[int, int, ReplayResult], None] | None = None,
               stop_at_first: bool = False, replayer: Optional[Replayer] = None,
               workers: int | None = 1) -> ReplaySummary:
    """Replay every dossier (or ``dossier_ids``) with one in-memory engine (``replayer``, e.g. one
    built with another law; by default one for the store's process versions and the package's law).

    ``workers``: processes that replay in parallel (this one and ``workers - 1`` started for it),
    each with its own in-memory engine, taking the dossiers a chunk at a time (``None``:
    :func:`default_workers`). Only for a store given by URL and without a
    ``replayer``; the results are the same, in the same order, as with one. ``on_progress(done,
    total, result)`` is called after each dossier (in the order they finish).
    """
    store = SourceStore(source)
    started = time.perf_counter()
    summary = ReplaySummary()
    try:
        ids = list(dossier_ids) if dossier_ids is not None else store.dossier_ids()
        if workers is None:
            workers = default_workers(len(ids))
        if workers < 1:
            raise ValueError(f"workers must be 1 or more, not {workers}")
        workers = min(workers, len(ids))
        if workers > 1 and replayer is None and isinstance(source, str) and not is_in_memory(source):
            store.close()  # the workers open the store themselves
            summary.results = _replay_in_workers(source, ids, workers, on_progress, stop_at_first)
            return summary
        with (nullcontext(replayer) if replayer is not None else Replayer(store.definitions())) as replayer:
            for number, dossier_id in enumerate(ids, start=1):
                result = _replay_one(store, replayer, dossier_id)
                summary.results.append(result)
                if on_progress is not None:
                    on_progress(number, len(ids), result)
                if stop_at_first and not result.ok:
                    break
    finally:
        store.close()
        summary.seconds = time.perf_counter() - started
    return summary


def _replay_one(store: SourceStore, replayer: Replayer, dossier_id: str) -> ReplayResult:
    recorded, problem = store.load(dossier_id)
    result = replayer.replay(dossier_id, recorded, problem)
    replayer.reset(dossier_id)
    return result


#: dossiers handed out at a time to a replay process (:func:`_replay_in_workers`)
CHUNK = 20


def _replay_in_workers(url: str, ids: list[str], workers: int, on_progress, stop_at_first: bool, *,
                       take_part: bool = True) -> list[ReplayResult]:
    """Replay ``ids`` in ``workers`` processes: this one and ``workers - 1`` started for it, each taking
    the next :data:`CHUNK` dossiers when it is ready for more; the results in the order of ``ids``.

    This process replays from the start while the others are still starting (an interpreter, its
    imports and an in-memory engine: 0.8 s each, 2026-12-03), and no process waits for another
    that was handed more: with one worker per core every core replays to the end. A worker that
    fails stops the replay with its error. ``take_part=False`` (tests): this process only listens,
    ``workers`` processes are started."""
    context = spawn_context()
    results = context.Queue()
    stop = context.Event()
    handed = context.Value("i", 0)  # the chunks handed out so far (each process takes the next)
    size = CHUNK
    processes = [context.Process(target=_replay_worker, name=f"replay-worker-{index}",
                                 args=(url, ids, size, handed, results, stop))
                 for index in range(1 if take_part else 0, workers)]
    for process in processes:
        process.start()
    found: dict[str, ReplayResult] = {}
    failure = None

    def take(result: ReplayResult) -> bool:
        """Record one result; whether the replay goes on."""
        found[result.dossier_id] = result
        if on_progress is not None:
            on_progress(len(found), len(ids), result)
        if stop_at_first and not result.ok:
            stop.set()
            return False
        return True

    def heard(message) -> bool:
        """Handle one worker message; whether the replay goes on."""
        nonlocal failure, finished
        kind, payload = message
        if kind == FAILED:
            failure = payload
            return False
        if kind == "done":
            finished += 1
            return True
        return take(ReplayResult(**payload))

    finished, going = 0, True
    try:
        store = SourceStore(url)
        try:
            with Replayer(store.definitions()) as replayer:
                while going and take_part and not stop.is_set():
                    chunk = _next_chunk(ids, size, handed)
                    if not chunk:
                        break
                    for dossier_id in chunk:
                        if not take(_replay_one(store, replayer, dossier_id)):
                            going = False
                            break
                    while going:  # what the workers sent meanwhile (progress in order of finishing)
                        try:
                            message = results.get_nowait()
                        except queue.Empty:
                            break
                        going = heard(message)
        finally:
            store.close()
        for message in messages(processes, results) if going and finished < len(processes) else ():
            if message is None:
                continue
            if not heard(message) or finished == len(processes):
                break
    finally:
        stop.set()
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join()
    if failure is not None:
        raise RuntimeError(f"replay worker failed: {failure}")
    return [found[dossier_id] for dossier_id in ids if dossier_id in found]


def _next_chunk(ids: list[str], size: int, handed) -> list[str]:
    """The next ``size`` dossiers of ``ids`` not yet handed to a process (``handed``: a shared counter
    of chunks); empty when all are."""
    with handed.get_lock():
        index = handed.value
        handed.value = index + 1
    return ids[index * size:(index + 1) * size]


def _replay_worker(url: str, ids: list[str], size: int, handed, results, stop) -> None:
    """One replay worker process: the chunks of ``ids`` it takes (:func:`_next_chunk`) until none is
    left, one result per dossier on ``results``, then ``done``."""
    try:
        store = SourceStore(url)
        try:
            with Replayer(store.definitions()) as replayer:
                while not stop.is_set():
                    chunk = _next_chunk(ids, size, handed)
                    if not chunk:
                        break
                    for dossier_id in chunk:
                        if stop.is_set():
                            break
                        results.put(("result", _replay_one(store, replayer, dossier_id).to_dict()))
        finally:
            store.close()
        results.put(("done", None))
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which stops the others
        results.put((FAILED, f"{type(err).__name__}: {err}"))
