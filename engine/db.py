"""Database engine and schema migrations (Alembic, applied at start-up)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.pool import StaticPool
from sqlmodel import create_engine

from .settings import ensure_sqlite_dir

MIGRATIONS = Path(__file__).parent / "migrations"


def is_postgres(url_or_engine) -> bool:
    url = str(getattr(url_or_engine, "url", url_or_engine))
    return url.startswith("postgresql")


def make_engine(url: str) -> SAEngine:
    """An SQLAlchemy engine; SQLite gets a busy timeout and foreign keys on."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if url not in ("sqlite://", "sqlite:///:memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a commit survives a crash of the process (nothing lost on a crash);
                # only a power loss can drop the last commits, and never corrupts the file.
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # One writer at a time: take the write lock at BEGIN, not at the first write,
            # so load-step-save cannot interleave with another writer (no lost updates).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


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
