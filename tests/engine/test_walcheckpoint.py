"""The write-ahead log of a file store is checkpointed by a background thread (engine/walcheckpoint.py)."""
from __future__ import annotations

import gc
import sqlite3
import time

from sqlalchemy import text

from engine import walcheckpoint
from engine.db import make_engine


def _main_file_rows(path) -> int:
    """Rows of table t in the database file itself, the log ignored (``immutable=1`` reads no WAL)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.OperationalError:  # the table itself is still only in the log
        return 0
    finally:
        conn.close()


def _write(engine, rows: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)"))
    for start in range(0, rows, 100):  # many small commits, as the engine writes
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (body) VALUES (:body)"),
                         [{"body": "x" * 2000} for _ in range(min(100, rows - start))])


def test_the_log_reaches_the_database_file_without_a_writer_checkpointing(tmp_path):
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:  # the writers' own checkpoint only as a far-behind net
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == walcheckpoint.WRITER_PAGES
        assert str(path) in walcheckpoint.registered()
        _write(engine, 600)  # ~1.3 MB of log: past MIN_WAL_BYTES, far below WRITER_PAGES
        deadline = time.monotonic() + 10
        while _main_file_rows(path) < 600 and time.monotonic() < deadline:
            walcheckpoint.nudge()
            time.sleep(0.05)
        assert _main_file_rows(path) == 600
        with engine.connect() as conn:  # and the store reads as before
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 600
    finally:
        engine.dispose()


def test_a_checkpoint_copies_every_frame_of_the_log(tmp_path):
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        _write(engine, 200)
        busy, log_pages, copied = walcheckpoint.checkpoint(str(path))
        assert busy == 0 and log_pages == copied
        assert _main_file_rows(path) == 200
    finally:
        engine.dispose()


def test_a_store_that_is_gone_is_not_recreated(tmp_path):
    missing = tmp_path / "gone.db"
    assert walcheckpoint.checkpoint(str(missing)) is None
    assert not missing.exists()


def test_a_store_is_no_longer_checkpointed_once_its_engine_is_gone(tmp_path):
    path = tmp_path / "short.db"
    engine = make_engine(f"sqlite:///{path}")
    engine.connect().close()  # taken on with its first connection
    assert str(path) in walcheckpoint.registered()
    del engine  # never disposed of: forgotten when it is collected
    gc.collect()
    assert str(path) not in walcheckpoint.registered()


def test_an_in_memory_store_is_not_registered():
    before = walcheckpoint.registered()
    engine = make_engine("sqlite://")
    try:
        assert walcheckpoint.registered() == before
    finally:
        engine.dispose()


def test_a_disposed_engine_releases_its_store_and_a_used_one_takes_it_again(tmp_path):
    """After ``dispose()`` this process leaves the file alone (a caller may copy or replace it: the
    sweep benchmark does); an engine used again is checkpointed again."""
    path = tmp_path / "store #1.db"  # a name a URI must quote
    engine = make_engine(f"sqlite:///{path}")
    try:
        _write(engine, 200)
        assert walcheckpoint.checkpoint(str(path))[0] == 0
        engine.dispose()
        assert str(path) not in walcheckpoint.registered()
        _write(engine, 10)
        assert str(path) in walcheckpoint.registered()
    finally:
        engine.dispose()


def test_release_waits_for_a_checkpoint_in_flight(tmp_path, monkeypatch):
    import threading

    path = tmp_path / "slow.db"
    engine = make_engine(f"sqlite:///{path}")
    _write(engine, 600)
    started, finish = threading.Event(), threading.Event()
    real = walcheckpoint.checkpoint

    def slow(p):
        if p == str(path):
            started.set()
            finish.wait(10)
        return real(p)

    monkeypatch.setattr(walcheckpoint, "checkpoint", slow)
    walcheckpoint.nudge()
    assert started.wait(10)
    released = threading.Event()
    waiter = threading.Thread(target=lambda: (engine.dispose(), released.set()))
    waiter.start()
    assert not released.wait(0.3)  # dispose() waits while the checkpoint runs
    finish.set()
    assert released.wait(10)
    waiter.join()
