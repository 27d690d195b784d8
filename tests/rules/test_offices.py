"""The dated lists of agency offices and centrumsteden (seed 000, question 1), checked against the
reporting regions of rules/geography.py."""
from __future__ import annotations

from datetime import date

import pytest

from rules import geography, offices

#: each centrumstad and the region rules/geography.py must give its code (TRAJECTORY.md §1)
CENTRUMSTEDEN = {"aalst": "oost_vlaanderen", "antwerpen": "antwerpen_stad", "brugge": "west_vlaanderen",
                 "genk": "limburg", "gent": "gent_stad", "hasselt": "limburg", "kortrijk": "west_vlaanderen",
                 "leuven": "vlaams_brabant", "mechelen": "provincie_antwerpen", "oostende": "west_vlaanderen",
                 "roeselare": "west_vlaanderen", "sint_niklaas": "oost_vlaanderen", "turnhout": "provincie_antwerpen"}


@pytest.mark.parametrize("day", [date(2020, 6, 1), date(2024, 12, 31), date(2025, 1, 1), date(2026, 6, 1)])
def test_the_13_centrumsteden_lie_in_their_region(day):
    cities = offices.centrumsteden_on(day)
    assert set(cities) == set(CENTRUMSTEDEN)
    for city, codes in cities.items():
        assert codes, city
        for code in codes:
            assert geography.locate(code).region == CENTRUMSTEDEN[city], (city, code)
    every = [code for codes in cities.values() for code in codes]
    assert len(every) == len(set(every))  # no code in two cities


def test_the_2025_merger_gives_hasselt_its_new_code():
    assert offices.centrumstad_of("71022", date(2024, 12, 31)) == "hasselt"
    assert offices.centrumstad_of("71072", date(2024, 12, 31)) is None  # the merged code did not exist yet
    assert offices.centrumstad_of("71072", date(2025, 1, 1)) == "hasselt"
    assert offices.centrumstad_of("71022", date(2025, 1, 1)) == "hasselt"  # a dossier keeps its old code
    assert offices.centrumstad_of("37015", date(2025, 1, 1)) is None and offices.centrumstad_of(None, date(2025, 1, 1)) is None


def test_every_office_serves_a_reporting_region_and_the_seed_tables_offices_are_there():
    day = date(2020, 12, 31)
    listed = offices.offices_on(day)
    regions = {region for region, _ in geography._CITIES.values()} | {r for _, (r, _a) in geography._PREFIXES}
    assert {o.region for o in listed.values()} == regions  # every region has offices, none other
    # seed 000, Tabel 1: 12 offices in provincie Antwerpen, 10 in Limburg, 17 in Oost-Vlaanderen,
    # 9 in Vlaams-Brabant, 7 in West-Vlaanderen, 4 bon offices in Brussel; Atlas and IN-Gent one each
    counts = {region: len(offices.offices_of_region(region, day)) for region in regions}
    assert counts == {"antwerpen_stad": 1, "gent_stad": 1, "provincie_antwerpen": 12, "limburg": 10,
                      "oost_vlaanderen": 17, "vlaams_brabant": 9, "west_vlaanderen": 7, "brussel": 4}
    assert offices.office_on("loket_gent", day).region == "oost_vlaanderen"  # AgII's office for the province
    assert offices.office_on("bon_molenbeek", day).name == "bon Molenbeek"
    assert offices.office_on("nowhere", day) is None


def test_the_office_table_follows_the_law_in_force_and_a_caller_cannot_change_it():
    from rules import parameters

    day = date(2024, 6, 1)
    listed = offices.offices_on(day)
    listed.clear()  # the caller's copy
    assert offices.office_on("loket_gent", day) is not None and offices.offices_on(day)
    one = {"loket_gent": {"name": "Loket Gent (reform)", "region": "oost_vlaanderen"}}
    law = parameters.default_law().with_overrides(
        {"agency_offices": [{"from": "2024-01-01", "value": one, "source": "test"}]}, "one office")
    with parameters.using(law):
        assert list(offices.offices_on(day)) == ["loket_gent"]
        assert offices.office_on("loket_gent", day).name == "Loket Gent (reform)"
        assert offices.offices_on(date(2023, 6, 1)) == offices.offices_on(date(2023, 6, 1)) != {}  # before it
        assert len(offices.offices_on(date(2023, 6, 1))) > 1
    assert offices.office_on("loket_gent", day).name != "Loket Gent (reform)"
