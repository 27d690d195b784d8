"""The dossier as a projection of its journal: on any day, as known at any moment.

A dossier changes only by its facts (:mod:`engine.facts`), so folding the recorded facts
rebuilds it without running a rule (ENGINEERING.md principles 10 and 12): the past is read,
never recomputed with today's code. Two time axes:

* ``as_of`` (a day): only facts that had happened by the end of that day — their effective
  date (:meth:`engine.facts.Fact.effective`; the entry's day for bookkeeping facts);
* ``known_on`` (a day): only entries recorded by the end of that day — "what did we know
  when we fined?".

Entries of every schema version are read through :mod:`engine.upcast`. A fact whose
subject is left out by the filter (an extension of a deadline that had not started yet on
``as_of``) is skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Iterable, Optional

from . import atrest
from .dossier import DossierState
from .facts import Fact
from .upcast import Legacy, facts_of


@dataclass(frozen=True)
class StoredFact:
    """One typed fact with the journal entry it came from."""

    seq: int
    entered: date  # the entry's business day
    fact: Fact
    actor: str = ""
    process_version: Optional[str] = None

    @property
    def effective(self) -> date:
        return self.fact.effective() or self.entered


def read(entries: Iterable) -> list[StoredFact]:
    """The typed facts of journal entries (ORM rows, :class:`engine.replay.Recorded` or dicts with the
    same fields), oldest first: one dossier's journal in seq order (or several one after the other;
    a new journal starts at seq 1 or at another ``dossier_id``)."""
    out = []
    legacy, dossier = Legacy(), None
    for entry in entries:
        (seq, kind, schema_version, payload, business_date, business_time, ruleset, rule_version,
         actor, process_version, dossier_id) = _fields(entry)
        if seq == 1 or dossier_id != dossier:  # what schema-1 entries derive from is per dossier
            legacy, dossier = Legacy(), dossier_id
        payload = atrest.loads(payload) if isinstance(payload, str) else payload  # orjson: a report reads every entry
        entered = date.fromisoformat(business_date or business_time[:10])
        for fact in facts_of(kind, schema_version, payload, day=entered,
                             ruleset=ruleset, rule_version=rule_version, legacy=legacy):
            out.append(StoredFact(seq, entered, fact, actor, process_version))
    return out


#: the fields :func:`read` takes of an entry, in its order (``dossier_id`` last: a Recorded has none)
_READ = ("seq", "kind", "schema_version", "payload", "business_date", "business_time", "ruleset",
         "rule_version", "actor", "process_version", "dossier_id")
_READ_MOST = attrgetter(*_READ[:-1])


def _fields(entry) -> tuple:
    """The :data:`_READ` fields of an entry: a dict's keys or an object's attributes, None where missing
    (asked by ``attrgetter`` first: a year's report reads every entry)."""
    if isinstance(entry, dict):
        return tuple(map(entry.get, _READ))
    try:
        return (*_READ_MOST(entry), getattr(entry, "dossier_id", None))
    except AttributeError:
        return tuple(getattr(entry, name, None) for name in _READ)


def visible(facts: Iterable[StoredFact], *, as_of: Optional[date] = None,
            known_on: Optional[date] = None) -> list[StoredFact]:
    return [f for f in facts if (known_on is None or f.entered <= known_on)
            and (as_of is None or f.effective <= as_of)]


def fold(dossier_id: str, facts: Iterable[StoredFact], *, as_of: Optional[date] = None,
         known_on: Optional[date] = None) -> DossierState:
    """The dossier after the facts visible on ``as_of`` as known on ``known_on`` (both optional)."""
    state = DossierState(id=dossier_id)
    for stored in visible(facts, as_of=as_of, known_on=known_on):
        try:
            stored.fact.apply(state)
        except (KeyError, StopIteration, AttributeError):
            if as_of is None and known_on is None:
                raise  # the whole journal must fold: a fact about nothing is a broken journal
            continue  # its subject is not visible on that day
    return state


def differences(a: DossierState, b: DossierState) -> list[str]:
    """The fields in which two states differ (names), for the consistency check of a stored snapshot."""
    left, right = a.to_json(), b.to_json()
    return sorted(k for k in set(left) | set(right) if left.get(k) != right.get(k))
