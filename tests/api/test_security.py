"""Secure by default (issue 13): bad ids, body limit, 500s, date overflow, token lifetime, agency scoping
of imports. Every database test runs on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import anyio
import jwt
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_token
from engine.settings import Settings

from .conftest import SECRET, newcomer_data

#: every API route that takes a dossier id, with its method and body
ID_ROUTES = [("GET", "/dossiers/{id}", None), ("GET", "/dossiers/{id}/history", None),
             ("GET", "/dossiers/{id}/as-of/2024-02-01", None), ("GET", "/dossiers/{id}/replay", None),
             ("POST", "/dossiers/{id}/events/registered", {}), ("POST", "/dossiers/{id}/events/no_such_event", {}),
             ("GET", "/ui/dossiers/{id}", None), ("GET", "/ui/audit/dossiers/{id}", None),
             ("GET", "/ui/dossiers/{id}/events/registered", None)]
#: percent-encoded: NUL, a C0 control, DEL, a C1 control (U+0085), a lone surrogate (CESU bytes of U+D800)
BAD_IDS = {"nul": "a%00b", "control": "a%01b", "del": "a%7Fb", "c1": "a%C2%85b", "surrogate": "a%ED%A0%80b",
           "not-utf8": "a%FFb"}


def assert_422(response, path=None):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput"
    if path is not None:
        assert body["path"] == path, body
    return body


# ----- ids ------------------------------------------------------------------------------------------------
def test_bad_ids_are_422_naming_the_field_on_every_route(client, auth, newcomer):
    newcomer("n1")
    before = client.get("/dossiers/n1/history", headers=auth("admin")).json()["entries"]
    for name, bad in BAD_IDS.items():
        for method, template, body in ID_ROUTES:
            url = template.replace("{id}", bad)
            response = client.request(method, url, headers=auth("admin"), json=body)
            expected = "$.path.dossier_id"
            assert_422(response, expected)
    assert client.get("/dossiers/n1/history", headers=auth("admin")).json()["entries"] == before


@pytest.mark.parametrize("bad_id,problem", [("a\x00b", "NUL"), ("a\x1fb", "control"), ("a\x85b", "control"),
                                            ("\ud800", "UTF-8"), ("", "empty")])
def test_bad_import_ids_are_422(client, auth, bad_id, problem):
    raw = json.dumps(newcomer_data(bad_id))  # ensure_ascii: a lone surrogate travels as \ud800
    response = client.post("/newcomers", content=raw, headers={**auth("admin"), "Content-Type": "application/json"})
    body = assert_422(response, "$.id")
    assert problem.lower() in body["message"].lower() or "empty" in body["message"] or "short" in body["message"]
    assert client.get("/worklist", headers=auth("admin")).json()["total"] == 0


def test_nul_and_surrogates_anywhere_in_a_body_are_422(client, auth, newcomer):
    newcomer("n1")
    raw = '{"infraction": "x\\u0000y", "decision": "fine"}'
    response = client.post("/dossiers/n1/events/enforcement_decision", content=raw,
                           headers={**auth("admin"), "Content-Type": "application/json"})
    assert_422(response, "$.infraction")
    raw = '{"advice": "cvo\\udc00"}'
    response = client.post("/dossiers/n1/events/intake", content=raw,
                           headers={**auth("admin"), "Content-Type": "application/json"})
    assert_422(response, "$.advice")


def test_bad_query_values_and_unknown_parameters_are_422(client, auth, newcomer):
    newcomer("n1")
    assert_422(client.get("/access-log?user=a%00b", headers=auth("auditor")), "$.query.user")
    assert_422(client.get("/worklist?agency=at%01las", headers=auth("admin")), "$.query.agency")
    assert_422(client.get("/worklist?limt=5", headers=auth("admin")), "$.query.limt")
    assert_422(client.get("/reports/2024?as_of=0", headers=auth("auditor")), "$.query.as_of")  # not 1970-01-01
    assert_422(client.get("/dossiers/n1?as_of=2024-02-30", headers=auth("auditor")), "$.query.as_of")
    assert_422(client.get("/dossiers/n1/as-of/1", headers=auth("auditor")), "$.path.day")


# ----- body size --------------------------------------------------------------------------------------------
def _asgi_post(app, path: str, chunks, headers=()) -> tuple[int, dict, int]:
    """POST through the ASGI interface; returns (status, headers, chunks the app read)."""
    read = 0
    sent = {}

    async def receive():
        nonlocal read
        if read < len(chunks):
            read += 1
            return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
            sent["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    anyio.run(app, scope, receive, send)
    return sent["status"], sent["headers"], read


def test_the_body_limit_is_enforced_while_reading(engine, settings, auth):
    app = create_app(engine, settings)
    token = auth("admin")["Authorization"].encode()
    megabyte = b" " * 1_000_000
    chunks = [b"{"] + [megabyte] * 300  # 300 MB if it were all read
    status, headers, read = _asgi_post(app, "/newcomers", chunks, [(b"authorization", token)])
    assert status == 413 and headers["connection"] == "close"
    assert read <= 3, f"{read} chunks of 1 MB read before refusing"
    # a declared length beyond the limit is refused before anything is read
    status, headers, read = _asgi_post(app, "/newcomers", chunks,
                                       [(b"authorization", token), (b"content-length", b"300000001")])
    assert status == 413 and read == 0
    # the limit is a setting
    from dataclasses import replace
    small = create_app(engine, replace(settings, max_body_bytes=100))
    status, _, _ = _asgi_post(small, "/newcomers", [json.dumps(newcomer_data("n9")).encode()],
                              [(b"authorization", token)])
    assert status == 413


def test_a_body_just_under_the_limit_is_read(client, auth):
    raw = json.dumps(newcomer_data("n1")) + " " * (1_000_000 - 400)
    response = client.post("/newcomers", content=raw, headers={**auth("admin"), "Content-Type": "application/json"})
    assert response.status_code == 201, response.text


# ----- 500s and overflows ------------------------------------------------------------------------------------
def test_a_500_has_a_correlation_id_and_closes_the_connection(engine, settings, auth, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret detail 90050512345")

    monkeypatch.setattr(engine, "worklist", broken)
    with TestClient(create_app(engine, settings), raise_server_exceptions=False) as client:
        with caplog.at_level(logging.ERROR, logger="inburgering.api"):
            response = client.get("/worklist", headers=auth("admin"))
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "InternalError" and len(body["correlation_id"]) == 32
    assert response.headers["connection"] == "close"
    assert response.headers["x-correlation-id"] == body["correlation_id"]
    assert "secret" not in response.text
    assert any(body["correlation_id"] in record.getMessage() for record in caplog.records)


def test_date_arithmetic_overflow_is_422_and_changes_nothing(engine, settings, auth, monkeypatch, newcomer, client):
    newcomer("n1")
    version = client.get("/dossiers/n1", headers=auth("admin")).json()["version"]

    def overflowing(*args, **kwargs):
        raise OverflowError("date value out of range")

    monkeypatch.setattr(engine, "handle", overflowing)
    response = client.post("/dossiers/n1/events/suspended", json={"from": "2024-02-01", "to": "2024-02-10"},
                           headers=auth("admin"))
    assert_422(response, "$")
    monkeypatch.undo()
    assert client.get("/dossiers/n1", headers=auth("admin")).json()["version"] == version


def test_the_same_suspension_posted_27_times_never_500s(client, auth, newcomer):
    """Regression (issue 13): the same long suspension posted 27 times pushed a deadline past year 9999
    (OverflowError, a 500). The engine fix — a suspension's days count once — is the lead's; until it lands the
    27th is refused by the generic guarantee (422, nothing written), after it all 27 are accepted. Never a 500."""
    newcomer("n1")
    statuses = []
    for _ in range(27):
        response = client.post("/dossiers/n1/events/suspended", json={"from": "1900-01-01", "to": "2199-12-31"},
                               headers=auth("admin"))
        statuses.append(response.status_code)
        if response.status_code == 422:
            assert response.json()["path"] == "$"
    assert all(status in (200, 422) for status in statuses), statuses
    view = client.get("/dossiers/n1", headers=auth("admin"))
    assert view.status_code == 200
    assert view.json()["version"] == 1 + statuses.count(200)  # a refused one wrote nothing


# ----- token lifetime --------------------------------------------------------------------------------------
def _token(settings, clock, **changes):
    now = int(clock.now().timestamp())
    claims = {"sub": "u", "role": "admin", "agency": None, "iss": settings.jwt_issuer, "iat": now, "exp": now + 3600,
              **changes}
    return {"Authorization": "Bearer " + jwt.encode(claims, settings.jwt_secret, algorithm="HS256")}


def test_tokens_beyond_the_maximum_lifetime_are_refused(client, settings, clock):
    now = int(clock.now().timestamp())
    three_thousand_years = now + 3000 * 365 * 24 * 3600
    refused = client.get("/worklist", headers=_token(settings, clock, exp=three_thousand_years))
    assert refused.status_code == 401 and "lifetime" in refused.json()["message"]
    longest = settings.max_token_hours * 3600
    assert client.get("/worklist", headers=_token(settings, clock, exp=now + longest)).status_code == 200
    assert client.get("/worklist", headers=_token(settings, clock, exp=now + longest + 1)).status_code == 401
    # a backdated iat does not stretch it either: exp may not lie further ahead than the maximum
    backdated = _token(settings, clock, iat=now - longest, exp=now + longest)
    assert client.get("/worklist", headers=backdated).status_code == 401


def test_an_app_without_a_signing_key_accepts_no_token_of_its_own(engine, clock):
    keyless = Settings(database_url="sqlite://", jwt_secret="")
    with TestClient(create_app(engine, keyless)) as client:
        forged = issue_token(Settings(jwt_secret=SECRET), role="admin", user="x", now=clock.now())
        response = client.post("/sweep", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401
    with pytest.raises(ValueError):
        issue_token(keyless, role="admin", user="x", now=clock.now())


# ----- agency scoping of imports -------------------------------------------------------------------------------
AMAL_NIS = "44021"  # Gent (In-Gent, agency amal)


def test_caseworkers_import_only_their_agencys_newcomers(client, auth):
    atlas = auth("caseworker", "atlas")
    assert client.post("/newcomers", json=newcomer_data("a1"), headers=atlas).status_code == 201
    other = client.post("/newcomers", json=newcomer_data("g1", nis_code=AMAL_NIS), headers=atlas)
    assert other.status_code == 403
    assert client.get("/dossiers/g1", headers=auth("admin")).status_code == 404  # nothing imported
    # the register import and admins import for every agency
    assert client.post("/newcomers", json=newcomer_data("g1", nis_code=AMAL_NIS),
                       headers=auth("register_import")).status_code == 201
    assert client.post("/newcomers", json=newcomer_data("g2", nis_code=AMAL_NIS),
                       headers=auth("admin")).status_code == 201


def test_an_id_another_agency_holds_is_not_revealed(client, auth):
    client.post("/newcomers", json=newcomer_data("held", nis_code=AMAL_NIS), headers=auth("register_import"))
    atlas = auth("caseworker", "atlas")
    collision = client.post("/newcomers", json=newcomer_data("held"), headers=atlas)
    elsewhere = client.post("/newcomers", json=newcomer_data("fresh", nis_code=AMAL_NIS), headers=atlas)
    # the same answer as for any newcomer not of the caseworker's agency: no "already exists", no id
    assert collision.status_code == elsewhere.status_code == 403
    assert collision.json() == elsewhere.json()
    assert "held" not in collision.text and "exists" not in collision.text
    # a duplicate of the caseworker's own agency is the usual 409
    client.post("/newcomers", json=newcomer_data("mine"), headers=atlas)
    duplicate = client.post("/newcomers", json=newcomer_data("mine"), headers=atlas)
    assert duplicate.status_code == 409 and duplicate.json()["error"] == "Conflict"


def test_bad_input_is_422_before_any_agency_question(client, auth):
    response = client.post("/newcomers", json=newcomer_data("x", nis_code="ABCDE"), headers=auth("caseworker", "amal"))
    assert_422(response, "$.nis_code")
