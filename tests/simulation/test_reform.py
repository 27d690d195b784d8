"""What-if reforms: the reform file's validation, the overrides in force, and law vs reform through the engine."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rules import parameters
from simulation import reform as reforms
from simulation.reform import ReformError, apply_overrides, load_reform, parse_reform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "reform-regularisation-60-days.yaml"


def _reform(**overrides) -> dict:
    return {"name": "test", "description": "a test reform", "parameters": overrides}


def test_the_example_reform_file_is_valid():
    reform = load_reform(EXAMPLE)
    assert reform.name == "regularisation-60-days"
    assert reform.overrides == {"regularisation_days": [(date(2023, 1, 1), 60, reform.overrides[
        "regularisation_days"][0][2])]}
    assert "regularisation_days from 2023-01-01: 60 (law: 30)" in reform.describe()[0]


@pytest.mark.parametrize("document, path, problem", [
    ([1, 2], "", "top level must be a mapping"),
    ({**_reform(x=[]), "extra": 1}, "extra", "unknown key"),
    ({"description": "d", "parameters": {"regularisation_days": [{"from": "2023-01-01", "value": 1}]}}, "name",
     "non-empty text"),
    (_reform(), "parameters", "at least one parameter"),
    (_reform(regularisation_dayz=[{"from": "2023-01-01", "value": 60}]), "parameters.regularisation_dayz",
     "unknown parameter"),
    (_reform(regularisation_days=[]), "parameters.regularisation_days", "non-empty list"),
    (_reform(regularisation_days=[{"from": "2023-01-01", "value": "sixty"}]),
     "parameters.regularisation_days[0].value", "takes a number"),
    (_reform(reform_2022=[{"from": "2023-01-01", "value": 1}]), "parameters.reform_2022[0].value",
     "takes a boolean"),
    (_reform(regularisation_days=[{"from": "2023-02-30", "value": 60}]),
     "parameters.regularisation_days[0].from", "calendar date"),
    (_reform(regularisation_days=[{"value": 60}]), "parameters.regularisation_days[0].from", "missing"),
    (_reform(regularisation_days=[{"from": "2023-01-01"}]), "parameters.regularisation_days[0].value", "missing"),
    (_reform(regularisation_days=[{"from": "2024-01-01", "value": 60}, {"from": "2023-01-01", "value": 45}]),
     "parameters.regularisation_days[1].from", "strictly increase"),
    (_reform(regularisation_days=[{"from": "2023-01-01", "value": 60, "until": "2024-01-01"}]),
     "parameters.regularisation_days[0].until", "unknown key"),
    (_reform(eu_plus_countries=[{"from": "2023-01-01", "value": ["NL", 7]}]),
     "parameters.eu_plus_countries[0].value", "list of string"),
])
def test_a_bad_reform_is_refused_naming_the_path(document, path, problem):
    with pytest.raises(ReformError) as caught:
        parse_reform(document, "r.yaml")
    assert caught.value.path == path
    assert problem in str(caught.value) and str(caught.value).startswith("r.yaml: ")


def test_a_mapping_parameter_needs_the_same_keys():
    name = next(n for n, p in parameters.all_parameters().items() if isinstance(p.values[0].value, dict)
                or hasattr(p.values[0].value, "keys"))
    law = parameters.get(name).values[-1].value
    fewer = dict(list(dict(law).items())[1:])
    with pytest.raises(ReformError, match=r"needs exactly the keys .*; missing") as caught:
        parse_reform(_reform(**{name: [{"from": "2023-01-01", "value": fewer}]}))
    assert caught.value.path == f"parameters.{name}[0].value"


def test_a_bad_file_stops_the_command_before_anything_runs(tmp_path):
    from api.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ndescription: y\nparameters:\n  fine_maxx:\n    - {from: 2023-01-01, value: 9}\n")
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "--reform", str(bad), "--scale", "0.001"])
    assert result.exit_code == 2
    assert "parameters.fine_maxx: unknown parameter" in result.output
    result = runner.invoke(app, ["simulate", "--reform", str(EXAMPLE), "--database", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2 and "--database is not allowed" in result.output
    assert not (tmp_path / "x.db").exists()  # the reform never touches a store of the user's
    result = runner.invoke(app, ["simulate", "--chart", str(tmp_path / "c.png")])
    assert result.exit_code == 2 and "go with --reform" in result.output


def test_simulate_refuses_a_reform_in_a_given_store(tmp_path):
    from simulation.driver import simulate

    with pytest.raises(ValueError, match="temporary store only"):
        simulate(2023, 0.001, 1, database_url=f"sqlite:///{tmp_path}/x.db", reform=load_reform(EXAMPLE))
    assert not (tmp_path / "x.db").exists()


def test_overrides_are_in_force_only_inside_and_from_their_date():
    overrides = load_reform(EXAMPLE).overrides
    assert parameters.value("regularisation_days", date(2023, 6, 1)) == 30
    with apply_overrides(overrides):
        assert parameters.value("regularisation_days", date(2023, 6, 1)) == 60
        assert parameters.value("regularisation_days", date(2022, 12, 31)) == 30  # the law before the reform
        assert parameters.value("fine_max", date(2023, 6, 1)) == parameters.get("fine_max").values[-1].value
        # in force for this thread only: another thread (another unit of work) still decides under the law
        import threading
        seen = []
        thread = threading.Thread(target=lambda: seen.append(parameters.value("regularisation_days",
                                                                               date(2023, 6, 1))))
        thread.start()
        thread.join()
        assert seen == [30]
    assert parameters.value("regularisation_days", date(2023, 6, 1)) == 30
    with pytest.raises(KeyError):
        with apply_overrides(overrides):
            raise KeyError("the law comes back after an error too")
    assert parameters.value("regularisation_days", date(2023, 6, 1)) == 30


@pytest.mark.slow
def test_sixty_days_to_regularise_give_fewer_hand_overs_than_the_law():
    """Same seeded population, two runs through the engine: the hand-overs are the handed_over facts of
    each run's journal; a journal written from the generator alone has none."""
    from simulation.origins import write_generator_journal
    from simulation.population import generate

    until = date(2024, 9, 30)
    result = reforms.compare(load_reform(EXAMPLE), 2023, 0.02, 1, until, via="engine")
    law, reformed = result.law, result.reformed
    assert law.reform is None and reformed.reform == "regularisation-60-days"
    assert law.persons == reformed.persons and law.events == reformed.events  # the same population and plan
    assert law.errors == [] and reformed.errors == [] and law.refused == []
    handed_law, handed_reform = law.outcomes["hand_overs"]["total"], reformed.outcomes["hand_overs"]["total"]
    assert 0 < handed_reform < handed_law, (handed_law, handed_reform)
    assert law.outcomes["notices"]["total"] == reformed.outcomes["notices"]["total"] > 0  # same infractions
    # what the reformed engine refused are officers' decisions planned (under the law) for hand-overs that no
    # longer happen, or happen 30 days later than planned
    assert {r["type"] for r in reformed.refused} == {"enforcement_decision"}
    assert len(reformed.refused) >= handed_law - handed_reform
    row = next(r for r in result.rows if r[:2] == ("hand_overs", "total"))
    assert row == ("hand_overs", "total", handed_law, handed_reform)
    assert "hand-overs to enforcement" in reforms.format_table(result)
    assert f"outcome,hand_overs,total,{handed_law},{handed_reform},{handed_reform - handed_law}" in \
        reforms.to_csv(result)
    # the generator alone writes no hand-over: the difference is the engine's
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/g.db"
        write_generator_journal(url, generate(2023, 0.02, 1), until)
        assert reforms.outcomes(url)["hand_overs"]["total"] == 0


@pytest.mark.slow
def test_a_reform_is_in_force_in_every_worker_process(tmp_path):
    """A one-month registration period (law: three) reaches the engine in worker processes too."""
    from simulation.driver import simulate
    from simulation.population import generate

    short = parse_reform(_reform(registration_months=[{"from": "2023-01-01", "value": 1}]))
    population = generate(2023, 0.003, 7)
    until = date(2024, 3, 31)
    law = simulate(2023, 0.003, 7, until, via="engine", population=population)
    one = simulate(2023, 0.003, 7, until, via="engine", population=population, reform=short)
    two = simulate(2023, 0.003, 7, until, via="engine", population=population, reform=short, workers=2)
    assert two.workers == 2 and two.errors == []
    assert one.outcomes == two.outcomes and one.cohort == two.cohort  # (computed beside the report with workers)
    assert one.outcomes["notices"]["total"] > law.outcomes["notices"]["total"]
    assert parameters.value("registration_months", date(2023, 6, 1)) == 3  # the caller's law is untouched
    chart = tmp_path / "c.png"
    rows = [(m, "total", law.outcomes[m]["total"], one.outcomes[m]["total"]) for m in reforms.MEASURES]
    reforms.to_png(reforms.Comparison(short, law, one, rows), chart)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
