"""Journal exports (engine/exports.py): a store's histories as a file, read back, loaded into an empty
store (SQLite and PostgreSQL) that exports the same again; bad files are refused naming the line, the
dossier and the field."""
from __future__ import annotations

import copy
import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from engine import exports
from engine.asof import state_as_of
from engine.reports import report

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture(scope="module")
def public() -> exports.JournalExport:
    return exports.read(GOLDEN / "scenarios-public.jsonl.gz")


def test_an_export_loads_into_an_empty_store_that_exports_it_again(public, database_url):
    exports.load_into(copy.deepcopy(public), database_url)
    again = exports.export_store(database_url, meta=public.meta)
    assert exports.as_document(again) == exports.as_document(public)
    assert exports.differences(public, again) == []
    # the loaded store is readable as the store that wrote it was
    assert state_as_of(database_url, "N3", date(2024, 3, 1))["infractions"][0]["type"] == "late_registration"
    assert report(database_url, 2024)["dossiers"] == 6
    with pytest.raises(exports.ExportError, match="not empty"):
        exports.load_into(public, database_url)


@pytest.mark.parametrize("name", ["x.jsonl", "x.jsonl.gz", "x.json", "x.json.gz"])
def test_every_file_form_reads_back_the_same_and_writes_the_same_bytes(public, tmp_path, name):
    path = exports.write(public, tmp_path / name)
    first = path.read_bytes()
    back = exports.read(path)
    assert exports.as_document(back) == exports.as_document(public)
    text = gzip.decompress(first) if name.endswith(".gz") else first
    assert text.startswith(b'{\n "dossiers"' if ".json" in name and "jsonl" not in name else b'{"definitions"')
    assert exports.write(back, tmp_path / name).read_bytes() == first
    assert not list(tmp_path.glob("*.tmp"))


def test_the_file_has_every_field_of_every_entry(public, tmp_path):
    path = exports.write(public, tmp_path / "x.jsonl")
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert (header["format"], header["format_version"], header["dossiers"]) == (exports.FORMAT, 1, 6)
    assert {d["name"] for d in header["definitions"]} == {"trajectory", "enforcement"}
    assert all(d["source"].startswith("<?xml") for d in header["definitions"])
    dossier = json.loads(lines[1])
    assert set(dossier["dossier"]) == set(exports.DOSSIER_FIELDS)
    assert all(set(e) == set(exports.ENTRY_FIELDS) for e in dossier["entries"])
    assert isinstance(dossier["entries"][0]["payload"], str)  # the text the hash covers, exactly


def _lines(public, tmp_path) -> list[str]:
    return exports.write(public, tmp_path / "x.jsonl").read_text().splitlines()


def _bad(tmp_path, lines: list[str], name: str = "bad.jsonl") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(exports.ExportError) as raised:
        exports.read(path)
    return str(raised.value)


def test_bad_files_are_refused_naming_line_dossier_and_field(public, tmp_path):
    lines = _lines(public, tmp_path)
    assert "line 3: not valid JSON" in _bad(tmp_path, [lines[0], lines[1], lines[2][:-5]])

    record = json.loads(lines[2])
    del record["entries"][4]["hash"]
    message = _bad(tmp_path, [lines[0], lines[1], json.dumps(record)] + lines[3:])
    assert f"line 3: dossier {record['dossier']['id']}: entries[4]: field 'hash' missing" in message

    record = json.loads(lines[2])
    record["entries"][0]["seq"] = "1"
    assert "field 'seq' must be int" in _bad(tmp_path, [lines[0], lines[1], json.dumps(record)] + lines[3:])

    assert "says 6 dossiers, the file has 5 (truncated?)" in _bad(tmp_path, lines[:-1])
    assert "appears twice" in _bad(tmp_path, lines + [lines[1]])
    header = json.loads(lines[0])
    assert "not an inburgering-journal-export file" in _bad(tmp_path, [json.dumps({**header, "format": "x"})] + lines[1:])
    assert "format_version 2; this release reads 1 to 1" in _bad(
        tmp_path, [json.dumps({**header, "format_version": 2})] + lines[1:])
    assert "empty file" in _bad(tmp_path, [""])
    (tmp_path / "broken.jsonl.gz").write_bytes(gzip.compress(b"{")[:-4])
    with pytest.raises(exports.ExportError, match="cannot be read"):
        exports.read(tmp_path / "broken.jsonl.gz")
    with pytest.raises(exports.ExportError, match="no such export file"):
        exports.read(tmp_path / "missing.jsonl")


def test_an_export_without_states_loads_the_projection_of_its_journal(public, tmp_path):
    bare = copy.deepcopy(public)
    for record in bare.dossiers:
        record.state = None
    url = exports.load_into(bare, f"sqlite:///{tmp_path}/bare.db")
    again = exports.export_store(url)
    from engine.dossier import DossierState

    def normal(state):  # the same state whatever compaction it was written with
        return DossierState.from_json(state).to_json()
    for record in again.dossiers:  # the journal folds to the state the engine stored
        assert normal(record.state) == normal(public.dossier(record.id).state)


def test_a_deleted_last_entry_is_refused(public, tmp_path):
    cut = copy.deepcopy(public)
    record = cut.dossier("N2")
    record.entries.pop()
    [found] = exports.verify(cut)
    assert found.dossier_id == "N2" and "dossier's head says" in found.problem
    with pytest.raises(exports.ExportError, match="dossier N2"):
        exports.load_into(cut, f"sqlite:///{tmp_path}/cut.db")


def test_the_cli_exports_a_store_that_loads_and_replays(tmp_path):
    """`inburgering journal export` writes what engine.exports reads back, verified and replayable."""
    from datetime import date

    from typer.testing import CliRunner

    from api.cli import app
    from engine import exports
    from engine.clock import brussels_instant
    from engine.service import bootstrap
    from engine.settings import Settings

    url = f"sqlite:///{tmp_path}/store.db"
    engine = bootstrap(Settings(database_url=url, demo_data=False, clock_mode="manual",
                                clock_start=brussels_instant(date(2024, 1, 31)).isoformat()))
    engine.import_newcomer({"id": "X1", "birth_date": "1990-01-01", "nationalities": ["SY"],
                            "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": "2024-01-31"})
    engine.db.dispose()
    assert CliRunner().invoke(app, ["sweep", "--until", "2024-05-02", "--database", url]).exit_code == 0
    out = tmp_path / "journal.jsonl.gz"
    result = CliRunner().invoke(app, ["journal", "export", "--out", str(out), "--database", url])
    assert result.exit_code == 0, result.output
    export = exports.read(out)
    assert [d.id for d in export.dossiers] == ["X1"] and exports.verify(export) == []
    assert exports.replay_export(export).ok
