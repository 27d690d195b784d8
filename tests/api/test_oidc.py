"""Sign-in through a real OpenID Connect provider on loopback (the PyPI package oidc-provider-mock, a Flask
app built on Authlib): API bearer tokens, expiry, audience, issuer, unknown and rotated keys, claim mapping,
and the browser's authorization-code flow with PKCE (TestClient and headless Chromium)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from api.app import create_app
from api.oidc import OidcProvider, pkce_challenge
from engine import access_log
from engine.settings import Settings

pytest.importorskip("oidc_provider_mock", reason="oidc-provider-mock is a dev dependency (scripts/setup.sh dev)")

CLIENT_ID = "inburgering-web"
CLIENT_SECRET = "web-client-secret"  # the mock accepts any secret, but wants one
USERS = {"anna": {"role": "caseworker", "agency": "atlas"}, "ines": {"role": ["staff", "inburgering-audit"]},
         "nobody": {"role": "superuser"}}


class Provider:
    """oidc-provider-mock served by werkzeug on 127.0.0.1 in a thread."""

    def __init__(self):
        import oidc_provider_mock
        import werkzeug.serving

        self.app = oidc_provider_mock.app(user_claims=[oidc_provider_mock.User(sub=sub, claims=claims)
                                                       for sub, claims in USERS.items()],
                                          access_token_max_age=timedelta(minutes=30))
        self.server = werkzeug.serving.make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)

    def rotate_key(self):
        """The provider starts signing with a new key and publishes only that one."""
        import flask
        from authlib import jose

        with self.app.test_request_context("/"):
            self.app.preprocess_request()
            flask.g.oidc_provider_mock_storage.jwk = jose.RSAKey.generate_key(is_private=True)

    def id_token(self, sub: str, *, host: str | None = None, nonce: str = "n0") -> str:
        """Sign ``sub`` in as a browser would (authorize form → code → token endpoint); the ID token."""
        base = f"http://{host}:{self.server.server_port}" if host else self.url
        verifier = "v" * 50
        params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": "http://app.test/cb",
                  "scope": "openid", "state": "s", "nonce": nonce, "code_challenge": pkce_challenge(verifier),
                  "code_challenge_method": "S256"}
        with httpx.Client(base_url=base) as http:
            answer = http.post("/oauth2/authorize", params=params, data={"sub": sub})
            assert answer.status_code == 302, answer.text
            code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
            token = http.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                                     "redirect_uri": "http://app.test/cb", "client_id": CLIENT_ID,
                                                     "code_verifier": verifier}, auth=(CLIENT_ID, CLIENT_SECRET))
            assert token.status_code == 200, token.text
            return token.json()["id_token"]


@pytest.fixture(scope="module")
def provider():
    server = Provider()
    yield server
    server.stop()


@pytest.fixture
def oidc_settings(settings, provider) -> Settings:
    return replace(settings, jwt_secret="", oidc_issuer=provider.url, oidc_audience=CLIENT_ID,
                   oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET, oidc_agency_claim="agency",
                   oidc_role_map={"inburgering-audit": "auditor"})


@pytest.fixture
def oidc_client(engine, oidc_settings):
    with TestClient(create_app(engine, oidc_settings), base_url="http://testserver") as test_client:
        yield test_client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_provider_token_authenticates_with_mapped_claims(oidc_client, provider, newcomer, engine, auth):
    engine.import_newcomer({"id": "n1", "birth_date": "1990-05-05", "nationalities": ["MA"],
                            "residence": "family_reunification_third_country", "nis_code": "11002",
                            "obligation_start": "2024-01-15"})
    anna = provider.id_token("anna")
    assert jwt.get_unverified_header(anna)["alg"] == "RS256"
    assert oidc_client.get("/dossiers/n1", headers=bearer(anna)).status_code == 200
    with engine.reading() as connection:
        read = access_log.listing(connection, dossier_id="n1")["items"][0]
    assert (read["user"], read["role"], read["agency"]) == ("anna", "caseworker", "atlas")
    # a list-valued role claim (groups) mapped through INBURGERING_OIDC_ROLE_MAP
    ines = provider.id_token("ines")
    assert oidc_client.get("/dossiers/n1/replay", headers=bearer(ines)).status_code == 200
    assert oidc_client.post("/sweep", headers=bearer(ines)).status_code == 403  # an auditor, not an admin
    # a role we do not know authenticates no one
    assert oidc_client.get("/worklist", headers=bearer(provider.id_token("nobody"))).status_code == 401


def test_our_own_tokens_need_our_key(oidc_client, auth):
    """With only OIDC configured (no INBURGERING_JWT_SECRET) an HS256 token is refused, whoever signed it."""
    response = oidc_client.get("/worklist", headers=auth("admin"))
    assert response.status_code == 401


def test_expired_provider_token(oidc_client, provider, monkeypatch):
    token = provider.id_token("anna")
    assert oidc_client.get("/worklist", headers=bearer(token)).status_code == 200
    import engine.clock

    later = engine.clock.wall_now() + timedelta(minutes=31)  # the provider's tokens live 30 minutes
    monkeypatch.setattr(engine.clock, "wall_now", lambda: later)
    response = oidc_client.get("/worklist", headers=bearer(token))
    assert response.status_code == 401 and "expired" in response.json()["message"]


def test_lifetime_beyond_our_maximum(engine, oidc_settings, provider):
    strict = replace(oidc_settings, max_token_hours=0)
    with TestClient(create_app(engine, strict)) as client:
        response = client.get("/worklist", headers=bearer(provider.id_token("anna")))
    assert response.status_code == 401 and "lifetime" in response.json()["message"]


def test_wrong_audience(engine, oidc_settings, provider):
    other = replace(oidc_settings, oidc_audience="another-api", oidc_client_id="another-web")
    with TestClient(create_app(engine, other)) as client:
        response = client.get("/worklist", headers=bearer(provider.id_token("anna")))
    assert response.status_code == 401 and "audience" in response.json()["message"].lower()


def test_wrong_issuer(oidc_client, provider):
    """The same provider reached under another name stamps another issuer: not the configured one."""
    token = provider.id_token("anna", host="localhost")
    assert jwt.decode(token, options={"verify_signature": False})["iss"].startswith("http://localhost:")
    response = oidc_client.get("/worklist", headers=bearer(token))
    assert response.status_code == 401 and "issuer" in response.json()["message"].lower()


def _forged(provider, key, algorithm: str, kid: str) -> str:
    real = jwt.decode(provider.id_token("anna"), options={"verify_signature": False})
    claims = {**real, "role": "admin", "agency": None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def test_unknown_key(oidc_client, provider):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    for token in (_forged(provider, rsa_key, "RS256", "attacker"),
                  _forged(provider, ec_key, "ES256", "attacker-ec")):
        response = oidc_client.post("/sweep", headers=bearer(token))
        assert response.status_code == 401 and "key" in response.json()["message"]
    # the provider's own key id with another key: the signature does not verify
    kid = httpx.get(f"{provider.url}/jwks").json()["keys"][0]["kid"]
    response = oidc_client.post("/sweep", headers=bearer(_forged(provider, rsa_key, "RS256", kid)))
    assert response.status_code == 401
    # and never an HS256 token signed with the provider's public key (algorithm confusion)
    from cryptography.hazmat.primitives import serialization

    public = jwt.PyJWK(httpx.get(f"{provider.url}/jwks").json()["keys"][0]).key
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    real = jwt.decode(provider.id_token("anna"), options={"verify_signature": False})
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")  # noqa: E731
    signing_input = part({"alg": "HS256", "typ": "JWT"}) + b"." + part({**real, "role": "admin"})
    import hmac
    signature = base64.urlsafe_b64encode(hmac.new(pem, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    confused = (signing_input + b"." + signature).decode()
    assert oidc_client.post("/sweep", headers=bearer(confused)).status_code == 401


def test_rotated_key(oidc_client, provider, monkeypatch):
    monkeypatch.setattr(OidcProvider, "jwks_refresh_cooldown", 0.0)
    oidc = oidc_client.app.state.oidc
    oidc._jwks = None  # a client built with the patched cooldown
    old = provider.id_token("anna")
    assert oidc_client.get("/worklist", headers=bearer(old)).status_code == 200
    before = httpx.get(f"{provider.url}/jwks").json()["keys"]
    provider.rotate_key()
    after = httpx.get(f"{provider.url}/jwks").json()["keys"]
    assert len(after) == 1 and after[0]["kid"] != before[0]["kid"]
    new = provider.id_token("anna")
    assert jwt.decode(new, options={"verify_signature": False})["sub"] == "anna"
    assert oidc_client.get("/worklist", headers=bearer(new)).status_code == 200  # the new key is fetched
    assert oidc_client.get("/worklist", headers=bearer(old)).status_code == 401  # the old one is gone


# ----- browser sign-in: authorization code + PKCE ---------------------------------------------------------------
def test_browser_sign_in_flow(oidc_client, provider, engine):
    login = oidc_client.get("/ui/login")
    assert 'id="oidc-login"' in login.text and 'id="f-role"' not in login.text  # no development sign-in
    start = oidc_client.get("/ui/login/oidc?next=/ui/enforcement", follow_redirects=False)
    assert start.status_code == 303
    target = urlsplit(start.headers["location"])
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert f"{target.scheme}://{target.netloc}" == provider.url
    assert query["code_challenge_method"] == "S256" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://testserver/ui/login/callback"
    flow = oidc_client.cookies.get("inburgering_oidc")
    verifier = json.loads(base64.urlsafe_b64decode(flow))["verifier"]
    assert base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode() == \
        query["code_challenge"]
    # the user picks "ines" at the provider, which sends the browser back with a code
    answer = httpx.post(start.headers["location"], data={"sub": "ines"})
    back = urlsplit(answer.headers["location"])
    # a forged state is refused
    bad = oidc_client.get(f"/ui/login/callback?code=x&state=forged")
    assert bad.status_code == 400 and "inburgering_token" not in bad.headers.get("set-cookie", "")
    done = oidc_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200 and done.headers["refresh"] == "0; url=/ui/enforcement"
    assert "inburgering_token=" in done.headers["set-cookie"]
    page = oidc_client.get("/ui/enforcement")
    assert page.status_code == 200 and "ines" in page.text
    # the code was used once: replaying the callback does not sign in again
    oidc_client.cookies.clear()
    again = oidc_client.get(f"{back.path}?{back.query}")
    assert again.status_code == 400


def test_settings_name_what_is_missing():
    from engine.settings import RETIRED_DEFAULT_SECRET, identity_problem

    assert "INBURGERING_JWT_SECRET" in identity_problem(Settings())
    assert "INBURGERING_JWT_SECRET" in identity_problem(Settings(jwt_secret="short"))
    assert "earlier release" in identity_problem(Settings(jwt_secret=RETIRED_DEFAULT_SECRET))
    assert identity_problem(Settings(jwt_secret="k" * 32)) is None
    assert "INBURGERING_OIDC_AUDIENCE" in identity_problem(Settings(oidc_issuer="https://idp.example"))
    assert identity_problem(Settings(oidc_issuer="https://idp.example", oidc_audience="api")) is None
    assert "INBURGERING_TOKEN_HOURS" in identity_problem(Settings(jwt_secret="k" * 32, token_hours=13))
