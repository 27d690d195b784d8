"""Shared fixtures: the two database backends and a wired engine on a manual clock.

``database_url`` is parametrized over SQLite (a temp file) and PostgreSQL (a fresh
schema per test in database ``test`` at 127.0.0.1:5432). Without PostgreSQL the
PostgreSQL cases skip with a reason — except in CI (``CI`` set), where they fail,
because CI must run both backends.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from datetime import date, time

import pytest

from engine.clock import ManualClock, brussels_instant

PG_ADMIN_URL = os.environ.get("INBURGERING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        import psycopg
        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3):
            return None
    except Exception as err:  # noqa: BLE001 - any failure means "not reachable"
        return str(err).splitlines()[0]


_PG_PROBLEM = _postgres_reachable()


def require_postgres() -> None:
    if _PG_PROBLEM is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL must be reachable in CI at {PG_ADMIN_URL}: {_PG_PROBLEM}")
    pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({_PG_PROBLEM}); "
                "these cases run in CI, where PostgreSQL is provided")


@contextmanager
def private_schema():
    """A URL whose search_path is a fresh, private schema; dropped afterwards."""
    require_postgres()
    import psycopg
    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")  # never hang on a connection a test left open
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_schema_url():
    """A URL whose search_path is a fresh, private schema; dropped afterwards."""
    with private_schema() as url:
        yield url


@pytest.fixture
def second_pg_schema_url():
    """Another private schema, for a control run beside the one under test."""
    with private_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/inburgering.db"
    else:
        yield request.getfixturevalue("pg_schema_url")


@pytest.fixture
def clock():
    return ManualClock(brussels_instant(date(2024, 1, 1)))


@pytest.fixture
def engine(database_url, clock):
    from engine.service import bootstrap
    from engine.settings import Settings

    eng = bootstrap(Settings(database_url=database_url, jwt_secret="test-secret", demo_data=False), clock)
    yield eng
    eng.db.dispose()


def at(clock, day: date, hour: int = 9) -> None:
    """Move the clock to ``hour``:00 Brussels time on ``day``."""
    clock.set(brussels_instant(day, time(hour)))
