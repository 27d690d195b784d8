"""Report figures from the journal alone, checked against values computed by hand from the
scenario files (public 01–06 plus the extra story N7 of helpers.py)."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from api.web import charts
from api.web.i18n import Translator
from engine.reports import format_table, months_between, report, to_csv


@pytest.fixture(scope="module")
def report_2024(audit_store):
    return report(audit_store, 2024)


def test_registrations_by_region_agency_and_target_group(report_2024):
    # N1 atlas 02-05, N2 amal 05-20, N3 agii/wvl 04-02, N4 agii/vbr 02-01, N7 agii/limburg 01-20 (obligated);
    # N5 amal 09-01, N6 agii/brussel 04-01 (entitled)
    reg = report_2024["registrations"]
    rows = {(r["agency"], r["region"]): (r["obligated"], r["entitled"], r["total"]) for r in reg["rows"]}
    assert rows == {("atlas", "antwerpen_stad"): (1, 0, 1), ("amal", "gent_stad"): (1, 1, 2),
                    ("agii", "west_vlaanderen"): (1, 0, 1), ("agii", "vlaams_brabant"): (1, 0, 1),
                    ("agii", "limburg"): (1, 0, 1), ("agii", "brussel"): (0, 1, 1)}
    assert reg["total"] == {"obligated": 5, "entitled": 2, "excluded": 0, "total": 7}


def test_advice_distribution(report_2024):
    rows = {r["advice"]: r for r in report_2024["advice"]["rows"]}
    assert {k: (r["obligated"], r["entitled"]) for k, r in rows.items()} == {
        "cvo_standard": (1, 1), "cvo_short_utc": (1, 0), "cbe_nt2": (0, 1), "cbe_alfa": (1, 0)}
    assert rows["cvo_standard"]["share"] == 0.4
    assert rows["cbe_alfa"]["share_obligated"] == round(1 / 3, 4)
    assert rows["cbe_nt2"]["share_entitled"] == 0.5


def test_vdab_within_two_months(report_2024):
    # N1: contract 2024-03-01, VDAB 03-15 (in time); N4: contract 03-31, last timely day 05-31, VDAB 06-10 (late)
    vdab = report_2024["vdab_within_2_months"]
    assert (vdab["contracts"], vdab["within"], vdab["share"]) == (2, 1, 0.5)
    assert (vdab["fulfilled_by_horizon"], vdab["share_by_horizon"], vdab["pending"]) == (2, 1.0, 0)


def test_median_months_contract_to_attest(report_2024, audit_store):
    # attests in 2024: N4 (contract 03-31 → attest 07-15: 3 months + 15/31) and N7 (02-01 → 10-01: 8 months)
    n4 = 3 + 15 / 31
    assert months_between(date(2024, 3, 31), date(2024, 7, 15)) == pytest.approx(n4)
    durations = report_2024["attest_duration_months"]
    assert (durations["n"], durations["median"]) == (2, round((n4 + 8) / 2, 2))
    assert durations["by_advice"] == {"cvo_short_utc": {"n": 1, "median": round(n4, 2)},
                                      "cbe_alfa": {"n": 1, "median": 8.0}}
    assert durations["by_target_group"] == {"obligated": {"n": 2, "median": 5.74}}
    # N1's attest is 2025-01-20 (contract 2024-03-01): 10 months + 19/31
    assert report(audit_store, 2025)["attest_duration_months"]["median"] == round(10 + 19 / 31, 2)


def test_mo_pass_rate(report_2024):
    # MO tests 2024: N1 70/65 pass, N4 60/72 pass, N6 80/80 pass, N7 40/60 fail then 55/55 pass
    mo = report_2024["mo_tests"]
    assert (mo["tests"], mo["passed"], mo["pass_rate"]) == (5, 4, 0.8)
    assert (mo["persons"], mo["persons_passed"], mo["person_pass_rate"]) == (4, 4, 1.0)
    assert mo["by_target_group"]["obligated"]["tests"] == 4
    assert mo["by_target_group"]["entitled"]["pass_rate"] == 1.0


def test_number_of_attests(report_2024, audit_store):
    assert report_2024["attests"] == {"total": 2, "by_target_group": {"obligated": 2},
                                      "by_agency": {"agii": 2}}
    assert report(audit_store, 2025)["attests"]["total"] == 1  # N1
    assert report(audit_store, 2023)["attests"]["total"] == 0


def test_first_infractions_by_type(report_2024, audit_store):
    # N3 late_registration 2024-01-16, N2 late_registration 05-01, N4 late_vdab_registration 06-01,
    # N7 irregular_participation 03-01
    assert report_2024["first_infractions"] == {
        "total": 4, "by_type": {"irregular_participation": 1, "late_registration": 2, "late_vdab_registration": 1}}
    assert report_2024["handed_over"] == {"total": 1, "by_type": {"late_registration": 1}}  # N3 on 02-16
    assert report_2024["first_handed_over"]["total"] == 1
    assert report(audit_store, 2023)["first_infractions"]["total"] == 0


def test_as_of_gives_the_photo_a_report_published_then_would_have_seen(audit_store):
    photo = report(audit_store, 2024, as_of=date(2024, 3, 31))
    assert photo["as_of"] == photo["horizon"] == "2024-03-31"
    # registered by 03-31: N7 01-20, N4 02-01, N1 02-05
    assert photo["registrations"]["total"]["total"] == 3
    # N1's and N4's VDAB windows end 05-01 and 05-31: not yet counted
    vdab = photo["vdab_within_2_months"]
    assert (vdab["contracts"], vdab["pending"], vdab["share"]) == (0, 2, None)
    assert photo["attests"]["total"] == 0
    assert photo["first_infractions"]["by_type"] == {"irregular_participation": 1, "late_registration": 1}
    assert photo["mo_tests"]["tests"] == 0
    mid = report(audit_store, 2024, as_of=date(2024, 6, 15))
    assert mid["vdab_within_2_months"]["share"] == 0.5 and mid["attests"]["total"] == 0
    # by 06-15: N7 fail (04-01), N7 pass (05-01), N1 pass (05-10); N4 and N6 test in July
    assert (mid["mo_tests"]["tests"], mid["mo_tests"]["pass_rate"]) == (3, round(2 / 3, 4))


def test_output_formats(report_2024, tmp_path):
    text = format_table(report_2024)
    assert "Registrations in 2024" in text and "MO test results in 2024" in text
    assert "80.0%" in text  # MO pass rate per test
    rows = list(csv.DictReader(io.StringIO(to_csv(report_2024))))
    lookup = {(r["section"], r["row"], r["measure"]): r["value"] for r in rows}
    assert lookup[("attests", "total", "attests")] == "2"
    assert lookup[("mo_tests", "total", "pass_rate")] == "0.8"
    assert lookup[("first_infractions", "late_registration", "dossiers")] == "2"
    assert lookup[("registrations", "total", "total")] == "7"
    path = tmp_path / "report.png"
    charts.to_png(Translator("nl"), report_2024, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
