"""The state of a dossier as of any date, rebuilt from the journal alone (TRAJECTORY.md §8).

"What was the target group, which deadlines ran, which infractions were open on
1 February 2024?" — :func:`state_as_of` answers from the stored history, never from
the current state: it re-executes the dossier's journaled inputs (``import``,
``command``, ``sweep``) whose business date is on or before ``as_of`` in a fresh
in-memory engine (:class:`engine.replay.Replayer`) and returns that engine's view of
the dossier at the end of that day. The replayed prefix is compared with the
recorded one, so the answer says whether today's code reproduces what was recorded
(``consistent``) and whether the recorded chain is intact (``journal_intact``).
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from .errors import NotFound
from .replay import Replayer, SourceStore, compare, groups

__all__ = ["state_as_of"]


def state_as_of(source, dossier_id: str, as_of: date, *, replayer: Optional[Replayer] = None) -> dict:
    """The dossier's view (as ``GET /dossiers/{id}`` gives it) at the end of ``as_of``.

    ``source``: an :class:`engine.service.Engine`, a database URL, an SQLAlchemy engine
    or a Session. Raises :class:`engine.errors.NotFound` when the dossier is unknown or
    was not yet imported on ``as_of``. The result adds ``as_of``, ``journal_seq`` (the
    last recorded entry the state includes), ``journal_intact``, ``consistent`` and
    ``divergence`` (the first difference between the replayed and the recorded prefix).
    """
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a date, got {as_of!r}")
    day = as_of.isoformat()
    store = SourceStore(source)
    try:
        recorded, chain_problem = store.load(dossier_id)
        units = [g for g in groups(recorded) if g[0].business_date <= day]
        if not units or units[0][0].kind != "import":
            raise NotFound(f"dossier {dossier_id!r} did not exist yet on {day}")
        prefix = [entry for unit in units for entry in unit]
        own = replayer is None
        replayer = replayer or Replayer(store.definitions())
        try:
            run = replayer.run(dossier_id, units)
            replayed = replayer.journal(dossier_id)
            check = compare(dossier_id, prefix, replayed, run.error, run.stopped_at)
            if run.error is not None and run.executed == 0:
                raise NotFound(f"dossier {dossier_id!r}: its import cannot be replayed: {run.error['message']}")
            view = replayer.engine.dossier_view(dossier_id)
            replayer.reset(dossier_id)
        finally:
            if own:
                replayer.close()
    finally:
        store.close()
    return {
        "as_of": day,
        **view,
        "journal_seq": prefix[-1].seq,
        "journal_intact": chain_problem is None,
        "journal_problem": chain_problem,
        "consistent": check.ok,
        "divergence": check.first_divergence,
    }
