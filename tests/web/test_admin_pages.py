"""The operator pages (api/web/admin.py): incidents and process versions, in both languages."""
from __future__ import annotations

from timers.sweep import sweep

from tests.ops import bpmn_variants as variants
from tests.ops.helpers import cure, first_due, poison, sweep_instant_for

from .conftest import newcomer, sign_in


def test_incident_pages_list_show_retry_and_resolve(client, engine, clock):
    for dossier_id in ("n1", "n2"):
        engine.import_newcomer(newcomer(dossier_id))
    sign_in(client, "admin")
    empty = client.get("/ui/admin/incidents")
    assert empty.status_code == 200 and "Geen incidenten." in empty.text
    original = poison(engine, "n2")
    instant = sweep_instant_for(first_due(engine))
    clock.set(instant)
    sign_in(client, "admin")  # a token on the moved clock
    incident_id = sweep(engine, instant).errors[0]["incident"]

    listed = client.get("/ui/admin/incidents?lang=en")
    assert listed.status_code == 200 and "Incidents" in listed.text and f">{incident_id}</a>" in listed.text
    assert "zlib.error" in listed.text
    detail = client.get(f"/ui/admin/incidents/{incident_id}")
    assert detail.status_code == 200 and "Traceback" in detail.text and "1990-05-05" not in detail.text

    failed = client.post(f"/ui/admin/incidents/{incident_id}/retry", follow_redirects=False)
    assert failed.status_code == 303 and "retry_failed" in failed.headers["location"]
    assert "it failed again" in client.get(failed.headers["location"]).text  # English since ?lang=en
    cure(engine, "n2", original)
    ok = client.post(f"/ui/admin/incidents/{incident_id}/retry", follow_redirects=True)
    assert ok.status_code == 200 and "it worked (1 deadlines fired)" in ok.text
    again = client.post(f"/ui/admin/incidents/{incident_id}/retry")
    assert again.status_code == 409
    assert client.post(f"/ui/admin/incidents/{incident_id}/resolve", data={"reason": "x"}).status_code == 409

    assert client.get("/ui/admin/incidents/999999").status_code == 404
    assert client.get("/ui/admin/incidents/abc").status_code == 404


def test_resolving_needs_a_reason(client, engine, clock):
    engine.import_newcomer(newcomer("n1"))
    poison(engine, "n1")
    instant = sweep_instant_for(first_due(engine))
    clock.set(instant)
    incident_id = sweep(engine, instant).errors[0]["incident"]
    sign_in(client, "admin")
    missing = client.post(f"/ui/admin/incidents/{incident_id}/resolve", data={"reason": "  "})
    assert missing.status_code == 422 and "Geef een reden." in missing.text
    done = client.post(f"/ui/admin/incidents/{incident_id}/resolve", data={"reason": "dossier withdrawn"},
                       follow_redirects=True)
    assert done.status_code == 200 and "Incident opgelost." in done.text and "dossier withdrawn" in done.text
    resolved = client.get("/ui/admin/incidents?status=resolved")
    assert f">{incident_id}</a>" in resolved.text


def test_process_pages(client, engine, clock):
    engine.import_newcomer(newcomer("n1"))
    with engine.session() as session:
        engine.processes.deploy(session, {"trajectory": variants.relabel(variants.source(), "mo", "MO (nieuw)")},
                                at=clock.now().isoformat())
    sign_in(client, "admin")
    listed = client.get("/ui/admin/processes?lang=en")
    assert listed.status_code == 200 and "Process versions" in listed.text
    assert 'href="/ui/admin/processes/trajectory/2"' in listed.text
    one = client.get("/ui/admin/processes/trajectory/1")
    assert one.status_code == 200 and "Aanmelding bij het agentschap" in one.text
    two = client.get("/ui/admin/processes/trajectory/2?lang=en")
    assert "version 1 → 2" in two.text and "mo (bpmn_name)" in two.text
    assert client.get("/ui/admin/processes/trajectory/9").status_code == 404
    assert client.get("/ui/admin/processes/other/1").status_code == 404
    client.cookies.clear()
    sign_in(client, "auditor")
    assert client.get("/ui/admin/processes").status_code == 403
    assert client.get("/ui/admin/incidents").status_code == 403
