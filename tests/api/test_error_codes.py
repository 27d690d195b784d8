"""Every error code has its sentence in Dutch and English (issue 14.1).

The codes are collected from the source, not listed by hand: every ``code="..."`` given to an
engine error, to :class:`engine.clock.ClockError` or to the API's error body; every class's
``default_code``; the ``http_<status>`` codes of the API's HTTP errors; and every JSON-schema rule
an event or newcomer schema uses (rendered as ``code.schema.<rule>``). A new raise site without a
Dutch text fails here, and so does a raise site of an engine error that names no code at all.
"""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from api.app import _HTTP_ERRORS
from api.web import messages
from api.web.i18n import MESSAGES
from engine.commands import EVENT_SCHEMAS, NEWCOMER_SCHEMA

from .conftest import newcomer_data

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [path for folder in ("engine", "api", "timers", "rules", "simulation")
           for path in sorted((ROOT / folder).rglob("*.py"))]
ERROR_CLASSES = {"EngineError", "InvalidInput", "NotFound", "Conflict", "Refused", "ProcessDeploymentError",
                 "IncidentRaised"}
#: calls whose ``code=`` keyword is an error code
CODE_CALLS = ERROR_CLASSES | {"error_response", "error_body", "error_text"}
#: schema keywords that never fail on their own (they only descend)
STRUCTURAL = {"$ref", "allOf", "if", "then", "else", "properties", "$defs"}
#: words of an English sentence that no Dutch sentence of ours contains ("is", "was" and "of" are Dutch too)
ENGLISH = re.compile(r"\b(the|are|before|after|not|must|has|this|with|cannot|already|does|"
                     r"only|nothing|changed|missing|invalid|unknown|found|exist)\b", re.I)
#: placeholders the renderer fills itself (not params)
DERIVED = {"field", "field_name", "step"}


def _name(func) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def raise_sites() -> list[tuple[str, int, str, str | None, set | None]]:
    """(file, line, callee, code or None, param names or None) of every call naming or needing a code."""
    sites = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in CODE_CALLS | {"ClockError"}:
                keywords = {k.arg: k.value for k in node.keywords}
                code = keywords.get("code")
                params = keywords.get("params")
                if _name(node.func) == "ClockError" and len(node.args) >= 2:
                    code = node.args[1]
                    params = node.args[2] if len(node.args) > 2 else None
                names = ({k.value for k in params.keys if isinstance(k, ast.Constant)}
                         if isinstance(params, ast.Dict) and None not in params.keys else None)
                value = code.value if isinstance(code, ast.Constant) else None
                sites.append((str(path.relative_to(ROOT)), node.lineno, _name(node.func), value,
                              names if code is not None else None))
    return sites


def declared_codes() -> set[str]:
    codes = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "default_code"
                                                     for t in node.targets)
                    and isinstance(node.value, ast.Constant)):
                codes.add(node.value.value)
    codes |= {site[3] for site in raise_sites() if site[3]}
    codes |= {f"http_{status}" for status in _HTTP_ERRORS} | {"http_error"}
    return codes


def schema_rules() -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            found.update(k for k in node if k in Draft202012Validator.VALIDATORS)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(EVENT_SCHEMAS)
    walk(NEWCOMER_SCHEMA)
    return found - STRUCTURAL


def test_the_collector_sees_the_known_raise_sites():
    codes = declared_codes()
    assert {"not_waiting", "fine_out_of_range", "on_before_step", "invalid_request", "http_403", "clock_backwards",
            "invalid_input", "schema", "internal_error"} <= codes
    assert len(codes) > 60
    assert {"required", "enum", "minimum", "additionalProperties"} <= schema_rules()


def test_every_engine_error_names_its_code():
    """A raise site without ``code=`` would fall back to the class's generic code (and its generic text)."""
    bare = [f"{file}:{line} {callee}" for file, line, callee, code, _ in raise_sites()
            if callee in ERROR_CLASSES and code is None and file != "engine/errors.py"
            and not (callee == "IncidentRaised")]
    assert bare == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_code_has_a_text(lang):
    index = 0 if lang == "nl" else 1
    keys = {f"code.{code}" for code in declared_codes()} | {f"code.schema.{rule}" for rule in schema_rules()}
    missing = sorted(key for key in keys if not (MESSAGES.get(key) and MESSAGES[key][index].strip()))
    assert missing == []


def test_placeholders_are_params_the_raise_sites_give():
    """A text naming ``{x}`` where the raise site gives no ``x`` would show a dash to the reader."""
    wrong = []
    for file, line, _, code, names in raise_sites():
        if not code or names is None:
            continue
        key = messages.error_key(code, {"rule": "x"})
        for text in MESSAGES[key]:
            wanted = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            extra = wanted - names - DERIVED - {"path", "detail"}
            if extra:
                wrong.append(f"{file}:{line} {code}: {sorted(extra)}")
    assert wrong == []


def test_dutch_texts_have_no_english_words():
    for key, (dutch, _) in MESSAGES.items():
        if key.startswith("code."):
            words = ENGLISH.findall(re.sub(r"\{[^}]*\}|--\w+|If-Match|application/json|JSON|UTF-8|NUL|HTTP", "",
                                           dutch))
            assert not words, (key, dutch, words)


@pytest.mark.parametrize("lang, expected", [
    ("nl", "Een boete van € 20 ligt buiten de wettelijke vork van € 50 tot € 5.000 die op 1 maart 2024 geldt."),
    ("en", "A fine of EUR 20 is outside the legal range of EUR 50 to EUR 5,000 in force on 1 March 2024."),
])
def test_params_in_the_readers_format(lang, expected):
    params = {"amount": 20, "min": 50, "max": 5000, "on": "2024-03-01"}
    assert messages.error_text(lang, "fine_out_of_range", params, "$.fine_eur") == expected


def test_steps_fields_and_events_by_their_labels():
    text = messages.error_text("nl", "on_before_step", {"on": "2024-03-01", "step": "registration",
                                                       "step_on": "2024-04-01"}, "$.on")
    assert text == "De datum 1 maart 2024 ligt vóór de aanmelding bij het agentschap (1 april 2024)."
    assert messages.error_text("nl", "schema", {"rule": "required", "missing": ["on"]}, "$") == \
        "Een verplicht veld ontbreekt: Datum van het feit."
    assert messages.error_text("nl", "schema", {"rule": "enum"}, "$.decision").endswith(
        ": kies een van de toegelaten waarden.")
    unknown = messages.error_text("nl", "no_such_code_anywhere", {})
    assert unknown == MESSAGES["code.error"][0]


@pytest.mark.parametrize("value, nl, en", [(1234.5, "1.234,5", "1,234.5"), (3, "3", "3"), (1000000, "1.000.000",
                                                                                         "1,000,000")])
def test_numbers(value, nl, en):
    assert messages.number("nl", value) == nl and messages.number("en", value) == en


def test_percent_date_and_plural():
    assert messages.percent("nl", 100.0) == "100 %" and messages.percent("nl", 12.5) == "12,5 %"
    assert messages.percent("en", 12.5) == "12.5%"
    assert messages.day("nl", "2026-12-02") == "2 december 2026" and messages.day("en", "2026-12-02") == \
        "2 December 2026"
    assert messages.plural("nl", 1, "fmt.results") == "1 resultaat"
    assert messages.plural("nl", 2, "fmt.results") == "2 resultaten"
    assert messages.plural("nl", 1234, "fmt.results") == "1.234 resultaten"


@pytest.mark.parametrize("header, lang", [("nl-BE,nl;q=0.9,en;q=0.5", "nl"), ("en-GB, nl;q=0.8", "en"),
                                          ("fr, nl;q=0.5", "nl"), ("fr", None), ("", None), ("nl;q=0, en", "en"),
                                          ("nl;q=abc, en;q=0.1", "en")])
def test_accept_language(header, lang):
    assert messages.negotiate(header) == lang


@pytest.mark.parametrize("divergence, expected", [
    ({"kind": "tamper", "seq": 3, "field": "hash", "message": "journal chain broken at seq 3: edited"},
     "De keten van het journaal is verbroken bij volgnummer 3."),
    ({"kind": "divergence", "seq": 12, "field": "decision", "message": "decision recorded at seq 12 ..."},
     "Volgnummer 12: de herafspeling neemt een andere beslissing dan het journaal."),
    ({"kind": "divergence", "seq": 7, "field": "registered_on", "message": "seq 7 (...): registered_on differs"},
     "Volgnummer 7: Aangemeld op wijkt af van het journaal."),
])
def test_replay_divergence_in_the_readers_words(divergence, expected):
    from api.web import views
    from api.web.i18n import Translator

    assert views.divergence_text(Translator("nl"), divergence) == expected
    assert not ENGLISH.search(expected)
    assert views.state_divergence_text(Translator("nl"), {"fields": ["registered_on", "advice"]}) == \
        "De opgeslagen toestand wijkt af van het journaal in: Aangemeld op, Advies."


# ----- through the API ----------------------------------------------------------------------------
def _refused_event(client, auth, language: str | None):
    caseworker = auth("caseworker", "atlas")
    assert client.post("/newcomers", json=newcomer_data("m1"), headers=caseworker).status_code in (201, 409)
    headers = {**caseworker, **({"Accept-Language": language} if language else {})}
    return client.post("/dossiers/m1/events/contract_signed", json={"components": ["mo"]}, headers=headers)


def test_api_message_follows_accept_language(client, auth):
    plain = _refused_event(client, auth, None)
    dutch = _refused_event(client, auth, "nl-BE,nl;q=0.9")
    english = _refused_event(client, auth, "en")
    assert plain.status_code == dutch.status_code == english.status_code == 409
    assert plain.json()["code"] == dutch.json()["code"] == english.json()["code"] == "not_waiting"
    assert plain.json()["params"] == dutch.json()["params"] == english.json()["params"]
    assert "does not wait" in plain.json()["message"] and "Content-Language" not in plain.headers
    assert dutch.json()["message"] == ("Het dossier wacht niet op deze gebeurtenis (Inburgeringscontract "
                                       "ondertekend); het wacht op: Aanmelding.")
    assert dutch.headers["Content-Language"] == "nl"
    assert english.json()["message"].startswith("The dossier does not wait for this event")
    assert not ENGLISH.search(dutch.json()["message"].replace("MO", ""))


def test_api_validation_and_http_errors_carry_codes(client, auth):
    caseworker = {**auth("caseworker", "atlas"), "Accept-Language": "nl"}
    bad_query = client.get("/worklist?limit=abc", headers=caseworker)
    assert bad_query.status_code == 422 and bad_query.json()["code"] in ("invalid_request", "unknown_query_parameter")
    assert bad_query.json()["message"] and not ENGLISH.search(bad_query.json()["message"])
    no_token = client.get("/worklist", headers={"Accept-Language": "nl"})
    assert no_token.status_code == 401 and no_token.json()["code"] == "http_401"
    assert no_token.json()["message"] == MESSAGES["code.http_401"][0]
    bad_json = client.post("/newcomers", content=b"{", headers={**caseworker, "Content-Type": "application/json"})
    assert bad_json.status_code == 422 and bad_json.json()["code"] == "invalid_json"
    assert bad_json.json()["message"] == MESSAGES["code.invalid_json"][0]
    guarded = client.get("/dossiers/a%00b", headers=caseworker)
    assert guarded.status_code == 422 and guarded.json()["code"] == "bad_request_text"
    assert not ENGLISH.search(guarded.json()["message"])


def test_api_report_for_people_is_dutch_unless_asked_otherwise(client, auth):
    auditor = auth("auditor")
    dutch = client.get("/reports/2024?format=text", headers=auditor)
    assert dutch.status_code == 200 and dutch.headers["Content-Language"] == "nl"
    assert dutch.text.startswith("Inburgeringsrapport 2024") and "(000 Q1)" not in dutch.text
    english = client.get("/reports/2024?format=text", headers={**auditor, "Accept-Language": "en-GB"})
    assert english.text.startswith("Civic-integration report 2024") and english.headers["Content-Language"] == "en"
    chart = client.get("/reports/2024?format=png", headers=auditor)
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
