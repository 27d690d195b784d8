"""The simulation's in-process caller of the ASGI app (simulation/driver.py ``_AsgiCaller``): what a
server would answer, without an HTTP client in between."""
from __future__ import annotations

import json

from concurrent.futures import ThreadPoolExecutor

import pytest

from simulation.driver import _AsgiCaller


@pytest.fixture(autouse=True)
def own_thread():
    """Each test in a thread of its own: the caller runs its own event loop, which cannot run in a
    thread where another loop already runs (Playwright's, once the browser tests ran in this process)."""
    with ThreadPoolExecutor(1) as pool:
        yield pool


def _echo(status: int = 201, raw: bytes | None = None, fail_after: bool = False):
    async def app(scope, receive, send):
        message = await receive()
        headers = dict(scope["headers"])
        body = raw if raw is not None else json.dumps({
            "method": scope["method"], "path": scope["path"], "got": json.loads(message["body"]),
            "authorization": headers.get(b"authorization", b"").decode(),
            "content_length": int(headers[b"content-length"])}).encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": body})
        if fail_after:  # as Starlette's error middleware: answer 500, then let the exception out
            raise RuntimeError("boom")
    return app


def test_the_request_reaches_the_app_as_over_http_and_the_answer_comes_back(own_thread):
    own_thread.submit(_the_request_reaches_the_app).result()


def _the_request_reaches_the_app():
    caller = _AsgiCaller(_echo())
    try:
        status, body = caller.post("/dossiers/N1/events/intake", {"advice": "cbe"}, {"Authorization": "Bearer t"})
    finally:
        caller.close()
    assert status == 201
    assert body == {"method": "POST", "path": "/dossiers/N1/events/intake", "got": {"advice": "cbe"},
                    "authorization": "Bearer t", "content_length": len(json.dumps({"advice": "cbe"}))}


def test_refusals_and_server_errors_keep_their_status(own_thread):
    own_thread.submit(_refusals_and_server_errors).result()


def _refusals_and_server_errors():
    caller = _AsgiCaller(_echo(422, b'{"code": "invalid"}'))
    assert caller.post("/x", {}, {}) == (422, {"code": "invalid"})
    caller.app = _echo(500, b"Internal Server Error", fail_after=True)
    assert caller.post("/x", {}, {}) == (500, {"message": "Internal Server Error"})

    async def dies(scope, receive, send):
        raise RuntimeError("before any answer")

    caller.app = dies
    assert caller.post("/x", {}, {})[0] == 500
    caller.close()
