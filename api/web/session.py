"""Web sign-in: a bearer token kept in an HttpOnly, SameSite=Strict cookie.

The token is the OIDC provider's ID token (browser sign-in, :mod:`api.oidc`), one issued by
:func:`api.auth.issue_token` (the demo's development sign-in, as ``inburgering token`` does) or
one pasted in, and it is verified on every request by :func:`api.auth.verify_token` — the same
checks as the API's ``Authorization: Bearer`` header. SameSite=Strict keeps the cookie off
requests started by other sites; every form is also CSRF-checked (:mod:`api.csrf`).
"""
from __future__ import annotations

from typing import Optional

from fastapi import Request
from fastapi.responses import Response

from api.auth import TokenError, verify_token
from engine.service import Actor

from .i18n import DEFAULT_LANGUAGE, LANGUAGES

TOKEN_COOKIE = "inburgering_token"
LANG_COOKIE = "inburgering_lang"
ONE_YEAR = 365 * 24 * 3600


class NotSignedIn(Exception):
    """No valid token: the page redirects to the sign-in page."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


class Forbidden(Exception):
    """Signed in, but the role may not see this page (403)."""

    def __init__(self, actor: Actor):
        super().__init__(actor.role)
        self.actor = actor


def current_actor(request: Request) -> Actor:
    """The signed-in actor; :class:`NotSignedIn` when the cookie is missing, invalid or expired."""
    token = request.cookies.get(TOKEN_COOKIE)
    if not token:
        raise NotSignedIn()
    try:
        return verify_cookie_token(request, token)
    except TokenError as err:
        raise NotSignedIn(str(err)) from None


def verify_cookie_token(request: Request, token: str) -> Actor:
    """A token for the web interface: ours, or the provider's for this client (an ID token) or the API."""
    engine, settings = request.app.state.engine, request.app.state.settings
    audiences = [a for a in (settings.oidc_client_id, settings.oidc_audience) if a]
    return verify_token(settings, token, now=engine.clock.now(), oidc=getattr(request.app.state, "oidc", None),
                        audience=audiences or None)


def optional_actor(request: Request) -> Optional[Actor]:
    try:
        return current_actor(request)
    except NotSignedIn:
        return None


def require_role(request: Request, *roles: str) -> Actor:
    actor = current_actor(request)
    if actor.role not in roles:
        raise Forbidden(actor)
    return actor


def set_token(response: Response, request: Request, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(TOKEN_COOKIE, token, max_age=settings.max_token_hours * 3600, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def clear_token(response: Response) -> None:
    response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")


def language(request: Request) -> str:
    """``?lang=`` wins, then the language cookie, then Dutch."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    stored = request.cookies.get(LANG_COOKIE)
    return stored if stored in LANGUAGES else DEFAULT_LANGUAGE


def remember_language(request: Request, response: Response) -> None:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=ONE_YEAR, path="/", httponly=True, samesite="lax",
                            secure=request.url.scheme == "https")
