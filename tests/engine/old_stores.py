"""The stores written by release 0.1 (tests/fixtures/stores/README.md), copied for one test.

A store is never opened in place: SQLite gets a copy in the test's folder (SQLite's backup API);
PostgreSQL gets the rows of the 0.1 file copied into a fresh schema migrated to the 0.1 revision
(``0002``), so that the current code migrates it from there exactly as it migrates a SQLite file.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

STORES = Path(__file__).resolve().parents[1] / "fixtures" / "stores"
OLD_STORES = ("scenarios-0.1", "sim-0.1")
RELEASE_REVISION = "0002"  # the Alembic revision release 0.1 wrote
#: the tables of revision 0002, parents first
TABLES = ("process_definition", "dossier", "instance", "journal_entry", "due_timer")
SERIAL = ("process_definition", "journal_entry", "due_timer")


def store_file(name: str) -> Path:
    path = STORES / f"{name}.sqlite"
    assert path.is_file(), f"{path} is missing: it is committed test data (tests/fixtures/stores/README.md)"
    return path


def copy_store(name: str, database_url: str) -> str:
    """A copy of the 0.1 store ``name`` at ``database_url`` (a SQLite file URL or a PostgreSQL schema);
    returns the URL. The copy is still at revision 0002: the code under test migrates it."""
    source = store_file(name)
    if database_url.startswith("sqlite:///"):
        target = database_url[len("sqlite:///"):]
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return database_url
    _copy_rows_to_postgres(source, database_url)
    return database_url


def _copy_rows_to_postgres(source: Path, url: str) -> None:
    from alembic import command
    from sqlalchemy import MetaData, Table, insert, text

    from engine.db import alembic_config, make_engine

    pg = make_engine(url)
    try:
        with pg.begin() as connection:
            config = alembic_config(pg)
            config.attributes["connection"] = connection
            command.upgrade(config, RELEASE_REVISION)
        with sqlite3.connect(source) as src, pg.begin() as connection:
            src.row_factory = sqlite3.Row
            metadata = MetaData()
            for name in TABLES:
                table = Table(name, metadata, autoload_with=connection)
                rows = [dict(row) for row in src.execute(f"SELECT * FROM {name}")]  # noqa: S608 - fixed names
                if rows:
                    connection.execute(insert(table), rows)
            for name in SERIAL:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                        f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))
    finally:
        pg.dispose()


def revision(database_url: str) -> str:
    from sqlalchemy import text

    from engine.db import make_engine

    db = make_engine(database_url)
    try:
        with db.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        db.dispose()
