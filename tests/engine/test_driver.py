"""The write path on the driver's cursor (engine/driver.py) writes exactly what the Core path wrote,
keeps a failed unit of work out of the store, and raises SQLAlchemy's errors."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from engine import driver, journal
from engine import statements as sql
from engine.errors import Conflict
from engine.incidents import IncidentRaised
from engine.service import bootstrap
from engine.settings import Settings
from tests.conftest import at, private_schema
from tests.engine.helpers import CASEWORKER, newcomer, through_every_wait_state

TABLES = {"dossier": sql.DOSSIER, "instance": sql.INSTANCE, "due_timer": sql.DUE_TIMER, "journal_entry": sql.JOURNAL}


def _rows(eng) -> dict:
    """Every row the engine writes, without the surrogate keys the database numbers and the
    instances' Spiff state (its task ids are random per run; the journal names what happened)."""
    with eng.db.connect() as conn:
        out = {}
        for name, table in TABLES.items():
            columns = [c for c in table.c if (c.name != "id" or name in ("dossier", "instance"))
                       and not (name == "instance" and c.name == "state")]
            out[name] = sorted(tuple(row) for row in conn.execute(select(*columns)))
        return out


def _run(url, clock, observe: bool) -> tuple[dict, list[str]]:
    eng = bootstrap(Settings(database_url=url, jwt_secret="test-secret", demo_data=False), clock)
    seen: list[str] = []
    if observe:
        event.listen(eng.db, "before_cursor_execute", lambda conn, cur, statement, *a: seen.append(statement))
    try:
        through_every_wait_state(eng, clock, lambda: None)
        return _rows(eng), seen
    finally:
        eng.db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def two_urls(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/driver.db", f"sqlite:///{tmp_path}/core.db"
    else:
        with private_schema() as one, private_schema() as other:
            yield one, other


def test_driver_writes_the_rows_core_wrote(two_urls):
    """The same dossier driven through every wait state, once on the driver's cursor and once through
    ``Connection.execute`` (a statement observer forces that path): identical rows, hash chain included."""
    from engine.clock import ManualClock, brussels_instant

    fast, observed = two_urls
    rows_fast, seen_fast = _run(fast, ManualClock(brussels_instant(date(2024, 1, 1))), observe=False)
    rows_core, seen_core = _run(observed, ManualClock(brussels_instant(date(2024, 1, 1))), observe=True)
    assert rows_fast == rows_core
    assert rows_fast["journal_entry"] and rows_fast["instance"]
    # the observer saw the hot path's statements (it was not bypassed)
    assert any(s.startswith("UPDATE dossier") for s in seen_core)
    assert any(s.startswith("INSERT INTO journal_entry") for s in seen_core)


def test_a_failed_write_leaves_nothing_and_the_connection_clean(engine, clock, monkeypatch):
    """A unit of work that fails after its first statements rolls them back; the next one succeeds."""
    engine.import_newcomer(newcomer("N1"))
    at(clock, date(2024, 2, 5))
    before = _rows(engine)

    def broken(session, rows):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(journal, "write", broken)
    engine.cache.forget("N1")  # decide on the store's rows, not only the cached copy
    with pytest.raises(IncidentRaised) as failed:  # after the dossier row's UPDATE ran
        engine.handle("N1", "registered", {}, actor=CASEWORKER, check_access=False)
    assert isinstance(failed.value.__cause__, RuntimeError)
    monkeypatch.undo()
    assert _rows(engine) == before
    engine.handle("N1", "registered", {}, actor=CASEWORKER, check_access=False)
    assert _rows(engine)["dossier"][0][1] == before["dossier"][0][1] + 1  # version moved on once


def test_driver_errors_are_sqlalchemy_errors(engine):
    """A constraint the database refuses surfaces as SQLAlchemy's IntegrityError (parameters hidden),
    so a second import of the same id is a 409, not a driver exception."""
    engine.import_newcomer(newcomer("N1"))
    with pytest.raises(Conflict) as refused:
        engine.import_newcomer(newcomer("N1"))
    assert refused.value.code == "duplicate_dossier"
    taken = _first_entry(engine)  # (dossier_id, seq) already in the journal
    with pytest.raises(IntegrityError) as err:
        with driver.transaction(engine.db) as writer:
            writer.execute(sql.DOSSIER_TIMERS_DELETE, {"dossier_id": "N1"})
            writer.executemany(sql.JOURNAL_INSERT, [taken])
    assert "N1" not in str(err.value.params or "")
    with engine.db.connect() as conn:  # the delete before the failure was rolled back
        assert conn.execute(text("SELECT count(*) FROM due_timer WHERE dossier_id = 'N1'")).scalar() == 1


def _first_entry(eng) -> dict:
    with eng.db.connect() as conn:
        row = conn.execute(select(sql.JOURNAL).where(sql.JOURNAL.c.seq == 1)).mappings().one()
        return {k: v for k, v in row.items() if k != "id"}


def _pooled_state(eng) -> tuple:
    """Autocommit and transaction status of the connection the pool lends next (PostgreSQL)."""
    fairy = eng.db.raw_connection()
    try:
        conn = fairy.driver_connection
        return conn.autocommit, conn.info.transaction_status.name
    finally:
        fairy.close()


def test_a_queued_statement_fails_at_commit_and_undoes_the_checked_update(engine, clock):
    """On PostgreSQL the statements whose answer nobody reads are only queued (``send``) and go to
    the server with the COMMIT: an error in one is raised when the block ends, and the versioned
    UPDATE that was answered before it is rolled back with it. On SQLite the error comes at once.
    Either way the store is as before and the pool lends out a clean connection."""
    engine.import_newcomer(newcomer("N1"))
    before = _rows(engine)
    taken = _first_entry(engine)
    with engine.db.connect() as conn:
        stored = conn.execute(select(sql.DOSSIER).where(sql.DOSSIER.c.id == "N1")).mappings().one()
    pipelined = engine.db.dialect.name == "postgresql"
    reached_end_of_block = False
    with pytest.raises(IntegrityError) as refused:
        with driver.transaction(engine.db) as writer:
            version = before["dossier"][0][1]
            values = {name: stored[name] for name in sql.DOSSIER_VALUES}
            assert writer.execute(sql.DOSSIER_UPDATE, {"dossier_id": "N1", "loaded": version,
                                                       "version": version + 1, **values}) == 1
            writer.send(sql.DOSSIER_TIMERS_DELETE, {"dossier_id": "N1"})
            writer.executemany(sql.JOURNAL_INSERT, [taken])  # (dossier_id, seq) is taken
            reached_end_of_block = True
    assert reached_end_of_block is pipelined
    assert refused.value.statement.startswith("INSERT INTO journal_entry")  # the one refused, not the COMMIT
    assert _rows(engine) == before
    if pipelined:
        assert _pooled_state(engine) == (False, "IDLE")
    at(clock, date(2024, 2, 5))
    engine.handle("N1", "registered", {}, actor=CASEWORKER, check_access=False)
    assert _rows(engine)["dossier"][0][1] == before["dossier"][0][1] + 1


def test_prefetched_reads_answer_as_the_statements_do(engine):
    """SELECTs asked for together (one round trip on PostgreSQL) give the rows each gives alone;
    asked again, a statement runs again. The snapshot leaves the pooled connection as it found it."""
    engine.import_newcomer(newcomer("N1"))
    by_id = {"dossier_id": "N1"}
    asked = [(sql.DOSSIER_ROW, by_id), (sql.WAITING_INSTANCES, by_id), (sql.DOSSIER_TIMERS, by_id)]
    with driver.snapshot(engine.db) as reader:
        alone = [reader.rows(statement, params) for statement, params in asked]
    with driver.snapshot(engine.db) as reader:
        reader.prefetch(asked)
        together = [reader.rows(statement, params) for statement, params in reversed(asked)][::-1]
        again = reader.rows(sql.DOSSIER_TIMERS, by_id)
    assert together == alone and again == alone[2]
    assert alone[0][0]["id"] == "N1" and alone[1] and alone[2]
    if engine.db.dialect.name == "postgresql":
        assert _pooled_state(engine) == (False, "IDLE")


def _drop_connections(application_name: str) -> int:
    """The server ends every connection of ``application_name`` (as a restart would); how many."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = %s", (application_name,)).fetchall())


def test_commands_on_connections_the_server_dropped_are_decided_once_on_new_ones(pg_schema_url, clock, monkeypatch):
    """PostgreSQL. The commands' snapshot and write take their connection without the pool's ping
    (one round trip each) and learn from their first answer whether it is alive. After the server
    ended every pooled connection (as a restart does), a command and an import each succeed, on
    new connections, and are applied once; reads through Core are pinged as before."""
    from engine.clock import ManualClock, brussels_instant
    from sqlalchemy.exc import DBAPIError

    name = f"drop-{uuid.uuid4().hex[:8]}"
    eng = bootstrap(Settings(database_url=f"{pg_schema_url}&application_name={name}", jwt_secret="test-secret",
                             demo_data=False), clock)
    retried = []
    original = driver.retry_safe

    def spy(err):
        safe = original(err)
        retried.append(safe)
        return safe

    monkeypatch.setattr(driver, "retry_safe", spy)
    try:
        eng.import_newcomer(newcomer("N1"))
        at(clock, date(2024, 2, 5))
        before = _rows(eng)
        assert _drop_connections(name) >= 1
        eng.cache.forget("N1")  # the command reads the store: the snapshot is its first round trip
        eng.handle("N1", "registered", {}, actor=CASEWORKER, check_access=False)
        after = _rows(eng)
        assert after["dossier"][0][1] == before["dossier"][0][1] + 1  # applied once
        commands = [e for e in after["journal_entry"] if e not in before["journal_entry"] and e[2] == "command"]
        assert len(commands) == 1
        assert _drop_connections(name) >= 1
        eng.import_newcomer(newcomer("N2"))  # its first round trip finds the connection gone
        assert [d[0] for d in _rows(eng)["dossier"]] == ["N1", "N2"]
        assert retried.count(True) >= 2
        assert _drop_connections(name) >= 1
        assert eng.dossier_view("N1")["dossier_id"] == "N1"  # Core: pinged at checkout, replaced
        with pytest.raises(DBAPIError) as err:  # a connection lost after its first answer: not retry-safe
            with driver.transaction(eng.db, checked=False) as writer:
                writer.rows(sql.DOSSIER_ROW, {"dossier_id": "N1"})
                _drop_connections(name)
                writer.execute(sql.DOSSIER_TIMERS_DELETE, {"dossier_id": "N1"})
        assert not original(err.value)
    finally:
        eng.db.dispose()
