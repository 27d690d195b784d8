"""Invalid input is 422 naming the JSON path; nothing is written."""
from __future__ import annotations

import pytest

from .conftest import newcomer_data


def assert_422(response, path):
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput", body
    assert body["path"] == path, body
    assert body["message"].startswith(path), body
    return body


@pytest.mark.parametrize("overrides,path", [
    ({"birth_date": "2024-02-30"}, "$.birth_date"),          # impossible date
    ({"obligation_start": "2023-13-01"}, "$.obligation_start"),
    ({"residence": "tourist"}, "$.residence"),                # unknown residence
    ({"nis_code": "1100"}, "$.nis_code"),                     # bad NIS: 4 digits
    ({"nis_code": "11OO2"}, "$.nis_code"),                    # bad NIS: letters
    ({"nis_code": 11002}, "$.nis_code"),                      # wrong type
    ({"nationalities": "MA"}, "$.nationalities"),
    ({"nationalities": ["MA", "x"]}, "$.nationalities[1]"),
    ({"id": ""}, "$.id"),
    ({"colour": "blue"}, "$"),                                # additional property
    ({"obligation_start": "0001-01-01"}, "$.obligation_start"),  # before any rule is in force
    ({"obligation_start": "9999-12-31", "birth_date": "9990-01-01"}, "$.birth_date"),  # deadlines overflow
    ({"birth_date": "2030-01-01"}, "$.birth_date"),          # born after the obligation starts
], ids=["impossible-date", "month-13", "unknown-residence", "nis-short", "nis-letters", "nis-int",
        "nationalities-type", "nationality-item", "empty-id", "extra-field", "year-1", "year-9999",
        "born-after-start"])
def test_invalid_newcomer(client, auth, overrides, path):
    response = client.post("/newcomers", json=newcomer_data("bad", **overrides), headers=auth("admin"))
    assert_422(response, path)
    assert client.get("/dossiers/bad", headers=auth("admin")).status_code == 404


def test_newcomer_missing_field(client, auth):
    data = newcomer_data("bad")
    del data["residence"]
    assert_422(client.post("/newcomers", json=data, headers=auth("admin")), "$")


def test_bad_insz_is_not_echoed(client, auth):
    response = client.post("/newcomers", json=newcomer_data("bad", insz="90050512345"), headers=auth("admin"))
    body = assert_422(response, "$.insz")
    assert "90050512345" not in response.text, body
    response = client.post("/newcomers", json=newcomer_data("bad", insz="9005051234"), headers=auth("admin"))
    assert "9005051234" not in assert_422(response, "$.insz")["message"]


def test_valid_insz_is_not_stored(client, auth):
    insz = "90050500000"
    insz = insz[:9] + f"{97 - int(insz[:9]) % 97:02d}"
    response = client.post("/newcomers", json=newcomer_data("n1", insz=insz), headers=auth("admin"))
    assert response.status_code == 201, response.text
    view = client.get("/dossiers/n1", headers=auth("admin")).text
    history = client.get("/dossiers/n1/history", headers=auth("admin")).text
    assert insz not in view and insz not in history


@pytest.mark.parametrize("raw", [b"{not json", b"{\"id\": NaN}", b"\xff\xfe", b"[" * 100_000,
                                 b"{\"id\": 1e999}"],
                         ids=["garbage", "nan", "not-utf8", "deep", "infinite"])
def test_bad_json_newcomer(client, auth, raw):
    response = client.post("/newcomers", content=raw, headers={**auth("admin"), "Content-Type": "application/json"})
    body = assert_422(response, "$")
    assert body["message"] == "$: body is not valid JSON"


@pytest.mark.parametrize("raw", [b"{not json", b"{\"advice\": Infinity}"], ids=["garbage", "infinity"])
def test_bad_json_event(client, auth, newcomer, raw):
    newcomer("n1")
    response = client.post("/dossiers/n1/events/intake", content=raw,
                           headers={**auth("admin"), "Content-Type": "application/json"})
    assert assert_422(response, "$")["message"] == "$: body is not valid JSON"


@pytest.mark.parametrize("event,body,path", [
    ("intake", {"advice": 5}, "$.advice"),                               # wrong type
    ("intake", {}, "$"),                                                 # missing field
    ("attendance", {"component": "mo", "percent": "ninety"}, "$.percent"),
    ("attendance", {"component": "mo", "percent": 101}, "$.percent"),
    ("contract_signed", {"components": ["mo", "cooking"]}, "$.components[1]"),
    ("activity", {"kind": "work", "from": "2024-02-30", "to": "2024-03-01"}, "$.from"),  # impossible date
    ("suspended", {"from": "2024-01-01", "to": "2024-1-5"}, "$.to"),
    ("suspended", {"from": "0001-01-01", "to": "9999-12-31"}, "$.from"),  # out of the supported range
    ("activity", {"kind": "work", "from": "2024-01-01", "to": "9999-12-31"}, "$.to"),
    ("moved", {"nis_code": "ABCDE"}, "$.nis_code"),                      # bad NIS
    ("residence_changed", {"residence": "tourist"}, "$.residence"),      # unknown residence
    ("test_result", {"component": "mo"}, "$"),                           # mo needs its percentages
    ("registered", {"extra": True}, "$"),
    ("registered", [], "$"),
    ("b1_test", {"passed": "yes"}, "$.passed"),
    ("enforcement_decision", {"infraction": "late_registration", "decision": "jail"}, "$.decision"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_invalid_event_body(client, auth, newcomer, event, body, path):
    newcomer("n1")
    response = client.post(f"/dossiers/n1/events/{event}", json=body, headers=auth("admin"))
    assert_422(response, path)
    assert client.get("/dossiers/n1", headers=auth("admin")).json()["version"] == 1


def test_unknown_event(client, auth, newcomer):
    newcomer("n1")
    response = client.post("/dossiers/n1/events/graduated", json={}, headers=auth("admin"))
    body = assert_422(response, "$.type")
    assert "graduated" in body["message"]
    # still authenticated first
    assert client.post("/dossiers/n1/events/graduated", json={}).status_code == 401


@pytest.mark.parametrize("raw", [b"", b"   ", b"\n\t \r\n", b" " * 500_000], ids=["empty", "spaces", "whitespace", "many-spaces"])
@pytest.mark.parametrize("path", ["/newcomers", "/dossiers/n1/events/registered"])
def test_empty_or_whitespace_body_is_422(client, auth, newcomer, raw, path):
    newcomer("n1")
    response = client.post(path, content=raw, headers={**auth("admin"), "Content-Type": "application/json"})
    assert assert_422(response, "$")["message"].startswith("$: the body is empty")
    assert client.get("/dossiers/n1", headers=auth("admin")).json()["version"] == 1  # nothing written


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx"])
def test_json_only_under_a_json_content_type(client, auth, newcomer, content_type):
    newcomer("n1")
    headers = {**auth("admin"), **({"Content-Type": content_type} if content_type else {})}
    response = client.post("/dossiers/n1/events/registered", content=b"{}", headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "UnsupportedMediaType"
    ok = client.post("/dossiers/n1/events/registered", content=b"{}",
                     headers={**auth("admin"), "Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("query,path", [
    ("limit=0", "$.query.limit"), ("limit=501", "$.query.limit"), ("offset=-1", "$.query.offset"),
    ("limit=ten", "$.query.limit"), ("overdue=maybe", "$.query.overdue"), ("agency=mars", "$.query.agency"),
    ("target_group=everyone", "$.query.target_group"), ("step=decide", "$.query.step"),
])
def test_invalid_worklist_query(client, auth, query, path):
    assert_422(client.get(f"/worklist?{query}", headers=auth("admin")), path)


@pytest.mark.parametrize("url", ["/enforcement/queue?limit=0", "/enforcement/queue?offset=-5",
                                 "/dossiers/n1/history?limit=100000"])
def test_invalid_paging(client, auth, newcomer, url):
    newcomer("n1")
    response = client.get(url, headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["path"].startswith("$.query.")


@pytest.mark.parametrize("if_match", ["abc", "1.5", "-1", "", "W/\"1\""])
def test_non_integer_if_match(client, auth, newcomer, if_match):
    newcomer("n1")
    response = client.post("/dossiers/n1/events/registered", json={},
                           headers={**auth("admin"), "If-Match": if_match})
    assert_422(response, "$.header.If-Match")


def test_duplicate_newcomer_is_409(client, auth, newcomer):
    newcomer("n1")
    response = client.post("/newcomers", json=newcomer_data("n1"), headers=auth("admin"))
    assert response.status_code == 409
    assert response.json()["error"] == "Conflict"
