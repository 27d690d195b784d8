"""Commands: the caseworker and officer events, their JSON Schemas, and input validation.

One schema per event of the conformance format (scenarios README, "Events"). The API
publishes the same schemas in its OpenAPI document and validates request bodies
with them; the engine validates again, so a command from any door is checked once
by the same rules. Errors name the JSON path of the offending value.
"""
from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from rules import parameters

from .errors import InvalidInput

_DATE = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"}
_PERCENT = {"type": "number", "minimum": 0, "maximum": 100}
_COMPONENT = {"enum": ["mo", "nt2"]}
_RESIDENCES = json.loads((Path(__file__).parent / "schemas" / "newcomer.json").read_text())[
    "properties"]["residence"]["enum"]


#: every office code of the dated office list, in any of its dated values (which ones are in force on a
#: registration's day, and for which region, the handler checks: engine/handlers.py)
_OFFICE_CODES = tuple(dict.fromkeys(code for dated in parameters.default_law().get("agency_offices").values
                                    for code in dated.value))

ON = {**_DATE, "description": "The day the fact happened (default: today by the store's business clock). "
                                "Not after today, not before the obligation start (TRAJECTORY.md §5)."}


def _body(properties: dict | None = None, required: list | None = None, description: str = "") -> dict:
    return {
        "type": "object",
        "description": description,
        "properties": {**(properties or {}), "on": ON},
        "required": required or [],
        "additionalProperties": False,
    }


EVENT_SCHEMAS: dict[str, dict] = {
    "registered": _body({"office": {"enum": list(_OFFICE_CODES), "x-dated-list": "agency_offices",
                                    "description": "The office (loket) of the registration (optional; seed 000 Q1): "
                                                   "a code of the dated list `rules/parameters/agency_offices.yaml`, "
                                                   "in force on `on` (422 `unknown_office` otherwise) and serving "
                                                   "the region the newcomer lived in that day (409 "
                                                   "`office_other_region` otherwise)."}},
                        description="The newcomer registers at the agency (TRAJECTORY.md §4.2), optionally naming "
                                    "the office."),
    "intake": _body({"advice": {"enum": ["cbe_alfa", "cbe", "cbe_nt2", "cvo_extended", "cvo_standard",
                                          "cvo_short_utc"]}}, ["advice"],
                    "Learning-capacity advice at the intake (§4.3)."),
    "mo_exemption_test": _body({"core_percent": _PERCENT, "total_percent": _PERCENT},
                               ["core_percent", "total_percent"], "MO exemption test (§5); passing fulfils MO."),
    "refused_intake_or_contract": _body(description="Caseworker records a refusal of intake or contract (§4.3)."),
    "contract_signed": _body({"components": {"type": "array", "uniqueItems": True,
                                              "items": {"enum": ["mo", "nt2", "vdab", "pnt"]}}},
                             ["components"], "The contract, listing what the newcomer still has to do (§4.4)."),
    "vdab_registered": _body(description="Registered with VDAB / Actiris (§4.5)."),
    "vdab_exempt": _body({"reason": {"enum": ["working", "no_labour_market_access", "unfit_for_work"]}},
                         ["reason"], "Exempt from VDAB registration (§4.5)."),
    "attendance": _body({"component": _COMPONENT, "percent": _PERCENT}, ["component", "percent"],
                        "Attendance report; below 80 % is irregular participation (§4.5)."),
    "test_result": {
        **_body({"component": _COMPONENT, "core_percent": _PERCENT, "total_percent": _PERCENT,
                 "level": {"enum": ["below_A1", "A1", "A2", "B1", "B2"]}}, ["component"],
                "A standardized test result: MO needs core_percent and total_percent, NT2 a level."),
        "allOf": [
            {"if": {"properties": {"component": {"const": "mo"}}},
             "then": {"required": ["core_percent", "total_percent"]}},
            {"if": {"properties": {"component": {"const": "nt2"}}}, "then": {"required": ["level"]}},
        ],
    },
    "test_refused": _body({"component": _COMPONENT}, ["component"], "The newcomer refuses a test (§4.5)."),
    "pnt_hours": _body({"hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000}}, ["hours"],
                       "Hours of the participation and network trajectory (§4.5)."),
    "pnt_not_fulfilled": _body(description="Caseworker records that PNT is not fulfilled (§4.5)."),
    "activity": _body({"kind": {"enum": ["work", "study", "training"]}, "from": _DATE, "to": _DATE},
                      ["kind", "from", "to"], "A period of work, study or training (B1 check, §4.7)."),
    "suspended": _body({"from": _DATE, "to": _DATE}, ["from", "to"],
                       "Suspension: running deadlines move by the suspended days (§5)."),
    "moved": _body({"nis_code": {"type": "string", "pattern": "^[0-9]{5}$"}}, ["nis_code"],
                   "The newcomer moves to another municipality (REFNIS code)."),
    "residence_changed": _body({"residence": {"enum": _RESIDENCES}}, ["residence"],
                               "New residence status; the target group is decided again (§2)."),
    "b1_test": _body({"passed": {"type": "boolean"}}, ["passed"], "An oral B1 test (§4.7)."),
    "b1_attained": _body(description="Proof of oral B1 (§4.7)."),
    "enforcement_decision": {
        **_body(
            {"infraction_id": {"type": "string", "minLength": 1, "maxLength": 200,
                               "description": "The infraction decided (as listed in the enforcement queue)."},
             "infraction": {"enum": ["late_registration", "late_registration_after_infraction",
                                     "late_vdab_registration", "irregular_participation", "early_termination",
                                     "refused_test", "refused_intake_or_contract", "pnt_not_fulfilled",
                                     "b1_not_attained"],
                            "description": "The conformance form: the oldest handed-over infraction of this type."},
             "decision": {"enum": ["fine", "no_fine", "no_follow_up"]},
             "fine_eur": {"type": "number", "minimum": 0, "maximum": 1000000,
                          "description": "Required with `fine`, refused with the other decisions."},
             "motivation": {"type": "string", "minLength": 1, "maxLength": 10000, "pattern": "\\S",
                            "description": "The reasons (formal duty to state reasons, law of 29 July 1991); "
                                           "required when deciding by `infraction_id`."}},
            ["decision"],
            "Enforcement officer's decision (§6): on the infraction `infraction_id` with a motivation, or on "
            "the oldest handed-over infraction of type `infraction`."),
        "oneOf": [{"required": ["infraction_id", "motivation"]}, {"required": ["infraction"]}],
        "allOf": [
            {"if": {"properties": {"decision": {"const": "fine"}}, "required": ["decision"]},
             "then": {"required": ["fine_eur"]}, "else": {"not": {"required": ["fine_eur"]}}},
        ],
    },
}

EVENT_TYPES = tuple(EVENT_SCHEMAS)
ENFORCEMENT_EVENTS = frozenset({"enforcement_decision"})


@lru_cache(maxsize=None)
def _validator(schema_key: str) -> Draft202012Validator:
    schema = NEWCOMER_SCHEMA if schema_key == "__newcomer__" else EVENT_SCHEMAS[schema_key]
    return Draft202012Validator(schema)  # dates are checked by parse_date, with a clearer message


NEWCOMER_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "newcomer.json").read_text())


def _path(error) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


#: Supported calendar range: deadlines add months and suspended days to dates, so stay far
#: from date.max; before 1900 no dated parameter is in force. Not a legal date, a sanity bound.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)


def _date_fields(schema: dict) -> tuple[str, ...]:
    """Top-level properties that hold a ``YYYY-MM-DD`` date (``format: date`` or a ``date`` $ref)."""
    return tuple(name for name, prop in schema.get("properties", {}).items()
                 if isinstance(prop, dict) and (prop.get("format") == "date" or prop.get("$ref", "").endswith("/date")))


def validate(schema_key: str, body) -> None:
    """Raise :class:`InvalidInput` naming the JSON path of the first error."""
    errors = sorted(_validator(schema_key).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        if schema_key == "registered" and err.validator == "enum" and list(err.absolute_path) == ["office"]:
            raise InvalidInput("$.office", f"{err.instance!r} is not an office", code="unknown_office",
                               params={"office": err.instance})
        path, message = _explain(schema_key, err)
        raise InvalidInput(path, message, code="schema", params={"rule": err.validator, **_names(err)})
    schema = NEWCOMER_SCHEMA if schema_key == "__newcomer__" else EVENT_SCHEMAS[schema_key]
    for name in _date_fields(schema):
        if name in body:
            parse_date(body[name], f"$.{name}")


def _names(err) -> dict:
    """The property names a ``required`` or ``additionalProperties`` error is about (its path is the
    object's), so a reader's language can name them without parsing the English message."""
    instance = err.instance if isinstance(err.instance, dict) else {}
    if err.validator == "required" and isinstance(err.validator_value, list):
        return {"missing": [name for name in err.validator_value if name not in instance]}
    if err.validator == "additionalProperties" and isinstance(err.schema.get("properties"), dict):
        return {"unexpected": sorted(name for name in instance if name not in err.schema["properties"])}
    return {}


def _explain(schema_key: str, err) -> tuple[str, str]:
    """The path and message of a validation error; a sentence for the rules a bare validator message
    would leave cryptic."""
    if schema_key == "enforcement_decision" and not err.absolute_path:
        if err.validator == "oneOf":
            return "$.infraction_id", ("name the infraction: `infraction_id` with a `motivation`, "
                                       "or (the conformance form) `infraction`")
        if err.validator in ("not", "required") and "fine_eur" in str(err.schema):
            return "$.fine_eur", "`fine_eur` is required with the decision `fine` and refused with the other decisions"
    if err.validator == "pattern" and err.schema.get("pattern") == "\\S":
        return _path(err), "must not be blank"
    return _path(err), err.message


def parse_date(value: str, path: str) -> date:
    """A real calendar date inside the supported range (the pattern alone lets 2024-02-30 through)."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(path, f"{value} is not a calendar date", code="not_a_date",
                           params={"value": value}) from None
    if not MIN_DATE <= day <= MAX_DATE:
        raise InvalidInput(path, f"{value} is outside the supported range {MIN_DATE}..{MAX_DATE}",
                           code="date_outside_calendar", params={"value": value, "min": MIN_DATE.isoformat(),
                                                                 "max": MAX_DATE.isoformat()})
    return day


def validate_event(event_type: str, payload) -> None:
    if event_type not in EVENT_SCHEMAS:
        raise InvalidInput("$.type", f"unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}",
                           code="unknown_event_type", params={"type": str(event_type)})
    validate(event_type, payload)


def validate_newcomer(newcomer) -> None:
    validate("__newcomer__", newcomer)
    if date.fromisoformat(newcomer["birth_date"]) > date.fromisoformat(newcomer["obligation_start"]):
        raise InvalidInput("$.birth_date", "birth date is after the obligation start",
                           code="birth_after_obligation_start")
    insz = newcomer.get("insz") if isinstance(newcomer, dict) else None
    if insz is not None and not insz_valid(insz, newcomer.get("birth_date")):
        raise InvalidInput("$.insz", "national register number fails its checksum", code="insz_checksum")


def insz_valid(insz: str, birth_date: str | None = None) -> bool:
    """Check an INSZ / national register number (11 digits, mod-97 check, 2000+ births prefixed by 2)."""
    if len(insz) != 11 or not insz.isdigit():
        return False
    body, check = int(insz[:9]), int(insz[9:])
    return 97 - body % 97 == check or 97 - int("2" + insz[:9]) % 97 == check
