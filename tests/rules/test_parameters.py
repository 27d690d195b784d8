"""Effective-dated parameters (ENGINEERING.md principle 5; TRAJECTORY.md §3)."""
from datetime import date, timedelta

import pytest

from rules import parameters
from rules.parameters import NoValueOnDate, ParameterFileError, UnknownParameter, load

BASELINE = date(1900, 1, 1)
DAY = timedelta(days=1)

EXPECTED_CONSTANTS = {
    "registration_months": 3, "reregistration_months": 3, "vdab_months": 2,
    "regularisation_days": 30, "b1_check_months": 24, "b1_activity_months": 6,
    "attendance_min_percent": 80, "early_termination_percent": 50,
    "mo_pass_core_percent": 50, "mo_pass_total_percent": 50, "pnt_required_hours": 40,
    "adult_age": 18, "exemption_age": 65, "fine_min": 50, "fine_max": 5000,
    "nt2_required_level": "A2",
}


@pytest.mark.parametrize("name, expected", sorted(EXPECTED_CONSTANTS.items()))
def test_constant_parameters(name, expected):
    assert parameters.value(name, date(2024, 6, 1)) == expected
    assert parameters.value(name, BASELINE) == expected


@pytest.mark.parametrize("name, switch, before, after", [
    ("pension_age", date(2025, 2, 1), 65, 66),
    ("pension_age", date(2030, 2, 1), 66, 67),
    ("fee_mo_course", date(2023, 9, 1), 0, 90),
    ("fee_nt2_course", date(2023, 9, 1), 0, 180),
    ("fee_mo_test", date(2023, 9, 1), 0, 90),
    ("fee_mo_exemption_test", date(2023, 9, 1), 0, 90),
    ("fee_b1_test", date(2023, 9, 1), 0, 90),
    ("reform_2022", date(2022, 3, 1), False, True),
    ("b1_obligation", date(2022, 3, 1), False, True),
    ("pnt_component", date(2023, 1, 1), False, True),
    ("mo_combined_scoring", date(2023, 3, 1), False, True),
])
def test_both_sides_of_every_effective_date(name, switch, before, after):
    assert parameters.value(name, switch - DAY) == before
    assert parameters.value(name, switch) == after
    assert parameters.value(name, switch + DAY) == after


def test_nt2_lesson_hours_per_advice():
    assert parameters.value("nt2_lesson_hours", date(2024, 1, 1)) == {
        "cvo_short_utc": 160, "cvo_standard": 240, "cvo_extended": 360,
        "cbe_nt2": 480, "cbe": 600, "cbe_alfa": 1140,
    }


def test_eu_plus_countries():
    countries = parameters.value("eu_plus_countries", date(2024, 1, 1))
    assert len(countries) == 30  # 26 EU members other than Belgium + IS, LI, NO, CH
    assert {"FR", "NL", "RO", "IS", "LI", "NO", "CH"} <= set(countries)
    assert "BE" not in countries and "GB" not in countries and "MA" not in countries
    assert len(set(countries)) == len(countries)


def test_every_shipped_parameter_starts_at_the_baseline_and_cites_sources():
    everything = parameters.all_parameters()
    assert len(everything) >= 28
    for name, parameter in everything.items():
        assert parameter.name == name
        assert parameter.values[0].start == BASELINE, name
        assert parameter.description and parameter.unit
        for dated in parameter.values:
            assert "TRAJECTORY.md" in dated.source or "seed" in dated.source, (name, dated.source)


@pytest.mark.parametrize("name", ["regularisation_days", "fine_min", "fine_max", "pnt_component", "mo_combined_scoring"])
def test_assumptions_are_marked(name):
    assert any("ASSUMPTION" in dated.source for dated in parameters.get(name).values)


def test_get_returns_the_dated_record():
    pension = parameters.get("pension_age")
    assert [(v.start, v.value) for v in pension.values] == [
        (BASELINE, 65), (date(2025, 2, 1), 66), (date(2030, 2, 1), 67)]
    assert pension.unit == "years"
    assert pension.in_force(date(2026, 1, 1)).start == date(2025, 2, 1)


def test_unknown_parameter_is_a_key_error_naming_it():
    with pytest.raises(UnknownParameter, match="no_such_thing") as caught:
        parameters.value("no_such_thing", date(2024, 1, 1))
    assert isinstance(caught.value, KeyError)
    with pytest.raises(KeyError):
        parameters.get("no_such_thing")


def test_no_value_before_the_first_start():
    with pytest.raises(NoValueOnDate, match=r"'adult_age'.*1899-12-31"):
        parameters.value("adult_age", date(1899, 12, 31))


def test_a_datetime_is_not_a_date():
    from datetime import datetime
    with pytest.raises(TypeError):
        parameters.value("adult_age", datetime(2024, 1, 1, 12))


def test_returned_values_cannot_change_the_cache():
    hours = parameters.value("nt2_lesson_hours", date(2024, 1, 1))
    hours["cbe"] = 1
    assert parameters.value("nt2_lesson_hours", date(2024, 1, 1))["cbe"] == 600
    countries = parameters.value("eu_plus_countries", date(2024, 1, 1))
    assert isinstance(countries, tuple)
    everything = parameters.all_parameters()
    everything.clear()
    assert parameters.get("adult_age").name == "adult_age"


def test_loaded_once():
    assert parameters.get("adult_age") is parameters.get("adult_age")


# ---------------------------------------------------------------- malformed files

GOOD = """\
name: {name}
description: A test parameter.
unit: days
values:
  - from: 1900-01-01
    value: 1
    source: "test"
  - from: 2020-01-01
    value: 2
    source: "test"
"""


def write(directory, file_name, text):
    (directory / file_name).write_text(text, encoding="utf-8")


def test_loader_reads_a_directory(tmp_path):
    write(tmp_path, "alpha.yaml", GOOD.format(name="alpha"))
    write(tmp_path, "README.txt", "not a parameter")
    loaded = load(tmp_path)
    assert list(loaded) == ["alpha"]
    assert loaded["alpha"].value_on(date(2019, 12, 31)) == 1
    assert loaded["alpha"].value_on(date(2020, 1, 1)) == 2
    assert load(str(tmp_path))["alpha"] == loaded["alpha"]


def test_dates_may_be_quoted(tmp_path):
    write(tmp_path, "alpha.yaml", GOOD.format(name="alpha").replace("from: 2020-01-01", 'from: "2020-01-01"'))
    assert load(tmp_path)["alpha"].values[1].start == date(2020, 1, 1)


@pytest.mark.parametrize("text, problem", [
    ("name: [unclosed\n", "invalid YAML"),
    ("- just\n- a list\n", "top level must be a mapping"),
    (GOOD.format(name="alpha").replace("unit: days\n", ""), "missing key 'unit'"),
    (GOOD.format(name="alpha").replace("description: A test parameter.\n", ""), "missing key 'description'"),
    (GOOD.format(name="beta"), "name 'beta' does not match the file name 'alpha'"),
    (GOOD.format(name="alpha").replace('    source: "test"\n', "", 1), r"values\[0\]: missing key 'source'"),
    (GOOD.format(name="alpha").replace('source: "test"', 'source: ""', 1), r"values\[0\]: 'source' must be a non-empty string"),
    (GOOD.format(name="alpha").replace("from: 2020-01-01", "from: 1890-01-01"), r"values\[1\]: unsorted start date 1890-01-01"),
    (GOOD.format(name="alpha").replace("from: 2020-01-01", "from: 1900-01-01"), r"values\[1\]: duplicate start date 1900-01-01"),
    (GOOD.format(name="alpha").replace("from: 2020-01-01", "from: 2020-02-30"), "invalid value: day is out of range"),
    (GOOD.format(name="alpha").replace("from: 2020-01-01", "from: 2020-01-01 10:00:00"), r"values\[1\]: 'from' must be a date"),
    (GOOD.format(name="alpha").replace("value: 2", "value: two"), r"values\[1\]: value 'two' is a string, earlier values are a number"),
    (GOOD.format(name="alpha").replace("value: 2", "value:"), r"values\[1\]: 'value' is empty"),
    (GOOD.format(name="alpha").replace("values:\n", "values: []\nx:\n"), "unexpected key"),
    ("name: alpha\ndescription: d\nunit: u\nvalues: []\n", "'values' must be a non-empty list"),
])
def test_malformed_files_are_refused_naming_file_and_problem(tmp_path, text, problem):
    write(tmp_path, "alpha.yaml", text)
    with pytest.raises(ParameterFileError, match=problem) as caught:
        load(tmp_path)
    assert "alpha.yaml" in str(caught.value)
    assert caught.value.file == "alpha.yaml"


def test_a_missing_directory_is_refused(tmp_path):
    with pytest.raises(ParameterFileError, match="is not a directory"):
        load(tmp_path / "nowhere")
