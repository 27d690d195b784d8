"""Process deployment: every BPMN file in ``processes/`` becomes a versioned definition.

At start-up each file is parsed and schema-validated (a bad file stops start-up,
naming file, line and reason); a file whose content changed becomes a new version;
running instances keep the version they started on (ENGINEERING.md principle 7).
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import bindparam
from sqlmodel import Session, func, select

from . import driver, spiff
from .errors import ProcessDeploymentError
from .models import ProcessDefinition

#: one deployed definition (``definition_id``), built once (engine/driver.py)
DEFINITION_ROW = select(ProcessDefinition.__table__).where(ProcessDefinition.__table__.c.id == bindparam("definition_id"))

PROCESS_DIR = Path(__file__).resolve().parent.parent / "processes"
PROCESS_NAMES = ("trajectory", "enforcement")


@dataclass(frozen=True)
class Deployed:
    id: int
    name: str
    version: int

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class ProcessRepository:
    """Deployed definitions and their parsed specs (parsed once per version, then cached)."""

    def __init__(self, directory: Path = PROCESS_DIR):
        self.directory = Path(directory)
        self._current: dict[str, Deployed] = {}
        self._by_id: dict[int, Deployed] = {}
        self._specs: dict[int, object] = {}
        self._lock = threading.Lock()

    def read_sources(self) -> dict[str, bytes]:
        sources = {}
        for name in PROCESS_NAMES:
            path = self.directory / f"{name}.bpmn"
            if not path.exists():
                raise ProcessDeploymentError(f"{path}: process file missing", code="process_file_missing",
                                             params={"file": str(path)})
            sources[name] = path.read_bytes()
        return sources

    def deploy(self, session: Session, sources: dict[str, bytes] | None = None, *, at: str) -> list[Deployed]:
        """Validate every file first, then record new versions; nothing is written if one fails."""
        sources = sources or self.read_sources()
        parsed = {}
        for name, source in sources.items():
            try:
                parsed[name] = spiff.parse_process(source, name, f"{name}.bpmn")
            except spiff.BpmnParseError as err:
                raise ProcessDeploymentError(str(err), code="process_invalid", params={"detail": str(err)}) from err
        deployed = []
        for name, source in sources.items():
            digest = hashlib.sha256(source).hexdigest()
            row = session.exec(select(ProcessDefinition).where(
                ProcessDefinition.name == name, ProcessDefinition.content_hash == digest)).first()
            if row is None:
                latest = session.exec(select(func.max(ProcessDefinition.version)).where(
                    ProcessDefinition.name == name)).one()
                row = ProcessDefinition(name=name, version=(latest or 0) + 1, content_hash=digest,
                                        source=source.decode("utf-8"), deployed_at=at)
                session.add(row)
                session.flush()
            item = Deployed(row.id, name, row.version)
            with self._lock:
                self._current[name] = item
                self._by_id[row.id] = item
                self._specs[row.id] = parsed[name]
            deployed.append(item)
        return deployed

    def current(self, name: str) -> Deployed:
        return self._current[name]

    def spec(self, session: Session, definition_id: int):
        with self._lock:
            spec = self._specs.get(definition_id)
        if spec is None:  # an older version than the ones deployed at start-up (Core: Session or Connection)
            found = driver.writer(session).rows(DEFINITION_ROW, {"definition_id": definition_id})
            if not found:
                raise LookupError(f"process definition {definition_id} is not in the store")
            row = found[0]
            spec = spiff.parse_process(row["source"].encode("utf-8"), row["name"],
                                       f"{row['name']}.bpmn@{row['version']}")
            with self._lock:
                self._specs[definition_id] = spec
                self._by_id[definition_id] = Deployed(row["id"], row["name"], row["version"])
        return spec

    def describe(self, definition_id: int) -> Deployed:
        return self._by_id[definition_id]


# ----------------------------------------------------------------------------- versions for operators
# (``inburgering processes``, ``/admin/processes``): what is deployed, and where its instances wait.

from SpiffWorkflow.util.task import TaskState  # noqa: E402

READY_STATE, WAITING_STATE = TaskState.READY, TaskState.WAITING  # as stored in instance states


def versions(engine) -> list[dict]:
    """Every deployed version of every process, oldest first, with its instance counts."""
    from sqlalchemy import func as sql_func

    from .models import Instance

    table, instance = ProcessDefinition.__table__, Instance.__table__
    with engine.reading() as connection:
        rows = connection.execute(select(table.c.id, table.c.name, table.c.version, table.c.deployed_at,
                                         table.c.content_hash).order_by(table.c.name, table.c.version)).all()
        counts = connection.execute(select(instance.c.definition_id, instance.c.status, sql_func.count())
                                    .group_by(instance.c.definition_id, instance.c.status)).all()
    per: dict[int, dict] = {}
    for definition_id, status, count in counts:
        per.setdefault(definition_id, {})[status] = count
    out = []
    for row in rows:
        try:
            current = engine.processes.current(row.name).id == row.id
        except KeyError:
            current = False
        found = per.get(row.id, {})
        out.append({"name": row.name, "version": row.version, "deployed_at": row.deployed_at,
                    "content_hash": row.content_hash[:12], "current": current,
                    "instances": {"waiting": found.get("waiting", 0), "completed": found.get("completed", 0)}})
    return out


def version_detail(engine, name: str, version: int) -> dict:
    """One version: its instance counts, its wait states and how many instances wait in each.

    The counts read every waiting instance's stored state (decompressed JSON, no Spiff objects);
    a few milliseconds per thousand instances."""
    import json
    import zlib

    from .errors import NotFound
    from .models import Instance

    found = next((v for v in versions(engine) if v["name"] == name and v["version"] == version), None)
    if found is None:
        raise NotFound(f"process {name!r} has no version {version}", code="process_version_not_found",
                       params={"process": name, "version": version})
    table, instance = ProcessDefinition.__table__, Instance.__table__
    with engine.reading() as connection:
        definition_id = connection.execute(select(table.c.id).where(table.c.name == name,
                                                                    table.c.version == version)).scalar_one()
        spec = engine.processes.spec(connection, definition_id)
        waits = {spec_name: _wait_kind(task_spec) for spec_name, task_spec in spec.task_specs.items()}
        waits = {k: v for k, v in waits.items() if v is not None}
        counts = {spec_name: 0 for spec_name in waits}
        result = connection.execution_options(yield_per=500).execute(
            select(instance.c.state, instance.c.state_format).where(instance.c.definition_id == definition_id,
                                                                    instance.c.status == "waiting"))
        from . import spiff
        for blob, state_format in result:
            state = json.loads(zlib.decompress(blob))
            here = {spec_name for spec_name, task_state in spiff.task_states(state, state_format)
                    if task_state in (READY_STATE, WAITING_STATE) and spec_name in waits}
            for spec_name in here:
                counts[spec_name] += 1
    return {**found, "wait_states": [{"task": spec_name, "kind": waits[spec_name], "label": spec.task_specs[spec_name].bpmn_name,
                                      "instances": counts[spec_name]}
                                     for spec_name in sorted(waits, key=lambda n: (-counts[n], n))]}


def _wait_kind(task_spec) -> str | None:
    """``user_task`` or ``catch_event`` for the task specs an instance can wait in; None otherwise."""
    if getattr(task_spec, "manual", False):
        return "user_task"
    definition = getattr(task_spec, "event_definition", None)
    kind = type(task_spec).__name__
    if definition is not None and type(definition).__name__ != "NoneEventDefinition" \
            and kind not in ("StartEvent", "EndEvent") and "Throw" not in kind:
        return "catch_event"
    return None
