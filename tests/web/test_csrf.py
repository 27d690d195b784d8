"""CSRF: every form of the web interface (the sign-in included) needs this site's origin and the page's
token (api/csrf.py). Without a browser (TestClient, requests as an attacker would send them) and in
headless Chromium (a page on another site posting to ours)."""
from __future__ import annotations

import re

import pytest

from .conftest import newcomer, sign_in

EVIL = "http://evil.example"


def token_of(html: str) -> str:
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def login_data(token=None, **extra):
    data = {"role": "admin", "user": "mallory", "agency": ""}
    if token is not None:
        data["csrf_token"] = token
    return {**data, **extra}


def test_every_post_form_carries_the_token(client, engine):
    engine.import_newcomer(newcomer("n1"))
    assert token_of(client.get("/ui/login").text)
    sign_in(client, "admin")
    for path in ("/ui/dossiers/n1/events/registered", "/ui/worklist", "/ui/audit/dossiers/n1"):
        html = client.get(path).text
        forms = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert forms, path
        for form in forms:
            assert 'name="csrf_token"' in form, (path, form[:120])


@pytest.mark.parametrize("headers", [{}, {"Origin": EVIL}, {"Origin": "null"}, {"Referer": f"{EVIL}/page"},
                                     {"Origin": "http://testserver:8080"}, {"Origin": "https://testserver"}],
                         ids=["no-origin", "evil-origin", "null-origin", "evil-referer", "other-port", "other-scheme"])
def test_login_from_elsewhere_is_refused(client, headers):
    token = token_of(client.get("/ui/login").text)
    response = client.post("/ui/login", data=login_data(token), headers=headers, follow_redirects=False, csrf=False)
    assert response.status_code == 403, response.text
    assert "inburgering_token" not in response.headers.get("set-cookie", "")


def test_login_without_the_token_is_refused(client):
    client.get("/ui/login")
    for token in (None, "", "made.up", "x" * 40):
        response = client.post("/ui/login", data=login_data(token), headers={"Origin": "http://testserver"},
                               follow_redirects=False, csrf=False)
        assert response.status_code == 403, token
        assert "geweigerd" in response.text
        assert "inburgering_token" not in response.headers.get("set-cookie", "")


def test_login_with_origin_or_referer_and_token_works(client):
    token = token_of(client.get("/ui/login").text)
    ok = client.post("/ui/login", data=login_data(token), headers={"Origin": "http://testserver"},
                     follow_redirects=False, csrf=False)
    assert ok.status_code == 303 and "inburgering_token=" in ok.headers["set-cookie"]
    client.cookies.clear()
    token = token_of(client.get("/ui/login").text)
    by_referer = client.post("/ui/login", data=login_data(token), headers={"Referer": "http://testserver/ui/login"},
                             follow_redirects=False, csrf=False)
    assert by_referer.status_code == 303


def test_a_token_of_another_session_does_not_fit(client, engine):
    """An attacker's own valid token, planted in the victim's browser, fails: tokens are bound to the session."""
    engine.import_newcomer(newcomer("n1"))
    attacker_token = token_of(client.get("/ui/login").text)  # anonymous session
    sign_in(client, "caseworker", "atlas")  # the victim's session
    client.cookies.set("inburgering_csrf", attacker_token, domain="testserver.local")
    response = client.post("/ui/dossiers/n1/events/registered", data={"csrf_token": attacker_token},
                           headers={"Origin": "http://testserver"}, follow_redirects=False, csrf=False)
    assert response.status_code == 403
    assert engine.dossier_view("n1")["registered_on"] is None


def test_an_event_posted_from_another_site_is_not_journaled(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "caseworker", "atlas")
    page = client.get("/ui/dossiers/n1/events/registered")
    token = token_of(page.text)
    seq = len(engine.history("n1")["entries"])
    response = client.post("/ui/dossiers/n1/events/registered", data={"csrf_token": token, "_version": "1"},
                           headers={"Origin": EVIL}, follow_redirects=False, csrf=False)
    assert response.status_code == 403
    assert len(engine.history("n1")["entries"]) == seq and engine.dossier_view("n1")["registered_on"] is None
    # the same form from this site is recorded
    ok = client.post("/ui/dossiers/n1/events/registered", data={"csrf_token": token, "_version": "1"},
                     headers={"Origin": "http://testserver"}, follow_redirects=False, csrf=False)
    assert ok.status_code == 303, ok.text
    assert engine.dossier_view("n1")["registered_on"] is not None


def test_logout_needs_the_token_too(client):
    sign_in(client, "auditor")
    refused = client.post("/ui/logout", headers={"Origin": EVIL}, follow_redirects=False, csrf=False)
    assert refused.status_code == 403
    assert client.get("/ui/audit", follow_redirects=False).status_code == 200  # still signed in


def test_the_token_in_a_header_and_in_a_multipart_form(client, engine):
    """Forms other pages add (file uploads are multipart) and scripts (a header) are covered the same way."""
    engine.import_newcomer(newcomer("n1"))
    token = token_of(client.get("/ui/login").text)
    multipart = client.post("/ui/login", files={"csrf_token": (None, token), "role": (None, "admin"),
                                                "user": (None, "x"), "agency": (None, "")},
                            headers={"Origin": "http://testserver"}, follow_redirects=False, csrf=False)
    assert multipart.status_code != 403, multipart.text
    client.cookies.delete("inburgering_token")
    token = token_of(client.get("/ui/login").text)
    header = client.post("/ui/login", data=login_data(), headers={"Origin": "http://testserver", "X-CSRF-Token": token},
                         follow_redirects=False, csrf=False)
    assert header.status_code == 303, header.text


# ----- in the browser ----------------------------------------------------------------------------------
def test_browser_forms_work_and_a_foreign_page_cannot_post(page, live, engine):
    from .browser_helpers import sign_in as browser_sign_in

    engine.import_newcomer(newcomer("n1"))
    browser_sign_in(page, "caseworker", "cw", "atlas")
    assert page.url.endswith("/ui/worklist")
    assert page.locator("form[action$='/logout'] input[name=csrf_token]").count() == 1

    # A page on another site, in the same browser (the victim is signed in), posts the event form.
    attack = f"""<!doctype html><html><body>
      <form id="f" method="post" action="{live.url}/ui/dossiers/n1/events/registered">
        <input type="hidden" name="_version" value="1"></form>
      <form id="g" method="post" action="{live.url}/ui/login">
        <input name="role" value="admin"><input name="user" value="mallory"></form>
      </body></html>"""
    page.route("http://evil.example/**", lambda route: route.fulfill(status=200, content_type="text/html", body=attack))
    page.goto("http://evil.example/attack")
    with page.expect_navigation():
        page.evaluate("document.getElementById('f').submit()")
    # SameSite=Strict keeps the session cookie off a cross-site post (sign-in page), and if a browser sent it the
    # CSRF check would refuse it: either way nothing is recorded.
    assert engine.dossier_view("n1")["registered_on"] is None
    page.goto("http://evil.example/attack")
    with page.expect_navigation():
        page.evaluate("document.getElementById('g').submit()")
    assert page.locator("h1").inner_text() != "Werklijst"
    # login CSRF failed: the browser is still signed in as the caseworker, not as mallory
    page.goto(f"{live.url}/ui/worklist")
    assert "mallory" not in page.content() and "cw" in page.locator(".who").inner_text()
