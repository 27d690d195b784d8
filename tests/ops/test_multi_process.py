"""Two API processes and two sweeper processes on one PostgreSQL schema, under a bounded load.

Eight months of business time (tests/ops/timeline.py moves one clock all processes read):
40 newcomers are imported through both APIs; each registers, has an intake and signs a
contract on its own day (some before, some after the registration deadline), a third
registers with VDAB; every day at 02:00 both sweepers sweep together when anything is due.
The same schedule is then run in one process on a fresh store (the control). Checked:

* every acknowledged (2xx) event is in the journal, at the instant it was sent;
* the journal of every dossier equals the control's entry for entry (kind, actor, business
  time, process and rule versions, payload) — so every timer fired once and on time;
* ``journal verify`` is clean, and no timer fired twice.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time as clock_time, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from api.auth import issue_token
from engine import journal
from engine.clock import ManualClock, brussels_instant
from engine.models import DueTimer, JournalEntry
from engine.service import Actor, bootstrap
from engine.settings import Settings
from timers.sweep import SWEEP_TIME, sweep

from .helpers import obligated
from .timeline import FileClock

ROOT = Path(__file__).resolve().parents[2]
SECRET = "multi-process-test-secret-32-bytes!"
START = date(2024, 1, 1)
DAYS = 240
NEWCOMERS = 40
CASEWORKER = Actor("cw-1", "caseworker", "agii")
ADMIN = Actor("admin-1", "admin")


def schedule() -> dict[int, list[tuple[str, str, dict]]]:
    """Business day → the events of that day (at most one per dossier per day, so the order within
    a day does not matter and the control run can reproduce it)."""
    plan: dict[int, list] = {}
    for i in range(NEWCOMERS):
        dossier_id = f"MP{i:03}"
        registers = 5 + (i * 7) % 150  # the registration deadline is about day 91
        plan.setdefault(registers, []).append((dossier_id, "registered", {}))
        plan.setdefault(registers + 1, []).append((dossier_id, "intake", {"advice": "cbe"}))
        plan.setdefault(registers + 2, []).append((dossier_id, "contract_signed", {"components": ["mo", "vdab"]}))
        if i % 3 == 0:
            plan.setdefault(registers + 20, []).append((dossier_id, "vdab_registered", {}))
    return plan


def at(day: int, hour: clock_time) -> datetime:
    return brussels_instant(START + timedelta(days=day), hour)


def due_before(engine, instant: datetime) -> bool:
    with engine.reading() as connection:
        first = connection.execute(select(func.min(DueTimer.due_at))).scalar()
    return first is not None and first <= int(instant.timestamp())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Children:
    def __init__(self):
        self.processes: list[subprocess.Popen] = []

    def start(self, entry: str, *args: str, log: Path) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        process = subprocess.Popen([sys.executable, "-c", f"from tests.ops.timeline import {entry}; {entry}()",
                                    *args], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def journals(engine) -> dict[str, list[tuple]]:
    with engine.reading() as connection:
        rows = connection.execute(select(JournalEntry.dossier_id, JournalEntry.seq, JournalEntry.kind,
                                         JournalEntry.actor, JournalEntry.business_time, JournalEntry.process_version,
                                         JournalEntry.ruleset, JournalEntry.rule_version, JournalEntry.payload)
                                  .order_by(JournalEntry.dossier_id, JournalEntry.seq)).all()
    out: dict[str, list] = {}
    for dossier_id, *rest in rows:
        out.setdefault(dossier_id, []).append(tuple(rest))
    return out


def control_run(tmp_path) -> dict[str, list[tuple]]:
    """The same schedule in one process: the engine directly, one sweep a day."""
    clock = ManualClock(at(0, clock_time(9)))
    engine = bootstrap(Settings(database_url=f"sqlite:///{tmp_path}/control.db", demo_data=False), clock)
    try:
        plan = schedule()
        for day in range(DAYS):
            instant = at(day, SWEEP_TIME)
            clock.set(instant)
            if due_before(engine, instant):
                sweep(engine, instant)
            clock.set(at(day, clock_time(9)))
            if day == 0:
                for i in range(NEWCOMERS):
                    engine.import_newcomer(obligated(f"MP{i:03}", START.isoformat()), actor=ADMIN)
            for dossier_id, event, payload in plan.get(day, []):
                engine.handle(dossier_id, event, payload, actor=CASEWORKER)
        return journals(engine)
    finally:
        engine.db.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_apis_and_two_sweepers_on_one_postgresql(pg_schema_url, tmp_path):
    url = pg_schema_url
    clock = FileClock(tmp_path / "clock")
    clock.set(at(0, clock_time(9)))
    settings = Settings(database_url=url, jwt_secret=SECRET, demo_data=False)
    engine = bootstrap(settings, clock)  # migrates and deploys once, like the first process of a release
    control = tmp_path / "control"
    control.mkdir()
    children = Children()
    try:
        ports = [free_port(), free_port()]
        for n, port in enumerate(ports):
            children.start("serve_main", "--url", url, "--port", str(port), "--clock", str(clock.path),
                           "--secret", SECRET, log=tmp_path / f"api-{n}.log")
        names = ["sweeper-a", "sweeper-b"]
        for name in names:
            children.start("sweeper_main", "--url", url, "--clock", str(clock.path), "--control", str(control),
                           "--name", name, log=tmp_path / f"{name}.log")
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) for port in ports]
        deadline = time.monotonic() + 90
        for client in clients:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "an API process did not start: " + \
                    "".join((tmp_path / f"api-{n}.log").read_text() for n in range(2))
                time.sleep(0.2)
        while not all((control / f"ready-{name}").exists() for name in names):
            assert time.monotonic() < deadline, "a sweeper did not start"
            time.sleep(0.05)

        acknowledged: list[tuple[str, str, str]] = []  # (dossier, event type, business time) of every 2xx
        sweeps = 0
        reports = Counter()
        plan = schedule()
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            for day in range(DAYS):
                instant = at(day, SWEEP_TIME)
                clock.set(instant)
                if due_before(engine, instant):  # both sweepers sweep the same instant together
                    sweeps += 1
                    go = control / f"go-{sweeps}"
                    (control / "go.tmp").write_text(instant.isoformat())
                    os.replace(control / "go.tmp", go)
                    for name in names:
                        done = control / f"done-{sweeps}-{name}"
                        while not done.exists():
                            assert time.monotonic() - started < 900, f"{name} did not finish sweep {sweeps}"
                            time.sleep(0.005)
                        report = json.loads(done.read_text())
                        assert report["errors"] == [], report
                        reports[name] += report["timers"]
                nine = at(day, clock_time(9))
                clock.set(nine)
                headers = {"Authorization": "Bearer " + issue_token(settings, role="caseworker", user="cw-1",
                                                                    agency="agii", now=nine)}
                admin = {"Authorization": "Bearer " + issue_token(settings, role="admin", user="admin-1", now=nine)}
                requests = []
                if day == 0:
                    requests += [("POST", "/newcomers", obligated(f"MP{i:03}", START.isoformat()), admin,
                                  (f"MP{i:03}", "import")) for i in range(NEWCOMERS)]
                requests += [("POST", f"/dossiers/{d}/events/{e}", p, headers, (d, e)) for d, e, p in plan.get(day, [])]

                def send(numbered):
                    number, (method, path, body, auth, what) = numbered
                    response = clients[number % 2].request(method, path, json=body, headers=auth)
                    return what, response.status_code, response.text

                for what, status, text in pool.map(send, enumerate(requests)):
                    assert status in (200, 201), f"{what}: {status} {text}"
                    acknowledged.append((*what, nine.isoformat()))
        print(f"multi-process run: {len(acknowledged)} acknowledged requests, {sweeps} sweeps, timers fired per "
              f"sweeper {dict(reports)}, {time.monotonic() - started:.1f} s")
        (control / "stop").touch()

        recorded = journals(engine)
        # every acknowledged request is in the journal, at the instant it was acknowledged
        kept = Counter()
        for dossier_id, entries in recorded.items():
            for seq, kind, actor, business_time, *_rest, payload in entries:
                if kind == "command":
                    kept[(dossier_id, json.loads(payload)["type"], business_time)] += 1
                elif kind == "import":
                    kept[(dossier_id, "import", business_time)] += 1
        assert kept == Counter(acknowledged)
        # the same journals as one process running the same schedule: every timer once, on time
        expected = control_run(tmp_path)
        assert set(recorded) == set(expected)
        for dossier_id in expected:
            assert recorded[dossier_id] == expected[dossier_id], dossier_id
        fired = Counter((d, json.loads(e[-1])["name"], e[3]) for d, entries in recorded.items() for e in entries
                        if e[1] == "deadline_fired")
        assert fired and max(fired.values()) == 1
        assert sum(reports.values()) > 0 and all(reports[name] > 0 for name in names), reports
        with engine.session() as session:
            assert [str(b) for _, b in journal.verify_all(session) if b is not None] == []
    finally:
        (control / "stop").touch()
        children.stop()
        engine.db.dispose()
