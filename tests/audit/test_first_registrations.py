"""Parliament's question 1 of seed 000 in the shape of its Tabel 1: first registrations per region and
per office of registration, by target group, and per centrumstad; read from the journal alone."""
from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest

from engine.errors import InvalidInput, Refused
from engine.reports import REGIONS, format_table, report, to_csv
from rules import parameters
from tests.conftest import at
from engine.service import Actor
from tests.engine.helpers import CASEWORKER, newcomer

ATLAS = Actor("cw-atlas", "caseworker", "atlas")
AMAL = Actor("cw-amal", "caseworker", "amal")


def _register(engine, clock, dossier: str, day: date, actor=CASEWORKER, **body):
    at(clock, day)
    return engine.handle(dossier, "registered", {"on": day.isoformat(), **body}, actor=actor)


@pytest.fixture
def small_journal(engine, clock):
    """Seven newcomers: four with an office named, two without, one in Hasselt who moves to Genk."""
    at(clock, date(2024, 1, 2))
    engine.import_newcomer(newcomer("B1", nis_code="31005", obligation_start="2024-01-02"))   # Brugge, obligated
    engine.import_newcomer(newcomer("B2", nis_code="31005", obligation_start="2024-01-02",
                                    nationalities=["NL"], residence="labour_migrant_eu"))     # Brugge, entitled
    engine.import_newcomer(newcomer("T1", nis_code="37015", obligation_start="2024-01-02"))   # Tielt (wvl), obligated
    engine.import_newcomer(newcomer("A1", nis_code="11002", obligation_start="2024-01-02"))   # Antwerpen stad
    engine.import_newcomer(newcomer("H1", nis_code="71022", obligation_start="2024-01-02"))   # Hasselt
    engine.import_newcomer(newcomer("G1", nis_code="44021", obligation_start="2024-01-02"))   # Gent stad
    engine.import_newcomer(newcomer("L1", nis_code="24062", obligation_start="2024-01-02"))   # Leuven, 2025
    _register(engine, clock, "B1", date(2024, 2, 1), office="vestiging_brugge")
    _register(engine, clock, "B2", date(2024, 2, 2), office="vestiging_brugge")
    _register(engine, clock, "T1", date(2024, 2, 3), office="loket_tielt")
    _register(engine, clock, "A1", date(2024, 2, 4), actor=ATLAS, office="atlas")
    at(clock, date(2024, 2, 10))
    engine.handle("H1", "moved", {"nis_code": "71016", "on": "2024-02-10"}, actor=CASEWORKER)  # Hasselt → Genk
    _register(engine, clock, "H1", date(2024, 2, 5))   # recorded after the move, dated before it: Hasselt
    _register(engine, clock, "G1", date(2024, 2, 11), actor=AMAL)  # no office named
    _register(engine, clock, "L1", date(2025, 1, 3), office="vestiging_leuven")
    return engine


def _rows(rep: dict) -> dict:
    out = {}
    for region in rep["first_registrations"]["rows"]:
        out[region["region"]] = (region["obligated"], region["entitled"], region["undetermined"], region["total"])
        for office in region["offices"]:
            out[(region["region"], office["office"])] = (office["obligated"], office["entitled"],
                                                         office["undetermined"], office["total"])
    return out


def test_first_registrations_per_region_office_and_target_group(small_journal):
    rep = report(small_journal, 2024)
    first = rep["first_registrations"]
    assert [r["region"] for r in first["rows"]] == list(REGIONS)  # every region, in the order of Tabel 1
    rows = _rows(rep)
    assert rows["west_vlaanderen"] == (2, 1, 0, 3)
    assert rows[("west_vlaanderen", "vestiging_brugge")] == (1, 1, 0, 2)
    assert rows[("west_vlaanderen", "loket_tielt")] == (1, 0, 0, 1)
    assert rows["antwerpen_stad"] == (1, 0, 0, 1) and rows[("antwerpen_stad", "atlas")] == (1, 0, 0, 1)
    assert rows[("gent_stad", None)] == (1, 0, 0, 1)          # registered without an office
    assert rows[("limburg", None)] == (1, 0, 0, 1)
    assert rows["brussel"] == (0, 0, 0, 0) and not first["rows"][-1]["offices"]
    assert first["total"] == {"obligated": 5, "entitled": 1, "undetermined": 0, "total": 6}
    names = {o["office"]: o["name"] for r in first["rows"] for o in r["offices"]}
    assert names["loket_tielt"] == "Loket Tielt (Sociaal huis)" and names[None] is None
    # offices by name within their region, the unnamed office last
    wvl = next(r for r in first["rows"] if r["region"] == "west_vlaanderen")
    assert [o["office"] for o in wvl["offices"]] == ["loket_tielt", "vestiging_brugge"]


def test_centrumsteden_from_the_municipality_on_the_registration_day(small_journal):
    cities = report(small_journal, 2024)["centrumsteden"]
    assert [c["city"] for c in cities["rows"]] == list(parameters.value("centrumsteden", date(2024, 12, 31)))
    counts = {c["city"]: c["total"] for c in cities["rows"] if c["total"]}
    # Tielt is no centrumstad; H1 registered in Hasselt on 02-05, before the move to Genk on 02-10
    assert counts == {"brugge": 2, "antwerpen": 1, "gent": 1, "hasselt": 1}
    assert cities["total"] == {"obligated": 4, "entitled": 1, "undetermined": 0, "total": 5}
    assert report(small_journal, 2025)["centrumsteden"]["total"]["total"] == 1  # Leuven


def test_only_the_first_registration_counts_and_as_of_gives_the_photo(small_journal):
    photo = report(small_journal, 2024, as_of=date(2024, 2, 3))
    assert photo["first_registrations"]["total"]["total"] == 3
    assert _rows(photo)[("west_vlaanderen", "vestiging_brugge")] == (1, 1, 0, 2)
    assert report(small_journal, 2023)["first_registrations"]["total"]["total"] == 0
    assert report(small_journal, 2025)["first_registrations"]["total"]["total"] == 1


def test_the_tables_csv_and_text_carry_the_breakdown(small_journal):
    rep = report(small_journal, 2024)
    text = format_table(rep)
    assert "by region, office of registration and target group" in text and "per centrumstad" in text
    lookup = {(r["section"], r["row"], r["measure"]): r["value"]
              for r in csv.DictReader(io.StringIO(to_csv(rep)))}
    assert lookup[("first_registrations", "region=west_vlaanderen", "total")] == "3"
    assert lookup[("first_registrations", "office=vestiging_brugge", "entitled")] == "1"
    assert lookup[("first_registrations", "total", "obligated")] == "5"
    assert lookup[("centrumsteden", "city=brugge", "total")] == "2"
    assert lookup[("centrumsteden", "total", "total")] == "5"


def test_the_office_is_recorded_in_the_typed_fact(small_journal):
    from engine.models import JournalEntry
    from sqlmodel import Session, select

    with Session(small_journal.db) as session:
        payloads = {e.dossier_id: e.payload for e in session.exec(
            select(JournalEntry).where(JournalEntry.kind == "registered"))}
    assert json.loads(payloads["B1"]) == {"on": "2024-02-01", "office": "vestiging_brugge"}
    assert json.loads(payloads["G1"]) == {"on": "2024-02-11"}  # without an office: written as before
    from engine.facts import Registered, parse

    assert parse("registered", {"on": "2024-02-01"}) == Registered(date(2024, 2, 1), None)  # an old entry reads
    assert Registered(date(2024, 2, 1)).as_payload() == {"on": "2024-02-01"}  # written as before without office
    assert Registered(date(2024, 2, 1), "atlas").as_payload() == {"on": "2024-02-01", "office": "atlas"}


@pytest.mark.parametrize("body, error, status, code, params", [
    ({"office": "loket_nergens"}, InvalidInput, 422, "unknown_office", {"office": "loket_nergens"}),
    ({"office": 7}, InvalidInput, 422, "unknown_office", {"office": 7}),
    ({"office": "bon_brussel"}, Refused, 409, "office_other_region",
     {"office": "bon_brussel", "office_region": "brussel", "region": "west_vlaanderen", "on": "2024-02-01"}),
])
def test_an_unknown_office_or_one_of_another_region_is_refused_and_changes_nothing(engine, clock, body, error,
                                                                                  status, code, params):
    at(clock, date(2024, 1, 31))
    engine.import_newcomer(newcomer("N1"))  # Brugge
    before = engine.dossier_view("N1", CASEWORKER)["version"]
    with pytest.raises(error) as raised:
        _register(engine, clock, "N1", date(2024, 2, 1), **body)
    assert raised.value.code == code and raised.value.status == status
    assert {k: raised.value.params[k] for k in params} == params
    assert engine.dossier_view("N1", CASEWORKER)["version"] == before


def test_offices_are_read_for_the_registration_day(engine, clock):
    """A dated value of the office list that closes an office refuses it from that day on, not before."""
    law = parameters.current()
    offices = law.value("agency_offices", date(2024, 1, 1))
    del offices["vestiging_brugge"]
    closed = law.with_overrides({"agency_offices": [{"from": "2024-03-01", "value": offices,
                                                     "source": "test"}]}, "test")
    at(clock, date(2024, 1, 31))
    engine.import_newcomer(newcomer("N1"))
    engine.import_newcomer(newcomer("N2"))
    with parameters.using(closed):
        with pytest.raises(InvalidInput) as raised:
            _register(engine, clock, "N2", date(2024, 3, 1), office="vestiging_brugge")
        assert raised.value.code == "unknown_office" and raised.value.path == "$.office"
        assert raised.value.params["office"] == "vestiging_brugge" and raised.value.params["on"] == "2024-03-01"
        _register(engine, clock, "N1", date(2024, 2, 29), office="vestiging_brugge")


def test_the_cli_report_has_the_tables_in_every_format(small_journal, database_url, tmp_path):
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["report", "--year", "2024", "--format", "json", "--database", database_url])
    assert result.exit_code == 0, result.output
    rep = json.loads(result.stdout)
    assert rep["first_registrations"]["total"]["total"] == 6 and rep["centrumsteden"]["total"]["total"] == 5
    result = runner.invoke(app, ["report", "--year", "2024", "--format", "csv", "--database", database_url])
    assert "2024,,first_registrations,office=loket_tielt,obligated,1" in result.stdout.splitlines()
    result = runner.invoke(app, ["report", "--year", "2024", "--as-of", "2024-02-03", "--format", "table",
                                 "--database", database_url])
    assert "\n  Vestiging Brugge " in result.stdout and "\nWest-Vlaanderen " in result.stdout  # Dutch by default
