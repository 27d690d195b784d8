"""Loaded dossiers kept between units of work, so a step does not re-read and re-parse them.

Deserialising a Spiff instance and parsing the aggregate is most of the cost of loading
a dossier (BENCHMARKS.md, "Anatomy of one engine step"). After a unit of work commits,
the engine puts what it just saved — aggregate, waiting instances, due-timer rows —
into this cache, keyed by the dossier's **version**. Every change to a dossier, its
instances or its timers goes through :meth:`engine.context.DossierContext.save`, which
bumps that version in the same transaction, so a cached entry whose version equals the
row's version read inside the next transaction is exactly what the database holds.

The database stays the only source of truth (nothing is lost on a crash; several
processes may share a store): the version is read from the row every time, under the
same lock as before, and a mismatch — another process saved the dossier — is a miss.

An entry is *taken out* of the cache when a unit of work starts on it and *put back*
only after that unit of work committed. A unit of work that fails (a refused command,
a conflict, a crash) therefore leaves nothing behind that it may have changed in memory.
The cache is bounded (least recently used entries are dropped) and thread-safe.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: Default number of dossiers kept (a waiting trajectory instance takes ~50 KB in memory).
DEFAULT_CAPACITY = 4096


@dataclass
class CachedDossier:
    """What a committed unit of work left: enough to continue without reading the state again."""

    version: int
    row: Any  # engine.context.DossierRow
    state: Any  # engine.dossier.DossierState
    instances: dict  # instance id -> engine.context.LoadedInstance (waiting instances only)
    timers: set  # (instance id, timer name, due_at epoch seconds): the due-index rows


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class DossierCache:
    """A bounded, thread-safe LRU of :class:`CachedDossier`, with take-out / put-back semantics."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 0:
            raise ValueError(f"cache capacity must be 0 or more, not {capacity}")
        self.capacity = capacity
        self.stats = CacheStats()
        self._entries: OrderedDict[str, CachedDossier] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, dossier_id: str, version: int) -> CachedDossier | None:
        """Remove and return the entry for ``dossier_id`` if it is at ``version``; None otherwise."""
        with self._lock:
            entry = self._entries.pop(dossier_id, None)
            if entry is not None and entry.version == version:
                self.stats.hits += 1
                return entry
            self.stats.misses += 1
            return None

    def put(self, dossier_id: str, entry: CachedDossier) -> None:
        if self.capacity == 0:
            return
        with self._lock:
            self._entries[dossier_id] = entry
            self._entries.move_to_end(dossier_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
                self.stats.evictions += 1
