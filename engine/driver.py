"""The write path's statements on the database driver's own cursor.

A unit of work writes four to six rows with statements built once (:mod:`engine.statements`).
Through SQLAlchemy's ``Connection.execute`` each costs 50–75 µs of Python (execution context,
parameter processing, result set-up) against 4–7 µs on the DBAPI cursor with the same SQL,
and the Core transaction around them (connection object, ``begin`` event, commit) another
~140 µs against ~50 µs on the driver connection (SQLite, measured side by side in one process,
2026-12-03; BENCHMARKS.md, steps). So the write path compiles each statement once per dialect
and runs it on the driver connection, inside the same transaction and with the same version
check; what SQLAlchemy would add does not apply to these statements (no ORM, no result rows,
values already in the column types' database form: str, int, bytes, None).

What stays the same:

* **Errors.** A driver error is raised as SQLAlchemy raises it (``IntegrityError``,
  ``OperationalError``, …, parameters hidden as the engine is configured), so callers that
  catch a duplicate import or a lock time-out see no difference.
* **Observers.** While anything listens for ``before_cursor_execute`` on the database (the
  query-plan benchmark records every statement that way), statements go through
  ``Connection.execute`` as before, so every statement is still seen.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .db import READ_ONLY

#: ``info`` key of a transaction (a writer's, a Session's): callables to run once it committed
#: (the cache's put-back); dropped when it rolls back
AFTER_COMMIT = "after_commit"

_COMPILED: dict[tuple, tuple[str, tuple[str, ...] | None, dict]] = {}


def _compiled(statement, dialect, keys: tuple[str, ...]) -> tuple[str, tuple[str, ...] | None, dict]:
    """A built-once statement compiled for ``dialect`` with the parameters ``keys`` (an
    ``insert(table)`` without values inserts the columns it is given, as ``Connection.execute``
    does): its SQL text; for positional paramstyles (SQLite's ``?``) the order its parameters go
    in (None: the driver takes the dict, ``%(name)s``); and the values of the parameters the
    statement fixes itself (``status == "waiting"``)."""
    key = (statement, dialect.name, keys)  # the statement itself: an id could be reused
    found = _COMPILED.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        names = tuple(compiled.positiontup) if compiled.positional else None
        fixed = {name: bind.effective_value for name, bind in compiled.binds.items()
                 if name not in keys and not bind.required}
        found = _COMPILED[key] = (compiled.string, names, fixed)
    return found


def _bound(names: tuple[str, ...] | None, fixed: dict, params: dict):
    if fixed:
        params = {**fixed, **params}
    return params if names is None else tuple([params[n] for n in names])


class DriverWriter:
    """Runs built-once statements on one DBAPI connection, in the transaction it is in."""

    __slots__ = ("_connection", "_dialect", "info")

    def __init__(self, dbapi_connection, dialect):
        self._connection = dbapi_connection
        self._dialect = dialect
        #: what a unit of work registers to run once this transaction committed (:data:`AFTER_COMMIT`)
        self.info: dict = {}

    def execute(self, statement, params: dict) -> int:
        """Run one statement; its row count."""
        text, names, fixed = _compiled(statement, self._dialect, tuple(params))
        with self._cursor(text) as cursor:
            cursor.execute(text, _bound(names, fixed, params))
            return cursor.rowcount

    def rows(self, statement, params: dict) -> list[dict]:
        """The rows a SELECT returns, each a dict by column name."""
        text, names, fixed = _compiled(statement, self._dialect, tuple(params))
        with self._cursor(text) as cursor:
            cursor.execute(text, _bound(names, fixed, params))
            columns = [d[0] for d in cursor.description]
            return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def scalar(self, statement, params: dict):
        """The first column of the first row a SELECT returns (None without a row)."""
        found = self.rows(statement, params)
        return next(iter(found[0].values())) if found else None

    def executemany(self, statement, rows: list[dict]) -> None:
        """Run one statement once per row (one driver call)."""
        text, names, fixed = _compiled(statement, self._dialect, tuple(rows[0]))
        with self._cursor(text) as cursor:
            cursor.executemany(text, [_bound(names, fixed, r) for r in rows] if names or fixed else rows)

    @contextmanager
    def _cursor(self, text: str) -> Iterator:
        """A cursor for one statement, closed after it; a driver error raised as SQLAlchemy's."""
        cursor = self._connection.cursor()
        try:
            yield cursor
        except self._dialect.loaded_dbapi.Error as err:
            raise self._wrap(text, err) from err
        finally:
            cursor.close()

    def _wrap(self, text: str, err: Exception) -> Exception:
        return exc.DBAPIError.instance(text, None, err, self._dialect.loaded_dbapi.Error,
                                       hide_parameters=True, dialect=self._dialect)


class CoreWriter:
    """The same interface through ``Connection.execute`` (while statements are being observed)."""

    __slots__ = ("_connection", "info")

    def __init__(self, connection):
        self._connection = connection
        self.info: dict = {}

    def execute(self, statement, params: dict) -> int:
        return self._connection.execute(statement, params).rowcount

    def executemany(self, statement, rows: list[dict]) -> None:
        self._connection.execute(statement, rows)

    def rows(self, statement, params: dict) -> list[dict]:
        return [dict(row) for row in self._connection.execute(statement, params).mappings()]

    def scalar(self, statement, params: dict):
        return self._connection.execute(statement, params).scalar()


def observed(db) -> bool:
    """Whether something listens to every statement sent to ``db`` (an Engine or Connection)."""
    return bool(db.dispatch.before_cursor_execute)


def writer(target) -> DriverWriter | CoreWriter:
    """A writer in the transaction of ``target``: a Session, a Connection, or already a writer."""
    if isinstance(target, (DriverWriter, CoreWriter)):
        return target
    connection = target.connection() if isinstance(target, Session) else target
    if not isinstance(connection, Connection) or observed(connection):
        return CoreWriter(target)
    return DriverWriter(connection.connection.driver_connection, connection.dialect)


@contextmanager
def transaction(db) -> Iterator[DriverWriter | CoreWriter]:
    """One writing transaction straight on a pooled driver connection: ``BEGIN IMMEDIATE`` on
    SQLite (the write lock at once, as :func:`engine.db.make_engine`'s ``begin`` hook takes it),
    the driver's implicit transaction on PostgreSQL; committed when the block ends, rolled back
    when it raises; what was registered under :data:`AFTER_COMMIT` runs once it committed. While
    statements are observed, a Core transaction instead."""
    if observed(db):
        with db.connect() as connection:
            with connection.begin():
                writer_ = CoreWriter(connection)
                yield writer_
        after_commit(writer_.info)
        return
    with _pooled(db, "BEGIN IMMEDIATE") as (connection, writer_):
        try:
            yield writer_
        except BaseException:
            connection.rollback()
            raise
        try:
            connection.commit()
        except db.dialect.loaded_dbapi.Error as err:
            connection.rollback()
            raise writer_._wrap("COMMIT", err) from err
    after_commit(writer_.info)


def after_commit(info: dict) -> None:
    """Run what a committed transaction registered under :data:`AFTER_COMMIT` in its ``info``."""
    for callback in info.pop(AFTER_COMMIT, ()):
        callback()


@contextmanager
def _pooled(db, begin: str) -> Iterator[tuple]:
    """A driver connection checked out of the engine's pool (returned, and reset, at the end) with
    a transaction begun: ``begin`` on SQLite, the driver's implicit one on PostgreSQL; and a
    writer on it."""
    fairy = db.raw_connection()
    try:
        connection = fairy.driver_connection
        writer_ = DriverWriter(connection, db.dialect)
        if db.dialect.name == "sqlite":
            with writer_._cursor(begin) as cursor:
                cursor.execute(begin)
        yield connection, writer_
    finally:
        fairy.close()


@contextmanager
def snapshot(db) -> Iterator[DriverWriter | CoreWriter]:
    """A transaction that only reads, on a pooled driver connection: a consistent snapshot that
    takes no write lock (SQLite ``BEGIN``, deferred; PostgreSQL's implicit transaction), as
    :meth:`engine.service.Engine.reading` opens through Core (used instead while statements are
    observed)."""
    if observed(db):
        with db.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield CoreWriter(connection)
        return
    with _pooled(db, "BEGIN") as (connection, reader):
        try:
            yield reader
        finally:
            connection.rollback()  # nothing to keep: ends the snapshot
