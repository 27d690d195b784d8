"""Authentication and authorisation: the matrix per endpoint and role."""
from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from api.auth import ROLES, TokenError, issue_token, verify_token
from engine.commands import ENFORCEMENT_EVENTS, EVENT_SCHEMAS
from engine.settings import Settings

from .conftest import SECRET, START, newcomer_data
from .samples import EVENT_BODIES

ALL = set(ROLES)
READERS = {"caseworker", "enforcement_officer", "auditor", "admin"}

# (method, path, json body, roles allowed)
ENDPOINTS = [
    ("POST", "/newcomers", newcomer_data("x1"), {"admin", "caseworker", "register_import"}),
    ("GET", "/dossiers/n1/as-of/2024-02-01", None, {"auditor", "admin"}),
    ("GET", "/dossiers/n1/replay", None, {"auditor", "admin"}),
    ("GET", "/reports/2024", None, {"auditor", "admin"}),
    ("GET", "/access-log?dossier_id=n1", None, {"auditor", "admin"}),
    ("GET", "/dossiers/n1", None, READERS),
    ("GET", "/dossiers/n1/history", None, READERS),
    ("GET", "/worklist", None, {"caseworker", "auditor", "admin"}),
    ("GET", "/enforcement/queue", None, {"enforcement_officer", "auditor", "admin"}),
    ("POST", "/sweep", None, {"admin"}),
] + [
    ("POST", f"/dossiers/n1/events/{event}", EVENT_BODIES[event],
     {"enforcement_officer", "admin"} if event in ENFORCEMENT_EVENTS else {"caseworker", "admin"})
    for event in EVENT_SCHEMAS
]
IDS = [f"{method} {path}" for method, path, _, _ in ENDPOINTS]


def call(client, method, path, body, headers):
    return client.request(method, path, json=body, headers=headers)


def agency_of(role):
    return "atlas" if role == "caseworker" else None


def assert_401(response):
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"] == "Unauthorized"


@pytest.mark.parametrize("method,path,body,allowed", ENDPOINTS, ids=IDS)
def test_role_matrix(client, auth, newcomer, method, path, body, allowed):
    newcomer("n1")  # Antwerpen stad → atlas
    for role in ROLES:
        response = call(client, method, path, body, auth(role, agency_of(role)))
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
            assert response.status_code < 500, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["error"] == "Forbidden"


@pytest.mark.parametrize("method,path,body,allowed", ENDPOINTS, ids=IDS)
def test_unauthenticated(client, auth, settings, clock, method, path, body, allowed):
    role = sorted(allowed)[0]
    agency = agency_of(role)
    assert_401(call(client, method, path, body, {}))
    assert_401(call(client, method, path, body, {"Authorization": "Bearer not-a-jwt"}))
    assert_401(call(client, method, path, body, {"Authorization": "Basic dXNlcjpwYXNz"}))
    forged = issue_token(Settings(jwt_secret="another-secret"), role=role, user="u", agency=agency,
                         now=clock.now())
    assert_401(call(client, method, path, body, {"Authorization": f"Bearer {forged}"}))
    expired = auth(role, agency, issued=clock.now() - timedelta(hours=settings.token_hours, seconds=1))
    assert_401(call(client, method, path, body, expired))


def test_health_needs_no_token(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_expiry_follows_the_engine_clock(client, auth, clock, settings):
    headers = auth("auditor")
    assert client.get("/worklist", headers=headers).status_code == 200
    clock.advance(timedelta(hours=settings.token_hours) - timedelta(seconds=1))
    assert client.get("/worklist", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_401(client.get("/worklist", headers=headers))


def test_token_issued_in_the_future_is_refused(client, auth, clock):
    assert_401(client.get("/worklist", headers=auth("auditor", issued=clock.now() + timedelta(hours=1))))


@pytest.mark.parametrize("claims", [
    {"sub": "u", "role": "caseworker", "agency": None},          # caseworker without agency
    {"sub": "u", "role": "caseworker", "agency": "elsewhere"},   # unknown agency
    {"sub": "u", "role": "superuser", "agency": None},           # unknown role
    {"sub": "", "role": "admin", "agency": None},                # empty subject
    {"role": "admin", "agency": None},                           # no subject
    {"sub": "u", "role": "admin", "agency": None, "iss": "someone-else"},
    {"sub": "u", "role": "admin", "agency": None, "exp": "tomorrow"},
], ids=["no-agency", "bad-agency", "bad-role", "empty-sub", "no-sub", "wrong-issuer", "bad-exp"])
def test_malformed_claims_are_401(client, settings, clock, claims):
    now = int(clock.now().timestamp())
    token = jwt.encode({"iss": settings.jwt_issuer, "iat": now, "exp": now + 3600, **claims},
                       settings.jwt_secret, algorithm="HS256")
    assert_401(client.get("/worklist", headers={"Authorization": f"Bearer {token}"}))


def test_unsigned_token_is_401(client, settings, clock):
    now = int(clock.now().timestamp())
    token = jwt.encode({"sub": "u", "role": "admin", "iss": settings.jwt_issuer, "iat": now, "exp": now + 3600},
                       None, algorithm="none")
    assert_401(client.get("/worklist", headers={"Authorization": f"Bearer {token}"}))


def test_issue_and_verify_round_trip():
    settings = Settings(jwt_secret=SECRET)
    token = issue_token(settings, role="caseworker", user="c1", agency="amal", now=START)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["sub"] == "c1" and claims["role"] == "caseworker" and claims["agency"] == "amal"
    assert claims["iss"] == settings.jwt_issuer
    assert claims["exp"] - claims["iat"] == settings.token_hours * 3600
    actor = verify_token(settings, token, now=START)
    assert (actor.user, actor.role, actor.agency) == ("c1", "caseworker", "amal")
    with pytest.raises(TokenError):
        verify_token(settings, token, now=START + timedelta(hours=settings.token_hours))


def test_issue_token_refuses_a_caseworker_without_agency():
    with pytest.raises(ValueError):
        issue_token(Settings(jwt_secret=SECRET), role="caseworker", user="c1", now=START)


# ----- agencies -----------------------------------------------------------------
def test_caseworker_of_another_agency_gets_404(client, auth, newcomer):
    newcomer("n1")  # atlas
    amal = auth("caseworker", "amal")
    for method, path, body in [("GET", "/dossiers/n1", None), ("GET", "/dossiers/n1/history", None),
                               ("POST", "/dossiers/n1/events/registered", {})]:
        response = call(client, method, path, body, amal)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"] == "NotFound"
    atlas = auth("caseworker", "atlas")
    assert client.get("/dossiers/n1", headers=atlas).status_code == 200
    # nothing was written by the refused event
    assert client.get("/dossiers/n1", headers=atlas).json()["registered_on"] is None


def test_unknown_dossier_is_404(client, auth):
    assert client.get("/dossiers/nope", headers=auth("admin")).status_code == 404
    assert client.get("/dossiers/nope/history", headers=auth("auditor")).status_code == 404
    assert client.post("/dossiers/nope/events/registered", json={}, headers=auth("admin")).status_code == 404


def test_caseworker_worklist_is_their_agency(client, auth, newcomer):
    newcomer("n1")                        # atlas
    newcomer("g1", nis_code="44021")      # amal
    amal = auth("caseworker", "amal")
    response = client.get("/worklist", headers=amal)
    assert response.status_code == 200
    assert {item["agency"] for item in response.json()["items"]} <= {"amal"}
    assert [item["dossier_id"] for item in response.json()["items"]] == ["g1"]
    assert client.get("/worklist?agency=amal", headers=amal).status_code == 200
    forbidden = client.get("/worklist?agency=atlas", headers=amal)
    assert forbidden.status_code == 403
    # auditors and admins see every agency, or the one they ask for
    everything = client.get("/worklist", headers=auth("auditor")).json()
    assert {item["dossier_id"] for item in everything["items"]} == {"n1", "g1"}
    atlas_only = client.get("/worklist?agency=atlas", headers=auth("admin")).json()
    assert [item["dossier_id"] for item in atlas_only["items"]] == ["n1"]


def test_auditor_is_read_only(client, auth, newcomer):
    newcomer("n1")
    auditor = auth("auditor")
    assert client.get("/dossiers/n1", headers=auditor).status_code == 200
    assert client.post("/dossiers/n1/events/registered", json={}, headers=auditor).status_code == 403
    assert client.post("/newcomers", json=newcomer_data("n2"), headers=auditor).status_code == 403
    assert client.post("/sweep", headers=auditor).status_code == 403


def test_token_lifetime_is_real_hours_across_daylight_saving_time():
    """12 hours from 2023-10-28 20:00 Brussels (CEST) end at 07:00 CET, not 08:00: real hours, not wall hours."""
    from datetime import datetime

    from engine.clock import BRUSSELS

    settings = Settings(jwt_secret=SECRET)
    evening = datetime(2023, 10, 28, 20, 0, tzinfo=BRUSSELS)
    token = issue_token(settings, role="admin", user="a", now=evening)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["exp"] - claims["iat"] == settings.token_hours * 3600
    from datetime import timezone
    later = evening.astimezone(timezone.utc) + timedelta(hours=11)  # 11 real hours later
    assert verify_token(settings, token, now=later).role == "admin"
