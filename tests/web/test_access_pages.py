"""The web interface records its reads of dossiers in the access log and shows the log to auditors."""
from __future__ import annotations

import csv
import io

from engine import access_log

from .conftest import newcomer, sign_in


def logged(engine, **filters):
    with engine.reading() as connection:
        return access_log.listing(connection, limit=None, **filters)["items"]


def test_dossier_event_form_and_audit_pages_are_reads(client, engine):
    engine.import_newcomer(newcomer("n1"))
    sign_in(client, "caseworker", "atlas", user="anna")
    client.get("/ui/dossiers/n1")
    client.get("/ui/dossiers/n1/events/registered")
    client.get("/ui/worklist")  # a listing, not a read of a dossier
    client.cookies.clear()
    sign_in(client, "auditor", user="ines")
    page = client.get("/ui/audit/dossiers/n1")
    assert [(r["user"], r["route"]) for r in logged(engine, dossier_id="n1")] == [
        ("anna", "GET /ui/dossiers/{dossier_id}"), ("anna", "GET /ui/dossiers/{dossier_id}/events/{event_type}"),
        ("ines", "GET /ui/audit/dossiers/{dossier_id}")]
    # the audit page shows who read the dossier (its own read included)
    assert 'id="access"' in page.text and "anna" in page.text and "GET /ui/dossiers/{dossier_id}" in page.text


def test_auditors_list_the_log_per_user_and_download_it(client, engine):
    engine.import_newcomer(newcomer("n1"))
    engine.import_newcomer(newcomer("n2"))
    sign_in(client, "caseworker", "atlas", user="anna")
    client.get("/ui/dossiers/n1")
    client.get("/ui/dossiers/n2")
    client.cookies.clear()
    sign_in(client, "auditor", user="ines")
    page = client.get("/ui/audit/access?user=anna")
    assert page.status_code == 200 and page.text.count("<td>anna</td>") == 2
    export = client.get("/ui/audit/access.csv?user=anna")
    assert export.headers["content-type"].startswith("text/csv")
    assert [r["dossier_id"] for r in csv.DictReader(io.StringIO(export.text))] == ["n1", "n2"]
    assert client.get("/ui/audit/access?user=").status_code == 422
    client.cookies.clear()
    sign_in(client, "caseworker", "atlas")
    assert client.get("/ui/audit/access?user=anna").status_code == 403
