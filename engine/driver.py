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

**Round trips (PostgreSQL).** Each statement sent and waited for is a round trip to the server,
0.5 ms a piece on this machine under load (measured 2026-12-03: 18.6 round trips and 9.7 ms of
waiting in a 13.4 ms step at 10,000 dossiers). With psycopg 3 the write transaction runs in
*pipeline mode*: ``BEGIN`` and the dossier's versioned UPDATE go in one round trip (its row
count is checked before anything else is sent, as before), every later statement whose answer
nobody reads (:meth:`DriverWriter.send`: journal rows, instances, due index) is queued and goes
with the ``COMMIT`` in a second one; any error among them is raised there and the transaction
rolls back. A read snapshot sends its SELECTs together (:meth:`DriverWriter.prefetch`). SQLite
has no round trips: there each statement runs when it is given.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .db import READ_ONLY, UNCHECKED

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


def _result(cursor) -> list[dict]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _key(statement, params: dict) -> tuple:
    return statement, tuple(sorted(params.items()))


class DriverWriter:
    """Runs built-once statements on one DBAPI connection, in the transaction it is in.

    ``pipeline``: the psycopg pipeline the transaction runs in (:func:`transaction`), or None:
    then every statement is sent and answered when it is given. ``unchecked``: the connection was
    lent without the pool's ping (``checked=False``), so until the server has answered once, a
    lost connection is :func:`retry_safe`."""

    __slots__ = ("_connection", "_dialect", "_pipeline", "_queue", "_prefetched", "_unchecked", "info")

    def __init__(self, dbapi_connection, dialect, pipeline=None, unchecked: bool = False):
        self._connection = dbapi_connection
        self._dialect = dialect
        self._pipeline = pipeline
        self._unchecked = unchecked
        self._queue: list = []  # (text, cursor, rows) of each statement sent without waiting (pipeline mode)
        self._prefetched: dict = {}
        #: what a unit of work registers to run once this transaction committed (:data:`AFTER_COMMIT`)
        self.info: dict = {}

    def execute(self, statement, params: dict) -> int:
        """Run one statement; its row count (in a pipeline: once the server answered it and
        everything sent before it, whose errors are raised here)."""
        text, names, fixed = _compiled(statement, self._dialect, tuple(params))
        with self._cursor(text) as cursor:
            cursor.execute(text, _bound(names, fixed, params))
            if self._pipeline is not None:
                self._pipeline.sync()
            return cursor.rowcount

    def send(self, statement, params: dict) -> None:
        """Run one statement whose answer nobody reads. In a pipeline it is only queued: it goes to
        the server with the next statement that needs an answer or with the COMMIT, and an error
        in it is raised there (the transaction then rolls back). Elsewhere the same as
        :meth:`execute`."""
        if self._pipeline is None:
            self.execute(statement, params)
            return
        text, names, fixed = _compiled(statement, self._dialect, tuple(params))
        try:
            self._queued(text).execute(text, _bound(names, fixed, params))
        except self._dialect.loaded_dbapi.Error as err:
            raise self._wrap(text, err) from err

    def rows(self, statement, params: dict) -> list[dict]:
        """The rows a SELECT returns, each a dict by column name."""
        if self._prefetched:
            found = self._prefetched.pop(_key(statement, params), None)
            if found is not None:
                return found
        text, names, fixed = _compiled(statement, self._dialect, tuple(params))
        with self._cursor(text) as cursor:
            cursor.execute(text, _bound(names, fixed, params))
            if self._pipeline is not None:
                self._pipeline.sync()
            return _result(cursor)

    def prefetch(self, requests: list[tuple]) -> None:
        """Ask for the rows of several SELECTs (``(statement, params)`` pairs) at once: on a
        psycopg connection outside a transaction's pipeline they are sent together and answered
        in one round trip, and :meth:`rows` then returns each answer once (asked again, it runs
        the statement). Elsewhere nothing happens here: :meth:`rows` runs each when asked."""
        if self._pipeline is not None or not _pipelines(self._dialect):
            return
        compiled = [(_key(statement, params), _compiled(statement, self._dialect, tuple(params)), params)
                    for statement, params in requests]
        cursors = []
        text = "pipeline"
        try:
            with self._connection.pipeline():
                for key, (text, names, fixed), params in compiled:
                    cursor = self._connection.cursor()
                    cursors.append((key, cursor))
                    cursor.execute(text, _bound(names, fixed, params))
            self._unchecked = False
            for key, cursor in cursors:
                self._prefetched[key] = _result(cursor)
        except self._dialect.loaded_dbapi.Error as err:
            raise self._wrap(text, err) from err
        finally:
            for _, cursor in cursors:
                cursor.close()

    def _queued(self, text: str, rows: int | None = None):
        """A cursor of its own for a statement sent without waiting (``rows``: for ``executemany``,
        how many): when the server refuses one of several sent together, the error names that one
        (the first whose cursor did not get all its answers: those after it are skipped), not the
        statement it surfaced on."""
        cursor = self._connection.cursor()
        self._queue.append((text, cursor, rows))
        return cursor

    def _refused(self, text: str) -> str:
        """The statement a pipeline error is about: the first sent without its answer, else ``text``."""
        for sent, cursor, rows in self._queue:
            if (cursor.pgresult is None) if rows is None else (cursor.rowcount < rows):
                return sent
        return text

    def _close_queue(self) -> None:
        for _, cursor, _ in self._queue:
            cursor.close()
        self._queue.clear()

    def scalar(self, statement, params: dict):
        """The first column of the first row a SELECT returns (None without a row)."""
        found = self.rows(statement, params)
        return next(iter(found[0].values())) if found else None

    def executemany(self, statement, rows: list[dict]) -> None:
        """Run one statement once per row (one driver call; in a pipeline, queued as :meth:`send`)."""
        text, names, fixed = _compiled(statement, self._dialect, tuple(rows[0]))
        bound = [_bound(names, fixed, r) for r in rows] if names or fixed else rows
        if self._pipeline is not None:
            try:
                self._queued(text, len(bound)).executemany(text, bound)
            except self._dialect.loaded_dbapi.Error as err:
                raise self._wrap(text, err) from err
            return
        with self._cursor(text) as cursor:
            cursor.executemany(text, bound)

    @contextmanager
    def _cursor(self, text: str) -> Iterator:
        """A cursor for one statement, closed after it; a driver error raised as SQLAlchemy's."""
        cursor = self._connection.cursor()
        try:
            yield cursor
            self._unchecked = False  # the server answered: the connection was alive
        except self._dialect.loaded_dbapi.Error as err:
            raise self._wrap(text, err) from err
        finally:
            cursor.close()

    def _wrap(self, text: str, err: Exception) -> Exception:
        if self._queue:
            text = self._refused(text)
        lost = self._dialect.is_disconnect(err, self._connection, None)
        wrapped = exc.DBAPIError.instance(text, None, err, self._dialect.loaded_dbapi.Error, hide_parameters=True,
                                          connection_invalidated=lost, dialect=self._dialect)
        if lost and self._unchecked:
            setattr(wrapped, _RETRY_SAFE, True)
        return wrapped


#: attribute of an error raised on a connection lent without a ping that turned out to be gone
#: before the server had answered anything on it
_RETRY_SAFE = "inburgering_retry_safe"


def retry_safe(err: BaseException) -> bool:
    """Whether ``err`` says the connection was gone before the server answered anything on it (lent
    by the pool without its ping: ``checked=False``). Nothing of the transaction can have been
    committed (its COMMIT never goes in the first round trip), so the command may be decided
    again on a new connection."""
    return bool(getattr(err, _RETRY_SAFE, False))


class CoreWriter:
    """The same interface through ``Connection.execute`` (while statements are being observed)."""

    __slots__ = ("_connection", "info")

    def __init__(self, connection):
        self._connection = connection
        self.info: dict = {}

    def execute(self, statement, params: dict) -> int:
        return self._connection.execute(statement, params).rowcount

    def send(self, statement, params: dict) -> None:
        self._connection.execute(statement, params)

    def prefetch(self, requests: list[tuple]) -> None:
        """Nothing to do: :meth:`rows` runs each statement when asked."""

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


@lru_cache(maxsize=8)
def _pipelines(dialect) -> bool:
    """Whether statements can be pipelined on this dialect's connections (psycopg 3, libpq >= 14)."""
    if dialect.driver != "psycopg":
        return False
    return dialect.loaded_dbapi.Pipeline.is_supported()


@contextmanager
def transaction(db, *, checked: bool = True) -> Iterator[DriverWriter | CoreWriter]:
    """One writing transaction straight on a pooled driver connection: ``BEGIN IMMEDIATE`` on
    SQLite (the write lock at once, as :func:`engine.db.make_engine`'s ``begin`` hook takes it),
    on PostgreSQL an explicit ``BEGIN`` in a psycopg pipeline (module docstring); committed when
    the block ends, rolled back when it raises; what was registered under :data:`AFTER_COMMIT`
    runs once it committed. While statements are observed, a Core transaction instead.

    ``checked=False``: the pool lends the connection without its ping (:func:`engine.db._ping_on_checkout`);
    a lost connection shows at the first round trip, as :func:`retry_safe`."""
    if observed(db):
        with db.connect() as connection:
            with connection.begin():
                writer_ = CoreWriter(connection)
                yield writer_
        after_commit(writer_.info)
        return
    if _pipelines(db.dialect):
        with _pipelined(db, checked) as writer_:
            yield writer_
        after_commit(writer_.info)
        return
    with _pooled(db, checked) as (_, connection, writer_):
        if db.dialect.name == "sqlite":
            with writer_._cursor("BEGIN IMMEDIATE") as cursor:
                cursor.execute("BEGIN IMMEDIATE")
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


@contextmanager
def _pipelined(db, checked: bool = True) -> Iterator[DriverWriter]:
    """A writing transaction on a psycopg connection in pipeline mode: ``BEGIN`` goes with the first
    statement that needs an answer, ``COMMIT`` with the statements queued after it; the COMMIT's
    answer is checked (PostgreSQL answers ``ROLLBACK`` to the COMMIT of a failed transaction).
    The connection is in autocommit mode meanwhile, so that psycopg sends no ``BEGIN`` of its own
    (it would wait for its answer); it goes back to the pool idle and out of autocommit, or,
    when an error left it in any other state, is thrown away."""
    Error = db.dialect.loaded_dbapi.Error
    with _pooled(db, checked) as (fairy, connection, writer_):
        connection.autocommit = True
        committed = False
        try:
            try:
                with connection.pipeline() as pipeline:
                    writer_._pipeline = pipeline
                    writer_._queued("BEGIN").execute("BEGIN")
                    yield writer_
                    if writer_._unchecked:  # never the COMMIT in the round trip that may find the connection gone
                        try:
                            pipeline.sync()
                        except Error as err:
                            raise writer_._wrap("BEGIN", err) from err
                        writer_._unchecked = False
                    commit = writer_._queued("COMMIT")
                    commit.execute("COMMIT")  # sent with what is still queued as the pipeline ends
            except Error as err:  # the block's own errors are wrapped already: this is the COMMIT's trip
                raise writer_._wrap("COMMIT", err) from err
            if commit.statusmessage != "COMMIT":
                raise exc.InternalError("COMMIT", None, RuntimeError(
                    f"the server answered {commit.statusmessage!r} to COMMIT; nothing was saved"))
            committed = True
        except BaseException:
            if not committed:
                _rollback(connection)
            raise
        finally:
            writer_._pipeline = None
            writer_._close_queue()
            _back_to_pool(db, fairy, connection)


def _rollback(connection) -> None:
    """Roll back a pipelined transaction in whatever state an error left it (a connection that
    cannot is thrown away by :func:`_back_to_pool`)."""
    try:
        connection.rollback()
    except Exception:  # noqa: BLE001 - the error being raised is the one that matters
        pass


def _back_to_pool(db, fairy, connection) -> None:
    """Out of autocommit for the pool's other users when the connection is idle; else invalidated,
    so that the pool opens a new one instead of lending out one in doubt. A lost connection
    invalidates every connection the pool opened before it (SQLAlchemy does the same when Core
    meets one): a server restart took them all."""
    if connection.closed:
        db.pool._invalidate(fairy)  # SQLAlchemy 2.1's own handling of a disconnect (Connection._handle_dbapi_exception)
    elif connection.info.transaction_status == db.dialect.loaded_dbapi.pq.TransactionStatus.IDLE:
        connection.autocommit = False
    else:
        fairy.invalidate()


def after_commit(info: dict) -> None:
    """Run what a committed transaction registered under :data:`AFTER_COMMIT` in its ``info``."""
    for callback in info.pop(AFTER_COMMIT, ()):
        callback()


@contextmanager
def _pooled(db, checked: bool = True) -> Iterator[tuple]:
    """A driver connection checked out of the engine's pool (returned, and reset, at the end):
    the pool's handle on it, the connection, and a writer on it. ``checked=False``: without the
    pool's ping (PostgreSQL; the writer then reports a connection lost before its first answer as
    :func:`retry_safe`)."""
    unchecked = not checked and db.dialect.name != "sqlite"
    UNCHECKED.active = unchecked
    try:
        fairy = db.raw_connection()
    finally:
        UNCHECKED.active = False
    try:
        connection = fairy.driver_connection
        yield fairy, connection, DriverWriter(connection, db.dialect, unchecked=unchecked)
    finally:
        fairy.close()


@contextmanager
def snapshot(db, *, checked: bool = True) -> Iterator[DriverWriter | CoreWriter]:
    """A transaction that only reads, on a pooled driver connection: a consistent snapshot that
    takes no write lock (SQLite ``BEGIN``, deferred), as :meth:`engine.service.Engine.reading`
    opens through Core (used instead while statements are observed). With psycopg no
    transaction at all (autocommit): each SELECT reads what was committed when it ran, as in the
    driver's implicit READ COMMITTED transaction, without the round trips of its BEGIN and
    ROLLBACK (the writes check the version they read: :meth:`engine.context.DossierContext.write`),
    and SELECTs asked for together (:meth:`DriverWriter.prefetch`) go in one round trip.
    ``checked``: as for :func:`transaction`."""
    if observed(db):
        with db.connect() as connection:
            connection.execution_options(**{READ_ONLY: True})
            with connection.begin():
                yield CoreWriter(connection)
        return
    with _pooled(db, checked) as (fairy, connection, reader):
        if db.dialect.driver == "psycopg":
            connection.autocommit = True
            try:
                yield reader
            finally:
                _back_to_pool(db, fairy, connection)
            return
        if db.dialect.name == "sqlite":
            with reader._cursor("BEGIN") as cursor:
                cursor.execute("BEGIN")
        try:
            yield reader
        finally:
            connection.rollback()  # nothing to keep: ends the snapshot
