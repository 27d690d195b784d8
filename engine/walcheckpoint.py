"""Checkpoint SQLite's write-ahead log off the writers' path.

In WAL mode a commit appends the changed pages to ``<store>-wal``; a *checkpoint* copies them
back into the database file and syncs it (with ``synchronous=NORMAL``, the only sync a commit
ever waits for). By default SQLite runs it inside the commit that takes the log past 1,000
pages: every 40th or so step of the engine then waits 5-9 ms instead of 0.15 ms (measured in a
sweep of 1,000 timers: commits median 0.16 ms, p99 5.6 ms; BENCHMARKS.md, sweep). That stall
lands on whichever request or timer happens to commit it.

Here one daemon thread per process checkpoints every file store an engine of this process
writes to, a few times a second, on a connection of its own (``PRAGMA wal_checkpoint(PASSIVE)``:
it copies what no reader still needs and never waits for a reader or a writer). The sqlite3
module releases the GIL while SQLite works, so on a machine with a second core the copying and
syncing run beside the engine's Python instead of inside its commits. The writers' own
automatic checkpoint stays on, at :data:`WRITER_PAGES` (a larger threshold), as a safety net:
should this thread fall behind, the log is still bounded.

Durability is SQLite's own either way: a committed transaction is in the log before the commit
returns, whichever connection later copies it into the database file.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from urllib.parse import quote

log = logging.getLogger(__name__)

#: how often the thread looks at the logs (seconds)
INTERVAL = 0.1
#: a log smaller than this (bytes) is left alone: idle stores cost one stat a tick
MIN_WAL_BYTES = 256 * 1024
#: ``PRAGMA wal_autocheckpoint`` of the writers' connections: they checkpoint themselves only
#: when this thread has fallen this far behind (SQLite's default is 1,000 pages)
WRITER_PAGES = 8_000

_lock = threading.Condition()
_owners: dict[int, str] = {}  # id of a live engine -> the database path it writes to
_working: str | None = None  # the path being checkpointed right now
_thread: threading.Thread | None = None
_wake = threading.Event()


def register(path: str, owner: object) -> None:
    """Checkpoint ``path`` in the background while ``owner`` (the SQLAlchemy engine that writes to
    it) lives and until :func:`release`; starts the thread on first use. Registering an owner again
    (an engine used after its ``dispose()``) is a no-op when it is still registered."""
    global _thread
    path = os.path.abspath(path)
    key = id(owner)
    with _lock:
        if _owners.get(key) == path:
            return
        _owners[key] = path
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="wal-checkpoint", daemon=True)
            _thread.start()
    weakref.finalize(owner, _forget, key, path)


def release(owner: object) -> None:
    """Stop checkpointing for ``owner`` (its engine was disposed of) and, when no other owner writes
    to that store, wait for a checkpoint of it in flight to end: once this returns, this process
    does not touch the file again until an engine connects to it anew (a caller may then copy or
    replace the file)."""
    with _lock:
        path = _owners.pop(id(owner), None)
        if path is None or path in _owners.values():
            return
        while _working == path:
            _lock.wait()


def _forget(key: int, path: str) -> None:
    with _lock:
        if _owners.get(key) == path:
            del _owners[key]


def registered() -> list[str]:
    """The database paths checkpointed now (for tests and diagnostics)."""
    with _lock:
        return sorted(set(_owners.values()))


def checkpoint(path: str) -> tuple[int, int, int] | None:
    """One passive checkpoint of ``path`` on a connection of its own: SQLite's (busy, log pages,
    pages copied), or None when the store or its log is gone. Opens the file read-write without
    creating it, so a store deleted meanwhile (a test's temp dir) is never recreated empty."""
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=0, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return tuple(row) if row is not None else None
    except sqlite3.Error:  # locked by a TRUNCATE/RESTART checkpoint elsewhere, or gone: next tick
        return None
    finally:
        conn.close()


_seen: dict[str, int] = {}  # path -> the log's mtime (ns) when it was last checkpointed


def _due(path: str) -> int | None:
    """The log's mtime (ns) when it is big enough and was written since its last checkpoint here."""
    try:
        stat = os.stat(path + "-wal")
    except OSError:
        return None
    due = stat.st_size >= MIN_WAL_BYTES and _seen.get(path) != stat.st_mtime_ns
    return stat.st_mtime_ns if due else None


def _run() -> None:
    global _working
    while True:
        _wake.wait(INTERVAL)
        _wake.clear()
        with _lock:
            paths = set(_owners.values())
        for path in list(_seen):
            if path not in paths:
                _seen.pop(path, None)
        for path in paths:
            with _lock:  # still wanted? (released meanwhile: leave the file alone)
                if path not in _owners.values():
                    continue
                _working = path
            try:
                written = _due(path)
                if written is not None:
                    _seen[path] = written
                    checkpoint(path)
            except Exception:  # never let the thread die: the writers' own checkpoint is the net
                log.exception("background WAL checkpoint failed")
            finally:
                with _lock:
                    _working = None
                    _lock.notify_all()


def nudge() -> None:
    """Look at the logs now instead of at the next tick (tests)."""
    _wake.set()
