"""Database engine and schema migrations (Alembic, applied at start-up)."""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from . import walcheckpoint
from .settings import ensure_sqlite_dir

MIGRATIONS = Path(__file__).parent / "migrations"
#: Execution option of a session that only reads (engine.service.Engine.reading).
READ_ONLY = "inburgering_read_only"


def is_postgres(url_or_engine) -> bool:
    url = str(getattr(url_or_engine, "url", url_or_engine))
    return url.startswith("postgresql")


def is_in_memory(url: str) -> bool:
    """An SQLite store that lives in this process only (one shared connection, no file)."""
    return url in ("sqlite://", "sqlite:///:memory:")


def make_engine(url: str) -> SAEngine:
    """An SQLAlchemy engine; SQLite gets a busy timeout and foreign keys on."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if is_in_memory(url):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, hide_parameters=True, **kwargs)  # no personal data in logs or errors

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if not is_in_memory(url):
                cur.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a commit survives a crash of the process (nothing lost on a crash);
                # only a power loss can drop the last commits, and never corrupts the file.
                cur.execute("PRAGMA synchronous=NORMAL")
                # the log is checkpointed by a thread of its own (engine/walcheckpoint.py); a
                # writer checkpoints itself only when that thread has fallen far behind
                cur.execute(f"PRAGMA wal_autocheckpoint={walcheckpoint.WRITER_PAGES}")
                walcheckpoint.register(engine.url.database, engine)  # (again after a dispose())
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # One writer at a time: a writing transaction takes the write lock at BEGIN, not at
            # its first write, so it never fails half-way on a snapshot another writer moved.
            # A read-only transaction takes no lock: a snapshot (WAL) that writers do not wait for.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        if not is_in_memory(url):
            @event.listens_for(engine, "engine_disposed")
            def _released(_engine):  # the file is left alone once dispose() returns
                walcheckpoint.release(engine)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, hide_parameters=True)
    _ping_on_checkout(engine)
    return engine


#: ``UNCHECKED.active`` is true while :mod:`engine.driver` checks a connection out that it checks
#: itself with its first statement (``checked=False``): the pool's ping is skipped for it
UNCHECKED = threading.local()


def _ping_on_checkout(engine: SAEngine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, except for the checkouts of the commands' hot path.

    A pooled connection may have died while it waited in the pool (the server restarted, a
    firewall dropped it): each checkout sends one empty statement first and, when the connection
    is gone, the pool replaces it before anyone uses it (raising ``DisconnectionError`` in a
    ``checkout`` listener makes the pool reconnect, as its pre-ping does). That is a round trip
    per checkout, two per command. The command's own snapshot and write (``engine.driver``,
    ``checked=False``) skip it: their first round trip tells the same, before anything can have
    been committed, and a command that finds its connection gone is decided again on a new one
    (:func:`engine.driver.retry_safe`)."""

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, _record, _proxy):
        if getattr(UNCHECKED, "active", False):
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            if engine.dialect.is_disconnect(err, dbapi_connection, None):
                raise exc.DisconnectionError("the pooled connection is gone; the pool opens a new one") from err
            raise


class WriterQueue:
    """Writers to one SQLite file queue on an OS file lock before ``BEGIN IMMEDIATE``.

    SQLite lets a writer that finds the file locked sleep and retry (its busy handler sleeps
    1, 2, 5, 10, … ms), so two processes writing short transactions back to back spend most
    of their time asleep. Queuing on ``flock`` first, the next writer is woken the moment the
    previous one committed. Processes that do not queue (another tool) are still kept out by
    SQLite's own lock; this only shortens the wait.
    """

    def __init__(self, database_path: str):
        self.path = database_path + ".writers"
        self._held = threading.local()

    @contextmanager
    def turn(self) -> Iterator[None]:
        if getattr(self._held, "turn", False):
            # A second writing transaction in the same thread would wait for the first forever.
            raise RuntimeError("a writing transaction was opened inside another one on the same store")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._held.turn = True
            yield
        finally:
            self._held.turn = False
            os.close(fd)  # closing releases the lock


def writer_queue(engine: SAEngine) -> WriterQueue | None:
    """The writer queue of a file-based SQLite store; None for PostgreSQL and in-memory SQLite."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        return None
    return WriterQueue(database)


def alembic_config(engine: SAEngine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection_engine"] = engine
    return cfg


def migrate(engine: SAEngine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
