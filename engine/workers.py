"""Worker processes of the long runs (``simulate --workers``, ``replay --workers``): how many by
default, how they are started, and how their parent listens to them.

Each worker is a fresh interpreter (``spawn``: no inherited database connections) that reports on
one queue as ``(kind, payload)`` messages; the parent also notices a worker that died without a word
(killed, out of memory), so a run never waits forever for a message that will not come."""
from __future__ import annotations

import multiprocessing
import os
import queue
from typing import Iterator, Optional

#: the messages' kind for a worker that failed (its payload says why)
FAILED = "failed"


def cpu_workers() -> int:
    """The default number of worker processes: the CPUs, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def spawn_context():
    """The multiprocessing context of every worker: a fresh interpreter, no inherited connections."""
    return multiprocessing.get_context("spawn")


def messages(processes: list, results, interval: float = 0.5) -> Iterator[Optional[tuple[str, object]]]:
    """The workers' messages from ``results``, as they come; None after each ``interval`` without one
    (for progress), and ``(FAILED, why)`` when a worker has exited with an error code. Endless: the
    caller stops when it has heard what it waits for."""
    while True:
        try:
            yield results.get(timeout=interval)
        except queue.Empty:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            if dead:  # died without a word (killed, out of memory)
                yield FAILED, f"{dead[0].name} exited with code {dead[0].exitcode}"
            else:
                yield None
