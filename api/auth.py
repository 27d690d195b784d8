"""Bearer tokens (HS256 JWT) and the role checks of the HTTP API.

A token carries ``sub`` (user id), ``role``, ``agency`` (caseworkers only),
``iss``, ``iat`` and ``exp``. Expiry is checked against the engine's clock, never
the wall clock (ENGINEERING.md principle 2): a scenario or test that moves a
:class:`engine.clock.ManualClock` sees tokens expire on that clock.

* no token, a malformed one, a bad signature, a wrong issuer or an expired token → 401
  with ``WWW-Authenticate: Bearer``;
* a valid token whose role may not call the endpoint → 403;
* a caseworker asking for a dossier of another agency → 404 (the engine decides that,
  given the :class:`engine.service.Actor`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Callable, Optional

import jwt
from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.service import Actor
from engine.settings import Settings

ALGORITHM = "HS256"
CASEWORKER = "caseworker"
ENFORCEMENT_OFFICER = "enforcement_officer"
AUDITOR = "auditor"
ADMIN = "admin"
ROLES = (CASEWORKER, ENFORCEMENT_OFFICER, AUDITOR, ADMIN)
AGENCIES = ("atlas", "amal", "agii")
#: tolerated clock skew between issuer and API for ``iat``
LEEWAY = timedelta(seconds=60)
REALM = 'Bearer realm="inburgering"'


class TokenError(ValueError):
    """A token that does not authenticate anyone (always a 401)."""


def issue_token(settings: Settings, *, role: str, user: str, agency: Optional[str] = None,
                now: datetime) -> str:
    """A signed token for ``user`` in ``role``, valid ``settings.token_hours`` from ``now``."""
    _check_identity(user, role, agency)
    if now.tzinfo is None:
        raise ValueError("issue_token needs an aware datetime")
    claims = {
        "sub": user,
        "role": role,
        "agency": agency,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=settings.token_hours)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def verify_token(settings: Settings, token: str, *, now: datetime) -> Actor:
    """The actor a token names; :class:`TokenError` when it does not authenticate."""
    try:
        claims = dict(_signed_claims(token, settings.jwt_secret, settings.jwt_issuer))
    except jwt.InvalidTokenError as err:
        raise TokenError(f"invalid token: {err}") from None
    exp, iat = claims.get("exp"), claims.get("iat")
    if not _is_int(exp) or not _is_int(iat):
        raise TokenError("invalid token: exp and iat must be integers")
    instant = int(now.timestamp())
    if instant >= exp:
        raise TokenError("token expired")
    if iat > instant + LEEWAY.total_seconds():
        raise TokenError("token issued in the future")
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


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_identity(user, role, agency) -> None:
    if not isinstance(user, str) or not user:
        raise ValueError("sub must be a non-empty string")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if agency is not None and agency not in AGENCIES:
        raise ValueError(f"unknown agency {agency!r}")
    if role == CASEWORKER and agency is None:
        raise ValueError("a caseworker token needs an agency")


# ----- FastAPI dependencies ---------------------------------------------------
bearer = HTTPBearer(auto_error=False, description="HS256 JWT issued by `inburgering token`")


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
    engine = request.app.state.engine
    try:
        return verify_token(request.app.state.settings, credentials.credentials, now=engine.clock.now())
    except TokenError as err:
        raise unauthorized(str(err)) from None


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
