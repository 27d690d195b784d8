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


def body_once(body: bytes, then):
    """An ASGI ``receive`` that delivers ``body`` as the whole request once, then defers to ``then``
    (the server's own ``receive``, or one that reports the client gone)."""
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


async def disconnected():
    """What ``receive`` answers once a request that was read whole has nothing more to say."""
    return {"type": "http.disconnect"}
