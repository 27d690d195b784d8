"""Does a trigger establish an infraction? Effective-dated rulesets (TRAJECTORY.md §3, §4, §6).

Seeds: 001 §1 ("Aanpak tot en met februari 2022" / "vanaf maart 2022") and §11
(infraction types), 003 §D; scenarios/README.md "Deadlines" ("one at a time").

The regime date is the contract date, or the trigger date when there is no
contract; the parameter ``infraction_ruleset`` on that date names the ruleset
(:func:`ruleset_for`), and the regime's thresholds are read on that date too.

``infractions_2022`` (contracts since the 2022 reform, parameter ``reform_2022``): only obligated newcomers get
infractions; an open infraction of the same type (and component) means the
repeat is ignored (``already_open``); attendance below ``attendance_min_percent``
is ``irregular_participation``.

``infractions_pre2022``: attendance below ``early_termination_percent`` is
``early_termination``, also for entitled newcomers; from there up to
``attendance_min_percent`` it is ``irregular_participation`` for obligated ones;
registration and refusal triggers as in 2022; the VDAB, B1 and PNT components
did not exist (``not_in_regime``).

Trigger keys: ``kind`` (one of :data:`KINDS`), ``on``, ``target_group``,
``contract_signed_on`` (date or None), ``component`` (``mo``/``nt2``/None),
``percent`` (attendance, else None), ``open_same`` (bool: an open infraction of
the type this trigger would establish, same component, exists).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from numbers import Real
from typing import Any, Mapping

from . import host, parameters
from .conditions import at_least, below, equals, is_true, one_of
from .dates import as_date

__all__ = ["KINDS", "InfractionDecision", "evaluate", "ruleset_for"]

VERSION = "1"
REGIME_2022 = "infractions_2022"
REGIME_PRE2022 = "infractions_pre2022"

ATTENDANCE = "attendance"
# Triggers that establish their infraction outright (for obligated newcomers).
DIRECT_2022 = {
    "registration_deadline": "late_registration",
    "reregistration_deadline": "late_registration_after_infraction",
    "vdab_deadline": "late_vdab_registration",
    "b1_check": "b1_not_attained",
    "test_refused": "refused_test",
    "refused_intake_or_contract": "refused_intake_or_contract",
    "pnt_not_fulfilled": "pnt_not_fulfilled",
}
NEW_IN_2022 = ("vdab_deadline", "b1_check", "pnt_not_fulfilled")
DIRECT_PRE2022 = {kind: infraction for kind, infraction in DIRECT_2022.items() if kind not in NEW_IN_2022}
KINDS = (*DIRECT_2022, ATTENDANCE)
TARGET_GROUPS = ("obligated", "entitled", "excluded")
COMPONENTS = ("mo", "nt2")


@dataclass(frozen=True)
class InfractionDecision:
    """Outcome: the infraction type established (or None) and why, with the deciding ruleset."""

    infraction: str | None
    reason: str
    ruleset: str
    version: str

    def to_dict(self) -> dict:
        return asdict(self)


def ruleset_for(on_date: date) -> tuple[str, str]:
    """The infraction ruleset (name, version) in force for a regime date (TRAJECTORY.md §3): the dated
    parameter ``infraction_ruleset`` names it, so a law change is a new ruleset and a new dated value."""
    return host.split_name(parameters.value("infraction_ruleset", as_date(on_date)))


def evaluate(trigger: Mapping[str, Any]) -> InfractionDecision:
    """Decide whether ``trigger`` establishes an infraction (see the module docstring).

    Raises :class:`ValueError` for a malformed trigger and
    :class:`rules.host.RuleEvaluationError` unless the rules reach exactly one decision.
    """
    checked = _validate(trigger)
    regime_date = checked["contract_signed_on"] or checked["on"]
    name, version = ruleset_for(regime_date)
    facts = {
        "kind": checked["kind"],
        "target_group": checked["target_group"],
        "open_same": checked["open_same"],
        "attendance_min_percent": parameters.value("attendance_min_percent", regime_date),
        "early_termination_percent": parameters.value("early_termination_percent", regime_date),
    }
    if checked["percent"] is not None:
        facts["percent"] = checked["percent"]
    emitted = host.evaluate(_durable_name(name, version), facts)
    if len(emitted) != 1:
        raise host.RuleEvaluationError(f"{name} v{version} reached {len(emitted)} decisions {emitted} for {facts}")
    return InfractionDecision(emitted[0]["infraction"], emitted[0]["reason"], name, version)


# ---------------------------------------------------------------- rulesets


def _decide(infraction: str | None, reason: str) -> host.Action:
    return host.emit({"infraction": infraction, "reason": reason})


def _rules_2022() -> list[host.Rule]:
    """TRAJECTORY.md §3 (the 2022 reform, ``reform_2022`` true), §4.5, §6.7; scenarios/README.md "one at a time"."""
    obligated = equals("target_group", "obligated")
    fresh = obligated & ~is_true("open_same")
    attendance = equals("kind", ATTENDANCE)
    rules = [
        host.Rule("not_obligated", ~obligated, _decide(None, "not_obligated")),
        host.Rule("already_open", obligated & is_true("open_same"), _decide(None, "already_open")),
        host.Rule("irregular_participation", fresh & attendance & below("percent", "attendance_min_percent"),
                  _decide("irregular_participation", "attendance_below_minimum")),
        host.Rule("attendance_sufficient", fresh & attendance & at_least("percent", "attendance_min_percent"),
                  _decide(None, "attendance_sufficient")),
    ]
    rules += [host.Rule(infraction, fresh & equals("kind", kind), _decide(infraction, kind))
              for kind, infraction in DIRECT_2022.items()]
    return rules


def _rules_pre2022() -> list[host.Rule]:
    """TRAJECTORY.md §3 (before the 2022 reform, ``reform_2022`` false); seed 001 §11 (early termination, irregular participation)."""
    obligated = equals("target_group", "obligated")
    entitled = equals("target_group", "entitled")
    attendance = equals("kind", ATTENDANCE)
    direct = one_of("kind", DIRECT_PRE2022)
    in_regime = direct | attendance
    # Who can be sanctioned for this trigger: attendance below the early-termination
    # threshold also for entitled newcomers, everything else only for obligated ones.
    sanctionable = (direct & obligated) | (attendance & (obligated | entitled))
    fresh = sanctionable & ~is_true("open_same")
    early = below("percent", "early_termination_percent")
    middle = at_least("percent", "early_termination_percent") & below("percent", "attendance_min_percent")
    rules = [
        host.Rule("not_in_regime", one_of("kind", NEW_IN_2022), _decide(None, "not_in_regime")),
        host.Rule("not_obligated", in_regime & ~sanctionable, _decide(None, "not_obligated")),
        host.Rule("already_open", sanctionable & is_true("open_same"), _decide(None, "already_open")),
        host.Rule("early_termination", fresh & attendance & early,
                  _decide("early_termination", "attendance_below_early_termination")),
        host.Rule("irregular_participation", fresh & attendance & middle & obligated,
                  _decide("irregular_participation", "attendance_below_minimum")),
        host.Rule("entitled_irregular", fresh & attendance & middle & entitled, _decide(None, "not_obligated")),
        host.Rule("attendance_sufficient", fresh & attendance & at_least("percent", "attendance_min_percent"),
                  _decide(None, "attendance_sufficient")),
    ]
    rules += [host.Rule(infraction, fresh & equals("kind", kind), _decide(infraction, kind))
              for kind, infraction in DIRECT_PRE2022.items()]
    return rules


def _durable_name(name: str, version: str) -> str:
    return f"{name}_v{version}"


host.define(_durable_name(REGIME_2022, VERSION), _rules_2022())
host.define(_durable_name(REGIME_PRE2022, VERSION), _rules_pre2022())


# ---------------------------------------------------------------- input checks


def _validate(trigger: Mapping[str, Any]) -> dict:
    if not isinstance(trigger, Mapping):
        raise ValueError(f"trigger must be a mapping, got {trigger!r}")
    for key in ("kind", "on", "target_group"):
        if key not in trigger:
            raise ValueError(f"trigger lacks {key!r}")
    kind = trigger["kind"]
    if kind not in KINDS:
        raise ValueError(f"trigger kind {kind!r} is not one of {KINDS}")
    target_group = trigger["target_group"]
    if target_group not in TARGET_GROUPS:
        raise ValueError(f"trigger target_group {target_group!r} is not one of {TARGET_GROUPS}")
    component = trigger.get("component")
    if component is not None and component not in COMPONENTS:
        raise ValueError(f"trigger component {component!r} is not one of {COMPONENTS} or None")
    percent = trigger.get("percent")
    if percent is not None and (isinstance(percent, bool) or not isinstance(percent, Real) or not 0 <= percent <= 100):
        raise ValueError(f"trigger percent {percent!r} is not a number from 0 to 100")
    if kind == ATTENDANCE and percent is None:
        raise ValueError("an attendance trigger needs a percent")
    open_same = trigger.get("open_same", False)
    if not isinstance(open_same, bool):
        raise ValueError(f"trigger open_same must be true or false, got {open_same!r}")
    contract = trigger.get("contract_signed_on")
    return {
        "kind": kind,
        "on": as_date(trigger["on"]),
        "target_group": target_group,
        "contract_signed_on": as_date(contract) if contract is not None else None,
        "component": component,
        "percent": percent,
        "open_same": open_same,
    }
