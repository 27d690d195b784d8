"""The dossier aggregate: one newcomer's business state, plain data.

It knows nothing of BPMN, SQL or HTTP (cosmicpython's domain layer). The engine
loads it, the command handlers and service operations change it, and it is saved
as JSON with the dossier row. Rules (``rules/``) decide; this module only records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional

from rules import dates

from .clock import brussels_instant

COMPONENTS = ("mo", "nt2", "vdab", "pnt")
REGISTRATION_INFRACTIONS = ("late_registration", "late_registration_after_infraction")
UNDECIDED = ("open", "handed_over")


def _d(value) -> Optional[date]:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


@dataclass
class Deadline:
    """A legal deadline: ``last_timely`` is the last day an action is on time (TRAJECTORY.md §5)."""

    name: str
    start: date
    last_timely: date
    status: str = "running"  # running | met | fired

    def fires_at(self) -> datetime:
        """00:00 Europe/Brussels on the first day after the last timely day."""
        return brussels_instant(dates.day_established(self.last_timely))


@dataclass
class Infraction:
    id: str
    type: str
    established_on: date
    component: Optional[str] = None
    outcome: str = "open"  # open | regularised | handed_over | fined | not_fined | annulled
    notice_on: Optional[date] = None
    regularisation_last_day: Optional[date] = None
    handed_over_on: Optional[date] = None
    decided_on: Optional[date] = None
    decision: Optional[str] = None
    fine_eur: Optional[float] = None
    closed_on: Optional[date] = None
    ruleset: Optional[str] = None
    rule_version: Optional[str] = None

    def regularisation_fires_at(self) -> Optional[datetime]:
        if self.outcome != "open" or self.regularisation_last_day is None:
            return None
        return brussels_instant(dates.day_established(self.regularisation_last_day))

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
    newcomer: dict
    target_group: str
    reasons: list
    region: Optional[str]
    agency: Optional[str]
    decided_by: dict = field(default_factory=dict)
    registered_on: Optional[date] = None
    advice: Optional[str] = None
    intake_on: Optional[date] = None
    contract_signed_on: Optional[date] = None
    components: dict = field(default_factory=lambda: {c: Component() for c in COMPONENTS})
    mo_passed_on: Optional[date] = None
    nt2_passed_on: Optional[date] = None
    vdab_registered_on: Optional[date] = None
    vdab_exempt_reason: Optional[str] = None
    pnt_hours: float = 0
    attest_on: Optional[date] = None
    b1_due_on: Optional[date] = None
    b1_outcome: Optional[str] = None
    b1_attained_on: list = field(default_factory=list)
    activities: list = field(default_factory=list)
    suspensions: list = field(default_factory=list)
    deadlines: dict = field(default_factory=dict)
    infractions: list = field(default_factory=list)
    fees: list = field(default_factory=list)

    # ----- queries -------------------------------------------------------
    @property
    def obligated(self) -> bool:
        return self.target_group == "obligated"

    @property
    def living_in_brussels(self) -> bool:
        return self.region == "brussel"

    @property
    def fee_exempt(self) -> bool:
        return "fee_exempt" in (self.newcomer.get("evidence") or [])

    @property
    def birth_date(self) -> date:
        return _d(self.newcomer["birth_date"])

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

    def open_infractions(self, types, component: Optional[str] = None) -> list:
        return [i for i in self.infractions
                if i.outcome == "open" and i.type in types and (component is None or i.component == component)]

    def undecided_infractions(self) -> list:
        return [i for i in self.infractions if i.outcome in UNDECIDED]

    def oldest_handed_over(self, infraction_type: str) -> Optional[Infraction]:
        candidates = [i for i in self.infractions if i.type == infraction_type and i.outcome == "handed_over"]
        return min(candidates, key=lambda i: (i.handed_over_on, i.established_on, i.id), default=None)

    def all_components_fulfilled(self) -> bool:
        return all(c.fulfilled_on is not None for c in self.components.values())

    def fees_total(self) -> float:
        total = sum(f["amount"] for f in self.fees)
        return int(total) if float(total).is_integer() else total

    def arm(self, name: str, start: date, last_timely: date) -> Deadline:
        deadline = Deadline(name, start, last_timely)
        self.deadlines[name] = deadline
        return deadline

    def settle(self, name: str) -> None:
        deadline = self.deadlines.get(name)
        if deadline is not None and deadline.status == "running":
            deadline.status = "met"

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
        """The state as JSON-ready data; the same as ``jsonable(asdict(self))``, without its deep copy."""
        return _plain(self)

    @classmethod
    def from_json(cls, data: dict) -> "DossierState":
        data = dict(data)
        for key in ("registered_on", "intake_on", "contract_signed_on", "mo_passed_on", "nt2_passed_on",
                    "vdab_registered_on", "attest_on", "b1_due_on"):
            data[key] = _d(data.get(key))
        data["b1_attained_on"] = [_d(v) for v in data.get("b1_attained_on", [])]
        data["activities"] = [(_d(a), _d(b)) for a, b in data.get("activities", [])]
        data["suspensions"] = [(_d(a), _d(b)) for a, b in data.get("suspensions", [])]
        data["components"] = {k: Component(v["listed"], _d(v["fulfilled_on"]), v["fulfilled_by"])
                              for k, v in data["components"].items()}
        data["deadlines"] = {k: Deadline(v["name"], _d(v["start"]), _d(v["last_timely"]), v["status"])
                             for k, v in data.get("deadlines", {}).items()}
        data["infractions"] = [Infraction(**{k: (_d(v) if k.endswith("_on") or k.endswith("_day") else v)
                                             for k, v in i.items()}) for i in data.get("infractions", [])]
        return cls(**data)


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
