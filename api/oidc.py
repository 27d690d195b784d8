"""Sign-in through an OpenID Connect provider.

* **API bearer tokens**: RS256/ES256 JWTs signed by the configured issuer, with the configured
  audience (``INBURGERING_OIDC_AUDIENCE``). Keys come from the provider's JWKS (PyJWT's
  ``PyJWKClient``: cached five minutes, refetched at most every 30 s when a token names an
  unknown key id, so a rotated key is picked up and a flood of made-up key ids is not forwarded).
* **Browser sign-in** (when ``INBURGERING_OIDC_CLIENT_ID`` is set): authorization code flow with
  PKCE (S256), ``state`` and ``nonce``; the ID token (audience: the client id) becomes the web
  interface's session cookie and is verified like a bearer token on every request.

Claims → :class:`engine.service.Actor`: the user claim (``sub``), the role claim and the agency
claim (names configurable); a role or agency value may be mapped (``INBURGERING_OIDC_ROLE_MAP``,
e.g. ``inburgering-caseworkers=caseworker``); a list-valued role claim (groups) must hold exactly
one known role. Expiry is checked against the wall clock (:func:`engine.clock.wall_now`): the
provider stamps its tokens with real time, whatever the engine's business clock says.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Optional
from urllib.parse import urlencode

import httpx
import jwt

from engine.settings import Settings

ALGORITHMS = ["RS256", "ES256"]
#: how long the discovery document is trusted before it is read again
DISCOVERY_TTL = 3600.0
HTTP_TIMEOUT = 10.0
#: tolerated clock skew between the provider and us
LEEWAY_SECONDS = 60


class OidcError(ValueError):
    """A token or sign-in response that does not authenticate anyone."""


class _StaleKeys(Exception):
    """The cached keys do not verify a token that names no key id: fetch them once more."""


@dataclass(frozen=True)
class LoginStart:
    url: str
    state: str
    nonce: str
    verifier: str


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcProvider:
    """The configured provider: discovery, keys, token verification and the code flow."""

    #: the least time between two JWKS fetches forced by an unknown key id (a rotated key waits at most this)
    jwks_refresh_cooldown = 30.0

    def __init__(self, settings: Settings):
        if not settings.oidc_issuer:
            raise ValueError("OIDC is not configured (INBURGERING_OIDC_ISSUER)")
        self.settings = settings
        self.issuer = settings.oidc_issuer
        self._lock = threading.Lock()
        self._discovery: Optional[dict] = None
        self._discovered_at = 0.0
        self._jwks: Optional[jwt.PyJWKClient] = None
        self._forced_at = float("-inf")

    # ----- provider metadata ---------------------------------------------------------
    def discovery(self) -> dict:
        with self._lock:
            if self._discovery is not None and time.monotonic() - self._discovered_at < DISCOVERY_TTL:
                return self._discovery
        url = self.settings.oidc_discovery_url or f"{self.issuer}/.well-known/openid-configuration"
        try:
            response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as err:
            raise OidcError(f"the OIDC discovery document at {url} cannot be read: {err}") from None
        if not isinstance(document, dict) or document.get("issuer", "").rstrip("/") != self.issuer:
            raise OidcError(f"the discovery document at {url} is not for issuer {self.issuer}")
        with self._lock:
            self._discovery, self._discovered_at = document, time.monotonic()
        return document

    def jwks(self) -> jwt.PyJWKClient:
        if self._jwks is None:
            url = self.settings.oidc_jwks_url or self.discovery().get("jwks_uri")
            if not url:
                raise OidcError("the provider publishes no jwks_uri; set INBURGERING_OIDC_JWKS_URL")
            with self._lock:
                if self._jwks is None:
                    self._jwks = jwt.PyJWKClient(url, cache_keys=False, lifespan=300, timeout=HTTP_TIMEOUT,
                                                 cooldown_duration=self.jwks_refresh_cooldown)
        return self._jwks

    # ----- tokens ----------------------------------------------------------------------------
    def claims(self, token: str, *, audience, now: datetime, nonce: Optional[str] = None) -> dict:
        """The claims of a token signed by the provider for ``audience``; OidcError otherwise."""
        try:
            return self._claims(token, audience=audience, now=now, nonce=nonce, refresh=False)
        except _StaleKeys:
            return self._claims(token, audience=audience, now=now, nonce=nonce, refresh=True)

    def _claims(self, token: str, *, audience, now: datetime, nonce: Optional[str], refresh: bool) -> dict:
        try:
            key, named = self._signing_key(token, refresh=refresh)
        except jwt.PyJWKClientConnectionError as err:
            raise OidcError(f"the provider's keys cannot be read: {err}") from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as err:
            raise OidcError(f"unknown signing key: {err}") from None
        try:
            claims = jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=audience, issuer=self.issuer,
                                options={"require": ["iss", "aud", "exp", "iat"], "verify_exp": False,
                                         "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidSignatureError as err:
            if not named and not refresh and self._may_refresh():
                raise _StaleKeys() from None  # a token naming no key id: the provider may have rotated its key
            raise OidcError(f"invalid token: {err}") from None
        except jwt.InvalidTokenError as err:
            raise OidcError(f"invalid token: {err}") from None
        check_times(claims, now, self.settings.max_token_hours)
        if nonce is not None and claims.get("nonce") != nonce:
            raise OidcError("invalid token: the nonce does not match this sign-in")
        return claims

    def _may_refresh(self) -> bool:
        with self._lock:
            if time.monotonic() - self._forced_at < self.jwks_refresh_cooldown:
                return False
            self._forced_at = time.monotonic()
            return True

    def _signing_key(self, token: str, *, refresh: bool) -> tuple[jwt.PyJWK, bool]:
        """(the provider's key for ``token``, whether the token named it): by its ``kid`` (an unknown one makes
        PyJWKClient fetch the keys again, at most every ``jwks_refresh_cooldown`` seconds); a token without one
        (some providers sign with a single key and name none) only when the provider publishes exactly one
        signing key of its type."""
        header = jwt.get_unverified_header(token)
        if header.get("kid") is not None:
            return self.jwks().get_signing_key_from_jwt(token), True
        kty = {"RS256": "RSA", "ES256": "EC"}.get(header.get("alg"))
        candidates = [k for k in self.jwks().get_signing_keys(refresh=refresh) if k.key_type == kty]
        if len(candidates) != 1:
            raise jwt.PyJWKClientError("the token names no key id and the provider publishes "
                                       f"{len(candidates)} {kty} signing keys")
        return candidates[0], False

    def identity(self, claims: dict) -> tuple[str, str, Optional[str]]:
        """(user, role, agency) from the mapped claims (checked by the caller)."""
        s = self.settings
        user = claims.get(s.oidc_user_claim)
        role = _mapped(claims.get(s.oidc_role_claim), s.oidc_role_map, "role")
        agency = _mapped(claims.get(s.oidc_agency_claim), s.oidc_agency_map, "agency", optional=True)
        if not isinstance(user, str) or not user:
            raise OidcError(f"invalid token: claim {s.oidc_user_claim!r} must be a non-empty string")
        return user, role, agency

    # ----- browser sign-in (authorization code + PKCE) ------------------------------------------
    @property
    def browser_sign_in(self) -> bool:
        return bool(self.settings.oidc_client_id)

    def start(self, redirect_uri: str) -> LoginStart:
        endpoint = self.discovery().get("authorization_endpoint")
        if not endpoint:
            raise OidcError("the provider publishes no authorization_endpoint")
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        query = urlencode({"response_type": "code", "client_id": self.settings.oidc_client_id,
                           "redirect_uri": redirect_uri, "scope": self.settings.oidc_scopes, "state": state,
                           "nonce": nonce, "code_challenge": pkce_challenge(verifier),
                           "code_challenge_method": "S256"})
        return LoginStart(f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state, nonce, verifier)

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> str:
        """The ID token the provider gives for ``code`` (not yet verified)."""
        endpoint = self.discovery().get("token_endpoint")
        if not endpoint:
            raise OidcError("the provider publishes no token_endpoint")
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier, "client_id": self.settings.oidc_client_id}
        auth = None
        if self.settings.oidc_client_secret:
            auth = (self.settings.oidc_client_id, self.settings.oidc_client_secret)
        try:
            response = httpx.post(endpoint, data=data, auth=auth, timeout=HTTP_TIMEOUT, follow_redirects=False)
        except httpx.HTTPError as err:
            raise OidcError(f"the provider's token endpoint cannot be reached: {err}") from None
        if response.status_code != 200:
            raise OidcError(f"the provider refused the sign-in code ({response.status_code})")
        try:
            token = response.json().get("id_token")
        except ValueError:
            token = None
        if not isinstance(token, str) or not token:
            raise OidcError("the provider's answer has no id_token")
        return token


def check_times(claims: dict, now: datetime, max_hours: int) -> None:
    """exp/iat integers, not expired at ``now``, not issued in the future, lifetime within the maximum."""
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_int(exp) or not _is_int(iat):
        raise OidcError("invalid token: exp and iat must be integers")
    instant = int(now.timestamp())
    if instant >= exp:
        raise OidcError("token expired")
    if iat > instant + LEEWAY_SECONDS:
        raise OidcError("token issued in the future")
    if exp - iat > max_hours * 3600 or exp > instant + max_hours * 3600 + LEEWAY_SECONDS:
        raise OidcError(f"token lifetime exceeds the maximum of {max_hours} hours (INBURGERING_MAX_TOKEN_HOURS)")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapped(value, mapping: dict, what: str, *, optional: bool = False):
    if value is None and optional:
        return None
    values = value if isinstance(value, list) else [value]
    from api.auth import AGENCIES, ROLES

    known = ROLES if what == "role" else AGENCIES
    found = {mapping.get(v, v) for v in values if isinstance(v, str)}
    found = {v for v in found if v in known}
    if len(found) != 1:
        if optional and not found:
            return None
        raise OidcError(f"invalid token: the {what} claim names {'no' if not found else 'more than one'} "
                        f"known {what}")
    return found.pop()
