"""Fixtures for the sweep tests: SQLite files and throw-away PostgreSQL schemas, sweeper subprocesses.

PostgreSQL gets a fresh schema per test from ``tests/conftest.py``'s ``pg_schema_url``.
When PostgreSQL is not reachable the test is skipped with the reason — unless ``CI``
is set, where it fails: CI must prove the multi-process guarantees on the real database.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Optional

import pytest

from engine.clock import ManualClock, brussels_instant
from engine.service import Engine, bootstrap
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

@pytest.fixture
def pg_url(pg_schema_url):
    """A database URL on a fresh PostgreSQL schema, dropped after the test (tests/conftest.py)."""
    return pg_schema_url


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/sweep.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_url(request):
    """Both backends (the PostgreSQL variant skips or fails as :func:`pg_url`)."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def make_engine(url: str, start: date) -> tuple[Engine, ManualClock]:
    clock = ManualClock(brussels_instant(start))
    return bootstrap(Settings(database_url=url, demo_data=False), clock), clock


@pytest.fixture
def engines():
    """``engines(url, start)`` → (engine, clock); every engine's pool is disposed after the test."""
    made: list[Engine] = []

    def make(url: str, start: date) -> tuple[Engine, ManualClock]:
        engine, clock = make_engine(url, start)
        made.append(engine)
        return engine, clock

    yield make
    for engine in made:
        engine.db.dispose()


def obligated(dossier_id: str, obligation_start: str, **overrides) -> dict:
    data = {"id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
            "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": obligation_start}
    data.update(overrides)
    return data


# ----------------------------------------------------------------------------- sweeper subprocesses


class Sweeper:
    """A sweeper in its own OS process (``tests/timers/sweeper_child.py``)."""

    def __init__(self, workdir: Path, name: str, url: str, instant: datetime, *, pause_after: int = 0,
                 go_file: Optional[Path] = None):
        self.name = name
        self.ready_file = workdir / f"{name}.ready"
        self.go_file = go_file
        args = [sys.executable, "-c", "from tests.timers.sweeper_child import main; main()",
                "--url", url, "--instant", instant.isoformat(), "--ready", str(self.ready_file)]
        if go_file is not None:
            args += ["--go", str(go_file)]
        if pause_after:
            args += ["--pause-after", str(pause_after)]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                raise AssertionError(f"sweeper {self.name} exited with {self.process.returncode} before it was "
                                     f"ready:\n{out}\n{err}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"sweeper {self.name} not ready within {timeout} s")
            time.sleep(0.02)
        return json.loads(self.ready_file.read_text())

    def result(self, timeout: float = 120) -> dict:
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"sweeper {self.name} did not finish within {timeout} s") from None
        assert self.process.returncode == 0, f"sweeper {self.name} failed ({self.process.returncode}):\n{out}\n{err}"
        return json.loads(out.strip().splitlines()[-1])

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def sweepers(tmp_path):
    """``sweepers(name, url, instant, ...)`` → a started :class:`Sweeper`; all are killed after the test."""
    started: list[Sweeper] = []

    def start(name: str, url: str, instant: datetime, **kwargs) -> Sweeper:
        sweeper = Sweeper(tmp_path, name, url, instant, **kwargs)
        started.append(sweeper)
        return sweeper

    yield start
    for sweeper in started:
        sweeper.kill()
