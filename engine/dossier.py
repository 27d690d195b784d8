"""The dossier aggregate: one newcomer's business state, plain data.

It knows nothing of BPMN, SQL or HTTP (cosmicpython's domain layer). It changes only by
applying journal facts (:mod:`engine.facts`, ``Fact.apply``): the state is the projection of
the dossier's journal, saved with the dossier row as a snapshot (JSON, format
:data:`STATE_FORMAT`). Rules (``rules/``) decide; this module only records.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Optional

from rules import dates, geography

from . import atrest
from .clock import brussels_instant

COMPONENTS = ("mo", "nt2", "vdab", "pnt")
REGISTRATION_INFRACTIONS = ("late_registration", "late_registration_after_infraction")
UNDECIDED = ("open", "handed_over")
DECIDED = ("fined", "not_fined", "annulled")


def _d(value) -> Optional[date]:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


STATE_FORMAT = 2  # the aggregate's JSON format (see from_json for the upcast of format 1)
_ALWAYS = ("id", "target_group", "components")  # kept even when empty


@dataclass
class Deadline:
    """A legal deadline: ``last_timely`` is the last day an action is on time (TRAJECTORY.md §5),
    ``base_last_timely`` the same without suspensions, ``armed_on`` the day it became known."""

    name: str
    start: date
    last_timely: date
    status: str = "running"  # running | met | fired | stopped | withdrawn
    base_last_timely: Optional[date] = None
    armed_on: Optional[date] = None

    def established_on(self) -> date:
        """The day its infraction is established: the first day after the last timely day, and never
        before the day after it became known (scenarios README "Late-recorded facts")."""
        day = dates.day_established(self.last_timely)
        if self.armed_on is not None:
            day = max(day, dates.day_established(self.armed_on))
        return day

    def fires_at(self) -> datetime:
        """00:00 Europe/Brussels on the day its infraction is established."""
        return brussels_instant(self.established_on())


@dataclass
class Infraction:
    id: str
    type: str
    established_on: date
    component: Optional[str] = None
    outcome: str = "open"  # open | regularised | handed_over | fined | not_fined | annulled | withdrawn
    notice_on: Optional[date] = None
    regularisation_last_day: Optional[date] = None
    handed_over_on: Optional[date] = None
    decided_on: Optional[date] = None
    decision: Optional[str] = None
    fine_eur: Optional[float] = None
    closed_on: Optional[date] = None
    ruleset: Optional[str] = None
    rule_version: Optional[str] = None
    trigger: Optional[str] = None
    deadline: Optional[str] = None
    deadline_last_timely: Optional[date] = None
    regularisation_base_last_day: Optional[date] = None
    recalled_handed_over_on: Optional[date] = None
    closing_reason: Optional[str] = None
    motivation: Optional[str] = None

    def regularisation_fires_at(self) -> Optional[datetime]:
        if self.outcome != "open" or self.regularisation_last_day is None:
            return None
        return brussels_instant(dates.day_established(self.regularisation_last_day))

    def in_regularisation_period(self, day: date) -> bool:
        """Whether a fact of ``day`` regularises this infraction: from its notice to the end of the period,
        and, for one established by a deadline, from the day after the deadline's last timely day (a fact
        that happened between the missed deadline and a notice issued later — a deadline armed by a late
        fact, a sweep that ran late — did what the notice asks; ASSUMPTION, scenarios README "Late-recorded
        facts" is silent on it)."""
        if self.notice_on is None or self.regularisation_last_day is None:
            return False
        start = self.notice_on
        if self.deadline_last_timely is not None:
            start = min(start, dates.day_established(self.deadline_last_timely))
        return start <= day <= self.regularisation_last_day

    def outcome_view(self) -> dict:
        return {
            "type": self.type,
            "established_on": self.established_on.isoformat(),
            "outcome": self.outcome,
            "handed_over_on": self.handed_over_on.isoformat() if self.handed_over_on else None,
            "fine_eur": self.fine_eur,
        }


@dataclass
class Component:
    listed: bool = False
    fulfilled_on: Optional[date] = None
    fulfilled_by: Optional[str] = None


@dataclass
class DossierState:
    id: str
    newcomer: dict = field(default_factory=dict)
    target_group: str = ""
    reasons: list = field(default_factory=list)
    region: Optional[str] = None
    agency: Optional[str] = None
    decided_by: dict = field(default_factory=dict)
    obligation_start: Optional[date] = None
    registered_on: Optional[date] = None
    advice: Optional[str] = None
    intake_on: Optional[date] = None
    contract_signed_on: Optional[date] = None
    components: dict = field(default_factory=lambda: {c: Component() for c in COMPONENTS})
    mo_passed_on: Optional[date] = None
    nt2_passed_on: Optional[date] = None
    vdab_registered_on: Optional[date] = None
    vdab_exempt_reason: Optional[str] = None
    vdab_exempt_on: Optional[date] = None
    pnt_reports: list = field(default_factory=list)  # (on, hours)
    attest_on: Optional[date] = None
    b1_due_on: Optional[date] = None
    b1_outcome: Optional[str] = None
    b1_attained_on: list = field(default_factory=list)
    activities: list = field(default_factory=list)
    suspensions: list = field(default_factory=list)  # (from, to, days added)
    deadlines: dict = field(default_factory=dict)
    infractions: list = field(default_factory=list)
    fees: list = field(default_factory=list)
    letters: list = field(default_factory=list)
    waiting: list = field(default_factory=list)
    has_trajectory: bool = False
    changed_on: dict = field(default_factory=dict)  # register fact (nis_code, residence) → ISO day of its last change
    nis_codes: list = field(default_factory=list)  # after a move: [ISO day it applies from (None: the start), code]

    # ----- queries -------------------------------------------------------
    @property
    def obligated(self) -> bool:
        return self.target_group == "obligated"

    @property
    def living_in_brussels(self) -> bool:
        return self.region == "brussel"

    def nis_code_on(self, day: date) -> Optional[str]:
        """The newcomer's municipality on ``day`` (the moves recorded so far, in their order)."""
        code = self.newcomer.get("nis_code")
        for since, moved_to in self.nis_codes:
            if since is None or since <= day.isoformat():
                code = moved_to
        return code

    def living_in_brussels_on(self, day: date) -> bool:
        """Whether the newcomer lived in Brussels on ``day`` (the moves recorded so far, in their order)."""
        code = self.nis_code_on(day)
        return geography.is_brussels(geography.locate(code)) if code else self.living_in_brussels

    @property
    def fee_exempt(self) -> bool:
        return "fee_exempt" in (self.newcomer.get("evidence") or [])

    @property
    def birth_date(self) -> date:
        return _d(self.newcomer["birth_date"])

    @property
    def pnt_hours(self) -> float:
        return sum(hours for _, hours in self.pnt_reports)

    def pnt_hours_until(self, day: date) -> float:
        """Hours reported for days on or before ``day`` (a report without a day counts always)."""
        return sum(hours for on, hours in self.pnt_reports if on is None or on <= day)

    def due(self, name: str) -> Optional[str]:
        """The instant a trajectory deadline fires, as ISO text, or None when it is not running.

        Only obligated newcomers have running deadlines (scenarios README, "Annulment").
        """
        deadline = self.deadlines.get(name)
        if deadline is None or deadline.status != "running" or not self.obligated:
            return None
        return deadline.fires_at().isoformat()

    def infraction(self, infraction_id: str) -> Infraction:
        return next(i for i in self.infractions if i.id == infraction_id)

    def find_infraction(self, infraction_id: str) -> Optional[Infraction]:
        return next((i for i in self.infractions if i.id == infraction_id), None)

    def open_infractions(self, types, component: Optional[str] = None) -> list:
        return [i for i in self.infractions
                if i.outcome == "open" and i.type in types and (component is None or i.component == component)]

    def undecided_infractions(self, types=None, component: Optional[str] = None) -> list:
        return [i for i in self.infractions if i.outcome in UNDECIDED
                and (types is None or i.type in types) and (component is None or i.component == component)]

    def oldest_handed_over(self, infraction_type: str) -> Optional[Infraction]:
        candidates = [i for i in self.infractions if i.type == infraction_type and i.outcome == "handed_over"]
        return min(candidates, key=lambda i: (i.handed_over_on, i.established_on, i.id), default=None)

    def all_components_fulfilled(self) -> bool:
        return all(c.fulfilled_on is not None for c in self.components.values())

    def fees_total(self) -> float:
        total = sum(f["amount"] for f in self.fees)
        return int(total) if float(total).is_integer() else total

    # ----- views ---------------------------------------------------------
    def outcome(self) -> dict:
        """The outcome object of the conformance format (scenarios README, "Outcome")."""
        infractions = sorted(self.infractions, key=lambda i: (i.established_on, i.type, i.id))
        b1 = None
        if self.b1_due_on is not None:
            b1 = {"due_on": self.b1_due_on.isoformat(), "outcome": self.b1_outcome or "pending"}
        return {
            "target_group": self.target_group,
            "reasons": list(self.reasons),
            "agency": self.agency,
            "region": self.region,
            "infractions": [i.outcome_view() for i in infractions],
            "attest_on": self.attest_on.isoformat() if self.attest_on else None,
            "b1_check": b1,
            "fees_eur": self.fees_total(),
        }

    # ----- (de)serialisation ----------------------------------------------
    def to_json(self) -> dict:
        """The state as JSON-ready data (with its format version); the same as
        ``jsonable(asdict(self))``, without its deep copy."""
        data = _plain(self)
        # Compact at rest: what equals its default is left out (from_json puts the defaults back).
        for deadline in data["deadlines"].values():
            if deadline["base_last_timely"] in (None, deadline["last_timely"]):
                del deadline["base_last_timely"]
        data["components"] = {name: {k: v for k, v in c.items() if v not in (None, False)}
                              for name, c in data["components"].items()}
        data["infractions"] = [{k: v for k, v in i.items() if v is not None} for i in data["infractions"]]
        data = {k: v for k, v in data.items() if k in _ALWAYS or v not in (None, False, [], {})}
        data["format"] = STATE_FORMAT
        return data

    def encoded(self) -> bytes:
        """``encode_state(self.to_json())`` (what ``dossier.state`` holds) in one pass of orjson
        (:func:`engine.atrest.dumps`): dates and dataclasses are written by its ``default`` hook
        (:func:`_at_rest`) instead of a plain copy of the whole state by :func:`_plain` first, and the
        compaction of :meth:`to_json` is applied to the deadlines, components and infractions as
        they are written. The same JSON data (text that differs only in characters outside ASCII,
        written as UTF-8): ``tests/engine/test_persistence.py`` holds the two equal."""
        data = {}
        for name in _STATE_FIELDS:
            value = getattr(self, name)
            if name == "deadlines":
                value = {key: _deadline_at_rest(d) for key, d in value.items()}
            elif name == "components":
                value = {key: {f: v for f in _COMPONENT_FIELDS if (v := getattr(c, f)) not in (None, False)}
                         for key, c in value.items()}
            elif name == "infractions":
                value = [{f: v for f in _INFRACTION_FIELDS if (v := getattr(i, f)) is not None} for i in value]
            if name in _ALWAYS or not (value in (None, False, [], {}) or value == ()):
                data[name] = value
        data["format"] = STATE_FORMAT
        return atrest.compress(atrest.dumps(data, default=_at_rest))

    @classmethod
    def from_json(cls, data: dict, *, waiting: Optional[list] = None,
                  has_trajectory: Optional[bool] = None) -> "DossierState":
        """The state from :meth:`to_json` output of any format (format 1, release 0.1, is upcast).

        ``waiting`` and ``has_trajectory`` are what a format-1 state did not keep and the dossier's
        rows know: the row's waiting steps (``dossier.waiting_on``) and whether a trajectory instance
        was ever started (``instance`` rows; :func:`engine.context.stored_state` asks them). Without
        them a format-1 state waits for nothing and has a trajectory unless it is excluded now. A
        format-2 state keeps both and ignores them."""
        data = dict(data)
        version = data.pop("format", 1)
        if version == 1:
            data = _upcast_state_1(data, waiting, has_trajectory)
        elif version != STATE_FORMAT:
            raise ValueError(f"dossier state format {version} is newer than this release reads ({STATE_FORMAT})")
        for key in ("registered_on", "intake_on", "contract_signed_on", "mo_passed_on", "nt2_passed_on",
                    "vdab_registered_on", "vdab_exempt_on", "attest_on", "b1_due_on", "obligation_start"):
            data[key] = _d(data.get(key))
        data["b1_attained_on"] = [_d(v) for v in data.get("b1_attained_on", [])]
        data["activities"] = [(_d(a), _d(b)) for a, b in data.get("activities", [])]
        data["suspensions"] = [(_d(a), _d(b), n) for a, b, n in data.get("suspensions", [])]
        data["pnt_reports"] = [(_d(a), h) for a, h in data.get("pnt_reports", [])]
        stored = data.get("components") or {}
        data["components"] = {k: Component(v.get("listed", False), _d(v.get("fulfilled_on")), v.get("fulfilled_by"))
                              for k, v in {**{c: {} for c in COMPONENTS}, **stored}.items()}
        # to_json leaves ``base_last_timely`` out when it equals ``last_timely``: restore it as that day
        # (not None, or a suspension recorded later would move the deadline with no base to return to)
        data["deadlines"] = {k: Deadline(v["name"], _d(v["start"]), _d(v["last_timely"]), v["status"],
                                         _d(v.get("base_last_timely") or v["last_timely"]), _d(v.get("armed_on")))
                             for k, v in data.get("deadlines", {}).items()}
        data["infractions"] = [Infraction(**{k: (_d(v) if k.endswith("_on") or k.endswith("_day")
                                                 or k == "deadline_last_timely" else v)
                                             for k, v in i.items()}) for i in data.get("infractions", [])]
        return cls(**data)


def _at_rest(value):
    """How :meth:`DossierState.encoded` writes what JSON has no type for, as :func:`_plain` converts
    it: a date in ISO 8601, a dataclass as the dict of its fields (in their order)."""
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: getattr(value, name) for name in type(value).__dataclass_fields__}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _deadline_at_rest(deadline: "Deadline") -> dict:
    """A deadline as :meth:`DossierState.to_json` keeps it: ``base_last_timely`` left out when it
    is unset or equals ``last_timely``."""
    out = {name: getattr(deadline, name) for name in _DEADLINE_FIELDS}
    if out["base_last_timely"] in (None, out["last_timely"]):
        del out["base_last_timely"]
    return out


_STATE_FIELDS = tuple(DossierState.__dataclass_fields__)
_DEADLINE_FIELDS = tuple(Deadline.__dataclass_fields__)
_COMPONENT_FIELDS = tuple(Component.__dataclass_fields__)
_INFRACTION_FIELDS = tuple(Infraction.__dataclass_fields__)


def encode_state(data: dict) -> bytes:
    """The stored form of :meth:`DossierState.to_json` output (``dossier.state``, revision 0009):
    compact JSON, zlib-compressed, as the instance states are. The aggregate was the larger half of a
    dossier's bytes at rest (BENCHMARKS.md, size); compressed it takes about a third."""
    return atrest.compress(json.dumps(data, separators=(",", ":")).encode())


def decode_state(stored) -> dict:
    """The JSON data of a stored ``dossier.state``: :func:`encode_state` bytes, or the plain JSON text
    that releases before revision 0009 wrote (str on SQLite, UTF-8 bytes once PostgreSQL's column became
    bytea); a row keeps that until the dossier is next saved."""
    if isinstance(stored, str):
        return atrest.loads(stored)
    stored = bytes(stored)
    return atrest.loads(stored if stored[:1] == b"{" else zlib.decompress(stored))


def state_format(data: dict) -> int:
    """The format of a stored state (:data:`STATE_FORMAT`; 1 when it names none: release 0.1)."""
    return data.get("format", 1)


def _upcast_state_1(data: dict, waiting: Optional[list], has_trajectory: Optional[bool]) -> dict:
    """Format 1 (release 0.1) → 2: PNT hours as one report; suspensions with all their days; the obligation
    start from the register facts; no letters; the waiting steps and whether a trajectory was started
    from the dossier's rows (see :meth:`DossierState.from_json`); deadlines and regularisation periods
    with the last timely day the law gave before the recorded suspensions moved it (``base``), so that
    a suspension recorded now does not move them again by days release 0.1 already added."""
    data = dict(data)
    hours = data.pop("pnt_hours", 0) or 0
    data["pnt_reports"] = [[None, hours]] if hours else []
    suspensions = [(date.fromisoformat(a), date.fromisoformat(b),
                    (date.fromisoformat(b) - date.fromisoformat(a)).days + 1)
                   for a, b in data.get("suspensions", [])]
    data["suspensions"] = [[a.isoformat(), b.isoformat(), n] for a, b, n in suspensions]
    data["obligation_start"] = data.get("newcomer", {}).get("obligation_start")
    data.setdefault("letters", [])
    data["waiting"] = [step for step in (waiting or []) if step]
    data.setdefault("vdab_exempt_on", None)
    data["has_trajectory"] = (has_trajectory if has_trajectory is not None
                              else data.get("target_group") != "excluded")
    if suspensions:
        deadlines = {}
        for name, deadline in data.get("deadlines", {}).items():
            last = date.fromisoformat(deadline["last_timely"])
            base = _base_before_suspensions(last, date.fromisoformat(deadline["start"]), suspensions)
            deadlines[name] = {**deadline, "base_last_timely": base.isoformat()}
        data["deadlines"] = deadlines
        infractions = []
        for infraction in data.get("infractions", []):
            if infraction.get("notice_on") and infraction.get("regularisation_last_day"):
                last = date.fromisoformat(infraction["regularisation_last_day"])
                base = _base_before_suspensions(last, date.fromisoformat(infraction["notice_on"]), suspensions)
                infraction = {**infraction, "regularisation_base_last_day": base.isoformat()}
            infractions.append(infraction)
        data["infractions"] = infractions
    return data


def _base_before_suspensions(last: date, start: date, suspensions: list) -> date:
    """The last timely day before ``suspensions`` moved a deadline that started on ``start`` to ``last``:
    the latest day from which :func:`rules.dates.apply_suspensions` gives ``last`` again (removing the
    fewest suspended days). ``last`` itself when no combination of them explains it (release 0.1
    applied them by another rule, or none applied): the deadline then keeps its day."""
    from itertools import combinations

    if len(suspensions) > 10:  # 2^n combinations; a dossier with that many suspensions keeps its day
        return last
    removals = sorted({sum(n for *_, n in chosen) for size in range(1, len(suspensions) + 1)
                       for chosen in combinations(suspensions, size)})
    for removed in removals:
        base = last - timedelta(days=removed)
        if dates.apply_suspensions(base, start, suspensions) == last:
            return base
    return last


_SCALARS = (str, int, float, bool, type(None))


def _plain(value):
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(type(value), "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in type(value).__dataclass_fields__}
    return value


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
