"""Target group of a newcomer: obligated, entitled or excluded (TRAJECTORY.md §2).

Seeds: 001 §1 (target groups, exemptions, ministers of religion), 003 §A;
scenarios/README.md "Outcome" (reason codes, region and agency).

:func:`decide` turns the register facts into one fact, asserts it into the
durable-rules ruleset ``target_group_v1`` (:mod:`rules.host`), and reads back
what the rules emitted: exactly one verdict and the reason codes.

The ruleset (see :func:`_rules`):

* **Excluded** when any exclusion applies; reasons = every applicable code, in
  the order ``no_legal_residence``, ``short_stay``, ``asylum_pending`` (residence
  ``asylum_seeker`` while parameter ``reform_2022`` is true on the decision date;
  before the 2022 reform (``reform_2022``) asylum seekers were entitled), ``temporary_purpose``,
  ``minor`` (age on the obligation start below ``adult_age``), ``outside_area``.
* **Entitled, ``brussels_resident``**: not excluded and living in Brussels —
  Flanders cannot impose the obligation there.
* **Obligated** basis in the Dutch-language area: (a) a non-Belgian nationality,
  (b) moved in from Brussels or the French or German language area, (c) a
  Belgian born abroad with a parent born abroad, (d) a minister of religion.
  Without a basis: entitled, no reasons. So is a pending asylum seeker who is
  not excluded (decision date before the 2022 reform: "from four months into the
  procedure they were entitled").
* **Exemptions** turn obligated into entitled, reasons = every applicable code in
  the order of :data:`EXEMPTIONS`; ``temporary_migrant``,
  ``temporary_protection``, ``diploma_be_nl`` and ``age_65`` never apply to a
  minister of religion (001 §1).

Dated parameters are read on the decision date ``on``; the age is taken on the
obligation start.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field as dataclass_field
from datetime import date
from typing import Any, Mapping

from . import host, parameters
from .conditions import Cond, any_of, at_least, below, equals, has_item, has_item_other_than, is_true, one_of
from .dates import age_on, as_date
from .geography import BRUSSELS, locate

__all__ = [
    "RULESET",
    "VERSION",
    "EXCLUSIONS",
    "EXEMPTIONS",
    "TargetGroupDecision",
    "decide",
    "facts_for",
]

NAME = "target_group"
VERSION = "1"
RULESET = f"{NAME}_v{VERSION}"

OBLIGATED, ENTITLED, EXCLUDED = "obligated", "entitled", "excluded"
BRUSSELS_RESIDENT = "brussels_resident"

# Residence statuses of scenario.schema.json#/properties/newcomer/properties/residence.
RESIDENCE_STATUSES = (
    "labour_migrant_eu", "labour_migrant_third_country", "student_eu", "student_third_country",
    "sufficient_means_eu", "eu_provisional", "family_reunification_third_country",
    "family_reunification_belgian", "family_reunification_eu", "family_reunification_refugee",
    "family_reunification_subsidiary", "recognised_refugee", "subsidiary_protection",
    "temporary_protection", "regularised", "other_third_country", "belgian_newcomer",
    "asylum_seeker", "working_holiday", "exchange_student_short", "temporary_worker_short",
    "seasonal_worker", "au_pair", "discretionary_short", "short_stay", "no_legal_residence",
)
# Temporary purposes of stay (TRAJECTORY.md §2, excluded as temporary_purpose).
TEMPORARY_PURPOSES = (
    "working_holiday", "exchange_student_short", "temporary_worker_short",
    "seasonal_worker", "au_pair", "discretionary_short",
)
# Evidence kinds of scenario.schema.json#/properties/newcomer/properties/evidence.
EVIDENCE_KINDS = (
    "illness_disability", "has_attest", "reception_education", "diploma_be_nl",
    "family_of_temporary_migrant", "free_movement", "fee_exempt",
)
MOVED_IN_FROM = ("brussels", "french_area", "german_area")

# Nationality classes put in the fact (eu_plus per parameter eu_plus_countries).
BELGIAN, EU_PLUS, THIRD_COUNTRY = "belgian", "eu_plus", "third_country"
_BELGIUM = "BE"
_COUNTRY = re.compile(r"[A-Z]{2}")

_REQUIRED = ("id", "birth_date", "nationalities", "residence", "nis_code", "obligation_start")


# ---------------------------------------------------------------- the ruleset


def _minister() -> Cond:
    return is_true("minister_of_religion")


EXCLUSIONS: dict[str, Cond] = {
    "no_legal_residence": equals("residence", "no_legal_residence"),
    "short_stay": equals("residence", "short_stay"),
    "asylum_pending": equals("residence", "asylum_seeker") & is_true("reform_2022"),
    "temporary_purpose": one_of("residence", TEMPORARY_PURPOSES),
    "minor": below("age", "adult_age"),
    "outside_area": equals("region", ""),
}
"""Exclusion codes in reason order, with their conditions (TRAJECTORY.md §2)."""

# Exemptions that apply to everyone, then those never applying to ministers of religion.
_GENERAL_EXEMPTIONS: dict[str, Cond] = {
    "eu_plus": has_item("nationality_classes", EU_PLUS),
    "eu_family": equals("residence", "family_reunification_eu"),
    "free_movement": is_true("evidence.free_movement"),
    "illness_disability": is_true("evidence.illness_disability"),
    "has_attest": is_true("evidence.has_attest"),
    "reception_education": is_true("evidence.reception_education"),
}
_NOT_FOR_MINISTERS: dict[str, Cond] = {
    "temporary_migrant": one_of("residence", ("labour_migrant_third_country", "student_third_country"))
    | is_true("evidence.family_of_temporary_migrant"),
    "temporary_protection": equals("residence", "temporary_protection"),
    "diploma_be_nl": is_true("evidence.diploma_be_nl"),
    "age_65": at_least("age", "exemption_age"),
}
EXEMPTIONS: dict[str, Cond] = {
    **_GENERAL_EXEMPTIONS,
    **{code: condition & ~_minister() for code, condition in _NOT_FOR_MINISTERS.items()},
}
"""Exemption codes in reason order, with their conditions (TRAJECTORY.md §2; 001 §1)."""

REASON_ORDER = (*EXCLUSIONS, BRUSSELS_RESIDENT, *EXEMPTIONS)


def _rules() -> list[host.Rule]:
    excluded = any_of(*EXCLUSIONS.values())
    in_brussels = ~excluded & equals("region", BRUSSELS)
    in_dutch_area = ~excluded & ~equals("region", BRUSSELS)
    basis = any_of(
        has_item_other_than("nationality_classes", BELGIAN),  # (a) a foreigner
        ~equals("moved_in_from", ""),                         # (b) moved in
        is_true("belgian_born_abroad"),                       # (c)
        _minister(),                                          # (d)
    )
    # Before the 2022 reform (reform_2022 false) a pending asylum seeker was not excluded but entitled, never obligated.
    may_be_obligated = basis & ~equals("residence", "asylum_seeker")
    obligable = in_dutch_area & may_be_obligated
    # Grouped so that the complement stays small: ministers are out of the second group.
    exempt = any_of(*_GENERAL_EXEMPTIONS.values()) | (any_of(*_NOT_FOR_MINISTERS.values()) & ~_minister())

    def verdict(target_group: str, *reasons: str) -> host.Action:
        return host.emit({"target_group": target_group}, *({"reason": reason} for reason in reasons))

    rules = [host.Rule(f"exclusion_{code}", condition, host.emit({"reason": code}))
             for code, condition in EXCLUSIONS.items()]
    rules += [
        host.Rule("verdict_excluded", excluded, verdict(EXCLUDED)),
        host.Rule("verdict_brussels_resident", in_brussels, verdict(ENTITLED, BRUSSELS_RESIDENT)),
        host.Rule("verdict_no_obligation_basis", in_dutch_area & ~may_be_obligated, verdict(ENTITLED)),
        host.Rule("verdict_exempt", obligable & exempt, verdict(ENTITLED)),
        host.Rule("verdict_obligated", obligable & ~exempt, verdict(OBLIGATED)),
    ]
    rules += [host.Rule(f"exemption_{code}", obligable & condition, host.emit({"reason": code}))
              for code, condition in EXEMPTIONS.items()]
    return rules


host.define(RULESET, _rules())


# ---------------------------------------------------------------- the decision


@dataclass(frozen=True)
class TargetGroupDecision:
    """The outcome of the target-group rules, with what decided it (for the journal)."""

    target_group: str
    reasons: tuple[str, ...]
    region: str | None
    agency: str | None
    ruleset: str
    version: str
    inputs: dict = dataclass_field(default_factory=dict)

    def to_dict(self) -> dict:
        result = asdict(self)
        result["reasons"] = list(self.reasons)
        return result


def decide(newcomer: Mapping[str, Any], on: date | str) -> TargetGroupDecision:
    """Decide the target group of ``newcomer`` on the decision date ``on`` (TRAJECTORY.md §2).

    ``newcomer`` has the shape of scenario.schema.json#/properties/newcomer
    (dates as ISO texts or ``date``). Raises :class:`ValueError` for malformed
    facts and :class:`rules.host.RuleEvaluationError` when the rules do not reach
    exactly one verdict.
    """
    on = as_date(on)
    normalized = _normalize(newcomer)
    facts = facts_for(normalized, on)
    durable_name = parameters.value("target_group_ruleset", on)
    version = host.split_name(durable_name)[1]
    emitted = host.evaluate(durable_name, facts)

    verdicts = [output["target_group"] for output in emitted if "target_group" in output]
    if len(verdicts) != 1:
        raise host.RuleEvaluationError(
            f"{durable_name} reached {len(verdicts)} verdicts {verdicts} for newcomer {normalized['id']!r}"
        )
    reasons = {output["reason"] for output in emitted if "reason" in output}
    location = locate(normalized["nis_code"])
    return TargetGroupDecision(
        target_group=verdicts[0],
        reasons=tuple(code for code in REASON_ORDER if code in reasons),
        region=location.region if location else None,
        agency=location.agency if location else None,
        ruleset=durable_name,
        version=version,
        inputs={"newcomer": normalized, "on": on.isoformat(), "facts": facts},
    )


def facts_for(newcomer: Mapping[str, Any], on: date) -> dict:
    """The fact asserted into the ruleset: register facts plus the parameters in force on ``on``.

    ``newcomer`` must be normalized (see :func:`decide`). Derived facts only
    restate the input: the age on the obligation start, the region ("" outside
    the area), each nationality's class, evidence as flags.
    """
    eu_plus_countries = set(parameters.value("eu_plus_countries", on))
    location = locate(newcomer["nis_code"])
    evidence = set(newcomer["evidence"])
    return {
        "residence": newcomer["residence"],
        "age": age_on(as_date(newcomer["birth_date"]), as_date(newcomer["obligation_start"])),
        "region": location.region if location else "",
        "nationality_classes": [
            BELGIAN if code == _BELGIUM else EU_PLUS if code in eu_plus_countries else THIRD_COUNTRY
            for code in newcomer["nationalities"]
        ],
        "moved_in_from": newcomer["moved_in_from"] or "",
        "belgian_born_abroad": newcomer["belgian_born_abroad"],
        "minister_of_religion": newcomer["minister_of_religion"],
        "evidence": {kind: kind in evidence for kind in EVIDENCE_KINDS},
        "adult_age": parameters.value("adult_age", on),
        "exemption_age": parameters.value("exemption_age", on),
        "reform_2022": parameters.value("reform_2022", on),
    }


def _normalize(newcomer: Mapping[str, Any]) -> dict:
    """Validate the register facts; dates become ISO texts (JSON for the journal)."""
    if not isinstance(newcomer, Mapping):
        raise ValueError(f"newcomer must be a mapping, got {newcomer!r}")
    missing = [key for key in _REQUIRED if key not in newcomer]
    if missing:
        raise ValueError(f"newcomer lacks {', '.join(missing)}")
    nationalities = newcomer["nationalities"]
    if (isinstance(nationalities, str) or not isinstance(nationalities, (list, tuple))
            or not nationalities
            or not all(isinstance(code, str) and _COUNTRY.fullmatch(code) for code in nationalities)):
        raise ValueError(f"newcomer.nationalities must be a non-empty list of ISO codes, got {nationalities!r}")
    residence = newcomer["residence"]
    if residence not in RESIDENCE_STATUSES:
        raise ValueError(f"newcomer.residence {residence!r} is not a known residence status")
    moved_in_from = newcomer.get("moved_in_from")
    if moved_in_from is not None and moved_in_from not in MOVED_IN_FROM:
        raise ValueError(f"newcomer.moved_in_from {moved_in_from!r} is not one of {MOVED_IN_FROM}")
    evidence = newcomer.get("evidence") or []
    unknown = [kind for kind in evidence if kind not in EVIDENCE_KINDS]
    if isinstance(evidence, str) or unknown:
        raise ValueError(f"newcomer.evidence has unknown kind(s) {unknown or evidence!r}")
    flags = {}
    for flag in ("minister_of_religion", "belgian_born_abroad"):
        flags[flag] = newcomer.get(flag, False)
        if not isinstance(flags[flag], bool):
            raise ValueError(f"newcomer.{flag} must be true or false, got {flags[flag]!r}")
    nis_code = newcomer["nis_code"]
    locate(nis_code)  # raises ValueError naming a malformed code
    return {
        "id": str(newcomer["id"]),
        "birth_date": as_date(newcomer["birth_date"]).isoformat(),
        "nationalities": list(nationalities),
        "residence": residence,
        "nis_code": nis_code,
        "obligation_start": as_date(newcomer["obligation_start"]).isoformat(),
        "minister_of_religion": flags["minister_of_religion"],
        "belgian_born_abroad": flags["belgian_born_abroad"],
        "moved_in_from": moved_in_from,
        "evidence": list(evidence),
    }
