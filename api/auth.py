"""Bearer tokens and the role checks of the HTTP API.

Two kinds of token are accepted:

* **our own** (HS256, signed with ``INBURGERING_JWT_SECRET`` or a demo store's key), issued by
  ``inburgering token`` and the demo sign-in. It carries ``sub`` (user id), ``role``, ``agency``
  (caseworkers only), ``iss``, ``iat`` and ``exp``. Expiry is checked against the engine's clock
  (ENGINEERING.md principle 2): a scenario or test that moves a
  :class:`engine.clock.ManualClock` sees tokens expire on that clock.
* **an OIDC provider's** (RS256/ES256, :mod:`api.oidc`), when ``INBURGERING_OIDC_ISSUER`` is set;
  checked against the wall clock, which is the provider's.

Either way a token whose lifetime (``exp - iat``) exceeds ``INBURGERING_MAX_TOKEN_HOURS`` is
refused. The algorithm in the token's header picks the check; an HS256 token is never checked
with a provider's public key and the other way round (no algorithm confusion).

* no token, a malformed one, a bad signature, a wrong issuer or an expired token → 401
  with ``WWW-Authenticate: Bearer``;
* a valid token whose role may not call the endpoint → 403;
* a caseworker asking for a dossier of another agency → 404 (the engine decides that,
  given the :class:`engine.service.Actor`).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable, Optional

import jwt
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from engine.service import Actor
from engine.settings import Settings

ALGORITHM = "HS256"
OIDC_ALGORITHMS = ("RS256", "ES256")
CASEWORKER = "caseworker"
ENFORCEMENT_OFFICER = "enforcement_officer"
AUDITOR = "auditor"
ADMIN = "admin"
#: the register import (a system or person loading register extracts for every agency)
REGISTER_IMPORT = "register_import"
ROLES = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN, REGISTER_IMPORT)
AGENCIES = ("atlas", "amal", "agii")
REALM = 'Bearer realm="inburgering"'


class TokenError(ValueError):
    """A token that does not authenticate anyone (always a 401)."""


def issue_token(settings: Settings, *, role: str, user: str, agency: Optional[str] = None,
                now: datetime) -> str:
    """A signed token for ``user`` in ``role``, valid ``settings.token_hours`` from ``now``."""
    _check_identity(user, role, agency)
    if now.tzinfo is None:
        raise ValueError("issue_token needs an aware datetime")
    if not settings.jwt_secret:
        raise ValueError("no signing key: set INBURGERING_JWT_SECRET (or use a demo store)")
    claims = {
        "sub": user,
        "role": role,
        "agency": agency,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        # in UTC: an aware Europe/Brussels time plus 12 hours is 13 real hours across the autumn DST change
        "exp": int((now.astimezone(timezone.utc) + timedelta(hours=settings.token_hours)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def verify_token(settings: Settings, token: str, *, now: datetime, oidc=None,
                 audience: Optional[str] = None) -> Actor:
    """The actor a token names; :class:`TokenError` when it does not authenticate.

    ``now`` is the engine clock (for our own tokens); ``oidc`` the :class:`api.oidc.OidcProvider`
    (for the provider's tokens, checked for ``audience``, default the API audience)."""
    if token.startswith(_OWN_HEADER_PREFIXES):  # the whole header segment is one of ours: HS256, nothing else
        return _verify_own(settings, token, now)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as err:
        raise TokenError(f"invalid token: {err}") from None
    algorithm = header.get("alg")
    if algorithm == ALGORITHM:
        return _verify_own(settings, token, now)
    if oidc is not None and algorithm in OIDC_ALGORITHMS:
        from engine.clock import wall_now

        from .oidc import OidcError
        try:
            claims = oidc.claims(token, audience=audience or settings.oidc_audience, now=wall_now())
            user, role, agency = oidc.identity(claims)
            _check_identity(user, role, agency)
        except (OidcError, ValueError) as err:
            raise TokenError(str(err)) from None
        return Actor(user, role, agency)
    raise TokenError(f"invalid token: algorithm {algorithm!r} is not accepted")


def _verify_own(settings: Settings, token: str, now: datetime) -> Actor:
    if not settings.jwt_secret:
        raise TokenError("invalid token: this service issues no tokens of its own (no signing key)")
    try:
        claims = dict(_signed_claims(token, settings.jwt_secret, settings.jwt_issuer))
    except jwt.InvalidTokenError as err:
        raise TokenError(f"invalid token: {err}") from None
    from .oidc import OidcError, check_times
    try:
        check_times(claims, now, settings.max_token_hours)  # the same rules as for the provider's tokens
    except OidcError as err:
        raise TokenError(str(err)) from None
    user, role, agency = claims.get("sub"), claims.get("role"), claims.get("agency")
    try:
        _check_identity(user, role, agency)
    except ValueError as err:
        raise TokenError(f"invalid token: {err}") from None
    return Actor(user, role, agency)


@lru_cache(maxsize=1024)
def _signed_claims(token: str, secret: str, issuer: str) -> tuple:
    """The claims of a token whose signature, issuer and required claims check out.

    Cached by token (a client sends the same token with every request): the signature is checked
    once per token, expiry on every request (:func:`verify_token`). A token that fails raises and
    is not cached."""
    claims = jwt.decode(
        token, secret, algorithms=[ALGORITHM], issuer=issuer,
        # exp/iat are checked by verify_token against the engine clock, not the wall clock
        options={"require": ["sub", "role", "iss", "iat", "exp"], "verify_exp": False,
                 "verify_iat": False, "verify_nbf": False},
    )
    return tuple(claims.items())


def _check_identity(user, role, agency) -> None:
    if not isinstance(user, str) or not user:
        raise ValueError("sub must be a non-empty string")
    if len(user) > 200 or not user.isprintable():
        raise ValueError("sub must be at most 200 printable characters")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if agency is not None and agency not in AGENCIES:
        raise ValueError(f"unknown agency {agency!r}")
    if role == CASEWORKER and agency is None:
        raise ValueError("a caseworker token needs an agency")


# ----- FastAPI dependencies ---------------------------------------------------
bearer = HTTPBearer(auto_error=False, description="A JWT: HS256 issued by `inburgering token`, or RS256/ES256 "
                                                 "from the configured OIDC provider")


def unauthorized(message: str, *, invalid: bool = True) -> HTTPException:
    challenge = f'{REALM}, error="invalid_token"' if invalid else REALM
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": challenge})


# The dependencies are ``async`` although they do not await: they are quick and CPU-only, and a
# plain ``def`` dependency costs a hop to the thread pool and back on every request.
async def authenticated(request: Request,
                        credentials: Optional[HTTPAuthorizationCredentials] = Security(bearer)) -> Actor:
    """The actor of the request's bearer token (401 when there is none that verifies)."""
    if credentials is None or not credentials.credentials:
        raise unauthorized("missing bearer token", invalid=False)
    return await actor_of_token(request, credentials.credentials)


async def actor_of_token(request: Request, token: str, *, audience: Optional[str] = None) -> Actor:
    """Verify ``token`` for this app (401 when it does not authenticate). A provider's token may
    need its keys fetched: that runs in the thread pool, never blocking the event loop."""
    engine, settings = request.app.state.engine, request.app.state.settings
    oidc = getattr(request.app.state, "oidc", None)
    try:
        if oidc is not None and not token.startswith(_OWN_HEADER_PREFIXES):
            return await run_in_threadpool(verify_token, settings, token, now=engine.clock.now(), oidc=oidc,
                                           audience=audience)
        return verify_token(settings, token, now=engine.clock.now(), oidc=oidc, audience=audience)
    except TokenError as err:
        raise unauthorized(str(err)) from None


#: the base64 of '{"alg":"HS256","typ":"JWT"}' and '{"typ":"JWT","alg":"HS256"}' and the dot that ends it: the
#: whole header segment of our own tokens (a shortcut only: verify_token skips parsing a header it knows, and
#: reads any other)
_OWN_HEADER_PREFIXES = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.")


def require(*roles: str) -> Callable[..., Actor]:
    """A dependency admitting only ``roles`` (403 for any other authenticated role)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(actor: Actor = Depends(authenticated)) -> Actor:
        if actor.role not in roles:
            raise HTTPException(status_code=403,
                                detail=f"role {actor.role!r} may not do this; allowed: {', '.join(roles)}")
        return actor

    dependency.__name__ = f"require_{'_or_'.join(roles)}"
    return dependency
