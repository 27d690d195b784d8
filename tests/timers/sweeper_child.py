"""A sweeper in its own OS process, for the multi-process tests (not a test module).

    python -c "from tests.timers.sweeper_child import main; main()" --url URL --instant ISO
        --ready FILE [--go FILE] [--pause-after K]

Bootstraps an engine on URL (clock at the instant), writes FILE (``--ready``) and,
with ``--go``, waits until that file exists, so that several sweepers start at the
same moment. Then runs ``timers.sweep.sweep(engine, instant)`` and prints the report
as one JSON line.

``--pause-after K`` simulates a sweeper that dies inside a transaction: the K-th
call of ``Engine.fire_due_timers`` fires its dossier (everything flushed, nothing
committed), then writes the ready file — with the dossiers fired so far and, on
PostgreSQL, the backend pid of the open transaction — and sleeps until killed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path


def _write_atomically(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--instant", required=True)
    parser.add_argument("--ready", required=True, type=Path)
    parser.add_argument("--go", type=Path)
    parser.add_argument("--pause-after", type=int, default=0)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)

    from sqlalchemy import text

    from engine.clock import ManualClock
    from engine.service import Engine, bootstrap
    from engine.settings import Settings
    from timers.sweep import sweep

    instant = datetime.fromisoformat(args.instant)
    engine = bootstrap(Settings(database_url=args.url, demo_data=False), ManualClock(instant))

    if args.pause_after:
        original = Engine.fire_due_timers
        fired: list[str] = []

        def fire_then_maybe_pause(self, connection, dossier_id, now):
            count = original(self, connection, dossier_id, now)  # (Core: its statements are sent already)
            fired.append(dossier_id)
            if len(fired) == args.pause_after:
                backend = None
                if self.postgres:
                    backend = connection.scalar(text("select pg_backend_pid()"), {})  # the unit's writer
                _write_atomically(args.ready, {"pid": os.getpid(), "fired": fired, "backend_pid": backend})
                time.sleep(600)  # inside the transaction, until the test kills us
            return count

        Engine.fire_due_timers = fire_then_maybe_pause
    else:
        _write_atomically(args.ready, {"pid": os.getpid()})
        if args.go is not None:
            deadline = time.monotonic() + 60
            while not args.go.exists():
                if time.monotonic() > deadline:
                    raise SystemExit("no go signal within 60 s")
                time.sleep(0.005)

    started = time.monotonic()
    report = sweep(engine, instant)
    print(json.dumps({**asdict(report), "seconds": round(time.monotonic() - started, 3)}))
    engine.db.dispose()


if __name__ == "__main__":
    main()
