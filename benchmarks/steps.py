"""Engine step vs bare SpiffWorkflow, like for like, in the two modes a real deployment has.

    .venv/bin/python -m benchmarks.steps [--trajectories 60] [--json FILE]

What is compared (the same on both sides):

* **Model and events.** ``processes/trajectory.bpmn``; one ``start`` (import: the instance is
  created, runs to the first user task and is stored) and then the seven user tasks of one
  trajectory — register, intake, contract (mo, nt2, vdab, pnt), VDAB, MO, NT2, PNT — which
  end waiting at the B1 timer (checked on both sides).
* **Storage.** Each side has its own SQLite file with the engine's connection settings
  (WAL, ``synchronous=NORMAL``, ``BEGIN IMMEDIATE`` for writes, the log checkpointed by the
  engine's background thread: ``engine/walcheckpoint.py``) and writes **one transaction
  per step**. Bare Spiff stores the instance state in the engine's at-rest format (Spiff's
  workflow converter without the spec, JSON by orjson, zlib level 6 with an 8 KiB window: ``engine/atrest.py``), one row per instance, through the
  plain ``sqlite3`` module, and runs Spiff's own ``BpmnWorkflow`` class, tasks and script
  environment (the engine's instances are its subclass with faster tree walks, its own
  parallel-gateway join and tasks that build Spiff's log records only when the logger would
  write them, ``engine/taskwalk.py``; tasks read from a state get int ids; its script
  environment compiles each expression once, ``engine/spiff.py``; each held equal to Spiff's by
  oracle tests); the engine writes
  what it always writes (dossier row with the aggregate, journal entries, instance state,
  due-date index), with its statements built once and run on the driver's cursor
  (``engine/driver.py``).
* **Mode "memory"** — the instance stays in memory between steps on both sides and is saved
  after each step: the engine with its dossier cache (``cache_size`` 4,096, the default; every
  dossier of the run fits) vs bare Spiff keeping the ``BpmnWorkflow`` object, serialising it
  and writing it each step.
* **Mode "rebuild"** — the instance is rebuilt from storage for every step on both sides: the
  engine with its cache off (``cache_size=0``, ``INBURGERING_CACHE_SIZE=0``: what every cache
  miss costs — a dossier beyond the 4,096 most recent, or any dossier after a restart) vs bare
  Spiff reading the row in a read transaction, decompressing and deserialising it (against the
  spec parsed once, as the engine's process repository does), then stepping and saving.

Bare Spiff is the stock ``SpiffBpmnParser`` spec with a script engine whose ``call_service``
returns a fixed answer per operation (the engine runs real rules there) and whose ``due`` keeps
every timer waiting; it journals nothing. The engine side is ``Engine.handle`` (validation,
access, aggregate, rules, BPMN, journal with hash chain, due index, optimistic version check).

Rounds are interleaved: each trajectory runs once in each of the four variants, in an order
that rotates per round, so all four see the same machine load. Per step we take wall time
(``time.perf_counter``) and CPU time of this process (``time.process_time``); we report medians.
The ratio the target is about is engine / bare **per mode**, on the CPU medians (the machine is
shared; wall medians are given beside them). Python's default GC thresholds on both sides.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from datetime import date, time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine import walcheckpoint  # noqa: E402

#: The user tasks of one trajectory, as engine events and as BPMN user-task ids with their data.
STEPS = [
    ("registered", {}, "register", {}),
    ("intake", {"advice": "cvo_standard"}, "intake", {"advice": "cvo_standard"}),
    ("contract_signed", {"components": ["mo", "nt2", "vdab", "pnt"]}, "contract",
     {"components": ["mo", "nt2", "vdab", "pnt"]}),
    ("vdab_registered", {}, "vdab", {"fulfilled_by": "vdab_registered"}),
    ("test_result", {"component": "mo", "core_percent": 80, "total_percent": 75}, "mo", {"fulfilled_by": "mo_test"}),
    ("test_result", {"component": "nt2", "level": "A2"}, "nt2", {"fulfilled_by": "nt2_test"}),
    ("pnt_hours", {"hours": 40}, "pnt", {"fulfilled_by": "pnt_hours"}),
]
MODES = ("memory", "rebuild")
VARIANTS = ("engine:memory", "bare:memory", "engine:rebuild", "bare:rebuild")
STOCK_RESULTS = {"decide_target_group": {"target_group": "obligated", "reasons": []},
                 "issue_attest": {"b1_in_scope": True}, "establish_infraction": {"infraction": None},
                 "b1_check": {"outcome": "exempt"}}


def newcomer(dossier_id: str) -> dict:
    return {"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"], "residence": "recognised_refugee",
            "nis_code": "31005", "obligation_start": "2024-01-10"}


def sqlite_connect(path: Path, owner: object) -> sqlite3.Connection:
    """A connection with the engine's settings (engine/db.py): WAL, synchronous=NORMAL, autocommit mode
    (the transactions are begun explicitly), the log checkpointed by the same background thread as
    the engine's stores for as long as ``owner`` lives (engine/walcheckpoint.py)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA wal_autocheckpoint={walcheckpoint.WRITER_PAGES}")
    walcheckpoint.register(str(path), owner)
    return conn


class BareSpiff:
    """Bare SpiffWorkflow 3.2.0 on ``trajectory.bpmn``, persisting each step to its own SQLite file."""

    def __init__(self, path: Path):
        from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
        from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

        from engine import spiff as engine_spiff  # its state-only (de)serializer: the engine's at-rest format

        class StubEngine(PythonScriptEngine):
            def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
                return json.dumps(STOCK_RESULTS.get(operation_name, {}))

        self.script_engine = StubEngine(environment=TaskDataEnvironment(
            {"due": lambda name: "2999-01-01T00:00:00+00:00"}))
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(ROOT / "processes" / "trajectory.bpmn"))
        self.spec = parser.get_spec("trajectory")
        from engine import atrest  # the engine's JSON (orjson) and compression (zlib level 6, 8 KiB window)

        self._dump, self._load = engine_spiff.dump_state, engine_spiff.load_state
        self._compress, self._dumps, self._loads = atrest.compress, atrest.dumps, atrest.loads
        self.conn = sqlite_connect(path, self)
        self.conn.execute("CREATE TABLE IF NOT EXISTS instance (id TEXT PRIMARY KEY, state BLOB NOT NULL)")
        self.live: dict[str, object] = {}  # memory mode: the workflow objects

    def close(self) -> None:
        walcheckpoint.release(self)
        self.conn.close()

    def prefill(self, count: int) -> None:
        """``count`` other instances waiting at registration (copies of one), so the store is not a toy."""
        from SpiffWorkflow.bpmn import BpmnWorkflow

        workflow = BpmnWorkflow(self.spec, script_engine=self.script_engine)
        workflow.do_engine_steps()
        blob = self._pack(workflow)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT INTO instance (id, state) VALUES (?, ?)",
                              ((f"BULK-{i:07}", blob) for i in range(count)))
        self.conn.execute("COMMIT")

    def _pack(self, workflow) -> bytes:
        return self._compress(self._dumps(self._dump(workflow)))

    def _write(self, key: str, blob: bytes, insert: bool) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if insert:
                self.conn.execute("INSERT INTO instance (id, state) VALUES (?, ?)", (key, blob))
            else:
                self.conn.execute("UPDATE instance SET state = ? WHERE id = ?", (blob, key))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def _read(self, key: str):
        from SpiffWorkflow.bpmn import BpmnWorkflow

        self.conn.execute("BEGIN")
        try:
            blob = self.conn.execute("SELECT state FROM instance WHERE id = ?", (key,)).fetchone()[0]
        finally:
            self.conn.execute("COMMIT")
        workflow = self._load(self._loads(zlib.decompress(blob)), self.spec, cls=BpmnWorkflow)  # Spiff's own class
        workflow.script_engine = self.script_engine
        return workflow

    def start(self, key: str, mode: str) -> None:
        from SpiffWorkflow.bpmn import BpmnWorkflow

        workflow = BpmnWorkflow(self.spec, script_engine=self.script_engine)
        workflow.do_engine_steps()
        self._write(key, self._pack(workflow), insert=True)
        if mode == "memory":
            self.live[key] = workflow

    def step(self, key: str, mode: str, task_name: str, data: dict) -> None:
        from SpiffWorkflow.util.task import TaskState

        workflow = self.live[key] if mode == "memory" else self._read(key)
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == task_name)
        task.data.update(data)
        task.run()
        workflow.refresh_timers()
        workflow.do_engine_steps()
        self._write(key, self._pack(workflow), insert=False)

    def waiting(self, key: str, mode: str) -> list[str]:
        from SpiffWorkflow.util.task import TaskState

        workflow = self.live.pop(key) if mode == "memory" else self._read(key)
        return sorted(t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING))


class EngineSide:
    """``Engine.handle`` on its own SQLite store, with the dossier cache at ``cache_size``."""

    def __init__(self, path: Path, cache_size: int):
        from engine.clock import ManualClock, brussels_instant
        from engine.service import Actor, bootstrap
        from engine.settings import Settings

        clock = ManualClock(brussels_instant(date(2024, 1, 10), dtime(9)))
        self.url = f"sqlite:///{path}"
        self.engine = bootstrap(Settings(database_url=self.url, demo_data=False, cache_size=cache_size), clock)
        self.actor = Actor("bench", "caseworker", "agii")

    def close(self) -> None:
        self.engine.db.dispose()

    def prefill(self, count: int) -> None:
        """``count`` other dossiers waiting at registration: copies of one imported template (rows of
        dossier, instance, due index and journal; see benchmarks/sweep_ratio.py)."""
        from benchmarks import sweep_ratio

        self.engine.import_newcomer(sweep_ratio.newcomer(sweep_ratio.TEMPLATE_ID, "2024-01-10"))
        sweep_ratio.add_copies(self.url, count - 1, with_journal=True)

    def start(self, key: str, mode: str) -> None:
        self.engine.import_newcomer(newcomer(key))

    def step(self, key: str, mode: str, event: str, body: dict) -> None:
        self.engine.handle(key, event, body, actor=self.actor)

    def waiting(self, key: str, mode: str) -> list[str]:
        return [t["timer"] for t in self.engine.dossier_view(key)["timers"]]


def _timed(fn, *args) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def run(trajectories: int = 60, warm: int = 3, store: int = 10_000, log=print) -> dict:
    """Measure the four variants, interleaved; return medians and ratios.

    ``store``: other waiting trajectories in each of the four stores before the measured ones."""
    from engine.cache import DEFAULT_CAPACITY

    samples = {v: {"start_wall": [], "start_cpu": [], "step_wall": [], "step_cpu": []} for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        tmp = Path(tmp)
        sides = {"engine:memory": EngineSide(tmp / "engine-memory.db", DEFAULT_CAPACITY),
                 "engine:rebuild": EngineSide(tmp / "engine-rebuild.db", 0),
                 "bare:memory": BareSpiff(tmp / "bare-memory.db"),
                 "bare:rebuild": BareSpiff(tmp / "bare-rebuild.db")}
        if trajectories + warm > DEFAULT_CAPACITY:
            raise ValueError(f"memory mode needs every dossier in the cache: at most {DEFAULT_CAPACITY - warm}")
        try:
            if store:
                log(f"   filling each store with {store:,} other waiting trajectories")
                for side in sides.values():
                    side.prefill(store)
            for n in range(warm + trajectories):
                order = VARIANTS[n % 4:] + VARIANTS[:n % 4]  # rotate who goes first
                for variant in order:
                    side, mode = sides[variant], variant.split(":")[1]
                    key = f"T{n:05d}"
                    wall, cpu = _timed(side.start, key, mode)
                    walls, cpus = [], []
                    for event, body, task_name, data in STEPS:
                        if variant.startswith("engine"):
                            w, c = _timed(side.step, key, mode, event, body)
                        else:
                            w, c = _timed(side.step, key, mode, task_name, data)
                        walls.append(w)
                        cpus.append(c)
                    waiting = side.waiting(key, mode)
                    if waiting != ["b1_due"]:  # both sides end at the same place: waiting for the B1 check
                        raise AssertionError(f"{variant} {key}: waiting at {waiting}, not at b1_due")
                    if n >= warm:
                        s = samples[variant]
                        s["start_wall"].append(wall)
                        s["start_cpu"].append(cpu)
                        s["step_wall"].extend(walls)
                        s["step_cpu"].extend(cpus)
                if n >= warm and (n + 1 - warm) % 20 == 0:
                    log(f"   {n + 1 - warm}/{trajectories} trajectories in each variant")
            cache = sides["engine:memory"].engine.cache.stats
            cache_stats = {"hits": cache.hits, "misses": cache.misses}
            anatomy = {mode: step_anatomy(sides[f"engine:{mode}"].engine, sides[f"engine:{mode}"].actor,
                                          max(5, trajectories // 4), f"A{mode[0].upper()}")
                       for mode in MODES}
        finally:
            for side in sides.values():
                side.close()
    out: dict = {"trajectories": trajectories, "steps_each": len(STEPS), "warm_up": warm, "store": store,
                 "variants": {},
                 "engine_cache_memory_mode": cache_stats, "anatomy": anatomy}
    for variant, s in samples.items():
        out["variants"][variant] = {
            "step_ms": statistics.median(s["step_wall"]) * 1000, "step_cpu_ms": statistics.median(s["step_cpu"]) * 1000,
            "step_mean_ms": statistics.mean(s["step_wall"]) * 1000,
            "step_p90_ms": sorted(s["step_wall"])[int(0.9 * len(s["step_wall"]))] * 1000,
            "start_ms": statistics.median(s["start_wall"]) * 1000,
            "start_cpu_ms": statistics.median(s["start_cpu"]) * 1000, "steps": len(s["step_wall"])}
    for mode in MODES:
        e, b = out["variants"][f"engine:{mode}"], out["variants"][f"bare:{mode}"]
        out[f"ratio_{mode}_cpu"] = e["step_cpu_ms"] / b["step_cpu_ms"]
        out[f"ratio_{mode}_wall"] = e["step_ms"] / b["step_ms"]
        out[f"ratio_{mode}_start_cpu"] = e["start_cpu_ms"] / b["start_cpu_ms"]
    return out


def step_anatomy(engine, actor, trajectories: int, prefix: str) -> dict:
    """Where one ``Engine.handle`` spends its time (mean ms per step): timing wrappers around its parts."""
    import engine.spiff as spiff_module
    from engine.context import DossierContext

    spent: dict[str, float] = {}
    originals = []

    def wrap(owner, name, label):
        original = getattr(owner, name)
        originals.append((owner, name, original))

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - began
        setattr(owner, name, timed)

    wrap(engine, "handle", "total")
    wrap(spiff_module, "load_state", "spiff_deserialize")
    wrap(spiff_module, "dump_state", "spiff_serialize")
    wrap(spiff_module, "run", "spiff_run")
    wrap(engine, "_load_for_command", "load (cache or read snapshot)")
    wrap(DossierContext, "prepare", "prepare (rows in memory)")
    wrap(DossierContext, "write", "write (SQL in the write transaction)")
    wrap(engine, "_commit", "commit (prepare + write + COMMIT)")
    try:
        for n in range(trajectories):
            dossier = f"{prefix}{n:05d}"
            engine.import_newcomer(newcomer(dossier))
            for event, body, _, _ in STEPS:
                engine.handle(dossier, event, body, actor=actor)
    finally:
        for owner, name, original in reversed(originals):
            if owner is engine:
                delattr(owner, name)  # the bound method again
            else:
                setattr(owner, name, original)
    steps = trajectories * len(STEPS)
    out = {k: v * 1000 / steps for k, v in spent.items()}
    out["prepare_rest (timers, aggregate JSON, journal chain, zlib)"] = (
        out.get("prepare (rows in memory)", 0) - out.get("spiff_serialize", 0))
    out["outside load/commit (validation, handler incl. spiff_run)"] = (
        out.get("total", 0) - out.get("load (cache or read snapshot)", 0)
        - out.get("commit (prepare + write + COMMIT)", 0))
    # spiff_run is also called at import; these are per handled step, with the wrappers' own cost
    return out


def format_result(out: dict) -> str:
    lines = [f"{out['trajectories']} trajectories x {out['steps_each']} user tasks per variant, interleaved "
             f"({out['warm_up']} warm-up trajectories not counted), each store holding {out['store']:,} other "
             "waiting trajectories"]
    for variant, r in out["variants"].items():
        lines.append(f"  {variant:15s} step median {r['step_cpu_ms']:.2f} ms CPU, {r['step_ms']:.2f} ms wall "
                     f"(p90 {r['step_p90_ms']:.2f}); start {r['start_cpu_ms']:.2f} ms CPU")
    for mode in MODES:
        lines.append(f"  engine / bare, {mode:7s}: {out[f'ratio_{mode}_cpu']:.2f}x CPU, "
                     f"{out[f'ratio_{mode}_wall']:.2f}x wall (start {out[f'ratio_{mode}_start_cpu']:.2f}x CPU)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=60, help="trajectories per variant (default 60)")
    parser.add_argument("--store", type=int, default=10_000,
                        help="other waiting trajectories in each store before measuring (default 10,000)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    out = run(args.trajectories, store=args.store)
    print(format_result(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
