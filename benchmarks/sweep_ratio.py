"""Does the sweep's cost follow the number of DUE timers, not the number of instances?

ENGINEERING.md principle 3: the sweep reads the due-date index (``due_timer.due_at <=
now``) and never scans instances. This script builds two stores with the same 1,000
due dossiers — one with 10,000 open trajectory instances in all, one with 200,000 —
times one sweep over the 1,000 due timers in each, and prints both times and their
ratio (target: large / small <= 1.2).

    python benchmarks/sweep_ratio.py            # 1,000 due among 10,000 vs 200,000 (SQLite files)
    python benchmarks/sweep_ratio.py --small    # 1,000 due among 2,000 vs 20,000 (quick)
    python benchmarks/sweep_ratio.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test

How the stores are built. The 1,000 due dossiers are real imports
(``Engine.import_newcomer``, obligation start 2024-01-31: registration deadline due
2024-05-01 00:00 Brussels; the sweep runs at 2024-05-01 02:00). One template dossier
is imported too (obligation start 2024-03-01). Building 200,000 instances through the
import would take hours (the script measures and prints one import's time), so the
bulk of the non-due instances are copies of the template's rows — ``dossier``,
``instance``, ``due_timer`` and (unless ``--no-journal``) ``journal_entry`` — inserted
with executemany under new ids, their ``due_at`` / ``next_due_at`` spread over the
365 days after the template's due day, so the due-date index has a realistic size and
shape. (The copies' journal hashes are not recomputed: these stores are for timing
only.) On SQLite the due part is built once and the store files are copied; each
measurement runs on a fresh copy of the pristine store, alternating small and large.
No ``ANALYZE`` is run on the stores (the engine never runs it, so a user's store has no
planner statistics); ``--analyze`` adds it, for comparison only.
Each sweep runs as ``inburgering sweep`` and ``sweeper`` run it: the engine's start-up objects
frozen out of the garbage collector's way first (``engine.heap.settled``).
On PostgreSQL each store is a schema of its own (dropped at the end unless ``--keep``)
and is measured once: a sweep changes the store.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine import heap  # noqa: E402
from engine.clock import ManualClock, brussels_instant  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import Dossier, DueTimer, Instance, JournalEntry  # noqa: E402
from engine.service import bootstrap  # noqa: E402
from engine.settings import Settings  # noqa: E402
from timers.sweep import SWEEP_TIME, due_dossiers, sweep  # noqa: E402

DUE_START = "2024-01-31"          # registration deadline fires 2024-05-01 00:00 Brussels
TEMPLATE_START = "2024-03-01"     # registration deadline fires 2024-06-01 00:00 Brussels
SWEEP_AT = brussels_instant(date(2024, 5, 1), SWEEP_TIME)
TEMPLATE_ID = "TPL-0000000"
DAY = 86400
BATCH = 5000


def newcomer(dossier_id: str, start: str) -> dict:
    return {"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
            "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": start}


def log(message: str) -> None:
    print(message, flush=True)


# ----------------------------------------------------------------------------- building

def import_due_part(url: str, due: int) -> list[float]:
    """The template and the due dossiers, through the real import; returns each due import's seconds."""
    clock = ManualClock(brussels_instant(date(2024, 1, 31), dtime(9)))
    engine = bootstrap(Settings(database_url=url, demo_data=False), clock)
    try:
        engine.import_newcomer(newcomer(TEMPLATE_ID, TEMPLATE_START))
        seconds = []
        for i in range(due):
            started = time.perf_counter()
            engine.import_newcomer(newcomer(f"DUE-{i:05}", DUE_START))
            seconds.append(time.perf_counter() - started)
            if (i + 1) % 250 == 0:
                log(f"    imported {i + 1}/{due} due newcomers")
        return seconds
    finally:
        engine.db.dispose()


def _rows(conn, model, column: str) -> list[dict]:
    table = model.__table__
    return [dict(row._mapping) for row in conn.execute(table.select().where(table.c[column] == TEMPLATE_ID))]


AGENCIES = ("atlas", "amal", "agii")


def add_copies(url: str, copies: int, *, with_journal: bool, identical: bool = False) -> float:
    """``copies`` non-due dossiers copied from the template; returns the seconds it took.

    The copies' ``agency`` column is spread over the three agencies (the template's is agii),
    so that a worklist query sees an agency's realistic share of the store, not all of it, and
    their due dates over 365 days. ``identical``: neither (exact copies under another id, for a
    store the engine then works on: benchmarks/open_loop.py)."""
    started = time.perf_counter()
    db = make_engine(url)
    try:
        with db.begin() as conn:
            dossier = _rows(conn, Dossier, "id")[0]
            instances = _rows(conn, Instance, "dossier_id")
            timers = _rows(conn, DueTimer, "dossier_id")
            entries = _rows(conn, JournalEntry, "dossier_id") if with_journal else []
        base_due = dossier["next_due_at"]
        for first in range(0, copies, BATCH):
            batch = range(first, min(first + BATCH, copies))
            rows = {Dossier: [], Instance: [], DueTimer: [], JournalEntry: []}
            for i in batch:
                new_id = f"BULK-{i:07}"
                shift = 0 if identical else (i % 365) * DAY  # due on one of the 365 days from the template's

                def swap(value):
                    return value.replace(TEMPLATE_ID, new_id) if isinstance(value, str) else value

                rows[Dossier].append({**dossier, "id": new_id, "state": swap(dossier["state"]),
                                      "next_due_at": base_due + shift,
                                      "agency": dossier["agency"] if identical else AGENCIES[i % 3]})
                rows[Instance].extend({**r, "id": swap(r["id"]), "dossier_id": new_id} for r in instances)
                rows[DueTimer].extend({**{k: v for k, v in r.items() if k != "id"}, "dossier_id": new_id,
                                       "instance_id": swap(r["instance_id"]), "due_at": r["due_at"] + shift}
                                      for r in timers)
                rows[JournalEntry].extend({**{k: v for k, v in r.items() if k != "id"}, "dossier_id": new_id,
                                           "payload": swap(r["payload"])} for r in entries)
            with db.begin() as conn:
                for model in (Dossier, Instance, DueTimer, JournalEntry):  # parents first (foreign keys)
                    if rows[model]:
                        conn.execute(model.__table__.insert(), rows[model])
            done = batch.stop
            if done % 50000 == 0 or done == copies:
                log(f"    copied {done}/{copies} template dossiers")
    finally:
        db.dispose()
    return time.perf_counter() - started


def count_instances(url: str) -> tuple[int, int]:
    db = make_engine(url)
    try:
        with db.connect() as conn:
            waiting = conn.execute(text("select count(*) from instance where status = 'waiting'")).scalar()
            due = conn.execute(text("select count(*) from due_timer where due_at <= :t"),
                               {"t": int(SWEEP_AT.timestamp())}).scalar()
        return waiting, due
    finally:
        db.dispose()


def checkpoint(path: Path, analyze: bool = False) -> None:
    """Fold the WAL into the main file, so that a plain file copy is the whole store.

    No ``ANALYZE`` unless asked: the engine never runs it, so the query planner works without
    statistics in a user's store, and so it must here (``--analyze`` shows the difference)."""
    conn = sqlite3.connect(path)
    try:
        # the engine's background checkpoint (engine/walcheckpoint.py) may be copying the same log
        # right now: a checkpoint refused as busy has not folded everything in, so try again
        for _ in range(200):
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError:  # "database is locked"
                busy = 1
            if not busy:
                break
            time.sleep(0.05)
        else:
            raise SystemExit(f"could not fold the log of {path} into the file (busy for 10 s)")
        if analyze:
            conn.execute("ANALYZE")
    finally:
        conn.close()


# ----------------------------------------------------------------------------- measuring

def measure(url: str, due: int, queries: list[float] | None = None) -> float:
    """Seconds of one sweep at SWEEP_AT; appends the median time of the due-index query to ``queries``."""
    engine = bootstrap(Settings(database_url=url, demo_data=False), ManualClock(SWEEP_AT))
    try:
        if queries is not None:  # the candidate query alone (read-only), before the sweep changes the store
            runs = []
            for _ in range(21):
                started = time.perf_counter()
                found = due_dossiers(engine, SWEEP_AT)
                runs.append(time.perf_counter() - started)
            assert len(found) == min(due, 500), len(found)
            queries.append(statistics.median(runs))
        with heap.settled():  # as `inburgering sweep` and `sweeper` run it (engine/heap.py)
            started = time.perf_counter()
            report = sweep(engine, SWEEP_AT)
            seconds = time.perf_counter() - started
    finally:
        engine.db.dispose()
    if report.errors or report.timers != due:
        raise SystemExit(f"sweep fired {report.timers} timers (expected {due}); errors: {report.errors[:3]}")
    return seconds


# ----------------------------------------------------------------------------- the two backends

def run_sqlite(sizes: dict[str, int], due: int, repeat: int, workdir: Path, with_journal: bool, *,
               analyze: bool = False, on_built=None) -> dict:
    """``on_built(label, path)`` is called with each pristine store once it is built (it must not
    change it: copy it first)."""
    base = workdir / "base.db"
    log(f"building the due part in {base}")
    imports = import_due_part(f"sqlite:///{base}", due)
    checkpoint(base)
    pristine = {}
    for label, total in sizes.items():
        path = workdir / f"store-{label}.db"
        shutil.copyfile(base, path)
        log(f"building store {label}: {total:,} open instances ({total - due - 1:,} copies of the template)")
        seconds = add_copies(f"sqlite:///{path}", total - due - 1, with_journal=with_journal)
        checkpoint(path, analyze)
        waiting, due_now = count_instances(f"sqlite:///{path}")
        log(f"    {waiting:,} waiting instances, {due_now:,} due timers, {path.stat().st_size / 1e6:,.0f} MB, "
            f"built in {seconds:.1f} s")
        pristine[label] = path
        if on_built is not None:
            on_built(label, path)
    times: dict[str, list[float]] = {label: [] for label in sizes}
    queries: dict[str, list[float]] = {label: [] for label in sizes}
    work = workdir / "work.db"
    for round_ in range(repeat):
        for label in (sizes if round_ % 2 == 0 else list(reversed(list(sizes)))):
            for suffix in ("-wal", "-shm"):
                Path(str(work) + suffix).unlink(missing_ok=True)
            shutil.copyfile(pristine[label], work)
            seconds = measure(f"sqlite:///{work}", due, queries[label])
            times[label].append(seconds)
            log(f"    round {round_ + 1}: sweep of {due} due timers in store {label}: {seconds:.3f} s")
    return {"imports": imports, "times": times, "queries": queries}


def run_postgres(url: str, sizes: dict[str, int], due: int, with_journal: bool, keep: bool, *,
                 analyze: bool = False) -> dict:
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]
    sep = "&" if "?" in url else "?"
    schemas = {label: f"bench_{label}_{uuid.uuid4().hex[:8]}" for label in sizes}
    urls = {label: f"{url}{sep}options=-csearch_path%3D{schema}" for label, schema in schemas.items()}
    with psycopg.connect(libpq, autocommit=True) as conn:
        for schema in schemas.values():
            conn.execute(f'create schema "{schema}"')
    imports: list[float] = []
    times: dict[str, list[float]] = {}
    queries: dict[str, list[float]] = {label: [] for label in sizes}
    try:
        for label, total in sizes.items():
            log(f"building store {label} in schema {schemas[label]}: {total:,} open instances")
            imports += import_due_part(urls[label], due)
            seconds = add_copies(urls[label], total - due - 1, with_journal=with_journal)
            if analyze:  # not what a user gets (autovacuum may analyze on its own schedule)
                with psycopg.connect(libpq, autocommit=True) as conn:
                    conn.execute(f'analyze "{schemas[label]}".due_timer')
                    conn.execute(f'analyze "{schemas[label]}".dossier')
            waiting, due_now = count_instances(urls[label])
            log(f"    {waiting:,} waiting instances, {due_now:,} due timers, copies built in {seconds:.1f} s")
        for label in sizes:
            seconds = measure(urls[label], due, queries[label])
            times[label] = [seconds]
            log(f"    sweep of {due} due timers in store {label}: {seconds:.3f} s")
    finally:
        if keep:
            log(f"kept schemas {', '.join(schemas.values())}")
        else:
            with psycopg.connect(libpq, autocommit=True) as conn:
                for schema in schemas.values():
                    conn.execute(f'drop schema if exists "{schema}" cascade')
    return {"imports": imports, "times": times, "queries": queries}


def machine(database: str | None) -> str:
    parts = [f"nproc={os.cpu_count()}", f"python={platform.python_version()} ({platform.python_implementation()})",
             f"platform={platform.platform()}"]
    if database:
        import psycopg
        libpq = database.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]
        with psycopg.connect(libpq) as conn:
            parts.append("postgresql=" + conn.execute("show server_version").fetchone()[0])
    else:
        parts.append(f"sqlite={sqlite3.sqlite_version}")
    try:
        parts.append("loadavg=" + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    except OSError:
        pass
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="1,000 due among 2,000 vs 20,000 (quick run)")
    parser.add_argument("--database", metavar="URL", help="a PostgreSQL URL (default: SQLite files in a temp dir)")
    parser.add_argument("--due", type=int, default=1000, help="number of due dossiers (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per store on SQLite (median)")
    parser.add_argument("--no-journal", action="store_true", help="do not copy the template's journal entries")
    parser.add_argument("--workdir", type=Path, help="where the SQLite stores go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the stores (files or schemas)")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after building the stores (the "
                        "engine never does: not what a user gets; for comparison only)")
    args = parser.parse_args(argv)

    sizes = {"small": 2_000, "large": 20_000} if args.small else {"small": 10_000, "large": 200_000}
    if any(total <= args.due + 1 for total in sizes.values()):
        parser.error("each store must hold more instances than the due ones")
    log(f"command: {sys.executable} {' '.join(sys.argv if argv is None else ['sweep_ratio.py', *argv])}")
    log(f"machine: {machine(args.database)}")
    log(f"stores: {', '.join(f'{k} = {v:,} open instances' for k, v in sizes.items())}; "
        f"{args.due:,} due at {SWEEP_AT.isoformat()}")
    started = time.perf_counter()
    if args.database:
        result = run_postgres(args.database, sizes, args.due, not args.no_journal, args.keep, analyze=args.analyze)
    else:
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sweep_ratio_"))
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            result = run_sqlite(sizes, args.due, max(1, args.repeat), workdir, not args.no_journal,
                                analyze=args.analyze)
        finally:
            if args.keep:
                log(f"kept the stores in {workdir}")
            elif args.workdir is None:
                shutil.rmtree(workdir, ignore_errors=True)

    imports = result["imports"]
    median_import = statistics.median(imports)
    small = statistics.median(result["times"]["small"])
    large = statistics.median(result["times"]["large"])
    ratio = large / small
    log("")
    log(f"one import_newcomer: median {median_import * 1000:.1f} ms (of {len(imports)}); building "
        f"{sizes['large']:,} instances by import alone would take ~{median_import * sizes['large'] / 60:.0f} min")
    log(f"sweep of {args.due:,} due timers, {sizes['small']:,} instances: {small:.3f} s "
        f"({small / args.due * 1000:.1f} ms per due dossier; runs: "
        f"{', '.join(f'{t:.3f}' for t in result['times']['small'])})")
    log(f"sweep of {args.due:,} due timers, {sizes['large']:,} instances: {large:.3f} s "
        f"({large / args.due * 1000:.1f} ms per due dossier; runs: "
        f"{', '.join(f'{t:.3f}' for t in result['times']['large'])})")
    log(f"ratio large / small: {ratio:.3f} (target <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'})")
    q_small = statistics.median(result["queries"]["small"]) * 1000
    q_large = statistics.median(result["queries"]["large"]) * 1000
    log(f"due-index query alone (first page of candidates, median of 21): {q_small:.2f} ms vs {q_large:.2f} ms "
        f"(ratio {q_large / q_small:.2f})")
    log(f"total run time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
