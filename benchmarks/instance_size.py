"""Bytes at rest per waiting trajectory instance (target ≤ 4 KB).

    .venv/bin/python -m benchmarks.instance_size [--count N] [--database URL]

Imports N obligated newcomers (each then waits at registration with its deadline
timer armed) and prints the average stored bytes: the instance's state (Spiff state
without the spec, zlib JSON), the dossier aggregate, and the due-date index row.
The journal is reported apart: it is the audit record, not the instance.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
from datetime import date

from sqlalchemy import func, text
from sqlmodel import Session, select

from engine.clock import ManualClock, brussels_instant
from engine.models import Dossier, Instance, JournalEntry
from engine.service import bootstrap
from engine.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{tmp}/size.db"
        engine = bootstrap(Settings(database_url=url), ManualClock(brussels_instant(date(2024, 1, 10))))
        for n in range(args.count):
            engine.import_newcomer({"id": f"S{n:06d}", "birth_date": "1990-01-01", "nationalities": ["SY"],
                                    "residence": "recognised_refugee", "nis_code": "31005",
                                    "obligation_start": "2024-01-10"})
        with Session(engine.db) as session:
            state = session.exec(select(func.avg(func.length(Instance.state)))).one()
            aggregate = session.exec(select(func.avg(func.length(Dossier.state)))).one()
            journal = session.exec(select(func.sum(func.length(JournalEntry.payload)) * 1.0
                                          / func.count(func.distinct(JournalEntry.dossier_id)))).one()
            due_row = 8 + 8 + 2 * 40 + 24  # ids, due_at, names
        total = float(state) + float(aggregate) + due_row
        print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"instances: {args.count} waiting trajectory instances ({url.split(':')[0]})")
        print(f"instance state (no spec, zlib JSON): {float(state):8.0f} bytes")
        print(f"dossier aggregate (JSON):            {float(aggregate):8.0f} bytes")
        print(f"due-date index row (approx.):        {due_row:8d} bytes")
        print(f"bytes at rest per waiting instance:  {total:8.0f} bytes  (target <= 4096)")
        print(f"journal payload per dossier (audit): {float(journal):8.0f} bytes")
        engine.db.dispose()


if __name__ == "__main__":
    main()
