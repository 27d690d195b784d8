"""Journal exports: a store's histories as a file, and a replayable store built from one.

An export holds what an auditor needs to check a history without the store that wrote it:

* the **process definitions** the journals ran on (name, version, content hash, deployment
  time and the BPMN source itself);
* per dossier its **row's journal head** (``journal_seq``, ``journal_head``, ``journal_time``),
  its version and stored state (the aggregate snapshot, optional), and **every journal entry
  with all its fields** (``seq, kind, actor, business_time, business_date, effective_date,
  schema_version, process_version, ruleset, rule_version, payload, prev_hash, hash``), the
  payload as the exact text the hash covers.

File format (:data:`FORMAT`, version :data:`FORMAT_VERSION`): JSON Lines, UTF-8, gzip-compressed
when the file name ends in ``.gz``. Line 1 is the header
``{"format", "format_version", "journal_schema", "meta", "definitions": [...], "dossiers": N}``;
each further line is one dossier ``{"dossier": {...}, "entries": [...]}``, in dossier-id order.
Keys are sorted and no time of export is written, so exporting the same histories twice gives
the same bytes (golden files in git, tests/golden/README.md). :func:`as_document` gives the same
content as one JSON object (``{"header": ..., "dossiers": [...]}``), which :func:`write` and
:func:`read` use for a file named ``.json`` or ``.json.gz``.

:func:`load_into` builds a store from an export: the schema is migrated (Alembic), then the
definitions, the dossier rows and the journal are inserted as they were. The result is
*replayable and readable* — ``inburgering replay``, ``dossier as-of``, ``report``, ``journal
verify`` — but not runnable: process instance states and the due-date index are not part of an
export, so a loaded store does not advance. Every chain is verified
(:func:`engine.journal.verify_dossier`) before anything is written; a broken one is refused
naming the dossier and the entry.

Public API: :func:`export_store`, :func:`write`, :func:`read`, :func:`verify`, :func:`load_into`,
:func:`replay_export`, :func:`describe`, :func:`differences`, :func:`entry_record`, :func:`dossier_record`,
:class:`JournalExport`, :class:`DossierRecord`, :class:`ExportError`.
"""
from __future__ import annotations

import gzip
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional

from sqlalchemy import func, insert, select
from sqlmodel import Session

from .db import make_engine, migrate
from .dossier import decode_state, encode_state
from .facts import SCHEMA_VERSION
from .journal import Break, verify_dossier
from .models import Dossier, JournalEntry, ProcessDefinition

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ENTRY_FIELDS",
    "DOSSIER_FIELDS",
    "DEFINITION_FIELDS",
    "ExportError",
    "DossierRecord",
    "JournalExport",
    "entry_record",
    "dossier_record",
    "export_store",
    "write",
    "read",
    "as_document",
    "verify",
    "load_into",
    "replay_export",
    "describe",
    "differences",
]

FORMAT = "inburgering-journal-export"
FORMAT_VERSION = 1

#: every field of a journal entry, with the JSON types it may have (the hash covers all but the last two)
ENTRY_FIELDS: dict[str, tuple[type, ...]] = {
    "seq": (int,), "kind": (str,), "actor": (str,), "business_time": (str,), "business_date": (str,),
    "effective_date": (str, type(None)), "schema_version": (int,), "process_version": (str, type(None)),
    "ruleset": (str, type(None)), "rule_version": (str, type(None)), "payload": (str,),
    "prev_hash": (str,), "hash": (str,),
}
#: the dossier row's fields an export keeps (its journal head, version and stored state)
DOSSIER_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,), "version": (int,), "journal_seq": (int,), "journal_head": (str,),
    "journal_time": (str, type(None)), "state": (dict, type(None)),
}
DEFINITION_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,), "version": (int,), "content_hash": (str,), "deployed_at": (str,), "source": (str,),
}


class ExportError(ValueError):
    """An export that cannot be read or loaded; the message names the file, line, dossier and field."""


@dataclass
class DossierRecord:
    """One dossier of an export: its row's journal head and every journal entry (plain JSON data)."""

    id: str
    journal_seq: int
    journal_head: str
    journal_time: Optional[str]
    version: int = 1
    state: Optional[dict] = None
    entries: list[dict] = field(default_factory=list)

    def row(self) -> dict:
        return {"id": self.id, "version": self.version, "journal_seq": self.journal_seq,
                "journal_head": self.journal_head, "journal_time": self.journal_time, "state": self.state}


@dataclass
class JournalExport:
    """The definitions and dossiers of an export, with free-form ``meta`` (how it was made)."""

    definitions: list[dict]
    dossiers: list[DossierRecord]
    meta: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    journal_schema: int = SCHEMA_VERSION

    def header(self) -> dict:
        return {"format": FORMAT, "format_version": self.format_version, "journal_schema": self.journal_schema,
                "meta": self.meta, "definitions": self.definitions, "dossiers": len(self.dossiers)}

    def dossier(self, dossier_id: str) -> DossierRecord:
        for record in self.dossiers:
            if record.id == dossier_id:
                return record
        raise KeyError(dossier_id)

    @property
    def entries(self) -> int:
        return sum(len(d.entries) for d in self.dossiers)


# ---------------------------------------------------------------- from a store


def entry_record(entry: JournalEntry) -> dict:
    """A journal entry (ORM row or anything with its attributes) as export data: every field, the
    payload as its stored text."""
    return {name: getattr(entry, name) for name in ENTRY_FIELDS}


def dossier_record(row: Dossier, entries: Iterable[JournalEntry], *, with_state: bool = True) -> DossierRecord:
    return DossierRecord(
        id=row.id, journal_seq=row.journal_seq, journal_head=row.journal_head, journal_time=row.journal_time,
        version=row.version, state=decode_state(row.state) if with_state else None,
        entries=[entry_record(e) for e in entries])


def export_store(source, *, dossier_ids: Iterable[str] | None = None, meta: dict | None = None,
                 with_state: bool = True) -> JournalExport:
    """Export every dossier of ``source`` (Engine, URL, SQLAlchemy engine or Session), or ``dossier_ids``,
    with every process definition the store holds. Orphan journal entries (no dossier row) are not
    exported: ``inburgering journal verify`` names them."""
    from .replay import SourceStore

    store = SourceStore(source)
    try:
        with store.session() as session:
            definitions = [
                {"name": d.name, "version": d.version, "content_hash": d.content_hash,
                 "deployed_at": d.deployed_at, "source": d.source}
                for d in session.execute(select(ProcessDefinition).order_by(ProcessDefinition.name,
                                                                            ProcessDefinition.version)).scalars()]
            query = select(Dossier).order_by(Dossier.id)
            if dossier_ids is not None:
                query = query.where(Dossier.id.in_(list(dossier_ids)))
            rows = list(session.execute(query).scalars())
            dossiers = []
            for row in rows:
                entries = session.execute(select(JournalEntry).where(JournalEntry.dossier_id == row.id)
                                       .order_by(JournalEntry.seq, JournalEntry.id)).scalars()
                dossiers.append(dossier_record(row, entries, with_state=with_state))
    finally:
        store.close()
    return JournalExport(definitions, dossiers, dict(meta or {}))


# ---------------------------------------------------------------- files


def _dumps(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def lines(export: JournalExport) -> Iterator[str]:
    """The export as JSON Lines (without line ends)."""
    yield _dumps(export.header())
    for record in sorted(export.dossiers, key=lambda d: d.id):
        yield _dumps({"dossier": record.row(), "entries": record.entries})


def as_document(export: JournalExport) -> dict:
    """The export as one JSON object: ``{"header": ..., "dossiers": [{"dossier", "entries"}, ...]}``."""
    return {"header": export.header(),
            "dossiers": [{"dossier": r.row(), "entries": r.entries} for r in sorted(export.dossiers, key=lambda d: d.id)]}


def write(export: JournalExport, path: Path | str) -> Path:
    """Write ``export`` to ``path`` as JSON Lines (gzip when it ends in ``.gz``; ``.json``/``.json.gz``: one
    JSON document).
    The same export always gives the same bytes (no timestamps, gzip mtime 0)."""
    path = Path(path)
    if _is_document(path):
        text = json.dumps(as_document(export), sort_keys=True, indent=1, ensure_ascii=False) + "\n"
        data = text.encode("utf-8")
    else:
        data = "".join(line + "\n" for line in lines(export)).encode("utf-8")
    if path.name.endswith(".gz"):
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as out:
            out.write(data)
        data = buffer.getvalue()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # a crash never leaves half an export under the real name
    return path


def _is_document(path: Path) -> bool:
    """``.json`` / ``.json.gz``: one JSON document; any other name: JSON Lines."""
    return path.name.endswith((".json", ".json.gz"))


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read(path: Path | str) -> JournalExport:
    """Read and check an export file (JSON Lines, or one JSON document when named ``.json``; gzip when
    named ``….gz``).

    Raises :class:`ExportError` naming the file, the line and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such export file")
    try:
        with _open_text(path) as stream:
            text = stream.read()
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ExportError(f"{path}: cannot be read: {err}") from None
    if _is_document(path):
        return _from_document(path, text)
    return _from_lines(path, text.splitlines())


def _parse(path: Path, number: int, line: str):
    try:
        return json.loads(line)
    except json.JSONDecodeError as err:
        raise ExportError(f"{path}: line {number}: not valid JSON: {err.msg} (column {err.colno})") from None


def _from_lines(path: Path, raw: list[str]) -> JournalExport:
    numbered = [(n, line) for n, line in enumerate(raw, start=1) if line.strip()]
    if not numbered:
        raise ExportError(f"{path}: empty file, not an export")
    header = _parse(path, *numbered[0])
    records = [(n, _parse(path, n, line)) for n, line in numbered[1:]]
    return _build(path, header, records)


def _from_document(path: Path, text: str) -> JournalExport:
    document = _parse(path, 1, text)
    if not isinstance(document, dict) or "header" not in document or not isinstance(document.get("dossiers"), list):
        raise ExportError(f"{path}: a JSON export document has 'header' and a list 'dossiers'")
    return _build(path, document["header"], [(f"dossiers[{i}]", d) for i, d in enumerate(document["dossiers"])])


def _check_fields(where: str, data, spec: dict, *, optional: tuple = ()) -> dict:
    if not isinstance(data, dict):
        raise ExportError(f"{where}: must be a JSON object, got {type(data).__name__}")
    for name, types in spec.items():
        if name not in data:
            if name in optional:
                continue
            raise ExportError(f"{where}: field {name!r} missing")
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ExportError(f"{where}: field {name!r} must be {wanted}, got {value!r:.60}")
    return data


def _build(path: Path, header, records: list[tuple]) -> JournalExport:
    where = f"{path}: header"
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ExportError(f"{where}: not an {FORMAT} file (format {header.get('format') if isinstance(header, dict) else None!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise ExportError(f"{where}: format_version {version!r}; this release reads 1 to {FORMAT_VERSION}")
    definitions = header.get("definitions")
    if not isinstance(definitions, list):
        raise ExportError(f"{where}: field 'definitions' must be a list")
    seen_definitions = set()
    for index, definition in enumerate(definitions):
        _check_fields(f"{where}: definitions[{index}]", definition, DEFINITION_FIELDS)
        key = (definition["name"], definition["version"])
        if key in seen_definitions:
            raise ExportError(f"{where}: definitions[{index}]: {key[0]} version {key[1]} appears twice")
        seen_definitions.add(key)
    dossiers: list[DossierRecord] = []
    seen: set[str] = set()
    for number, record in records:
        at = f"{path}: line {number}" if isinstance(number, int) else f"{path}: {number}"
        if not isinstance(record, dict) or not isinstance(record.get("dossier"), dict) \
                or not isinstance(record.get("entries"), list):
            raise ExportError(f"{at}: a dossier line is {{\"dossier\": {{...}}, \"entries\": [...]}}")
        row = _check_fields(f"{at}: dossier", record["dossier"], DOSSIER_FIELDS, optional=("state", "version"))
        at = f"{at}: dossier {row['id']}"
        if row["id"] in seen:
            raise ExportError(f"{at}: appears twice")
        seen.add(row["id"])
        for index, entry in enumerate(record["entries"]):
            _check_fields(f"{at}: entries[{index}]", entry, ENTRY_FIELDS)
        dossiers.append(DossierRecord(row["id"], row["journal_seq"], row["journal_head"], row["journal_time"],
                                      row.get("version", 1), row.get("state"), record["entries"]))
    expected = header.get("dossiers")
    if isinstance(expected, int) and expected != len(dossiers):
        raise ExportError(f"{where}: says {expected} dossiers, the file has {len(dossiers)} (truncated?)")
    return JournalExport(definitions, dossiers, dict(header.get("meta") or {}), version,
                         header.get("journal_schema", SCHEMA_VERSION))


# ---------------------------------------------------------------- checking and loading


def _row_objects(record: DossierRecord) -> tuple[Dossier, list[JournalEntry]]:
    row = Dossier(id=record.id, version=record.version, target_group="", state=b"",
                  journal_seq=record.journal_seq, journal_head=record.journal_head,
                  journal_time=record.journal_time)
    entries = [JournalEntry(id=index, dossier_id=record.id, **entry) for index, entry in enumerate(record.entries, 1)]
    return row, entries


def verify(export: JournalExport) -> list[Break]:
    """The first break of every dossier's hash chain that has one (``[]``: every chain intact)."""
    breaks = []
    for record in export.dossiers:
        row, entries = _row_objects(record)
        found = verify_dossier(row, sorted(entries, key=lambda e: (e.seq, e.id)))
        if found is not None:
            breaks.append(found)
    return breaks


def _state_of(record: DossierRecord) -> dict:
    """The stored state, or (an export without states) the journal's projection."""
    if record.state is not None:
        return record.state
    from .projection import fold, read as read_facts

    return fold(record.id, read_facts(record.entries)).to_json()


def load_into(export: JournalExport, database_url: str, *, check: bool = True) -> str:
    """Build a store at ``database_url`` (SQLite or PostgreSQL; migrated first) from ``export``; returns
    the URL. The store must hold no process definition and no dossier yet. With ``check`` (the
    default) every hash chain is verified first and a broken one refused (:class:`ExportError`
    naming the dossier and the entry); nothing is written then."""
    if check:
        breaks = verify(export)
        if breaks:
            raise ExportError(f"export does not verify ({len(breaks)} broken chain(s)); first: {breaks[0]}")
    db = make_engine(database_url)
    try:
        migrate(db)
        with Session(db) as session, session.begin():
            for table in (ProcessDefinition, Dossier, JournalEntry):
                if session.execute(select(func.count()).select_from(table.__table__)).scalar():
                    raise ExportError(f"{_safe(database_url)}: the store is not empty ({table.__tablename__} has rows); "
                                      "an export is loaded into an empty store")
            if export.definitions:
                session.execute(insert(ProcessDefinition.__table__), [
                    {k: d[k] for k in DEFINITION_FIELDS} for d in export.definitions])
            from .desk import name_key

            for record in export.dossiers:
                state = _state_of(record)
                session.execute(insert(Dossier.__table__).values(
                    id=record.id, version=record.version, target_group=state.get("target_group") or "",
                    agency=state.get("agency"), region=state.get("region"), next_due_at=None,
                    waiting_on=",".join(state.get("waiting") or []),
                    state=encode_state(state), journal_seq=record.journal_seq,
                    journal_head=record.journal_head, journal_time=record.journal_time,
                    name_key=name_key((state.get("newcomer") or {}).get("name"))))
                if record.entries:
                    session.execute(insert(JournalEntry.__table__),
                                    [{"dossier_id": record.id, **entry} for entry in record.entries])
    finally:
        db.dispose()
    return database_url


def _safe(url: str) -> str:
    """A URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}@{tail}"


def replay_export(export: JournalExport, *, law=None, database_url: str | None = None, stop_at_first: bool = False):
    """Load ``export`` (into ``database_url``, default a temporary SQLite file) and replay every dossier
    under ``law`` (default: the package's): :class:`engine.replay.ReplaySummary`."""
    from .replay import Replayer, replay_all

    def run(url: str):
        load_into(export, url)
        with Replayer([(d["name"], d["version"], d["source"]) for d in export.definitions], law=law) as replayer:
            return replay_all(url, replayer=replayer, stop_at_first=stop_at_first)

    if database_url is not None:
        return run(database_url)
    with tempfile.TemporaryDirectory(prefix="inburgering-export-") as tmp:
        return run(f"sqlite:///{tmp}/loaded.db")


def describe(divergence: dict) -> str:
    """One line naming the dossier, the entry (seq, kind) and the field of a replay divergence."""
    kind = divergence.get("entry_kind")
    entry = f"seq {divergence.get('seq')}" + (f" ({kind})" if kind else "")
    return (f"dossier {divergence.get('dossier_id')}: {entry}, field {divergence.get('field')}: "
            f"{divergence.get('message')}")


def differences(old: JournalExport, new: JournalExport) -> list[str]:
    """What changed between two exports of the same histories, one line per dossier (the first entry
    and field that differ) and per process definition: what a regeneration of a golden file changed."""
    out = []
    old_defs = {(d["name"], d["version"]): d["content_hash"] for d in old.definitions}
    new_defs = {(d["name"], d["version"]): d["content_hash"] for d in new.definitions}
    for key in sorted(set(old_defs) | set(new_defs)):
        if old_defs.get(key) != new_defs.get(key):
            what = "added" if key not in old_defs else "removed" if key not in new_defs else "source changed"
            out.append(f"process {key[0]} version {key[1]}: {what}")
    before = {d.id: d for d in old.dossiers}
    after = {d.id: d for d in new.dossiers}
    for dossier_id in sorted(set(before) | set(after)):
        a, b = before.get(dossier_id), after.get(dossier_id)
        if a is None or b is None:
            out.append(f"dossier {dossier_id}: {'added' if a is None else 'removed'}")
            continue
        for index in range(max(len(a.entries), len(b.entries))):
            x = a.entries[index] if index < len(a.entries) else None
            y = b.entries[index] if index < len(b.entries) else None
            if x is None or y is None:
                present = x or y
                out.append(f"dossier {dossier_id}: seq {present['seq']} ({present['kind']}): "
                           f"{'entry added' if x is None else 'entry removed'} "
                           f"({len(a.entries)} → {len(b.entries)} entries)")
                break
            field_name = next((name for name in ENTRY_FIELDS if name not in ("prev_hash", "hash")
                               and x[name] != y[name]), None)
            if field_name is not None:
                out.append(f"dossier {dossier_id}: seq {x['seq']} ({x['kind']}): field {field_name}: "
                           f"{x[field_name]!r:.120} → {y[field_name]!r:.120}")
                break
    return out
