"""Issue 14: finding and owning work (search, claims, worklist and queue filters), decisions on a chosen
infraction, register extracts and journal exports — through the HTTP API, on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, time

import pytest

from engine.clock import brussels_instant
from timers.sweep import sweep_days

from .conftest import newcomer_data


def handed_over(engine, clock, *ids, start="2024-01-01"):
    """Import newcomers whose registration runs out on 2024-04-01 and sweep until their infraction is handed
    over (notice, 30 days to regularise, hand-over on 2024-05-02); the clock ends on 2024-05-06 09:00."""
    from engine.service import Actor
    for dossier_id in ids:  # g…: Gent (amal), others Antwerpen (atlas)
        nis = "44021" if dossier_id.startswith("g") else "11002"
        engine.import_newcomer(newcomer_data(dossier_id, obligation_start=start, nis_code=nis),
                               actor=Actor("admin-1", "admin"))
    sweep_days(engine, clock, date(2024, 4, 1), date(2024, 5, 3))
    clock.set(brussels_instant(date(2024, 5, 6), time(9, 0)))


# ----- search ------------------------------------------------------------------------------------------------
def test_search_by_id_prefix_case_insensitive_and_agency_scoped(client, auth, newcomer):
    newcomer("DEMO-001")
    newcomer("DEMO-002")
    newcomer("demo-100", nis_code="44021")  # Gent: not Atlas
    newcomer("OTHER-1")
    admin = auth("admin")
    found = client.get("/dossiers", params={"q": "demo-00"}, headers=admin).json()
    assert [i["dossier_id"] for i in found["items"]] == ["DEMO-001", "DEMO-002"] and found["total"] == 2
    assert [i["dossier_id"] for i in client.get("/dossiers", params={"q": "DeMo"}, headers=admin)
            .json()["items"]] == ["DEMO-001", "DEMO-002", "demo-100"]
    atlas = client.get("/dossiers", params={"q": "demo"}, headers=auth("caseworker", "atlas")).json()
    assert [i["dossier_id"] for i in atlas["items"]] == ["DEMO-001", "DEMO-002"]  # not the other agency's
    # LIKE wildcards are literal characters
    assert client.get("/dossiers", params={"q": "D%"}, headers=admin).json()["total"] == 0
    assert client.get("/dossiers", params={"q": "_EMO"}, headers=admin).json()["total"] == 0


def test_search_by_name_ignores_case_accents_and_word_order(client, auth, newcomer):
    """Every word typed must occur in the register name; case and accents do not matter; the name is
    shown with the result; a caseworker finds only their agency's; a name never matches another field."""
    newcomer("N-1", name="Ayşe  Çelik")
    newcomer("N-2", name="Mohamed El Amrani")
    newcomer("N-3", name="Çelik Demir", nis_code="44021")  # Gent: not Atlas
    newcomer("N-4")  # no name in the extract
    admin = auth("admin")

    def ids(query, headers=admin):
        response = client.get("/dossiers", params={"q": query}, headers=headers)
        assert response.status_code == 200, response.text
        return [i["dossier_id"] for i in response.json()["items"]]

    assert ids("celik") == ["N-1", "N-3"]
    assert ids("CELIK ayse") == ["N-1"]  # every word, any order
    assert ids("ayşe demir") == []
    assert ids("amrani") == ["N-2"] and ids("el am") == ["N-2"]
    assert ids("n-") == ["N-1", "N-2", "N-3", "N-4"]  # the id prefix still works
    assert ids("celik", auth("caseworker", "atlas")) == ["N-1"]
    assert ids("1990") == [] and ids("MA") == []  # birth date and nationality are not searched
    found = client.get("/dossiers", params={"q": "amrani"}, headers=admin).json()["items"][0]
    assert found["name"] == "Mohamed El Amrani"


@pytest.mark.parametrize("name", ["", "   ", "a\u0007b", "x" * 201, 42])
def test_a_bad_name_in_the_extract_is_422_naming_it(client, auth, name):
    from .conftest import newcomer_data

    response = client.post("/newcomers", json=newcomer_data("N-9", name=name), headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert "name" in response.json()["path"]
    assert client.get("/dossiers", params={"q": "N-9"}, headers=auth("admin")).json()["total"] == 0


@pytest.mark.parametrize("params, path", [({}, "q"), ({"q": ""}, "q"), ({"q": "a", "limit": "0"}, "limit"),
                                          ({"q": "a", "limit": "51"}, "limit"), ({"q": "a", "x": "1"}, "x")])
def test_search_bad_parameters_are_422_naming_them(client, auth, params, path):
    response = client.get("/dossiers", params=params, headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert path in response.json()["path"]


def test_search_is_not_for_register_import(client, auth):
    assert client.get("/dossiers", params={"q": "a"}, headers=auth("register_import")).status_code == 403


# ----- claims ------------------------------------------------------------------------------------------------
def test_claim_mine_release_and_conflicts(client, auth, clock, newcomer):
    for dossier_id in ("n1", "n2", "n3"):
        newcomer(dossier_id)
    newcomer("g1", nis_code="44021")
    alice = auth("caseworker", "atlas", user="alice")
    bob = auth("caseworker", "atlas", user="bob")

    claimed = client.post("/dossiers/n2/claim", json={}, headers=alice)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json() == {"dossier_id": "n2", "user": "alice", "assigned_by": "alice",
                              "claimed_at": clock.now().isoformat()}
    assert client.post("/dossiers/n2/claim", json={}, headers=alice).status_code == 200  # again: no change

    taken = client.post("/dossiers/n2/claim", json={}, headers=bob)
    assert taken.status_code == 409
    assert taken.json()["code"] == "dossier_claimed" and taken.json()["params"]["user"] == "alice"
    not_his = client.delete("/dossiers/n2/claim", headers=bob)
    assert not_his.status_code == 409 and not_his.json()["code"] == "dossier_claimed"

    mine = client.get("/worklist", params={"mine": "true"}, headers=alice).json()
    assert [i["dossier_id"] for i in mine["items"]] == ["n2"] and mine["total"] == 1
    assert client.get("/worklist", params={"mine": "true"}, headers=bob).json()["total"] == 0
    everyone = client.get("/worklist", headers=bob).json()["items"]
    assert {i["dossier_id"]: i["claimed_by"] for i in everyone} == {"n1": None, "n2": "alice", "n3": None}

    # another agency's dossier is not found, as reading it is
    assert client.post("/dossiers/g1/claim", json={}, headers=alice).status_code == 404
    assert client.post("/dossiers/nope/claim", json={}, headers=alice).json()["code"] == "dossier_not_found"
    # a caseworker does not assign to someone else; an admin does, and must name whom
    assert client.post("/dossiers/n1/claim", json={"user": "bob"}, headers=alice).status_code == 403
    assigned = client.post("/dossiers/n1/claim", json={"user": "bob"}, headers=auth("admin", user="lead"))
    assert assigned.status_code == 200 and assigned.json()["assigned_by"] == "lead"
    assert [i["dossier_id"] for i in client.get("/worklist", params={"mine": "1"}, headers=bob)
            .json()["items"]] == ["n1"]

    released = client.delete("/dossiers/n2/claim", headers=alice)
    assert released.status_code == 200 and released.json()["user"] == "alice"
    again = client.delete("/dossiers/n2/claim", headers=alice)
    assert again.status_code == 409 and again.json()["code"] == "dossier_not_claimed"
    assert client.delete("/dossiers/n1/claim", headers=auth("admin")).status_code == 200  # an admin releases any
    assert client.post("/dossiers/n2/claim", json={}, headers=bob).status_code == 200
    assert client.post("/dossiers/n2/claim", json={}, headers=auth("enforcement_officer")).status_code == 403


@pytest.mark.parametrize("body, path", [([], "$"), ({"user": ""}, "$.user"), ({"user": 5}, "$.user"),
                                        ({"who": "x"}, "$.who"), ({"user": "a\u0085b"}, "$.user")])
def test_claim_bad_bodies_are_422_and_change_nothing(client, auth, newcomer, body, path):
    newcomer("n1")
    response = client.post("/dossiers/n1/claim", json=body, headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["path"] == path
    assert client.get("/worklist", headers=auth("admin")).json()["items"][0]["claimed_by"] is None


# ----- worklist filters ---------------------------------------------------------------------------------------
def test_worklist_sorted_filtered_by_deadline_dates_and_paged(client, auth, newcomer):
    newcomer("a", obligation_start="2024-01-20")  # registration fires 2024-04-21
    newcomer("b", obligation_start="2024-01-05")  # 2024-04-06
    newcomer("c", obligation_start="2024-01-10")  # 2024-04-11
    admin = auth("admin")

    def ids(**params):
        body = client.get("/worklist", params=params, headers=admin).json()
        return [i["dossier_id"] for i in body["items"]], body["total"]

    assert ids() == (["b", "c", "a"], 3)
    assert ids(sort="-deadline") == (["a", "c", "b"], 3)
    assert ids(sort="dossier_id") == (["a", "b", "c"], 3)
    assert ids(sort="-dossier_id", limit=2, offset=1) == (["b", "a"], 3)
    deadlines = {i["dossier_id"]: i["next_deadline"] for i in client.get("/worklist", headers=admin).json()["items"]}
    assert ids(due_from=deadlines["c"]) == (["c", "a"], 2)
    assert ids(due_to=deadlines["c"]) == (["b", "c"], 2)
    assert ids(due_from=deadlines["c"], due_to=deadlines["c"]) == (["c"], 1)


@pytest.mark.parametrize("params, path", [
    ({"sort": "name"}, "sort"), ({"due_from": "2024-13-01"}, "due_from"), ({"due_to": "2024-02-30"}, "due_to"),
    ({"due_from": "2024-05-01", "due_to": "2024-04-01"}, "due_from"), ({"limit": "501"}, "limit"),
    ({"offset": "-1"}, "offset"), ({"mine": "perhaps"}, "mine")])
def test_worklist_bad_parameters_are_422_naming_them(client, auth, params, path):
    response = client.get("/worklist", params=params, headers=auth("admin"))
    assert response.status_code == 422, response.text
    assert path in response.json()["path"]


# ----- the enforcement queue: one row per infraction ------------------------------------------------------------
def test_queue_lists_infractions_filters_sorts_and_counts_infractions(client, auth, engine, clock):
    handed_over(engine, clock, "q1", "q2", "g1")
    officer = auth("enforcement_officer")
    queue = client.get("/enforcement/queue", headers=officer).json()
    assert queue["total"] == 3
    assert [(i["dossier_id"], i["infraction_id"], i["type"]) for i in queue["items"]] == [
        ("g1", "g1/1", "late_registration"), ("q1", "q1/1", "late_registration"),
        ("q2", "q2/1", "late_registration")]
    item = queue["items"][0]
    assert item["handed_over_on"] and item["established_on"] and item["agency"] == "amal"

    def ids(**params):
        body = client.get("/enforcement/queue", params=params, headers=officer).json()
        return [i["infraction_id"] for i in body["items"]], body["total"]

    assert ids(agency="atlas") == (["q1/1", "q2/1"], 2)
    assert ids(type="late_vdab_registration") == ([], 0)
    assert ids(sort="-dossier_id", limit=2) == (["q2/1", "q1/1"], 3)
    assert ids(sort="dossier_id", offset=2) == (["q2/1"], 3)
    day = item["handed_over_on"]
    assert ids(handed_over_from=day, handed_over_to=day)[1] == 3
    assert ids(handed_over_to="2024-04-01") == ([], 0)

    # deciding one infraction by its id takes it, and only it, off the queue
    decided = client.post("/dossiers/q1/events/enforcement_decision", headers=officer,
                          json={"infraction_id": "q1/1", "decision": "no_fine", "motivation": "Eerste inbreuk."})
    assert decided.status_code == 200, decided.text
    assert ids() == (["g1/1", "q2/1"], 2)
    view = client.get("/dossiers/q1", headers=officer).json()
    assert view["infraction_details"][0]["motivation"] == "Eerste inbreuk."


@pytest.mark.parametrize("params, path", [
    ({"sort": "fine"}, "sort"), ({"type": "speeding"}, "type"), ({"agency": "vdab"}, "agency"),
    ({"handed_over_from": "2024-02-30"}, "handed_over_from"), ({"handed_over_to": "yesterday"}, "handed_over_to"),
    ({"handed_over_from": "2024-06-01", "handed_over_to": "2024-05-01"}, "handed_over_from"),
    ({"limit": "0"}, "limit"), ({"limit": "100000"}, "limit"), ({"offset": "x"}, "offset")])
def test_queue_bad_parameters_are_422_naming_them(client, auth, params, path):
    response = client.get("/enforcement/queue", params=params, headers=auth("enforcement_officer"))
    assert response.status_code == 422, response.text
    assert path in response.json()["path"]


# ----- motivated decisions on a chosen infraction ---------------------------------------------------------------
@pytest.mark.parametrize("body, path", [
    ({"infraction_id": "d1/1", "decision": "no_fine"}, "$.infraction_id"),             # no motivation
    ({"infraction_id": "d1/1", "decision": "no_fine", "motivation": "  "}, "$.motivation"),
    ({"infraction_id": "d1/1", "decision": "no_fine", "motivation": ""}, "$.motivation"),
    ({"infraction_id": "d1/1", "decision": "no_fine", "motivation": "x", "fine_eur": 100}, "$.fine_eur"),
    ({"infraction_id": "d1/1", "decision": "no_follow_up", "motivation": "x", "fine_eur": 0}, "$.fine_eur"),
    ({"infraction_id": "d1/1", "decision": "fine", "motivation": "x"}, "$.fine_eur"),
    ({"infraction_id": "d1/1", "decision": "fine", "motivation": "x", "fine_eur": 10}, "$.fine_eur"),  # < legal min
    ({"motivation": "x", "decision": "no_fine"}, "$.infraction_id"),
])
def test_decision_by_id_needs_motivation_and_fine_only_with_fine(client, auth, engine, clock, body, path):
    handed_over(engine, clock, "d1")
    officer = auth("enforcement_officer")
    before = client.get("/dossiers/d1", headers=officer).json()
    response = client.post("/dossiers/d1/events/enforcement_decision", json=body, headers=officer)
    assert response.status_code == 422, response.text
    assert response.json()["path"] == path
    after = client.get("/dossiers/d1", headers=officer).json()
    assert after["version"] == before["version"] and after["infraction_details"][0]["outcome"] == "handed_over"


def test_decision_on_an_unknown_infraction_id_is_404(client, auth, engine, clock):
    handed_over(engine, clock, "d1")
    response = client.post("/dossiers/d1/events/enforcement_decision", headers=auth("enforcement_officer"),
                           json={"infraction_id": "d1/9", "decision": "no_fine", "motivation": "x"})
    assert response.status_code == 404 and response.json()["code"] == "no_such_infraction"


def test_fine_by_id_with_motivation(client, auth, engine, clock):
    handed_over(engine, clock, "d1")
    officer = auth("enforcement_officer")
    response = client.post("/dossiers/d1/events/enforcement_decision", headers=officer,
                           json={"infraction_id": "d1/1", "decision": "fine", "fine_eur": 250,
                                 "motivation": "Geen reactie op de ingebrekestelling."})
    assert response.status_code == 200, response.text
    detail = client.get("/dossiers/d1", headers=officer).json()["infraction_details"][0]
    assert (detail["outcome"], detail["fine_eur"], detail["motivation"]) == (
        "fined", 250, "Geen reactie op de ingebrekestelling.")


# ----- register extract upload --------------------------------------------------------------------------------------
def extract(*lines) -> bytes:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()


JSONL = {"Content-Type": "application/x-ndjson"}


def test_import_extract_all_lines(client, auth):
    body = extract(newcomer_data("x1"), "", newcomer_data("x2", residence="labour_migrant_eu", nationalities=["FR"]))
    response = client.post("/newcomers/import", content=body, headers={**auth("register_import"), **JSONL})
    assert response.status_code == 201, response.text
    assert response.json() == {"imported": 2, "target_groups": {"obligated": 1, "entitled": 1}}
    assert client.get("/dossiers", params={"q": "x"}, headers=auth("admin")).json()["total"] == 2


def test_import_extract_with_bad_lines_imports_nothing_and_names_each_line(client, auth, newcomer):
    newcomer("old")
    bad = newcomer_data("x3", insz="12345678901")
    body = extract(newcomer_data("x1"), "{not json", newcomer_data("x2", nationalities=["mar"]),
                   newcomer_data("x1"), newcomer_data("old"), bad, newcomer_data("x4", nis_code="1234"))
    response = client.post("/newcomers/import", content=body, headers={**auth("admin"), **JSONL})
    assert response.status_code == 422, response.text
    problems = response.json()["params"]["problems"]
    assert [(p["line"], p["path"]) for p in problems] == [
        (2, "$"), (3, "$.nationalities[0]"), (4, "$.id"), (5, "$.id"), (6, "$.insz"), (7, "$.nis_code")]
    assert "12345678901" not in response.text  # an INSZ is never echoed
    assert response.json()["code"] == "extract_invalid"
    assert client.get("/dossiers", params={"q": "x"}, headers=auth("admin")).json()["total"] == 0


def test_import_extract_caseworker_only_own_agency(client, auth, newcomer):
    newcomer("gent-held", nis_code="44021")
    newcomer("atlas-held")
    body = extract(newcomer_data("x1"), newcomer_data("x2", nis_code="44021"), newcomer_data("gent-held"),
                   newcomer_data("atlas-held"))
    response = client.post("/newcomers/import", content=body, headers={**auth("caseworker", "atlas"), **JSONL})
    assert response.status_code == 422
    problems = response.json()["params"]["problems"]
    assert [(p["line"], p["path"]) for p in problems] == [(2, "$.nis_code"), (3, "$.nis_code"), (4, "$.id")]
    # an id another agency holds is refused as another agency's newcomer: nothing more is revealed
    assert problems[0]["message"] == problems[1]["message"] != problems[2]["message"]
    assert client.get("/dossiers", params={"q": "x"}, headers=auth("admin")).json()["total"] == 0


@pytest.mark.parametrize("content, headers, status", [
    (b"", JSONL, 422), (b"\n \n", JSONL, 422), (b"\xff\xfe", JSONL, 422), (b"{}", {"Content-Type": "text/csv"}, 415),
    (b"[1]\n", JSONL, 422), (b'{"id": "a\\u0000"}', JSONL, 422)])
def test_import_extract_bad_bodies(client, auth, content, headers, status):
    response = client.post("/newcomers/import", content=content, headers={**auth("admin"), **headers})
    assert response.status_code == status, response.text
    assert client.get("/worklist", headers=auth("admin")).json()["total"] == 0


def test_import_extract_roles(client, auth):
    body = extract(newcomer_data("x1"))
    assert client.post("/newcomers/import", content=body,
                       headers={**auth("auditor"), **JSONL}).status_code == 403
    assert client.post("/newcomers/import", content=body, headers=JSONL).status_code == 401


# ----- journal export ---------------------------------------------------------------------------------------------
def test_journal_export_json_and_csv_are_access_logged(client, auth, newcomer):
    newcomer("j1")
    client.post("/dossiers/j1/events/registered", json={}, headers=auth("caseworker", "atlas"))
    auditor = auth("auditor", user="aud-1")
    history = client.get("/dossiers/j1/history", headers=auditor).json()["entries"]

    as_json = client.get("/dossiers/j1/journal", headers=auditor)
    assert as_json.status_code == 200
    assert 'filename="journal-j1.json"' in as_json.headers["content-disposition"]
    assert as_json.json()["entries"] == history

    as_csv = client.get("/dossiers/j1/journal", params={"format": "csv"}, headers=auditor)
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in history]
    assert [r["hash"] for r in rows] == [e["hash"] for e in history]
    assert json.loads(rows[0]["payload"]) == history[0]["payload"]

    log = client.get("/access-log", params={"dossier_id": "j1", "user": "aud-1"}, headers=auditor).json()
    assert [r["route"] for r in log["items"]].count("GET /dossiers/{dossier_id}/journal") == 2


def test_journal_export_errors(client, auth, newcomer):
    newcomer("j1")
    assert client.get("/dossiers/j1/journal", headers=auth("caseworker", "atlas")).status_code == 403
    assert client.get("/dossiers/zz/journal", headers=auth("auditor")).status_code == 404
    bad = client.get("/dossiers/j1/journal", params={"format": "xml"}, headers=auth("auditor"))
    assert bad.status_code == 422 and "format" in bad.json()["path"]


def test_an_extract_longer_than_an_upload_allows_is_refused_whole(engine, monkeypatch):
    from engine import desk
    monkeypatch.setattr(desk, "MAX_EXTRACT_LINES", 2)
    text = "\n".join(json.dumps(newcomer_data(f"m{i}")) for i in range(3))
    with pytest.raises(desk.ExtractInvalid) as caught:
        desk.import_extract(engine, text, None)
    assert caught.value.problems[0]["line"] == 3 and engine.dossier_ids() == []


def test_the_cli_checks_its_file_with_the_same_rules(tmp_path):
    from api.cli import read_newcomer_lines
    from engine.errors import InvalidInput
    extract = tmp_path / "x.jsonl"
    extract.write_text(json.dumps(newcomer_data("c1")) + "\n" + json.dumps(newcomer_data("c1")) + "\n")
    with pytest.raises(InvalidInput) as caught:
        read_newcomer_lines(extract)
    assert "line 2: $.id: the id is also on line 1" in caught.value.detail
