"""Sweep throughput with one sweeper process vs two on one PostgreSQL store.

    python -m benchmarks.sweep_parallel [--dossiers N] [--database URL]

For each of the two runs it builds N dossiers whose registration deadline has passed in a
fresh PostgreSQL schema (of ``--database``, default the test database at 127.0.0.1), starts
the sweeper processes (tests/timers/sweeper_child.py: a bootstrapped engine running
``timers.sweep.sweep`` at one instant), lets them go at the same moment and times until the
last one is done. Prints dossiers fired per second for one and for two sweepers.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
INSTANT_DAY = date(2024, 6, 1)


def build(url: str, count: int) -> None:
    from engine.clock import ManualClock, brussels_instant
    from engine.service import bootstrap
    from engine.settings import Settings

    engine = bootstrap(Settings(database_url=url, demo_data=False), ManualClock(brussels_instant(date(2024, 1, 1))))
    for i in range(count):
        engine.import_newcomer({"id": f"SW{i:06}", "birth_date": "1990-01-01", "nationalities": ["SY"],
                                "residence": "recognised_refugee", "nis_code": "31005",
                                "obligation_start": date(2024, 1, 1 + i % 31).isoformat()})
    engine.db.dispose()


def run(url: str, sweepers: int, workdir: Path) -> tuple[float, list[dict]]:
    from engine.clock import brussels_instant
    from timers.sweep import SWEEP_TIME

    instant = brussels_instant(INSTANT_DAY, SWEEP_TIME)
    go = workdir / f"go-{sweepers}"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    children = []
    for n in range(sweepers):
        ready = workdir / f"ready-{sweepers}-{n}"
        children.append((ready, subprocess.Popen(
            [sys.executable, "-c", "from tests.timers.sweeper_child import main; main()", "--url", url,
             "--instant", instant.isoformat(), "--ready", str(ready), "--go", str(go)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    for ready, _ in children:
        while not ready.exists():
            time.sleep(0.02)
    started = time.perf_counter()
    go.touch()
    reports = []
    for _, child in children:
        out, err = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise RuntimeError(err)
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return time.perf_counter() - started, reports


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=400)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args(argv)
    import psycopg

    plain = args.database.replace("postgresql+psycopg://", "postgresql://")
    with tempfile.TemporaryDirectory() as tmp:
        for sweepers in (1, 2):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            url = f"{plain}?options=-csearch_path%3D{schema}"
            try:
                build(url, args.dossiers)
                seconds, reports = run(url, sweepers, Path(tmp))
                fired = sum(r["dossiers"] for r in reports)
                print(f"{sweepers} sweeper(s): {fired} dossiers in {seconds:.1f} s = {fired / seconds:.0f} dossiers/s "
                      f"(per sweeper: {[r['dossiers'] for r in reports]})")
            finally:
                with psycopg.connect(plain, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
