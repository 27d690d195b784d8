"""Keep Python's full garbage collections short in long-running processes.

CPython's cyclic collector walks every tracked object in a full (generation 2) collection.
A started service holds over 100,000 objects that live as long as the process (modules,
SQLAlchemy's and FastAPI's machinery, the parsed BPMN specs, the law's parameters); walking
them took 45-70 ms per full collection on our 2-core machine, a pause in the middle of
whatever request triggered it (BENCHMARKS.md, latency). :func:`settle` collects once and
*freezes* what is left (``gc.freeze``): those objects are moved to a permanent generation
the collector no longer walks. Objects created later (requests, cache entries) are
collected as usual; frozen objects are still freed by reference counting.

Call it once, when start-up is over and before serving work, in processes that run for a
long time (``serve``, its workers, ``simulate``'s workers); around one long piece of work
(a ``sweep``, a ``sweeper``), :func:`settled` unfreezes when it ends. Not in tests or
one-shot library calls: a frozen object that later becomes cyclic garbage is never collected.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


def settle() -> int:
    """Collect, then freeze every object that survived; returns how many are frozen now."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextmanager
def settled() -> Iterator[int]:
    """:func:`settle` for one long piece of work (a sweep, a sweeper's life) in a process that may
    go on afterwards (a CLI command the tests run in their own process): the objects are unfrozen
    when the work ends, so what became garbage meanwhile is collected again."""
    frozen = settle()
    try:
        yield frozen
    finally:
        gc.unfreeze()
