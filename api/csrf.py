"""CSRF protection of the web interface: an origin check plus a signed double-submit token.

Every request with an unsafe method (POST, PUT, PATCH, DELETE) to ``/ui`` — the sign-in form
included (no login CSRF) — must

1. come from this site: its ``Origin`` header (or, when a browser sends none, its ``Referer``)
   is this service's own origin (``INBURGERING_PUBLIC_URL`` behind a proxy, else the request's
   scheme and ``Host``); a request with neither is refused;
2. carry the token: the form field ``csrf_token`` (url-encoded or multipart forms) or the header
   ``X-CSRF-Token`` equals the ``inburgering_csrf`` cookie, and that token is signed by this store's
   key (``store_secret.csrf_key``) for the current session (the signature covers a hash of the
   session cookie, so a token planted in a browser by someone else does not fit its session).

A refused request gets 403 and reaches no route. Any GET under ``/ui`` makes sure the browser
holds a token valid for its session (a fresh one after signing in or out).

**Forms**: put ``{{ csrf_field() }}`` inside every ``<form method="post">`` of a template (a Jinja
global of :mod:`api.web.routes`; it reads the token of the request being rendered). Nothing else
is needed: this middleware checks every unsafe method on every ``/ui`` route, whatever module
defines it. ``docs/DESIGN.md`` ("CSRF") says the same for whoever adds a page.
"""
from __future__ import annotations

import contextvars
import email.parser
import email.policy
import hashlib
import hmac
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from .asgi import body_once

COOKIE = "inburgering_csrf"
FIELD = "csrf_token"
HEADER = b"x-csrf-token"
SESSION_COOKIE = "inburgering_token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PREFIX = "/ui"

#: the token of the request being handled (read by the csrf_field() template global)
current_token: contextvars.ContextVar[str] = contextvars.ContextVar("csrf_token", default="")


class CsrfRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _key(app) -> bytes:
    key = getattr(app.state, "csrf_key", None)
    if key is None:
        engine = getattr(app.state, "engine", None)
        if engine is not None:
            from engine import store_keys
            key = store_keys.get_or_create(engine.db, store_keys.CSRF_KEY).encode()
        else:  # an app without a store (never served): a key for this process only
            key = secrets.token_bytes(32)
        app.state.csrf_key = key
    return key


def _binding(cookies: dict) -> str:
    session = cookies.get(SESSION_COOKIE)
    return hashlib.sha256(session.encode()).hexdigest()[:32] if session else "-"


def _sign(key: bytes, nonce: str, binding: str) -> str:
    return hmac.new(key, f"{nonce}.{binding}".encode(), hashlib.sha256).hexdigest()


def new_token(key: bytes, binding: str) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(key, nonce, binding)}"


def valid(key: bytes, token: str, binding: str) -> bool:
    nonce, _, signature = (token or "").partition(".")
    return bool(nonce and signature) and hmac.compare_digest(signature, _sign(key, nonce, binding))


def _cookies(scope) -> dict:
    jar = SimpleCookie()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - an unparsable cookie header counts as no cookies
                pass
    return {name: morsel.value for name, morsel in jar.items()}


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def own_origin(scope, public_url: str = "") -> str:
    if public_url:
        parts = urlsplit(public_url)
        return f"{parts.scheme}://{parts.netloc}".lower()
    host = _header(scope, b"host") or ""
    return f"{scope.get('scheme', 'http')}://{host}".lower()


def check_origin(scope, public_url: str = "") -> None:
    expected = own_origin(scope, public_url)
    origin = _header(scope, b"origin")
    if origin is not None:
        if origin.lower() != expected:
            raise CsrfRefused(f"the form was sent from another site ({origin})")
        return
    referer = _header(scope, b"referer")
    if referer is None:
        raise CsrfRefused("the request names no origin (neither Origin nor Referer)")
    parts = urlsplit(referer)
    if f"{parts.scheme}://{parts.netloc}".lower() != expected:
        raise CsrfRefused("the form was sent from another site")


def submitted_token(scope, body: bytes) -> str | None:
    header = _header(scope, HEADER)
    if header:
        return header
    content_type = _header(scope, b"content-type") or ""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get(FIELD)
        except UnicodeDecodeError:
            return None
        return values[0] if values else None
    if kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
        if not message.is_multipart():
            return None
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == FIELD:
                return part.get_content().strip() if isinstance(part.get_content(), str) else None
    return None


class CsrfMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")) \
                or path.startswith(PREFIX + "/static/"):
            return await self.app(scope, receive, send)
        app = scope["app"]
        key = _key(app)
        cookies = _cookies(scope)
        binding = _binding(cookies)
        held = cookies.get(COOKIE, "")
        token = held if valid(key, held, binding) else new_token(key, binding)
        if scope["method"] in UNSAFE:
            body, receive = await _buffered(receive)
            try:
                settings = app.state.settings
                check_origin(scope, getattr(settings, "public_url", ""))
                sent = submitted_token(scope, body)
                if not held or not sent or not hmac.compare_digest(sent, held) or not valid(key, sent, binding):
                    raise CsrfRefused("the form's security token is missing or out of date; reload the page "
                                      "and send it again")
            except CsrfRefused as refused:
                return await _refuse(scope, receive, send, refused.reason, token)
        marker = current_token.set(token)
        try:
            await self.app(scope, receive, _with_cookie(send, scope, token, token != held))
        finally:
            current_token.reset(marker)


async def _buffered(receive):
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, body_once(body, receive)


def _cookie_header(scope, token: str) -> tuple[bytes, bytes]:
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    return b"set-cookie", f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}".encode("latin-1")


def _with_cookie(send, scope, token: str, changed: bool):
    async def sending(message):
        if changed and message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), _cookie_header(scope, token)]}
        await send(message)
    return sending


async def _refuse(scope, receive, send, reason: str, token: str) -> None:
    from starlette.requests import Request

    from api.web.routes import _tr, error_page

    request = Request(scope, receive)
    marker = current_token.set(token)
    try:
        response = error_page(request, 403, _tr(request).t("error.csrf", reason=reason))
    finally:
        current_token.reset(marker)
    response.raw_headers.append(_cookie_header(scope, token))
    await response(scope, receive, send)
