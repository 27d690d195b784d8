"""A migration run in its own OS process, killed half-way by the test (not a test module).

    python -c "from tests.ops.migrate_child import main; main()" --url URL --to W --ready FILE
        --pause-after K

Runs ``engine.migration.migrate`` on URL. The K-th instance it migrates is written inside its
transaction (instance, journal, run item) and then, before the commit, the process writes FILE
— the instances committed so far and, on PostgreSQL, the backend pid of the open transaction —
and sleeps until the test kills it with SIGKILL.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--to", type=int, required=True)
    parser.add_argument("--ready", required=True, type=Path)
    parser.add_argument("--pause-after", type=int, required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from datetime import date

    from engine import migration
    from engine.clock import ManualClock, brussels_instant
    from engine.service import bootstrap
    from engine.settings import Settings

    engine = bootstrap(Settings(database_url=args.url, demo_data=False), ManualClock(brussels_instant(date(2024, 1, 2))))
    original = migration._mark
    done: list[str] = []

    def mark_then_maybe_pause(target, run_id, instance_id, status, reason, now):
        original(target, run_id, instance_id, status, reason, now)
        if status == migration.MIGRATED and not hasattr(target, "processes"):  # inside the instance's transaction
            done.append(instance_id)
            if len(done) == args.pause_after:
                target.flush()
                backend = None
                if engine.postgres:
                    backend = target.connection().exec_driver_sql("select pg_backend_pid()").scalar()
                tmp = args.ready.with_suffix(".tmp")
                tmp.write_text(json.dumps({"pid": os.getpid(), "done": done, "run": run_id, "backend_pid": backend}))
                os.replace(tmp, args.ready)
                time.sleep(600)

    migration._mark = mark_then_maybe_pause
    report = migration.migrate(engine, "trajectory", args.to, actor="admin:child")
    print(json.dumps(report.to_dict()))


if __name__ == "__main__":
    main()
