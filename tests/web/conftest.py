"""Fixtures for the web interface: a TestClient app, and a live server + headless Chromium.

The browser tests run Debian's Chromium (``/usr/bin/chromium``, installed by
``scripts/browser.sh``) through Playwright for Python; Playwright never downloads a
browser here. Without Chromium (or the playwright package) they skip with the reason —
unless ``CI`` is set, where they fail: CI must drive the real pages.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import threading
import time
from datetime import date, datetime, time as clock_time
from pathlib import Path
from typing import Optional

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.clock import BRUSSELS, ManualClock, brussels_instant
from engine.service import Engine, bootstrap
from engine.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET = "web-test-signing-key-of-at-least-32-bytes"
START = datetime(2024, 2, 1, 9, 0, tzinfo=BRUSSELS)


def newcomer(dossier_id: str = "n1", **overrides) -> dict:
    """An obligated newcomer in Antwerpen stad (Atlas); registration deadline 2024-04-15."""
    data = {"id": dossier_id, "birth_date": "1990-05-05", "nationalities": ["MA"],
            "residence": "family_reunification_third_country", "nis_code": "11002",
            "obligation_start": "2024-01-15"}
    data.update(overrides)
    return data


def at(clock: ManualClock, day: date, hour: int = 9) -> None:
    clock.set(brussels_instant(day, clock_time(hour)))


# ----- TestClient --------------------------------------------------------------------------
@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def settings(tmp_path) -> Settings:
    # demo=True: the development sign-in these tests sign in with (serve --demo)
    return Settings(database_url=f"sqlite:///{tmp_path}/web.db", jwt_secret=SECRET, demo_data=False, demo=True)


@pytest.fixture
def engine(settings, clock) -> Engine:
    eng = bootstrap(settings, clock)
    yield eng
    eng.db.dispose()


class FormClient(TestClient):
    """A TestClient that sends forms as a browser does from our pages: with ``Origin`` set to this site
    and the page's CSRF token (api/csrf.py) in the form. It first loads a page (the sign-in page) so
    that it holds a token valid for its current session, as a browser holds the page the form is on.
    ``client.post(..., csrf=False)`` sends the request as it is (for the CSRF tests themselves)."""

    def request(self, method, url, *args, csrf: bool = True, **kwargs):
        path = str(url)
        if csrf and method.upper() in ("POST", "PUT", "PATCH", "DELETE") and path.startswith("/ui"):
            super().request("GET", "/ui/login")
            token = self.cookies.get("inburgering_csrf", domain="testserver.local") or \
                self.cookies.get("inburgering_csrf")
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("Origin", str(self.base_url).rstrip("/"))
            kwargs["headers"] = headers
            if kwargs.get("content") is None and kwargs.get("json") is None:
                data = kwargs.pop("data", None)
                kwargs["data"] = {**(dict(data) if data else {}), "csrf_token": token}
        return super().request(method, url, *args, **kwargs)

    def post(self, url, *, csrf: bool = True, **kwargs):
        return self.request("POST", url, csrf=csrf, **kwargs)


@pytest.fixture
def client(engine, settings) -> TestClient:
    with FormClient(create_app(engine, settings), base_url="http://testserver") as test_client:
        yield test_client


def sign_in(client: TestClient, role: str, agency: Optional[str] = None, user: str = "u1"):
    response = client.post("/ui/login", data={"role": role, "user": user, "agency": agency or ""},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


# ----- live server and browser ------------------------------------------------------------------
def _browser_problem() -> Optional[str]:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright; no browser download needed)"
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError as err:
        return f"the playwright package is not installed ({err})"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (scripts/browser.sh installs Debian's chromium)"
    return None


def require_browser() -> None:
    problem = _browser_problem()
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {problem}")
    pytest.skip(f"browser tests skipped: {problem}")


class LiveServer:
    """The app under uvicorn in a background thread on 127.0.0.1 and a free port."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off", access_log=False))
        self.thread = threading.Thread(target=self.server.run, name="web-test-server", daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live(browser, engine, settings):
    """A running server on this test's store (engine, clock) with its base URL."""
    server = LiveServer(create_app(engine, settings)).start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, live):
    # bypass_csp lets the test inject axe-core into pages whose CSP allows only their own scripts.
    context = browser.new_context(base_url=live.url, bypass_csp=True, viewport={"width": 1280, "height": 900},
                                  locale="nl-BE")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()
