"""A migration run killed with SIGKILL half-way loses nothing and is resumed (SQLite and PostgreSQL).

The child process (tests/ops/migrate_child.py) migrates instance after instance, each in its own
transaction, and is killed inside the transaction of the K-th. Afterwards the K-1 before it are
on the new version, the K-th and the rest are not; running the same migration again resumes the
same run and moves each remaining instance exactly once, with an intact journal.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine import journal, migration
from engine.clock import ManualClock, brussels_instant
from engine.service import bootstrap
from engine.settings import Settings

from . import bpmn_variants as variants
from .helpers import obligated

ROOT = Path(__file__).resolve().parents[2]
COUNT = 12
PAUSE_AFTER = 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    return f"sqlite:///{tmp_path}/m.db" if request.param == "sqlite" else request.getfixturevalue("pg_schema_url")


def versions(url: str) -> Counter:
    """Instances per definition id as committed, read with a plain engine (no locks)."""
    reader = create_engine(url)
    try:
        with reader.connect() as conn:
            rows = conn.execute(text("select d.version from instance i join process_definition d "
                                     "on d.id = i.definition_id where i.process_name = 'trajectory'")).all()
    finally:
        reader.dispose()
    return Counter(r[0] for r in rows)


@pytest.mark.slow
def test_killed_migration_resumes_and_moves_each_instance_once(url, tmp_path):
    clock = ManualClock(brussels_instant(date(2024, 1, 1)))
    engine = bootstrap(Settings(database_url=url, demo_data=False), clock)
    try:
        for i in range(COUNT):
            engine.import_newcomer(obligated(f"K{i:02}"))
        with engine.session() as session:
            v2 = engine.processes.deploy(session, {"trajectory": variants.insert_script_task_after(
                variants.source(), "mo", "mo_added_check")}, at=clock.now().isoformat())[0].version

        ready = tmp_path / "ready.json"
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        child = subprocess.Popen([sys.executable, "-c", "from tests.ops.migrate_child import main; main()",
                                  "--url", url, "--to", str(v2), "--ready", str(ready),
                                  "--pause-after", str(PAUSE_AFTER)],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not ready.exists():
                if child.poll() is not None:
                    out, err = child.communicate()
                    raise AssertionError(f"child exited {child.returncode} before pausing:\n{out}\n{err}")
                assert time.monotonic() < deadline, "the child did not reach the pause"
                time.sleep(0.05)
            state = json.loads(ready.read_text())
            assert len(state["done"]) == PAUSE_AFTER
            # each instance is its own transaction: the ones before the paused one are committed, it is not
            assert versions(url) == Counter({v2: PAUSE_AFTER - 1, 1: COUNT - PAUSE_AFTER + 1})
        finally:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)  # in the middle of the K-th instance's transaction
            child.wait(timeout=30)
            child.stdout.close()
            child.stderr.close()
        if state["backend_pid"] is not None:  # PostgreSQL: wait until the server ended the dead session
            deadline = time.monotonic() + 20
            with engine.db.connect() as conn:
                while conn.execute(text("select count(*) from pg_stat_activity where pid = :pid"),
                                   {"pid": state["backend_pid"]}).scalar():
                    assert time.monotonic() < deadline, "the killed child's session is still open"
                    time.sleep(0.05)
                    conn.rollback()

        assert versions(url) == Counter({v2: PAUSE_AFTER - 1, 1: COUNT - PAUSE_AFTER + 1})
        report = migration.migrate(engine, "trajectory", v2, actor="admin:after-crash")
        assert report.resumed and report.run_id == state["run"]
        assert report.counts == {"migrated": COUNT}
        assert versions(url) == Counter({v2: COUNT})
        with engine.session() as session:
            assert [str(b) for _, b in journal.verify_all(session) if b is not None] == []
            rows = session.execute(text("select dossier_id, actor from journal_entry "
                                        "where kind = 'instance_migrated'")).all()
        assert Counter(d for d, _ in rows) == Counter({f"K{i:02}": 1 for i in range(COUNT)})
        assert Counter(a for _, a in rows) == Counter({"admin:child": PAUSE_AFTER - 1,
                                                       "admin:after-crash": COUNT - PAUSE_AFTER + 1})
        [run] = migration.runs(engine)
        assert run["status"] == "finished" and run["items"] == {"migrated": COUNT}
        # nothing left: a new run has nothing to do
        assert migration.migrate(engine, "trajectory", v2).counts == {}
    finally:
        engine.db.dispose()
