"""The access log (engine/access_log.py): every read of a dossier through the API, the web pages and the
CLI is recorded, append-only and hash-chained; auditors list it per dossier and per user (API, CLI, CSV);
`inburgering journal verify` checks its chain. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app as cli
from engine import access_log
from engine.clock import wall_now


def rows(engine, **filters):
    with engine.reading() as connection:
        return access_log.listing(connection, limit=None, **filters)["items"]


def test_every_api_read_of_a_dossier_is_recorded(client, auth, newcomer, engine, clock):
    newcomer("n1")
    newcomer("g1", nis_code="44021")
    before = wall_now()
    client.get("/dossiers/n1", headers=auth("caseworker", "atlas", user="anna"))
    client.get("/dossiers/n1/history", headers=auth("caseworker", "atlas", user="anna"))
    client.get("/dossiers/n1?as_of=2024-02-01", headers=auth("auditor", user="ines"))
    client.get("/dossiers/n1/as-of/2024-02-01", headers=auth("auditor", user="ines"))
    client.get("/dossiers/n1/replay", headers=auth("admin", user="root"))
    # refused reads show nothing and are not reads: another agency's dossier, an unknown one, a bad id
    assert client.get("/dossiers/g1", headers=auth("caseworker", "atlas", user="anna")).status_code == 404
    assert client.get("/dossiers/nope", headers=auth("admin")).status_code == 404
    logged = rows(engine, dossier_id="n1")
    assert [(r["user"], r["role"], r["agency"], r["route"]) for r in logged] == [
        ("anna", "caseworker", "atlas", "GET /dossiers/{dossier_id}"),
        ("anna", "caseworker", "atlas", "GET /dossiers/{dossier_id}/history"),
        ("ines", "auditor", None, "GET /dossiers/{dossier_id}?as_of"),
        ("ines", "auditor", None, "GET /dossiers/{dossier_id}/as-of/{day}"),
        ("root", "admin", None, "GET /dossiers/{dossier_id}/replay"),
    ]
    assert [r["seq"] for r in logged] == [1, 2, 3, 4, 5]
    assert rows(engine, dossier_id="g1") == [] and rows(engine, dossier_id="nope") == []
    first = logged[0]
    assert first["business_time"] == clock.now().isoformat()  # the engine's clock (2024)
    assert first["wall_time"] >= before.isoformat()            # and the real time of the read
    # listings and imports are not reads of a dossier
    client.get("/worklist", headers=auth("admin"))
    assert len(rows(engine, dossier_id="n1")) == 5


def test_auditors_list_it_per_dossier_and_per_user(client, auth, newcomer, engine):
    newcomer("n1")
    newcomer("n2")
    client.get("/dossiers/n1", headers=auth("caseworker", "atlas", user="anna"))
    client.get("/dossiers/n2", headers=auth("caseworker", "atlas", user="anna"))
    client.get("/dossiers/n2", headers=auth("enforcement_officer", user="otto"))
    by_user = client.get("/access-log?user=anna", headers=auth("auditor")).json()
    assert by_user["total"] == 2 and {r["dossier_id"] for r in by_user["items"]} == {"n1", "n2"}
    by_dossier = client.get("/access-log?dossier_id=n2", headers=auth("auditor")).json()
    assert [r["user"] for r in by_dossier["items"]] == ["anna", "otto"]
    both = client.get("/access-log?dossier_id=n2&user=otto", headers=auth("admin")).json()
    assert both["total"] == 1
    page = client.get("/access-log?dossier_id=n2&limit=1&offset=1", headers=auth("auditor")).json()
    assert [r["user"] for r in page["items"]] == ["otto"]
    export = client.get("/access-log?dossier_id=n2&format=csv", headers=auth("auditor"))
    assert export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["user"] for r in table] == ["anna", "otto"] and table[0]["route"] == "GET /dossiers/{dossier_id}"
    assert client.get("/access-log", headers=auth("auditor")).json()["total"] == 3  # no filter: the whole log
    for role, agency in (("caseworker", "atlas"), ("enforcement_officer", None), ("register_import", None)):
        assert client.get("/access-log?user=anna", headers=auth(role, agency)).status_code == 403


def test_the_chain_is_verified_with_the_journal(client, auth, newcomer, engine, database_url):
    newcomer("n1")
    for _ in range(3):
        client.get("/dossiers/n1", headers=auth("admin", user="root"))
    runner = CliRunner()
    ok = runner.invoke(cli, ["journal", "verify", "--database", database_url])
    assert ok.exit_code == 0, ok.output
    assert "access log intact: 3 reads verified" in ok.output
    with engine.db.begin() as connection:  # someone hides that root read the dossier
        connection.execute(text("UPDATE access_log SET \"user\" = 'someone' WHERE seq = 2"))
    edited = runner.invoke(cli, ["journal", "verify", "--database", database_url])
    assert edited.exit_code == 1 and "access log" in edited.output and "seq 2" in edited.output
    with engine.db.begin() as connection:
        connection.execute(text("UPDATE access_log SET \"user\" = 'root' WHERE seq = 2"))
        connection.execute(text("DELETE FROM access_log WHERE seq = 3"))  # the last read, deleted
    deleted = runner.invoke(cli, ["journal", "verify", "--database", database_url])
    assert deleted.exit_code == 1 and "head says 3" in deleted.output


def test_cli_reads_are_recorded_and_listed(client, auth, newcomer, engine, database_url, tmp_path):
    newcomer("n1")
    client.get("/dossiers/n1", headers=auth("auditor", user="ines"))
    runner = CliRunner()
    as_of = runner.invoke(cli, ["dossier", "as-of", "n1", "2024-02-01", "--database", database_url])
    assert as_of.exit_code == 0, as_of.output
    replayed = runner.invoke(cli, ["replay", "--dossier", "n1", "--database", database_url])
    assert replayed.exit_code == 0, replayed.output
    logged = rows(engine, dossier_id="n1")
    assert [(r["role"], r["route"]) for r in logged] == [
        ("auditor", "GET /dossiers/{dossier_id}"), ("operator", "cli dossier as-of"), ("operator", "cli replay")]
    listing = runner.invoke(cli, ["access-log", "--dossier", "n1", "--format", "json", "--database", database_url])
    assert listing.exit_code == 0, listing.output
    assert [r["route"] for r in json.loads(listing.output)] == [r["route"] for r in logged]
    out = tmp_path / "ines.csv"
    by_user = runner.invoke(cli, ["access-log", "--user", "ines", "--format", "csv", "--out", str(out),
                                  "--database", database_url])
    assert by_user.exit_code == 0, by_user.output
    assert list(csv.DictReader(out.open()))[0]["dossier_id"] == "n1"
    assert runner.invoke(cli, ["access-log", "--database", database_url]).exit_code == 2  # a filter is required


def test_csv_cells_cannot_be_spreadsheet_formulas():
    exported = access_log.to_csv([{"seq": 1, "wall_time": "t", "business_time": "t", "user": "=HYPERLINK(1)",
                                   "role": "admin", "agency": None, "dossier_id": "+1", "route": "r"}])
    assert "'=HYPERLINK(1)" in exported and "'+1" in exported


def test_business_time_follows_the_engine_clock(client, auth, newcomer, engine, clock):
    newcomer("n1")
    clock.advance(timedelta(days=40))
    client.get("/dossiers/n1", headers=auth("admin"))
    assert rows(engine, dossier_id="n1")[0]["business_time"] == clock.now().isoformat()
