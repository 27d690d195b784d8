"""Seed 000 question 1 through the API: a registration naming its office, the report's table of first
registrations per region and office and per centrumstad, and a clear 422 for an office that is not one."""
from __future__ import annotations

import csv
import io

from tests.conftest import at
from datetime import date


def _history_length(client, auth, dossier: str) -> int:
    return len(client.get(f"/dossiers/{dossier}/history", headers=auth("admin")).json()["entries"])


def test_the_report_has_the_table_of_first_registrations(client, auth, newcomer, clock):
    newcomer("a1")                                   # Antwerpen stad (Atlas)
    newcomer("m1", nis_code="12025")                 # Mechelen: provincie Antwerpen, a centrumstad
    newcomer("m2", nis_code="12025", nationalities=["NL"], residence="labour_migrant_eu")  # entitled
    atlas, agii = auth("caseworker", "atlas"), auth("caseworker", "agii")
    at(clock, date(2024, 2, 1))
    for dossier, headers, body in (("a1", atlas, {"office": "atlas"}), ("m1", agii, {"office": "loket_mechelen"}),
                                   ("m2", agii, {})):
        response = client.post(f"/dossiers/{dossier}/events/registered", json={"on": "2024-02-01", **body},
                               headers=headers)
        assert response.status_code == 200, response.text

    rep = client.get("/reports/2024", headers=auth("auditor")).json()
    rows = {r["region"]: r for r in rep["first_registrations"]["rows"]}
    prov = rows["provincie_antwerpen"]
    assert (prov["obligated"], prov["entitled"], prov["undetermined"], prov["total"]) == (1, 1, 0, 2)
    assert [(o["office"], o["name"], o["total"]) for o in prov["offices"]] == [
        ("loket_mechelen", "Loket Mechelen", 1), (None, None, 1)]
    assert [(o["office"], o["obligated"]) for o in rows["antwerpen_stad"]["offices"]] == [("atlas", 1)]
    assert rep["first_registrations"]["total"]["total"] == 3
    cities = {c["city"]: c["total"] for c in rep["centrumsteden"]["rows"]}
    assert len(cities) == 13 and cities["mechelen"] == 2 and cities["antwerpen"] == 1 and cities["gent"] == 0

    text = client.get("/reports/2024?format=csv", headers=auth("auditor")).text
    lookup = {(r["section"], r["row"], r["measure"]): r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert lookup[("first_registrations", "office=loket_mechelen", "obligated")] == "1"
    assert lookup[("centrumsteden", "city=mechelen", "total")] == "2"
    table = client.get("/reports/2024?format=text", headers=auth("auditor")).text
    assert "\n  Loket Mechelen " in table and "\n  loket niet geregistreerd " in table and "\nMechelen " in table
    # the photo of 2024-01-31 saw none of them
    early = client.get("/reports/2024?as_of=2024-01-31", headers=auth("auditor")).json()
    assert early["first_registrations"]["total"]["total"] == 0


def test_an_unknown_office_is_422_naming_it_and_changes_nothing(client, auth, newcomer, clock):
    newcomer("a1")
    at(clock, date(2024, 2, 1))
    before = _history_length(client, auth, "a1")
    atlas = auth("caseworker", "atlas")
    response = client.post("/dossiers/a1/events/registered", json={"office": "loket_atlantis"}, headers=atlas)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput" and body["path"] == "$.office" and body["code"] == "unknown_office"
    assert body["params"]["office"] == "loket_atlantis" and "loket_atlantis" in body["message"]
    # an office, but not one serving where the newcomer lives: a conflict with the dossier, both regions named
    response = client.post("/dossiers/a1/events/registered", json={"office": "vestiging_leuven"}, headers=atlas)
    assert response.status_code == 409 and response.json()["code"] == "office_other_region"
    assert response.json()["params"] == {"office": "vestiging_leuven", "office_region": "vlaams_brabant",
                                         "region": "antwerpen_stad", "on": "2024-02-01"}
    response = client.post("/dossiers/a1/events/registered", json={"office": ["atlas"]}, headers=atlas)
    assert response.status_code == 422 and response.json()["path"] == "$.office"
    assert _history_length(client, auth, "a1") == before
    assert client.get("/dossiers/a1", headers=atlas).json()["registered_on"] is None
