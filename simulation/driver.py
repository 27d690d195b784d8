"""Drive a synthetic year through the real doors of the engine and compare with the published report.

    simulate(year=2023, scale=0.02, seed=1, until=None, database_url=None, on_progress=None)

Time is a :class:`engine.clock.ManualClock` moved day by day from the first obligation start
to ``until`` (default: 31 December of year + 3, so that attests and B1 checks of the year's
cohort fall inside), with the conventions of the scenario runner (``api/scenarios.py``,
``shared/scenarios/README.md`` "Time"):

* 00:00 — the register import of the newcomers whose obligation starts that day
  (``POST /newcomers``, admin token — the register extract's door);
* 02:00 — the daily sweep (:func:`timers.sweep.sweep`);
* 09:00 — that day's events, each ``POST /dossiers/{id}/events/{type}`` with a token of the
  right role (caseworker of the dossier's agency; enforcement officer for decisions).

``via="api"`` (default) goes through the HTTP API in process (the ASGI app of
:func:`api.app.create_app`, called directly: :class:`_AsgiCaller`); ``via="engine"`` calls
:meth:`engine.service.Engine.import_newcomer` and :meth:`~engine.service.Engine.handle` directly —
the same unit of work without HTTP, JSON and JWT (measured by ``benchmarks/run_all.py``). An
event the engine refuses does not stop the run: it is counted and listed (as the scenario runner
does), as are server errors.

Afterwards :func:`engine.reports.report` (the auditors' report, from the journal alone) is
computed for the year, with the cohort figures of :func:`simulation.calibration.cohort_figures`,
and compared with the published figures (:func:`simulation.calibration.compare`).
"""
from __future__ import annotations

import json
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from typing import Callable, Optional

from api.asgi import body_once, disconnected
from engine import heap
from engine import workers as workers_
from engine.clock import MANUAL, ManualClock, StoreClock, brussels_instant
from engine.settings import Settings
from rules import geography, parameters

from . import calibration
from .population import Population, generate

IMPORT_TIME = dtime(0, 0)
EVENT_TIME = dtime(9, 0)
SWEEP_TIME = dtime(2, 0)
JWT_SECRET = "simulation-signing-key-not-a-secret-000000001"

Progress = Callable[[int, int, date], None]
#: ``on_phase(phase, day)``: after the imports ("import"), the sweep ("sweep") and the events ("events") of a day.
Phase = Callable[[str, date], None]


@dataclass
class SimulationResult:
    year: int
    scale: float
    seed: int
    until: str
    database: str
    via: str
    persons: int = 0
    imports: Counter = field(default_factory=Counter)
    events: int = 0
    events_by_type: Counter = field(default_factory=Counter)
    refused: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    planned_mismatches: int = 0
    days: int = 0
    sweeps: int = 0
    timers_fired: int = 0
    sweep_dossiers: int = 0
    seconds: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    cohort: dict = field(default_factory=dict)
    comparison: list = field(default_factory=list)
    workers: int = 1
    cache: dict = field(default_factory=dict)
    reform: Optional[str] = None  # the name of the reform in force, None under the law
    outcomes: dict = field(default_factory=dict)  # simulation.reform.outcomes: notices, hand-overs, ... by region

    @property
    def steps(self) -> int:
        """Units of work through the engine: imports, events and dossiers fired by the sweep."""
        return sum(self.imports.values()) + self.events + self.sweep_dossiers

    def to_dict(self) -> dict:
        return {"year": self.year, "scale": self.scale, "seed": self.seed, "until": self.until,
                "database": self.database, "via": self.via, "workers": self.workers, "cache": self.cache, "persons": self.persons,
                "imports": dict(self.imports), "events": self.events, "events_by_type": dict(self.events_by_type),
                "refused": self.refused, "errors": self.errors, "planned_mismatches": self.planned_mismatches,
                "days": self.days, "sweeps": self.sweeps, "timers_fired": self.timers_fired,
                "sweep_dossiers": self.sweep_dossiers, "steps": self.steps, "seconds": self.seconds,
                "comparison": self.comparison, "cohort": self.cohort, "report": self.report,
                "reform": self.reform, "outcomes": self.outcomes}


class _ApiDoor:
    """The HTTP API in process: the ASGI app of :func:`api.app.create_app` called directly on one
    event loop (:class:`_AsgiCaller`); tokens are issued on the simulated clock (12 h validity:
    reissued every simulated day)."""

    def __init__(self, engine, settings: Settings):
        from api.app import create_app
        from api.auth import issue_token

        self.engine = engine
        self.settings = settings
        self._issue = issue_token
        self._caller = _AsgiCaller(create_app(engine, settings))
        self._tokens: dict = {}
        self._day: Optional[date] = None

    def close(self) -> None:
        self._caller.close()

    def _post(self, path: str, body: dict, headers: dict) -> tuple[int, dict]:
        return self._caller.post(path, body, headers)

    def _headers(self, role: str, agency: Optional[str] = None) -> dict:
        now = self.engine.clock.now()
        day = now.date()
        if day != self._day:
            self._tokens, self._day = {}, day
        key = (role, agency)
        if key not in self._tokens:
            midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
            token = self._issue(self.settings, role=role, user=f"simulation-{role}", agency=agency, now=midnight)
            self._tokens[key] = {"Authorization": f"Bearer {token}"}
        return self._tokens[key]

    def import_newcomer(self, newcomer: dict) -> tuple[int, dict]:
        return self._post("/newcomers", newcomer, self._headers("admin"))

    def event(self, dossier_id: str, event_type: str, body: dict, agency: Optional[str]) -> tuple[int, dict]:
        if event_type == "enforcement_decision":
            headers = self._headers("enforcement_officer")
        elif agency:
            headers = self._headers("caseworker", agency)
        else:
            headers = self._headers("admin")
        return self._post(f"/dossiers/{dossier_id}/events/{event_type}", body, headers)


class _EngineDoor:
    """The engine's commands directly (no HTTP, JSON or JWT); same actors as the API would name."""

    def __init__(self, engine):
        from engine.service import Actor

        self.engine = engine
        self._actor = Actor

    def close(self) -> None:
        pass

    def import_newcomer(self, newcomer: dict) -> tuple[int, dict]:
        return self._call(lambda: self.engine.import_newcomer(newcomer, actor=self._actor("simulation-admin", "admin")),
                          201)

    def event(self, dossier_id: str, event_type: str, body: dict, agency: Optional[str]) -> tuple[int, dict]:
        if event_type == "enforcement_decision":
            actor = self._actor("simulation-enforcement_officer", "enforcement_officer")
        elif agency:
            actor = self._actor("simulation-caseworker", "caseworker", agency)
        else:
            actor = self._actor("simulation-admin", "admin")
        return self._call(lambda: self.engine.handle(dossier_id, event_type, body, actor=actor), 200)

    @staticmethod
    def _call(fn, ok: int) -> tuple[int, dict]:
        from engine.errors import EngineError

        try:
            return ok, fn()
        except EngineError as err:
            return err.status, {"message": err.message}
        except Exception as err:  # noqa: BLE001 - an engine bug must not stop a year-long run
            return 500, {"message": f"{type(err).__name__}: {err}"}


class _AsgiCaller:
    """Requests to an ASGI app in this process, without an HTTP client in between: the request goes
    through the app's routing, middlewares, authentication and validation as it would behind
    ``inburgering serve`` (where uvicorn parses the HTTP instead). httpx's ASGI transport, used here
    before, cost about 1.2 ms of CPU a request on top (300 imports each way, interleaved: 9.3 vs
    8.1 ms; issue 16 note). An exception the app lets out after its error middleware answered 500
    is that 500, as a server would answer."""

    HOST = b"simulation.local"

    def __init__(self, app):
        import asyncio

        self.app = app
        self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        self._loop.close()

    def post(self, path: str, body: dict, headers: dict) -> tuple[int, dict]:
        return self._loop.run_until_complete(self._call("POST", path, json.dumps(body).encode(), headers))

    async def _call(self, method: str, path: str, raw: bytes, headers: dict) -> tuple[int, dict]:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(b"host", self.HOST), (b"content-type", b"application/json"),
                             (b"content-length", str(len(raw)).encode()),
                             *((name.lower().encode(), value.encode()) for name, value in headers.items())],
                 "server": (self.HOST.decode(), 80), "client": ("127.0.0.1", 1)}
        status, chunks = None, []

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, body_once(raw, disconnected), send)
        except Exception:  # noqa: BLE001 - counted as a server error by the caller, as over HTTP
            if status is None:
                return 500, {"message": "the app failed without answering"}
        return status or 500, _body(b"".join(chunks))


def _body(raw: bytes) -> dict:
    try:
        return json.loads(raw)
    except ValueError:
        return {"message": raw.decode("utf-8", "replace")}


def default_until(year: int) -> date:
    return date(year + 3, 12, 31)


def default_workers() -> int:
    """Worker processes of ``inburgering simulate`` when ``--workers`` is not given: the CPUs, at most 4."""
    return workers_.cpu_workers()


def simulate(year: int = 2023, scale: float = 0.02, seed: int = 1, until: Optional[date] = None,
             database_url: Optional[str] = None, on_progress: Optional[Progress] = None, *, via: str = "api",
             population: Optional[Population] = None, workers: int = 1,
             on_phase: Optional[Phase] = None, reform=None) -> SimulationResult:
    """Run the synthetic ``year`` at ``scale`` through import, API and daily sweep; compare with 2023.

    ``database_url`` must point at an empty store (default: a temporary SQLite file, removed
    afterwards). ``on_progress(done, total, day)`` is called after every simulated day with the
    units of work (imports + events) done and planned.

    ``workers`` > 1 splits the newcomers over that many processes by ranges of dossier ids (see
    :func:`_run_workers`); each walks the days on its own clock and sweeps only its own range.
    Engine commands decide outside the write lock and write in short transactions, so the
    workers' rules and BPMN run in parallel, on SQLite too. The result is the same as with one
    process (tested).

    The engine runs with the settings ``inburgering serve`` uses: the dossier cache at
    ``INBURGERING_CACHE_SIZE`` (default 4,096, of which ``INBURGERING_CACHE_LIVE`` live) and Python's
    default garbage-collector thresholds; each worker process freezes its start-up objects out of
    the collector's way once, as ``serve`` does (:func:`engine.heap.settle`).

    ``on_phase(phase, day)`` (one process only) is called after each of a day's three phases, so a
    caller can look at the store between units of work (``benchmarks/instance_size.py`` does).

    ``reform`` (a :class:`simulation.reform.Reform`): the engine runs, and the report is computed,
    with the reform's parameter overrides in force (in this process and in every worker), in a
    temporary store (``database_url`` is refused). The population is generated under the law
    (pass the same ``population`` to compare).
    """
    if via not in ("api", "engine"):
        raise ValueError("via must be 'api' or 'engine'")
    if workers < 1:
        raise ValueError("workers must be 1 or more")
    if on_phase is not None and workers != 1:
        raise ValueError("on_phase needs workers=1 (the phases of other processes are not visible here)")
    if reform is not None and database_url is not None:
        raise ValueError("a reform runs in a temporary store only, never in a given database")
    until = until or default_until(year)
    started, cpu = time.perf_counter(), _cpu_seconds()
    pop = population or generate(year, scale, seed, workers=workers)  # under the law, also for a reform
    workers = min(workers, max(1, len(pop)))  # no more processes than newcomers
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="inburgering-simulation-") as tmp, _law(reform):
        url = database_url or f"sqlite:///{tmp}/simulation.db"
        result = SimulationResult(year, scale, seed, until.isoformat(), _redact(url), via, persons=len(pop),
                                  reform=reform.name if reform else None)
        result.seconds["generate"] = round(generated - started, 3)
        engine = _bootstrap(url, pop)
        try:
            if workers == 1:
                plan = _Plan(pop.persons, until)
                door = _ApiDoor(engine, _settings(url)) if via == "api" else _EngineDoor(engine)
                try:
                    _walk_days(engine, door, plan, _first_day(pop), until, result, on_progress, on_phase=on_phase)
                finally:
                    door.close()
            else:
                _run_workers(pop, until, url, via, workers, result, on_progress, reform)
            _report(engine, pop, until, result, url=url if workers > 1 else None, reform=reform)
            _leave_clock(engine.db, brussels_instant(until + timedelta(days=1)))
        finally:
            engine.db.dispose()
    result.workers = workers
    result.seconds["total"] = round(time.perf_counter() - started, 3)
    result.seconds["cpu_total"] = round(_cpu_seconds() - cpu, 3)
    return result


def _leave_clock(db, end: datetime) -> None:
    """Leave the store's business clock where the simulated days ended, so ``serve``, ``sweep`` or the
    auditors' tools opened on the store later see the simulated dossiers on their own time (a store
    without a clock would get the wall clock and fire years of deadlines at once). A manual clock
    already past ``end`` stays where it is; a store that follows the wall clock is left alone."""
    clock = StoreClock.of_store(db, new_mode=MANUAL, start=end)
    if clock.mode == MANUAL and clock.now() < end:
        clock.advance_to(end)


def _law(reform):
    """The parameters in force for a run: the law, or the law with a reform's overrides."""
    from .reform import apply_overrides

    return apply_overrides(reform.overrides if reform else {})


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url


def _settings(url: str) -> Settings:
    """What ``serve`` would use on this store (the cache size from INBURGERING_CACHE_SIZE, default 4,096);
    no demo data, and a signing key of the simulation's own."""
    return Settings(database_url=url, jwt_secret=JWT_SECRET, demo_data=False,
                    cache_size=Settings.from_env().cache_size)


def _first_day(pop: Population) -> date:
    return min(p.start for p in pop.persons)


def _bootstrap(url: str, pop: Population):
    """The engine on the (migrated, deployed) store, which must hold no dossier yet."""
    from sqlmodel import Session, func, select

    from engine.models import Dossier
    from engine.service import bootstrap

    clock = ManualClock(brussels_instant(_first_day(pop), IMPORT_TIME))
    engine = bootstrap(_settings(url), clock, law=parameters.current())  # the law, or a reform's
    with Session(engine.db) as session:
        existing = session.exec(select(func.count()).select_from(Dossier)).one()
    if existing:
        engine.db.dispose()
        raise ValueError(f"simulate needs an empty store; {_redact(url)} holds {existing} dossiers")
    return engine


class _Plan:
    """Who is imported and which events happen on which day (for one worker's share of persons)."""

    def __init__(self, persons: list, until: date):
        self.imports_by_day: dict[date, list] = defaultdict(list)
        self.events_by_day: dict[date, list] = defaultdict(list)
        limit = until.isoformat()
        for person in persons:
            self.imports_by_day[person.start].append(person)
            for event in person.events:
                if event["on"] <= limit:
                    self.events_by_day[date.fromisoformat(event["on"])].append((person, event))
        self.total = len(persons) + sum(len(v) for v in self.events_by_day.values())
        self.agency = {p.id: geography.locate(p.newcomer["nis_code"]).agency for p in persons}


def _walk_days(engine, door, plan: _Plan, first: date, until: date, result: SimulationResult,
               on_progress: Optional[Progress], *, id_range=None, done_counter=None, day_value=None,
               on_phase: Optional[Phase] = None) -> None:
    """Every day from ``first`` to ``until``: imports at 00:00, the sweep at 02:00, events at 09:00.

    ``id_range``: the sweep fires only the dossiers of this worker (see :func:`_run_workers`)."""
    from timers.sweep import sweep

    clock = engine.clock

    timing = Counter()
    done = 0
    day = first
    while day <= until:
        clock.set(brussels_instant(day, IMPORT_TIME))
        t0 = time.perf_counter()
        for person in plan.imports_by_day.get(day, ()):
            status, body = door.import_newcomer(person.newcomer)
            if status == 201:
                result.imports[body["target_group"]] += 1
                result.planned_mismatches += body["target_group"] != person.plan["target_group"]
            else:
                result.errors.append({"dossier": person.id, "on": day.isoformat(), "type": "import",
                                      "status": status, "message": body.get("message")})
            done += 1
        timing["import"] += time.perf_counter() - t0
        if on_phase:
            on_phase("import", day)
        t1 = time.perf_counter()
        instant = brussels_instant(day, SWEEP_TIME)
        clock.set(instant)
        swept = sweep(engine, instant, id_range=id_range)
        result.sweeps += 1
        result.timers_fired += swept.timers
        result.sweep_dossiers += swept.dossiers
        for problem in swept.errors:
            result.errors.append({"dossier": problem["dossier"], "on": day.isoformat(), "type": "sweep",
                                  "status": 500, "message": problem["error"]})
        timing["sweep"] += time.perf_counter() - t1
        if on_phase:
            on_phase("sweep", day)
        t2 = time.perf_counter()
        clock.set(brussels_instant(day, EVENT_TIME))
        for person, event in plan.events_by_day.get(day, ()):
            body = {k: v for k, v in event.items() if k not in ("on", "type")}
            status, answer = door.event(person.id, event["type"], body, plan.agency[person.id])
            result.events += 1
            result.events_by_type[event["type"]] += 1
            if status >= 400:
                entry = {"dossier": person.id, "on": event["on"], "type": event["type"], "status": status,
                         "message": answer.get("message") or answer.get("detail")}
                (result.errors if status >= 500 else result.refused).append(entry)
            elif event["type"] == "moved":
                located = geography.locate(event["nis_code"])
                plan.agency[person.id] = located.agency if located else None
            done += 1
        timing["events"] += time.perf_counter() - t2
        if on_phase:
            on_phase("events", day)
        result.days += 1
        if done_counter is not None:
            done_counter.value = done
        if day_value is not None:
            day_value.value = day.toordinal()
        if on_progress:
            on_progress(done, plan.total, day)
        day += timedelta(days=1)
    for key, value in timing.items():
        result.seconds[key] = round(result.seconds.get(key, 0) + value, 3)
    stats = engine.cache.stats
    result.cache = {"hits": result.cache.get("hits", 0) + stats.hits,
                    "misses": result.cache.get("misses", 0) + stats.misses}


def _report(engine, pop: Population, until: date, result: SimulationResult, *, url: Optional[str] = None,
            reform=None) -> None:
    """The auditors' report of the year, the cohort figures and the reform outcomes, all from the journal.

    With ``url`` (a file or server store the walk used worker processes for), the cohort figures and
    the outcomes are computed in a process of their own while this one computes the report: the
    three read the journal independently, and on a second core the run's tail takes as long as
    the report alone instead of the sum (full year, 2026-12-04: report 16.7 s, cohort 7.5 s,
    outcomes 1 s, one after the other). That process runs under the same law (``reform``) as the
    walk. ``seconds["cohort_figures"]`` is then that process's own time, spent beside the report."""
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import nullcontext

    from engine import reports

    beside_pool = ProcessPoolExecutor(1, mp_context=workers_.spawn_context()) if url else nullcontext()
    with beside_pool as pool:
        beside = pool.submit(_cohort_and_outcomes_of_store, url, pop.year, until, reform) if pool else None
        t0 = time.perf_counter()
        result.report = reports.report(engine, pop.year)
        result.seconds["report"] = round(time.perf_counter() - t0, 3)
        result.cohort, result.outcomes, result.seconds["cohort_figures"] = (
            beside.result() if beside else _cohort_and_outcomes(engine, pop.year, until))
    result.comparison = calibration.compare(result.report, result.cohort)


def _cohort_and_outcomes(source, year: int, until: date) -> tuple[dict, dict, float]:
    """:func:`simulation.calibration.cohort_figures` and :func:`simulation.reform.outcomes` of ``source``
    (an Engine or an SQLAlchemy engine), under the law in force; and the seconds the cohort figures took."""
    from .reform import outcomes

    t0 = time.perf_counter()
    cohort = calibration.cohort_figures(source, year, until)
    seconds = round(time.perf_counter() - t0, 3)
    return cohort, outcomes(source), seconds


def _cohort_and_outcomes_of_store(url: str, year: int, until: date, reform=None) -> tuple[dict, dict, float]:
    """:func:`_cohort_and_outcomes` of the store at ``url`` under the law of the run (in a process of
    its own: :func:`_report`)."""
    from engine.db import make_engine

    db = make_engine(url)
    try:
        with _law(reform):
            return _cohort_and_outcomes(db, year, until)
    finally:
        db.dispose()


# ----------------------------------------------------------------------------- worker processes


def _run_workers(pop: Population, until: date, url: str, via: str, workers: int, result: SimulationResult,
                 on_progress: Optional[Progress], reform=None) -> None:
    """Split the persons over ``workers`` processes by ranges of dossier ids; merge their counts.

    Dossiers do not interact, so each worker walks the days on its own clock, imports and acts on
    its own persons, and its daily sweep fires only its own id range (``timers.sweep.sweep``'s
    ``id_range``): no worker ever touches another's dossiers, and business times stay in calendar
    order within every dossier. The workers share the store (SQLite included: engine commands
    decide outside the write lock and write in short transactions)."""
    context = workers_.spawn_context()
    persons = sorted(pop.persons, key=lambda p: p.id)
    # workers <= persons (simulate): every share is non-empty, so the id ranges tile the ids
    bounds = [len(persons) * index // workers for index in range(workers + 1)]
    shares = [persons[bounds[i]:bounds[i + 1]] for i in range(workers)]
    ranges = [(shares[i][0].id if i else None, shares[i + 1][0].id if i + 1 < workers else None)
              for i in range(workers)]
    counters = [context.Value("q", 0) for _ in shares]
    days = [context.Value("q", 0) for _ in shares]
    results = context.Queue()
    total = len(pop.persons) + pop.events(until)
    first = _first_day(pop)
    processes = [context.Process(target=_worker, name=f"simulation-worker-{index}",
                                 args=(share, first, until, url, via, index, ranges[index], counters[index],
                                       days[index], results, reform))
                 for index, share in enumerate(shares)]
    for process in processes:
        process.start()
    merged, failures = [], []
    try:
        for message in workers_.messages(processes, results):
            if message is not None:
                kind, payload = message
                (merged if kind == "ok" else failures).append(payload)
                if failures:
                    break  # stop the others now, not after they have walked the whole period
            if on_progress:
                slowest = min(d.value for d in days) or first.toordinal()
                on_progress(sum(c.value for c in counters), total, date.fromordinal(slowest))
            if len(merged) == len(processes):
                break
    finally:
        for process in processes:
            if failures:
                process.terminate()
            process.join(timeout=60)
    if failures:
        raise RuntimeError(f"simulation worker failed: {failures[0]}")
    for part in merged:
        _merge(result, part)


def _worker(persons: list, first: date, until: date, url: str, via: str, index: int, id_range, counter, day,
            results, reform=None) -> None:
    """One worker process: its share of the persons, every day, on its own clock (and law)."""
    try:
        with _law(reform):
            _work(persons, first, until, url, via, index, id_range, counter, day, results)
    except BaseException as err:  # noqa: BLE001 - reported to the parent, which terminates the others
        results.put((workers_.FAILED, f"worker {index}: {type(err).__name__}: {err}"))


def _work(persons: list, first: date, until: date, url: str, via: str, index: int, id_range, counter, day,
          results) -> None:
    from engine.service import bootstrap

    clock = ManualClock(brussels_instant(first, IMPORT_TIME))
    engine = bootstrap(_settings(url), clock, law=parameters.current())  # the law, or a reform's
    door = _ApiDoor(engine, _settings(url)) if via == "api" else _EngineDoor(engine)
    heap.settle()  # a long-running process, as `serve` (engine/heap.py)
    part = SimulationResult(0, 0, 0, until.isoformat(), "", via)
    try:
        _walk_days(engine, door, _Plan(persons, until), first, until, part, None, id_range=id_range,
                   done_counter=counter, day_value=day)
    finally:
        door.close()
        engine.db.dispose()
    results.put(("ok", part.to_dict()))


def _merge(result: SimulationResult, part: dict) -> None:
    result.imports.update(part["imports"])
    result.events += part["events"]
    result.events_by_type.update(part["events_by_type"])
    result.refused.extend(part["refused"])
    result.errors.extend(part["errors"])
    result.planned_mismatches += part["planned_mismatches"]
    result.days = max(result.days, part["days"])
    result.sweeps = max(result.sweeps, part["sweeps"])  # daily sweeps (each worker sweeps its share daily)
    result.timers_fired += part["timers_fired"]
    result.sweep_dossiers += part["sweep_dossiers"]
    for key in ("import", "sweep", "events"):  # the slowest worker's
        result.seconds[key] = max(result.seconds.get(key, 0), part["seconds"].get(key, 0))
    for key, value in part["cache"].items():
        result.cache[key] = result.cache.get(key, 0) + value


def format_result(result: SimulationResult, *, with_report: bool = True) -> str:
    """The auditors' report of the year, then simulated vs published, then the run's figures."""
    from engine import reports

    out = []
    if with_report and result.report:
        out.append(reports.format_table(result.report))
    out.append(calibration.format_comparison(
        result.comparison, f"Simulated {result.year} (scale {result.scale}, seed {result.seed}) vs published "
                           f"(seed {calibration.SEED}); report = engine.reports.report({result.year}), "
                           f"cohort = the {result.year} inflow followed to {result.until}"))
    s = result.seconds
    steps = result.steps
    engine_seconds = s.get("import", 0) + s.get("events", 0) + s.get("sweep", 0)
    out.append(
        f"{result.persons} newcomers ({', '.join(f'{k} {v}' for k, v in sorted(result.imports.items()))}); "
        f"{result.events} events via {result.via}; {result.days} daily sweeps fired {result.timers_fired} timers "
        f"in {result.sweep_dossiers} dossiers; refused {len(result.refused)}, errors {len(result.errors)}, "
        f"planned/decided target-group mismatches {result.planned_mismatches}")
    out.append(
        f"time: generate {s.get('generate', 0):.1f} s, import {s.get('import', 0):.1f} s, events "
        f"{s.get('events', 0):.1f} s, sweeps {s.get('sweep', 0):.1f} s, report {s.get('report', 0):.1f} s, "
        f"cohort {s.get('cohort_figures', 0):.1f} s, total {s.get('total', 0):.1f} s "
        f"(CPU {s.get('cpu_total', 0):.1f} s); "
        f"{steps} steps, {steps / engine_seconds if engine_seconds else 0:.1f} steps/s "
        f"({1000 * engine_seconds / steps if steps else 0:.1f} ms per step)")
    for kind, items in (("refused", result.refused), ("error", result.errors)):
        for item in items[:5]:
            out.append(f"  {kind}: {json.dumps(item)}")
    return "\n".join(out) + "\n"
