"""The business clock of the multi-process tests, and the processes that read it (not a test module).

Today ``inburgering serve`` reads the wall clock and ``inburgering sweep --until`` a manual
one; a test that runs API and sweeper *processes* through months of business time needs one
clock they all share. This is that one place: :class:`FileClock` is an instant in a file that
the test moves and every child process reads. When the store keeps its own business clock,
only this module changes.

    python -c "from tests.ops.timeline import serve_main; serve_main()" --url URL --port P --clock FILE
    python -c "from tests.ops.timeline import sweeper_main; sweeper_main()" --url URL --clock FILE --control DIR --name N

``serve_main`` is ``inburgering serve --workers 1 --no-scheduler --no-demo`` on this clock.
``sweeper_main`` is a long-running sweeper that sweeps when told: for each ``DIR/go-<n>`` file it
runs ``timers.sweep.sweep`` at the instant written in it and answers with ``DIR/done-<n>-<name>``
(the report as JSON); ``DIR/stop`` ends it.
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


class FileClock:
    """An instant kept in a file: ``set`` by the test, ``now`` read by every process."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FileClock needs an aware datetime")
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(instant.isoformat())
        os.replace(tmp, self.path)

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text())


def _engine(url: str, clock: FileClock, secret: str | None = None):
    from engine.service import bootstrap
    from engine.settings import Settings

    settings = Settings(database_url=url, demo_data=False, jwt_secret=secret or Settings.jwt_secret)
    return bootstrap(settings, clock), settings


def serve_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clock", type=Path, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    import uvicorn

    from api.app import create_app

    engine, settings = _engine(args.url, FileClock(args.clock), args.secret)
    uvicorn.run(create_app(engine, settings), host="127.0.0.1", port=args.port, log_level="warning")


def sweeper_main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--clock", type=Path, required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from timers.sweep import sweep

    engine, _ = _engine(args.url, FileClock(args.clock))
    (args.control / f"ready-{args.name}").write_text(str(os.getpid()))
    number = 1
    while True:
        go = args.control / f"go-{number}"
        if (args.control / "stop").exists():
            return
        if not go.exists():
            time.sleep(0.005)
            continue
        report = sweep(engine, datetime.fromisoformat(go.read_text()))
        tmp = args.control / f"done-{number}-{args.name}.tmp"
        tmp.write_text(json.dumps(asdict(report)))
        os.replace(tmp, args.control / f"done-{number}-{args.name}")
        number += 1
