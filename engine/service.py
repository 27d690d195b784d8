"""The engine: the application service every door (API, CLI, sweep, scenario runner) calls.

Commands: :meth:`Engine.import_newcomer`, :meth:`Engine.handle` (caseworker and
officer events), :meth:`Engine.fire_due_timers` (the sweep). Reads: dossier view,
worklist, enforcement queue, history. Each command is one unit of work on one
dossier (:class:`engine.context.DossierContext`).
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator, Optional

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, func, select

from rules import geography, parameters

from . import actions, commands, context, driver, gate, journal, operations  # noqa: F401  (operations registers the registry)
from . import facts as f
from . import statements as sql
from .incidents import guard_command
from .clock import Clock, StoreClock, business_date
from .cache import DEFAULT_CAPACITY, DEFAULT_LIVE, DossierCache
from .context import DossierContext, DossierRow
from .db import READ_ONLY, is_postgres, make_engine, migrate, writer_queue
from .dossier import DossierState
from .errors import Conflict, InvalidInput, NotFound
from .handlers import HANDLERS
from .models import Dossier, DueTimer
from .processes import ProcessRepository
from .registry import dispatch
from .settings import Settings


@dataclass(frozen=True)
class Actor:
    """Who acts: a user id and a role (``caseworker``, ``enforcement_officer``, ``system``, ...)."""

    user: str
    role: str = "system"
    agency: Optional[str] = None

    @property
    def label(self) -> str:
        return f"{self.role}:{self.user}"


#: How often a command is decided optimistically (outside the write lock) before it takes the lock:
#: another writer may save its dossier between its load and its save.
OPTIMISTIC_ATTEMPTS = 3

SYSTEM = Actor("engine", "system")
REGISTER = Actor("register-import", "system")


class Engine:
    """``law``: the parameter set this engine decides under (default: the package's, i.e. the law;
    a law-change test or a what-if reform passes another, :class:`rules.parameters.Law`)."""

    def __init__(self, db, clock: Clock, processes: ProcessRepository | None = None, *,
                 cache_size: int = DEFAULT_CAPACITY, cache_live: int = DEFAULT_LIVE,
                 law: parameters.Law | None = None):
        self.db = db
        self.clock = clock
        self.processes = processes or ProcessRepository()
        self.postgres = is_postgres(db)
        self.cache = DossierCache(cache_size, cache_live)
        self.law = law
        self._writers = writer_queue(db)

    # ----- units of work ---------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction; what a unit of work registered under ``AFTER_COMMIT`` (the cache's
        put-back) runs only once it committed."""
        with self._writer_turn(), Session(self.db, expire_on_commit=False) as session:
            with session.begin():
                yield session
            driver.after_commit(session.info)

    @contextmanager
    def unit(self) -> Iterator["driver.DriverWriter | driver.CoreWriter"]:
        """One writing transaction (the sweep's firing: a unit of work that holds the lock while it
        decides), on the driver's connection (:mod:`engine.driver`): its statements are the built-once
        ones of :mod:`engine.statements`, run with ``execute``/``rows``/``scalar``. What it registered
        under ``AFTER_COMMIT`` runs only once it committed, and is dropped when it rolled back."""
        with self._writer_turn(), driver.transaction(self.db) as writer:
            yield writer

    def _writer_turn(self):
        return self._writers.turn() if self._writers is not None else nullcontext()

    # The commands' own transactions are Core connections: a unit of work is a handful of Core
    # statements, and an ORM Session around them cost more than they did.
    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A transaction that only reads: a consistent snapshot that takes no write lock (SQLite)."""
        with self.db.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield connection

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._writer_turn(), self.db.connect() as connection:
            with connection.begin():
                yield connection

    def _load(self, session: Session, dossier_id: str, now: datetime, *, lock: bool = False) -> DossierContext:
        return context.load(session, self.processes, dispatch, dossier_id, now, cache=self.cache,
                            lock=lock and self.postgres)

    def _commit(self, ctx: DossierContext) -> int:
        """Save a unit of work: prepare its rows in memory, then write them in one short
        transaction (the version check guards it), so the write lock is held for SQL only.
        Returns the version written (read before the cache entry is shared with other threads)."""
        prepared = ctx.prepare()
        with self._writer_turn(), driver.transaction(self.db, checked=False) as writer:
            entry = ctx.write(writer, prepared)
        version = ctx.row.version
        if entry is not None:
            self.cache.put(entry.row.id, entry)
        return version

    # ----- commands ------------------------------------------------------
    # A command is optimistic ("load-step-save must run under a row lock / version check",
    # ENGINEERING.md on SpiffWorkflow): it loads the dossier (from the cache, or
    # in a read-only snapshot), decides in memory, and writes in one short transaction whose update
    # of the dossier row requires the version it loaded. Rules and BPMN therefore run outside any
    # write lock, so writers on other dossiers (other processes, SQLite included) do not wait for
    # them. If another writer saved the dossier meanwhile, nothing is written and the command is
    # re-run on the fresh state; with an explicit expected version (If-Match) it is refused instead.
    def import_newcomer(self, newcomer: dict, *, actor: Actor = REGISTER) -> dict:
        """Register extract → target-group rules → a trajectory instance (none for excluded)."""
        commands.validate_newcomer(newcomer)
        try:
            geography.locate(newcomer["nis_code"])
        except ValueError as err:
            raise InvalidInput("$.nis_code", str(err), code="unknown_nis_code",
                               params={"nis_code": newcomer.get("nis_code")}) from None
        with parameters.using(self.law):
            for attempt in range(OPTIMISTIC_ATTEMPTS):
                try:
                    decision = self._import(newcomer, actor)
                    break
                except DBAPIError as err:
                    if not driver.retry_safe(err) or attempt == OPTIMISTIC_ATTEMPTS - 1:
                        raise  # (an IntegrityError is a duplicate: _import says so)
                    # the pooled connection was gone before anything was written: again, on a new one
        return {"dossier_id": newcomer["id"], "target_group": decision.target_group,
                "reasons": list(decision.reasons), "instance_started": decision.target_group != "excluded"}

    def _import(self, newcomer: dict, actor: Actor):
        """One attempt at an import: the new dossier decided and written; its target-group decision."""
        now = self.clock.now()
        register_facts = {k: v for k, v in newcomer.items() if k != "insz"}
        start = date.fromisoformat(newcomer["obligation_start"])
        state = DossierState(id=newcomer["id"])
        row = DossierRow(id=newcomer["id"])
        ctx = DossierContext(None, self.processes, dispatch, row, state, now, is_new=True, cache=self.cache)
        ctx.emit(f.Imported(register_facts), actor=actor.label)
        decision = actions.decide_target_group(ctx, start, actor=actor.label)
        if decision.target_group == "obligated":
            actions.arm(ctx, "registration", start, months=parameters.value("registration_months", start),
                        law={"registration_months": parameters.cite("registration_months", start)})
        if decision.target_group != "excluded":
            ctx.start_instance("trajectory")
        try:
            self._commit(ctx)  # the dossier row's primary key refuses a second import of the same id
        except IntegrityError:
            raise Conflict(f"dossier {newcomer['id']!r} already exists", code="duplicate_dossier",
                           params={"dossier": newcomer["id"]}) from None
        return decision

    @guard_command  # an unexpected exception becomes an incident on the dossier (engine/incidents.py)
    def handle(self, dossier_id: str, event_type: str, payload: dict, *, actor: Actor,
               expected_version: int | None = None, check_access: bool = True) -> dict:
        """Apply one caseworker or officer event to a dossier; all or nothing.

        ``check_access=False`` is for replays, which re-execute what was once allowed."""
        commands.validate_event(event_type, payload)
        with parameters.using(self.law):
            return self._handle(dossier_id, event_type, payload, actor, expected_version, check_access)

    def _handle(self, dossier_id, event_type, payload, actor, expected_version, check_access) -> dict:
        now = self.clock.now()
        for _ in range(OPTIMISTIC_ATTEMPTS):
            try:
                ctx, unverified = self._load_for_command(dossier_id, now)
            except DBAPIError as err:
                if driver.retry_safe(err):
                    continue  # the pooled connection was gone (a server restart): again, on a new one
                raise
            try:
                self._decide(ctx, event_type, payload, actor, expected_version, check_access)
            except Exception:
                if unverified and self._moved_on(ctx):
                    continue  # refused on a copy the store has moved past: decide again on the store's rows
                raise
            try:
                version = self._commit(ctx)
            except Conflict:
                if unverified:
                    self.cache.stats.stale += 1
                if expected_version is not None:
                    raise  # decided at the expected version, which the store no longer has
                continue  # another writer saved this dossier since we loaded it: decide again
            except DBAPIError as err:
                if driver.retry_safe(err):
                    continue  # the connection was gone before anything was written: decide again
                raise
            return {"dossier_id": dossier_id, "version": version}
        # A dossier this busy: decide under the write lock (and the row lock on PostgreSQL), which
        # cannot lose the race, so a command without If-Match is never refused for contention.
        with self.session() as session:
            ctx = self._load(session, dossier_id, now, lock=True)
            self._decide(ctx, event_type, payload, actor, expected_version, check_access)
            ctx.save()
            version = ctx.row.version
        return {"dossier_id": dossier_id, "version": version}

    def _load_for_command(self, dossier_id: str, now: datetime) -> tuple[DossierContext, bool]:
        """The dossier for a command, and whether it came from the cache without asking the store.

        A cached entry is used as it is: the command's write requires the version it was saved at,
        which refuses a stale copy (:meth:`_handle` then decides again), so the read snapshot that
        would check the version first is saved on every cache hit (a connection, BEGIN, a SELECT
        and COMMIT a step), unless other processes have often outdated this cache
        (:meth:`engine.cache.DossierCache.trusted`)."""
        trusted = self.cache.trusted()  # else other processes outdate this cache often: ask the version first
        entry = self.cache.take_latest(dossier_id) if trusted else None
        if entry is not None:
            return context.from_cache(entry, None, self.processes, dispatch, now, self.cache), True
        with driver.snapshot(self.db, checked=False) as reader:
            if trusted:  # the cache missed: the row itself, without asking its version first
                ctx = context.from_store(reader, self.processes, dispatch, dossier_id, now, self.cache)
            else:
                ctx = self._load(reader, dossier_id, now)
        ctx.session = None
        return ctx, False

    def _moved_on(self, ctx: DossierContext) -> bool:
        """Whether the store holds another version of the dossier than ``ctx`` (a stale cached copy)."""
        with driver.snapshot(self.db) as reader:
            version = reader.scalar(sql.DOSSIER_VERSION, {"dossier_id": ctx.row.id})
        if version != ctx.row.version:
            self.cache.stats.stale += 1
            return True
        return False

    def _decide(self, ctx: DossierContext, event_type: str, payload: dict, actor: Actor,
                expected_version: int | None, check_access: bool) -> None:
        dossier_id = ctx.row.id
        if check_access:
            _check_agency(actor, ctx.state, dossier_id)
        if expected_version is not None and expected_version != ctx.row.version:
            raise Conflict(f"dossier {dossier_id} is at version {ctx.row.version}, "
                           f"not {expected_version}; reload and try again", code="stale_version",
                           params={"version": ctx.row.version, "expected": expected_version})
        on = _effective_day(payload, ctx)
        ctx.emit(f.CommandReceived(event_type, {**payload, "on": on.isoformat()}), actor=actor.label)
        # Deadlines that expired before this event are acted on first (catch-up after downtime):
        # an overdue timer is not swallowed by the event that would have met it in time.
        if ctx.due_timers():
            ctx.run_all()
        gate.check(ctx, event_type, payload)
        HANDLERS[event_type](ctx, payload, actor.label, on)

    def fire_due_timers(self, session: Session | Connection, dossier_id: str, now: datetime) -> int:
        """Fire every timer of one dossier due at ``now`` (the sweep calls this in its transaction,
        :meth:`unit`)."""
        with parameters.using(self.law):
            ctx = self._load(session, dossier_id, now, lock=True)
            due = ctx.due_timers()
            ctx.emit(f.SweepRan(now.isoformat(), due), actor="system:sweep")
            ctx.run_all()
            ctx.save(live=False)  # a swept dossier is cached packed: no caseworker is on it now
        return len(due)

    # ----- reads ---------------------------------------------------------
    def _read(self, session: Session, dossier_id: str, actor: Actor | None) -> tuple[Dossier, DossierState]:
        row = session.get(Dossier, dossier_id)
        if row is None:
            raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found",
                           params={"dossier": dossier_id})
        state = context.stored_state(session, row)
        _check_agency(actor, state, dossier_id)
        return row, state

    def dossier_state(self, dossier_id: str, actor: Actor | None = None) -> DossierState:
        with Session(self.db) as session:
            return self._read(session, dossier_id, actor)[1]

    def dossier_view(self, dossier_id: str, actor: Actor | None = None) -> dict:
        with Session(self.db) as session:
            row, state = self._read(session, dossier_id, actor)
            timers = session.exec(select(DueTimer).where(DueTimer.dossier_id == dossier_id)).all()
            return view_of(row, state, timers)

    def outcome(self, dossier_id: str) -> dict:
        return self.dossier_state(dossier_id).outcome()

    def worklist(self, agency: str | None, *, offset: int = 0, limit: int = 50, step: str | None = None,
                 target: str | None = None, overdue: bool = False, claimed_by: str | None = None,
                 due_from: date | None = None, due_to: date | None = None, sort: str = "deadline") -> dict:
        """Dossiers waiting on a caseworker step, soonest deadline first (``sort``: ``deadline``,
        ``-deadline``, ``dossier_id``, ``-dossier_id``). ``claimed_by``: only the dossiers that caseworker
        holds ("mijn dossiers", engine/desk.py); ``due_from``/``due_to``: the next deadline fires on a day
        in that range (the item's ``next_deadline``)."""
        from .desk import CLAIM, WORKLIST_SORTS
        from .clock import brussels_instant
        from datetime import time as day_time, timedelta
        if sort.lstrip("-") not in WORKLIST_SORTS:
            raise InvalidInput("$.query.sort", f"unknown sort {sort!r}; known: {', '.join(WORKLIST_SORTS)} "
                                               "(a leading - sorts descending)", code="unknown_sort")
        if due_from and due_to and due_from > due_to:
            raise InvalidInput("$.query.due_from", f"{due_from} is after due_to ({due_to})", code="empty_range")
        with Session(self.db) as session:
            query = select(Dossier).where(Dossier.waiting_on != "", Dossier.waiting_on != "decide")
            if agency is not None:
                query = query.where(Dossier.agency == agency)
            if step is not None:
                query = query.where(Dossier.waiting_on.contains(step, autoescape=True))
            if target is not None:
                query = query.where(Dossier.target_group == target)
            if overdue:
                query = query.where(Dossier.next_due_at <= int(self.clock.now().timestamp()))
            if claimed_by is not None:
                query = query.where(Dossier.id.in_(select(CLAIM.c.dossier_id).where(CLAIM.c.user == claimed_by)))
            if due_from is not None:
                query = query.where(Dossier.next_due_at >= int(brussels_instant(due_from, day_time(0)).timestamp()))
            if due_to is not None:
                end = brussels_instant(due_to + timedelta(days=1), day_time(0))
                query = query.where(Dossier.next_due_at < int(end.timestamp()))
            total = session.exec(select(func.count()).select_from(query.subquery())).one()
            if sort.lstrip("-") == "dossier_id":
                order = (Dossier.id.desc() if sort.startswith("-") else Dossier.id,)
            elif sort.startswith("-"):
                order = (Dossier.next_due_at.is_(None), Dossier.next_due_at.desc(), Dossier.id)
            else:
                order = (Dossier.next_due_at.is_(None), Dossier.next_due_at, Dossier.id)
            rows = session.exec(query.order_by(*order).offset(offset).limit(limit)).all()
        from .desk import claims_of
        holders = claims_of(self, [r.id for r in rows])
        return {"total": total, "offset": offset, "limit": limit,
                "items": [{**_summary(r), "claimed_by": holders.get(r.id)} for r in rows]}

    def enforcement_queue(self, *, offset: int = 0, limit: int = 50, **filters) -> dict:
        """Handed-over infractions waiting for a decision, one item per infraction (engine/desk.py)."""
        from .desk import enforcement_queue
        return enforcement_queue(self, offset=offset, limit=limit, **filters)

    def history(self, dossier_id: str, *, offset: int = 0, limit: int = 100, actor: Actor | None = None) -> dict:
        self.dossier_state(dossier_id, actor)
        with Session(self.db) as session:
            entries = journal.history(session, dossier_id, offset=offset, limit=limit)
            return {"dossier_id": dossier_id, "offset": offset, "limit": limit,
                    "entries": [journal.entry_dict(e) for e in entries]}

    def dossier_ids(self) -> list[str]:
        with Session(self.db) as session:
            return list(session.exec(select(Dossier.id).order_by(Dossier.id)))


def _effective_day(payload: dict, ctx: DossierContext) -> date:
    """The day the event happened: the body's ``on``, else today by the business clock. Not after
    today, not before the obligation start (TRAJECTORY.md §5; scenarios README "Late-recorded facts")."""
    today = ctx.today
    on = date.fromisoformat(payload["on"]) if "on" in payload else today
    # (today is checked against the obligation start too: the command is journaled with its day, and a
    # replay, which reads that day as an explicit ``on``, must decide it the same way)
    if on > today:
        raise InvalidInput("$.on", f"{on} is after today ({today}): a fact is recorded once it happened",
                           code="on_in_future", params={"on": on.isoformat(), "today": today.isoformat()})
    start = date.fromisoformat(ctx.state.newcomer["obligation_start"])
    if on < start:
        raise InvalidInput("$.on", f"{on} is before the obligation start ({start})",
                           code="on_before_obligation_start", params={"on": on.isoformat(),
                                                                      "obligation_start": start.isoformat()})
    return on


def _check_agency(actor: Actor | None, state: DossierState, dossier_id: str) -> None:
    """A caseworker works for one agency and sees only its dossiers (others answer 404)."""
    if actor is not None and actor.role == "caseworker" and (actor.agency is None or actor.agency != state.agency):
        raise NotFound(f"dossier {dossier_id!r} not found", code="dossier_not_found", params={"dossier": dossier_id})


def _summary(row: Dossier) -> dict:
    due = datetime.fromtimestamp(row.next_due_at).astimezone() if row.next_due_at else None
    return {"dossier_id": row.id, "target_group": row.target_group, "agency": row.agency, "region": row.region,
            "waiting_on": [s for s in row.waiting_on.split(",") if s],
            "next_deadline": business_date(due).isoformat() if due else None, "version": row.version}


def view_of(row, state: DossierState, timers) -> dict:
    """The dossier as the API shows it: ``row`` gives its version (None for a projection of its journal)."""
    return {
        "dossier_id": state.id,
        "version": row.version if row is not None else None,
        **state.outcome(),
        "newcomer": state.newcomer,
        "decided_by": state.decided_by,
        "obligation_start": _iso(state.obligation_start),
        "registered_on": _iso(state.registered_on),
        "advice": state.advice,
        "intake_on": _iso(state.intake_on),
        "contract_signed_on": _iso(state.contract_signed_on),
        "components": {name: {"listed": c.listed, "fulfilled_on": _iso(c.fulfilled_on),
                              "fulfilled_by": c.fulfilled_by} for name, c in state.components.items()},
        "deadlines": [{"name": d.name, "start": d.start.isoformat(), "last_timely_day": d.last_timely.isoformat(),
                       "status": d.status} for d in state.deadlines.values()],
        "suspensions": [{"from": a.isoformat(), "to": b.isoformat(), "days_added": n} for a, b, n in state.suspensions],
        "infraction_details": [
            {"id": i.id, "type": i.type, "component": i.component, "outcome": i.outcome,
             "established_on": _iso(i.established_on), "notice_on": _iso(i.notice_on),
             "regularisation_last_day": _iso(i.regularisation_last_day),
             "handed_over_on": _iso(i.handed_over_on), "recalled_handed_over_on": _iso(i.recalled_handed_over_on),
             "closed_on": _iso(i.closed_on), "closing_reason": i.closing_reason,
             "decision": i.decision, "decided_on": _iso(i.decided_on), "fine_eur": i.fine_eur,
             "motivation": i.motivation, "ruleset": i.ruleset, "rule_version": i.rule_version}
            for i in state.infractions],
        "fees": state.fees,
        "letters": state.letters,
        "waiting_on": list(state.waiting),
        "timers": [{"timer": t.timer, "due_at": datetime.fromtimestamp(t.due_at).astimezone().isoformat()}
                   for t in timers],
    }


def _iso(value) -> Optional[str]:
    return value.isoformat() if value else None


def bootstrap(settings: Settings, clock: Clock | None = None, *, processes: ProcessRepository | None = None,
              law: parameters.Law | None = None) -> Engine:
    """Wire everything in one place: database (migrated), processes (deployed), clock, law.

    ``clock``: None for the store's own business clock (:class:`engine.clock.StoreClock`; a new store
    gets a ``settings.clock_mode`` clock) — what every door uses; tests and replays pass their own."""
    db = make_engine(settings.database_url)
    migrate(db)
    if clock is None:
        start = datetime.fromisoformat(settings.clock_start) if settings.clock_start else None
        if start is not None and start.tzinfo is None:
            raise ValueError(f"clock start {settings.clock_start!r} has no UTC offset")
        clock = StoreClock.of_store(db, new_mode=settings.clock_mode, start=start)
    engine = Engine(db, clock, processes, cache_size=settings.cache_size, cache_live=settings.cache_live, law=law)
    with engine.session() as session:
        engine.processes.deploy(session, at=clock.now().isoformat())
    return engine
