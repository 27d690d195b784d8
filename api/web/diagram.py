"""What the process diagram highlights: the current wait states and the path taken.

Per process instance of a dossier (one trajectory, one enforcement per infraction),
from the dossier's journal and view alone:

* **waiting** — the user tasks the dossier view's ``waiting_on`` names (the
  trajectory's), ``decide`` for an infraction handed over to enforcement, and the
  intermediate timers / event gateways whose timer is armed;
* **armed** — boundary timers armed on a waiting task (a running legal deadline);
* **done** — start events of started instances, completed user tasks
  (``task_completed``), fired deadlines (``deadline_fired``) and the service tasks the
  journal shows ran, carried forward through the automatic elements that follow
  (service tasks, gateways — a join only when all its inputs are done — and end
  events); **flows** — the sequence flows taken between them.

The BPMN XML comes from the deployed process definition the instance runs on.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from lxml import etree
from sqlmodel import Session, select

from engine.models import ProcessDefinition

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_AUTOMATIC = {"serviceTask", "scriptTask", "sendTask", "businessRuleTask", "task", "endEvent",
              "intermediateThrowEvent", "parallelGateway", "exclusiveGateway", "inclusiveGateway",
              "eventBasedGateway"}
_BRANCHING = {"exclusiveGateway", "inclusiveGateway", "eventBasedGateway"}


@dataclass
class Graph:
    kinds: dict = field(default_factory=dict)      # element id → BPMN local tag name
    names: dict = field(default_factory=dict)      # element id → name
    flows: dict = field(default_factory=dict)      # flow id → (source, target)
    outgoing: dict = field(default_factory=dict)   # element id → [flow ids]
    incoming: dict = field(default_factory=dict)   # element id → [flow ids]

    @property
    def starts(self) -> list[str]:
        return [i for i, k in self.kinds.items() if k == "startEvent"]


_graphs: dict[str, Graph] = {}
_lock = threading.Lock()


def parse(source: str) -> Graph:
    """The flow graph of a BPMN file (cached by content)."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    with _lock:
        cached = _graphs.get(digest)
    if cached is not None:
        return cached
    root = etree.fromstring(source.encode("utf-8"), parser=etree.XMLParser(resolve_entities=False, no_network=True))
    graph = Graph()
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        for element in process:  # flow elements are the process's children (no sub-processes here)
            if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
                continue
            tag, ident = etree.QName(element).localname, element.get("id")
            if ident is None or tag in ("documentation", "extensionElements", "laneSet"):
                continue
            if tag == "sequenceFlow":
                source_ref, target_ref = element.get("sourceRef"), element.get("targetRef")
                graph.flows[ident] = (source_ref, target_ref)
                graph.outgoing.setdefault(source_ref, []).append(ident)
                graph.incoming.setdefault(target_ref, []).append(ident)
            else:
                graph.kinds[ident] = tag
                graph.names[ident] = " ".join((element.get("name") or ident).split())
    with _lock:
        _graphs[digest] = graph
    return graph


def definition_source(engine, name: str, version: int) -> Optional[str]:
    """The BPMN XML of a deployed process version (None when there is no such version)."""
    with Session(engine.db) as session:
        row = session.exec(select(ProcessDefinition).where(ProcessDefinition.name == name,
                                                           ProcessDefinition.version == version)).first()
        return row.source if row is not None else None


_DRAWING = re.compile(r"<bpmndi:BPMNDiagram\b.*?</bpmndi:BPMNDiagram>", re.S)


def drawing_source(engine, name: str, version: int) -> Optional[str]:
    """The BPMN XML to draw a deployed version with: its own, or — when it differs from the process file
    of today only in its drawing (BPMNDI: shapes, label bounds) — today's file, so an instance that
    started on an older version is drawn with today's label fixes. The model (what runs, what is
    highlighted) is the same by that test; None when there is no such version."""
    source = definition_source(engine, name, version)
    if source is None:
        return None
    directory = getattr(getattr(engine, "processes", None), "directory", None)
    current = Path(directory) / f"{name}.bpmn" if directory is not None else None
    if current is None or not current.is_file():
        return source
    today = current.read_text(encoding="utf-8")
    if today != source and _DRAWING.sub("", today) == _DRAWING.sub("", source):
        return today
    return source


@dataclass
class InstanceTrace:
    instance: str
    process: str
    version: int
    infraction: Optional[str] = None
    evidence: set = field(default_factory=set)
    armed: set = field(default_factory=set)
    handed_over: bool = False

    @property
    def label(self) -> str:
        return f"{self.process}@{self.version}"


def _split_label(label: Optional[str]) -> tuple[Optional[str], Optional[int]]:
    if not label or "@" not in label:
        return None, None
    name, _, version = label.partition("@")
    return name, int(version) if version.isdigit() else None


def traces(entries: list[dict]) -> list[InstanceTrace]:
    """The instances of a dossier and what its journal shows of each (oldest instance first)."""
    by_id: dict[str, InstanceTrace] = {}
    by_infraction: dict[str, InstanceTrace] = {}
    trajectory: Optional[InstanceTrace] = None
    for entry in entries:
        kind, payload = entry["kind"], entry.get("payload") or {}
        name, version = _split_label(entry.get("process_version"))
        if kind == "instance_started" and name is not None:
            trace = InstanceTrace(payload["instance"], name, version, payload.get("infraction"))
            trace.evidence.add("__start__")
            by_id[trace.instance] = trace
            if trace.infraction:
                by_infraction[trace.infraction] = trace
            elif name == "trajectory":
                trajectory = trace
            continue
        if "instance" in payload and payload["instance"] in by_id:
            trace = by_id[payload["instance"]]
        elif name == "enforcement" and payload.get("infraction") in by_infraction:
            trace = by_infraction[payload["infraction"]]
        elif name == "trajectory":
            trace = trajectory
        else:
            continue
        if trace is None:
            continue
        if kind in ("timer_armed", "timer_moved"):
            trace.armed.add(payload["timer"])
        elif kind == "timer_disarmed":
            trace.armed.discard(payload["timer"])
        elif kind == "task_completed":
            trace.evidence.add(payload["task"])
        elif kind == "deadline_fired":
            trace.evidence.add(DEADLINE_TIMERS.get(payload["name"], payload["name"]))
        elif kind == "timer_fired":  # journals of release 0.1
            trace.evidence.add(payload["timer"])
        elif kind == "attest_issued":
            trace.evidence.add("issue_attest_task")
            if not payload.get("b1_in_scope"):
                trace.evidence.add("end_no_b1")
        elif kind == "b1_checked":
            trace.evidence.update(("b1_due", "b1_check_task"))
        elif kind == "notice_issued":
            trace.evidence.add("issue_notice_task")
        elif kind == "handed_over":
            trace.handed_over = True
            trace.evidence.update(("regularisation_deadline", "hand_over_task"))
        elif kind == "infraction_closed":
            outcome = payload.get("outcome")
            after = trace.handed_over
            if outcome == "regularised":
                trace.evidence.add("regularised_after_handover" if after else "regularised")
            elif outcome == "annulled":
                trace.evidence.add("annulled_after_handover" if after else "annulled_in_period")
            elif outcome == "withdrawn":
                trace.evidence.add("withdrawn_after_handover" if after else "withdrawn_in_period")
        elif kind == "decision_recorded":
            trace.evidence.add("record_decision_task")
    return sorted(by_id.values(), key=lambda t: (t.infraction is not None, t.instance))


#: deadline name (journal) → the BPMN timer event that fired it (processes/README.md)
DEADLINE_TIMERS = {"registration": "registration_deadline", "reregistration": "reregistration_deadline",
                   "vdab": "vdab_deadline", "b1": "b1_due"}


def highlight(graph: Graph, trace: InstanceTrace, view: dict) -> dict:
    """Markers for one instance: ``waiting``, ``armed``, ``done`` element ids and ``flows`` taken."""
    waiting: set[str] = set()
    if trace.infraction is None:
        waiting |= {s for s in view.get("waiting_on", []) if s != "decide"}
    else:
        infraction = next((i for i in view.get("infraction_details", []) if i["id"] == trace.infraction), None)
        if infraction is not None and infraction["outcome"] == "handed_over":
            waiting.add("decide")
    armed: set[str] = set()
    for timer in trace.armed:
        if graph.kinds.get(timer) == "boundaryEvent":
            armed.add(timer)
        else:
            waiting.add(timer)
    waiting &= set(graph.kinds)
    armed &= set(graph.kinds)

    done = {e for e in trace.evidence if e in graph.kinds}
    if "__start__" in trace.evidence:
        done |= set(graph.starts)
    taken: set[str] = set()
    queue = list(done)
    while queue:
        node = queue.pop()
        outs = graph.outgoing.get(node, [])
        branching = graph.kinds.get(node) in _BRANCHING and len(outs) > 1
        for flow in outs:
            target = graph.flows[flow][1]
            reached = target in done or target in waiting or target in armed
            if branching and not reached:
                continue
            taken.add(flow)
            if target in done or graph.kinds.get(target) not in _AUTOMATIC:
                continue
            inputs = graph.incoming.get(target, [])
            if graph.kinds[target] == "parallelGateway" and len(inputs) > 1 \
                    and not all(graph.flows[f][0] in done for f in inputs):
                continue
            done.add(target)
            queue.append(target)
    done -= waiting
    return {"instance": trace.instance, "process": trace.process, "version": trace.version,
            "infraction": trace.infraction, "waiting": sorted(waiting), "armed": sorted(armed),
            "done": sorted(done), "flows": sorted(taken)}


def diagrams(engine, view: dict, entries: list[dict]) -> list[dict]:
    """One entry per process instance of the dossier, with its markers and element names."""
    out = []
    for trace in traces(entries):
        source = definition_source(engine, trace.process, trace.version)
        if source is None:
            continue
        graph = parse(source)
        marks = highlight(graph, trace, view)
        marks["waiting_names"] = [graph.names[i] for i in graph.kinds if i in marks["waiting"]]
        marks["armed_names"] = [graph.names[i] for i in graph.kinds if i in marks["armed"]]
        marks["done_names"] = [graph.names[i] for i in graph.kinds if i in marks["done"]]
        out.append(marks)
    return out
