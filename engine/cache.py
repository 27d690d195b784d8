"""Loaded dossiers kept between units of work, so a step does not re-read and re-parse them.

Deserialising a Spiff instance and parsing the aggregate is most of the cost of loading
a dossier (BENCHMARKS.md, "Anatomy of one engine step"). After a unit of work commits,
the engine puts what it just saved — aggregate, waiting instances, due-timer rows —
into this cache, keyed by the dossier's **version**. Every change to a dossier, its
instances or its timers goes through :meth:`engine.context.DossierContext.save`, which
bumps that version in the same transaction, so a cached entry whose version equals the
row's version read inside the next transaction is exactly what the database holds.

The database stays the only source of truth (nothing is lost on a crash; several
processes may share a store). The sweep reads the row's version under its lock, and a
mismatch — another process saved the dossier — is a miss. A command does not read before
deciding: it takes the cached entry as it is (:meth:`DossierCache.take_latest`), and its
write requires the version it started from, so a stale entry cannot be written over the
newer row: the write is refused and the command decided again on the store's rows. A
command refused on a cached entry (not waiting, stale If-Match, ...) is decided again on
the store's rows when the store has moved on, so a stale entry never refuses a command
either (engine/service.py ``Engine._handle``).

An entry is *taken out* of the cache when a unit of work starts on it and *put back*
only after that unit of work committed. A unit of work that fails (a refused command,
a conflict, a crash) therefore leaves nothing behind that it may have changed in memory.
The cache is bounded (least recently used entries are dropped) and thread-safe.

**Two tiers.** Only the :data:`DEFAULT_LIVE` most recently saved dossiers are kept as live
objects (Spiff workflows, the aggregate); older entries are **packed**: they keep only what
was written — the dossier row with its aggregate JSON, the instance rows with their
compressed state blobs, the due-index rows — and are rebuilt from those bytes when taken
(:func:`engine.context.load`), without reading the database. A live trajectory instance is
thousands of small objects that Python's cyclic garbage collector walks on every full
collection; 4,096 of them made every full collection a pause of 70-270 ms in the middle of
a request (BENCHMARKS.md, latency). A packed entry is a handful of objects and bytes.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: Default number of dossiers kept (live or packed).
DEFAULT_CAPACITY = 4096
#: Of those, how many are kept live (a waiting trajectory instance takes ~50 KB of small objects).
DEFAULT_LIVE = 128


@dataclass
class CachedDossier:
    """What a committed unit of work left: enough to continue without reading the state again."""

    version: int
    row: Any  # engine.context.DossierRow
    state: Any  # engine.dossier.DossierState
    instances: dict  # instance id -> engine.context.LoadedInstance (waiting instances only)
    timers: set  # (instance id, timer name, due_at epoch seconds): the due-index rows
    #: True when only the rows are kept: ``state`` is None and ``instances`` maps instance id ->
    #: engine.context.InstanceRow (its ``state`` the blob as written)
    packed: bool = False

    def pack(self) -> "CachedDossier":
        """The same entry without live objects: the rows as they were written. The live instances
        are disposed of (:func:`engine.spiff.dispose`): nothing else holds them once cached."""
        if self.packed:
            return self
        packed = CachedDossier(self.version, self.row, None,
                               {i: loaded.row for i, loaded in self.instances.items()}, self.timers, packed=True)
        self.dispose()
        return packed

    def dispose(self, keep: "CachedDossier | None" = None) -> None:
        """Free the live instances now (an entry dropped or packed; see :func:`engine.spiff.dispose`),
        except those that ``keep`` holds too."""
        if not self.packed:
            from . import spiff

            kept = {id(loaded) for loaded in keep.instances.values()} if keep is not None else set()
            for loaded in self.instances.values():
                workflow = getattr(loaded, "workflow", None)
                if workflow is not None and id(loaded) not in kept:
                    spiff.dispose(workflow)
            self.instances = {}


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    #: entries taken unverified (:meth:`DossierCache.take_latest`) that turned out stale
    stale: int = 0


class DossierCache:
    """A bounded, thread-safe LRU of :class:`CachedDossier`, with take-out / put-back semantics."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, live: int = DEFAULT_LIVE):
        if capacity < 0:
            raise ValueError(f"cache capacity must be 0 or more, not {capacity}")
        if live < 0:
            raise ValueError(f"live cache entries must be 0 or more, not {live}")
        self.capacity = capacity
        self.live = min(live, capacity)
        self.stats = CacheStats()
        self._live: OrderedDict[str, CachedDossier] = OrderedDict()  # least recently saved first
        self._packed: OrderedDict[str, CachedDossier] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._live) + len(self._packed)

    def clear(self) -> None:
        """Forget every entry (the next unit of work on any dossier reads the store)."""
        with self._lock:
            self._live.clear()
            self._packed.clear()

    def forget(self, dossier_id: str) -> None:
        """Drop one dossier's entry (its rows were deleted: it must not come back from memory)."""
        with self._lock:
            entry = self._pop(dossier_id)
        if entry is not None:
            entry.dispose()

    def _pop(self, dossier_id: str) -> CachedDossier | None:
        """Remove the entry for ``dossier_id`` from whichever tier holds it (the lock held)."""
        entry = self._live.pop(dossier_id, None)
        return entry if entry is not None else self._packed.pop(dossier_id, None)

    def take(self, dossier_id: str, version: int) -> CachedDossier | None:
        """Remove and return the entry for ``dossier_id`` if it is at ``version`` (live, or packed:
        see :attr:`CachedDossier.packed`); None otherwise."""
        with self._lock:
            entry = self._pop(dossier_id)
            if entry is not None and entry.version == version:
                self.stats.hits += 1
                return entry
            self.stats.misses += 1
        if entry is not None:  # stale: another process saved the dossier since
            entry.dispose()
        return None

    def trusted(self) -> bool:
        """Whether a command may take an entry without asking the store (:meth:`take_latest`): while at
        most about one in twenty entries taken so had been outdated by another process. A store that
        several processes write to the same dossiers of (``serve --workers N``) would otherwise pay a
        wasted decision for every stale copy, more than the read it saves; the share is re-tried as
        verified hits accumulate."""
        return self.stats.stale <= 1 + self.stats.hits // 20

    def take_latest(self, dossier_id: str) -> CachedDossier | None:
        """Remove and return the entry for ``dossier_id`` whatever its version, without asking the
        store: for a unit of work whose write checks the version (a command), so that a stale
        entry costs a re-run, never a wrong write (engine/service.py ``Engine._handle``)."""
        with self._lock:
            entry = self._pop(dossier_id)
            if entry is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
        return entry

    def put(self, dossier_id: str, entry: CachedDossier, *, live: bool = True) -> None:
        """Put a committed unit of work's dossier back; ``live=False`` packs it at once (a sweep's
        dossiers: nobody is about to step them, and a live entry's thousands of objects would only
        age through the garbage collector's generations until it is packed anyway)."""
        if self.capacity == 0:
            return
        with self._lock:
            for tier in (self._packed, self._live):
                old = tier.pop(dossier_id, None)
                if old is not None and old is not entry:
                    old.dispose(keep=entry)
            if self.live and live:
                self._live[dossier_id] = entry
                while len(self._live) > self.live:  # the least recently saved live entry is packed
                    old_id, old = self._live.popitem(last=False)
                    self._packed[old_id] = old.pack()
            else:
                self._packed[dossier_id] = entry.pack()
            while len(self._live) + len(self._packed) > self.capacity:
                (self._packed or self._live).popitem(last=False)[1].dispose()
                self.stats.evictions += 1
