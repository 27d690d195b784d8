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

from sqlmodel import Session, func, select

from . import spiff
from .errors import ProcessDeploymentError
from .models import ProcessDefinition

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
                raise ProcessDeploymentError(f"{path}: process file missing")
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
                raise ProcessDeploymentError(str(err)) from err
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
            table = ProcessDefinition.__table__
            row = session.execute(select(table).where(table.c.id == definition_id)).mappings().one()
            spec = spiff.parse_process(row["source"].encode("utf-8"), row["name"],
                                       f"{row['name']}.bpmn@{row['version']}")
            with self._lock:
                self._specs[definition_id] = spec
                self._by_id[definition_id] = Deployed(row["id"], row["name"], row["version"])
        return spec

    def describe(self, definition_id: int) -> Deployed:
        return self._by_id[definition_id]
