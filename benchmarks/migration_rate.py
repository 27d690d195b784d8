"""How many instances per second ``inburgering migrate`` moves to a new process version.

    python -m benchmarks.migration_rate [--instances N] [--database URL]

Builds N trajectories (half waiting in the registration, half in the component phase) in a
fresh store — a temporary SQLite file, or the PostgreSQL schema/database given — deploys a
changed trajectory model (a task added after MO, the change of tests/ops/bpmn_variants.py),
and times :func:`engine.migration.migrate` (one transaction per instance, journaled). Prints
the rate, also of the dry run. Single process, single thread.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--database", default=None, help="an empty store (default: a temporary SQLite file)")
    parser.add_argument("--profile", action="store_true", help="write a cProfile of the migration to /tmp/migrate.prof")
    args = parser.parse_args(argv)

    from engine import migration
    from engine.clock import ManualClock, brussels_instant
    from engine.service import Actor, bootstrap
    from engine.settings import Settings
    from tests.ops import bpmn_variants as variants

    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{tmp.name}/migrate.db"
    clock = ManualClock(brussels_instant(date(2024, 1, 5), clock_time(9)))
    engine = bootstrap(Settings(database_url=url, demo_data=False), clock)
    caseworker = Actor("cw", "caseworker", "agii")
    started = time.perf_counter()
    for i in range(args.instances):
        dossier_id = f"MR{i:06}"
        engine.import_newcomer({"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
                                "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": "2024-01-01"})
        if i % 2:
            engine.handle(dossier_id, "registered", {}, actor=caseworker)
            engine.handle(dossier_id, "contract_signed", {"components": ["mo", "nt2", "vdab"]}, actor=caseworker)
    print(f"built {args.instances} instances in {time.perf_counter() - started:.1f} s on {url.split(':')[0]}")
    with engine.session() as session:
        target = engine.processes.deploy(session, {"trajectory": variants.insert_script_task_after(
            variants.source(), "mo", "mo_added_check")}, at=clock.now().isoformat())[0].version
    engine.cache = type(engine.cache)(engine.cache.capacity)  # cold, as a separate migrate process would be
    dry = migration.migrate(engine, "trajectory", target, dry_run=True)
    print(f"dry run: {dry.counts} in {dry.seconds:.1f} s = {dry.rate:.0f} instances/s")
    engine.cache = type(engine.cache)(engine.cache.capacity)
    import cProfile
    prof = cProfile.Profile() if "--profile" in sys.argv else None
    if prof: prof.enable()
    report = migration.migrate(engine, "trajectory", target)
    if prof:
        prof.disable(); prof.dump_stats("/tmp/migrate.prof")
    print(f"migrate: {report.counts} in {report.seconds:.1f} s = {report.rate:.0f} instances/s")
    engine.db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
