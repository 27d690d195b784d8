"""Property-based: schemathesis drives every operation of the published OpenAPI schema
in-process (ASGI), valid and invalid data alike, as admin, with every check it has (``--checks all``):
no 5xx, status codes, content types, headers and bodies as published, schema-valid requests
accepted and schema-violating ones refused. The OpenAPI document tells the truth.

Bounded: at most 15 generated examples per operation (fuzzing phase; more with
``INBURGERING_SCHEMATHESIS_EXAMPLES``), no deadline. Each operation runs on every
backend the ``engine`` fixture offers (SQLite, PostgreSQL).

The schema is loaded eagerly from a module-level app whose engine is swapped in per test
(``live_app``): ``schemathesis.pytest.from_fixture`` (the lazy loader) does not work
with pytest 9.2 — it reads ``request.node._nodeid``, which pytest 9 no longer has.
"""
from __future__ import annotations

import itertools
import json
import os

import pytest
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from api.app import create_app
from api.auth import issue_token
from engine.settings import Settings

from .conftest import SECRET, newcomer_data

APP = create_app(None, Settings(jwt_secret=SECRET))  # engine and settings are set per test
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
def live_app(engine, settings, auth):
    """Point the module app at this test's engine, with a dossier per agency to act on."""
    APP.state.engine, APP.state.settings = engine, settings
    with TestClient(APP) as client:
        for dossier_id, nis in (("n1", "11002"), ("g1", "44021"), ("b1", "21004")):
            response = client.post("/newcomers", json=newcomer_data(dossier_id, nis_code=nis),
                                   headers=auth("admin"))
            assert response.status_code == 201, response.text
    yield APP
    APP.state.engine = APP.state.settings = None


EXISTING = ("n1", "g1", "b1")
load_all_checks()
#: every check schemathesis has (``--checks all``)
ALL_CHECKS = list(CHECKS.get_all())
#: a deeper run on demand: INBURGERING_SCHEMATHESIS_EXAMPLES=200 pytest tests/api/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("INBURGERING_SCHEMATHESIS_EXAMPLES", "15"))


def _insz(birth_year_2000: bool, first_nine: int) -> str:
    body = f"{first_nine:09d}"
    check = 97 - int(("2" if birth_year_2000 else "") + body) % 97
    return f"{body}{check:02d}"


#: the published custom format of the import's `insz` (11 digits with their mod-97 check)
schemathesis.openapi.format("insz", st.builds(_insz, st.booleans(), st.integers(0, 999_999_999)))


@schema.hook
def filter_body(ctx, body):
    """The rules the published descriptions state in words (JSON Schema cannot compare two fields, nor a
    field with the dossier): an import's birth_date <= obligation_start, an event's from <= to (ISO dates
    compare as strings), and an event's ``on`` between the dossier's obligation start and today — the
    generated bodies leave ``on`` out (its 422s are tested in tests/engine/test_effective_dates.py)."""
    if not isinstance(body, dict):
        return True
    if "on" in body and "obligation_start" not in body:
        return False
    for first, last in (("birth_date", "obligation_start"), ("from", "to")):
        if isinstance(body.get(first), str) and isinstance(body.get(last), str) and body[first] > body[last]:
            return False
    return True


@schemathesis.serializer("application/x-ndjson")
def _json_lines(ctx, value) -> bytes:
    """The register extract's body (``POST /newcomers/import``): JSON lines as UTF-8 text."""
    return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8", "surrogatepass")


_EXTRACT_IDS = itertools.count(1)


@schema.hook
def map_body(ctx, body):
    """A register extract is JSON lines of newcomers, which no JSON Schema describes (the published body is a
    string): a generated string becomes a one-line extract of a new newcomer, so the valid case imports.
    Bad extracts (line errors, nothing imported) are tested in tests/api/test_desk.py."""
    operation = getattr(ctx, "operation", None)
    if operation is not None and operation.path == "/newcomers/import" and isinstance(body, str):
        return json.dumps(newcomer_data(f"extract-{next(_EXTRACT_IDS)}")) + "\n"
    return body


@schema.hook
def filter_query(ctx, query):
    """The date ranges of the listings (worklist ``due_from``/``due_to``, queue ``handed_over_from``/``_to``):
    the first not after the last, as their descriptions say (a reversed range is 422, tests/api/test_desk.py)."""
    if not isinstance(query, dict):
        return True
    for first, last in (("due_from", "due_to"), ("handed_over_from", "handed_over_to")):
        if isinstance(query.get(first), str) and isinstance(query.get(last), str) and query[first] > query[last]:
            return False
    return True


@schema.hook
def filter_case(ctx, case):
    """The state as of a day, as known on another: ``known_on`` not before the path's ``day``, as its
    description says (a day cannot be known before it ends: 422, tests/audit/test_known_on.py); a rule
    across the path and the query that no hook of one part can see."""
    day = (case.path_parameters or {}).get("day")
    known_on = (case.query or {}).get("known_on")
    return not (isinstance(day, str) and isinstance(known_on, str) and known_on < day)


@schema.auth()
class AdminToken:
    """A fresh admin token on the engine clock of the app under test; schemathesis knows it is the auth."""

    def get(self, case, ctx):
        return issue_token(APP.state.settings, role="admin", user="schemathesis", now=APP.state.engine.clock.now())

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def _positive(case, location: ParameterLocation) -> bool:
    meta = getattr(case, "meta", None)
    component = meta.components.get(location) if meta is not None else None
    return component is None or component.mode == GenerationMode.POSITIVE


@schema.parametrize()
@schema.given(existing=st.sampled_from((*EXISTING, None)))
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_openapi_tells_the_truth(case, existing, live_app):
    # most generated dossier ids do not exist; aim most valid cases at real dossiers so the engine runs
    if existing is not None and "dossier_id" in (case.path_parameters or {}) and _positive(case, ParameterLocation.PATH):
        case.path_parameters["dossier_id"] = existing
    case.call_and_validate(checks=ALL_CHECKS)
