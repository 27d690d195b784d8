"""The shape of our plain ASGI middlewares: act on HTTP requests, let anything else (lifespan) pass.

Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which runs each request in a task of its
own behind memory streams (about 0.5 ms a request, BENCHMARKS.md latency)."""
from __future__ import annotations


class HttpMiddleware:
    """Subclasses implement :meth:`http` for ``scope["type"] == "http"``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope, receive, send):  # pragma: no cover - every subclass has its own
        raise NotImplementedError
