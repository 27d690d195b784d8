"""The state of a dossier on any date, as known at any moment, from the journal alone (TRAJECTORY.md §8).

"What was the target group, which deadlines ran, which infractions were open on 1 February
2024 — and what did we know of it when we fined on 20 March?" — :func:`state_as_of` folds the
dossier's recorded facts (:mod:`engine.projection`): those that had happened by the end of
``as_of`` and were recorded by the end of ``known_on`` (default: everything recorded so far).
Nothing is recomputed with today's rules, so a later change of a parameter or a ruleset never
changes the answer. The result also says whether the recorded chain is intact
(``journal_intact``) and whether the whole journal folds to the dossier's stored state
(``consistent``; ``divergence`` names the fields that differ; None for a journal with entries
of release 0.1, whose projection is partial).
"""
from __future__ import annotations

from datetime import date
from typing import Optional

from . import projection
from .errors import InvalidInput, NotFound
from .replay import SourceStore

__all__ = ["state_as_of"]


def state_as_of(source, dossier_id: str, as_of: date, *, known_on: Optional[date] = None, replayer=None) -> dict:
    """The dossier's view (as ``GET /dossiers/{id}`` gives it) at the end of ``as_of``, as known at the
    end of ``known_on``.

    ``source``: an :class:`engine.service.Engine`, a database URL, an SQLAlchemy engine or a Session.
    Raises :class:`engine.errors.NotFound` when the dossier is unknown, or was not yet imported
    on ``as_of`` or not yet known on ``known_on``. (``replayer`` is accepted for compatibility; the
    state is folded, not replayed.)
    """
    for name, value in (("as_of", as_of), ("known_on", known_on)):
        if value is not None and not isinstance(value, date):
            raise TypeError(f"{name} must be a date, got {value!r}")
    store = SourceStore(source)
    try:
        recorded, chain_problem = store.load(dossier_id)
        stored_state = store.state(dossier_id)
    finally:
        store.close()
    facts = projection.read(recorded)
    visible = projection.visible(facts, as_of=as_of, known_on=known_on)
    if not visible or visible[0].fact.kind != "import":
        when = f"on {as_of}" + (f" as known on {known_on}" if known_on else "")
        raise NotFound(f"dossier {dossier_id!r} did not exist yet {when}", code="not_yet_known",
                       params={"dossier": dossier_id, "as_of": as_of.isoformat(),
                               "known_on": known_on.isoformat() if known_on else None})
    if known_on is not None and known_on < as_of:
        raise InvalidInput("$.known_on", f"known_on ({known_on}) is before as_of ({as_of}): a day cannot be "
                                         "known before it ends", code="known_on_before_as_of",
                           params={"known_on": known_on.isoformat(), "as_of": as_of.isoformat()})
    state = projection.fold(dossier_id, facts, as_of=as_of, known_on=known_on)
    divergence = None
    checkable = stored_state is not None and all(e.schema_version >= 2 for e in recorded)
    if checkable:
        whole = projection.fold(dossier_id, facts)
        differing = projection.differences(whole, stored_state)
        if differing:
            divergence = {"fields": differing,
                          "message": f"the journal folds to another state than the stored one in: "
                                     f"{', '.join(differing)}"}
    from .service import view_of

    view = view_of(None, state, [])
    view["timers"] = [{"timer": d.name, "due_at": d.fires_at().isoformat()}
                      for d in state.deadlines.values() if d.status == "running" and state.obligated]
    view["timers"] += [{"timer": "regularisation", "infraction": i.id, "due_at": i.regularisation_fires_at().isoformat()}
                       for i in state.infractions if i.regularisation_fires_at() is not None]
    return {
        "as_of": as_of.isoformat(),
        "known_on": known_on.isoformat() if known_on else None,
        **view,
        "journal_seq": max(f.seq for f in visible),
        "journal_intact": chain_problem is None,
        "journal_problem": chain_problem,
        "consistent": (divergence is None) if checkable else None,  # None: older entries, not checked
        "divergence": divergence,
    }
