"""Browser sign-in through a real OIDC provider on loopback (oidc-provider-mock), in headless Chromium:
the sign-in page → the provider's authorization page → back with a code → signed in (code flow + PKCE)."""
from __future__ import annotations

import re
from dataclasses import replace

import pytest

from api.app import create_app

from .conftest import LiveServer

pytest.importorskip("oidc_provider_mock", reason="oidc-provider-mock is a dev dependency (scripts/setup.sh dev)")
from tests.api.test_oidc import CLIENT_ID, CLIENT_SECRET, Provider  # noqa: E402


@pytest.fixture(scope="module")
def provider():
    server = Provider()
    yield server
    server.stop()


def test_sign_in_through_the_provider(browser, engine, settings, provider):
    oidc = replace(settings, demo=False, jwt_secret="", oidc_issuer=provider.url, oidc_audience=CLIENT_ID,
                   oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET)
    app = create_app(engine, oidc)
    server = LiveServer(app)
    app.state.settings = replace(oidc, public_url=server.url)  # the redirect URI is the address the browser uses
    server.start()
    context = browser.new_context(base_url=server.url, locale="nl-BE")
    try:
        page = context.new_page()
        page.goto("/ui/login?next=/ui/worklist")
        assert page.locator("#f-role").count() == 0  # no development sign-in outside the demo
        page.click("#oidc-login")
        page.wait_for_url(re.compile(re.escape(provider.url) + "/oauth2/authorize.*"))
        page.click("button[name=sub][value=anna]")
        page.wait_for_url(re.compile(".*/ui/worklist$"))
        assert page.locator("h1").inner_text() == "Werklijst"
        assert "anna" in page.locator(".who").inner_text()
        # signing out is a form with the CSRF token, and it works
        page.click("form[action$='/logout'] button")
        page.wait_for_url(re.compile(".*/ui/login$"))
        page.goto("/ui/worklist")
        assert "/ui/login" in page.url
    finally:
        context.close()
        server.stop()
