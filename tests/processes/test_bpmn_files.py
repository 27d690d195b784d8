"""Tests for processes/trajectory.bpmn and processes/enforcement.bpmn.

Three layers:

* **structure** - both files validate against the BPMN 2.0 schema and parse with
  SpiffWorkflow 3.2.0; every element of the ID contract (processes/README.md) exists
  with the right task-spec class, operation, parameters, timer expression, signal,
  boundary attachment and cancelActivity flag;
* **diagram** - every flow node has a BPMNShape and every sequence flow a BPMNEdge,
  the edges touch their source and target, shapes do not overlap, flows run left to
  right except the listed loop-back flows (so the files open cleanly in Camunda
  Modeler and bpmn.io);
* **behaviour** - each process is driven through its main paths with a small test
  script engine that records service calls and makes ``due(...)`` timers fire or wait.

Spiff's stock ``TimeDateEventDefinition`` compares with the wall clock, so a past ISO
instant fires and a far-future instant keeps a timer waiting (``None`` would crash the
stock class; the engine's clocked subclass treats it as "not running").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    EventBasedGateway,
    ExclusiveGateway,
    IntermediateCatchEvent,
    ParallelGateway,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions import SignalEventDefinition as BaseSignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR as SPIFF_VALIDATOR
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask, UserTask
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
TRAJECTORY = PROCESSES / "trajectory.bpmn"
ENFORCEMENT = PROCESSES / "enforcement.bpmn"
FILES = {"trajectory": TRAJECTORY, "enforcement": ENFORCEMENT}

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
BPMN = "{%s}" % NS["bpmn"]

FIRE = "2000-01-01T00:00:00+00:00"  # in the past: a stock timer fires at once
WAIT = "2999-01-01T00:00:00+00:00"  # far future: a stock timer keeps waiting
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)  # the fixed clock of the clocked specs

# --------------------------------------------------------------------------------------
# The element-ID contract (processes/README.md)
# --------------------------------------------------------------------------------------

TRAJECTORY_CLASSES = {
    "start_trajectory": StartEvent,
    "decide_target_group_task": ServiceTask,
    "register": UserTask,
    "registration_deadline": BoundaryEvent,
    "establish_late_registration": ServiceTask,
    "end_late_registration": EndEvent,
    "reregistration_deadline": BoundaryEvent,
    "merge_reregistration": ExclusiveGateway,
    "establish_late_reregistration": ServiceTask,
    "await_reregistration": EventBasedGateway,
    "registered_after_infraction": IntermediateCatchEvent,
    "reregistration_again": IntermediateCatchEvent,
    "end_late_reregistration": EndEvent,
    "intake": UserTask,
    "contract": UserTask,
    "split_components": ParallelGateway,
    "mo": UserTask,
    "nt2": UserTask,
    "vdab": UserTask,
    "pnt": UserTask,
    "vdab_deadline": BoundaryEvent,
    "establish_late_vdab": ServiceTask,
    "end_late_vdab": EndEvent,
    "join_components": ParallelGateway,
    "issue_attest_task": ServiceTask,
    "b1_in_scope": ExclusiveGateway,
    "b1_due": IntermediateCatchEvent,
    "b1_check_task": ServiceTask,
    "end_trajectory": EndEvent,
    "end_no_b1": EndEvent,
}

ENFORCEMENT_CLASSES = {
    "start_enforcement": StartEvent,
    "issue_notice_task": ServiceTask,
    "await_regularisation": EventBasedGateway,
    "regularised": IntermediateCatchEvent,
    "close_regularised": ServiceTask,
    "end_regularised": EndEvent,
    "annulled_in_period": IntermediateCatchEvent,
    "close_annulled_in_period": ServiceTask,
    "end_annulled_in_period": EndEvent,
    "regularisation_deadline": IntermediateCatchEvent,
    "hand_over_task": ServiceTask,
    "decide": UserTask,
    "record_decision_task": ServiceTask,
    "end_decided": EndEvent,
    "annulled_after_handover": BoundaryEvent,
    "close_annulled_after_handover": ServiceTask,
    "end_annulled_after_handover": EndEvent,
    "withdrawn_in_period": IntermediateCatchEvent,
    "close_withdrawn_in_period": ServiceTask,
    "end_withdrawn_in_period": EndEvent,
    "withdrawn_after_handover": BoundaryEvent,
    "close_withdrawn_after_handover": ServiceTask,
    "end_withdrawn_after_handover": EndEvent,
    "regularised_after_handover": BoundaryEvent,
    "close_regularised_after_handover": ServiceTask,
    "end_regularised_after_handover": EndEvent,
}

CLASSES = {"trajectory": TRAJECTORY_CLASSES, "enforcement": ENFORCEMENT_CLASSES}

# service task id -> (operation, resultVariable or None, {parameter: python expression})
SERVICES = {
    "trajectory": {
        "decide_target_group_task": ("decide_target_group", "target_decision", {}),
        "establish_late_registration": ("establish_infraction", None, {"trigger": "'registration_deadline'"}),
        "establish_late_reregistration": ("establish_infraction", None, {"trigger": "'reregistration_deadline'"}),
        "establish_late_vdab": ("establish_infraction", None, {"trigger": "'vdab_deadline'"}),
        "issue_attest_task": ("issue_attest", "attest", {}),
        "b1_check_task": ("b1_check", "b1", {}),
    },
    "enforcement": {
        "issue_notice_task": ("issue_notice", None, {}),
        "close_regularised": ("close_infraction", None, {"outcome": "'regularised'"}),
        "close_annulled_in_period": ("close_infraction", None, {"outcome": "'annulled'"}),
        "hand_over_task": ("hand_over", None, {}),
        "record_decision_task": ("record_decision", None, {}),
        "close_annulled_after_handover": ("close_infraction", None, {"outcome": "'annulled'"}),
        "close_withdrawn_in_period": ("close_infraction", None, {"outcome": "'withdrawn'"}),
        "close_withdrawn_after_handover": ("close_infraction", None, {"outcome": "'withdrawn'"}),
        "close_regularised_after_handover": ("close_infraction", None, {"outcome": "'regularised'"}),
    },
}

# timer event id -> timeDate expression
TIMERS = {
    "trajectory": {
        "registration_deadline": "due('registration')",
        "reregistration_deadline": "due('reregistration')",
        "reregistration_again": "due('reregistration')",
        "vdab_deadline": "due('vdab')",
        "b1_due": "due('b1')",
    },
    "enforcement": {"regularisation_deadline": "due('regularisation')"},
}

# boundary event id -> (attached to, cancelActivity)
BOUNDARIES = {
    "trajectory": {
        "registration_deadline": ("register", False),
        "reregistration_deadline": ("register", False),
        "vdab_deadline": ("vdab", False),
    },
    "enforcement": {
        "annulled_after_handover": ("decide", True),
        "withdrawn_after_handover": ("decide", True),
        "regularised_after_handover": ("decide", True),
    },
}

# catch event behind an event-based gateway -> the gateway (Spiff moves its event
# definition into the gateway's MultipleEventDefinition)
GATEWAY_EVENTS = {
    "trajectory": {
        "registered_after_infraction": "await_reregistration",
        "reregistration_again": "await_reregistration",
    },
    "enforcement": {
        "regularised": "await_regularisation",
        "annulled_in_period": "await_regularisation",
        "regularisation_deadline": "await_regularisation",
        "withdrawn_in_period": "await_regularisation",
    },
}

# declared signals: id -> name
DECLARED_SIGNALS = {
    "trajectory": {"signal_registered": "registered"},
    "enforcement": {"signal_regularised": "regularised", "signal_annulled": "annulled",
                    "signal_withdrawn": "withdrawn"},
}

# signal catch event id -> signal name
SIGNALS = {
    "trajectory": {"registered_after_infraction": "registered"},
    "enforcement": {
        "regularised": "regularised",
        "annulled_in_period": "annulled",
        "annulled_after_handover": "annulled",
        "withdrawn_in_period": "withdrawn",
        "withdrawn_after_handover": "withdrawn",
        "regularised_after_handover": "regularised",
    },
}

# sequence flows drawn right to left (loops); every other flow runs left to right
LOOP_BACK_FLOWS = {
    "trajectory": {"sf_reregistration_again__merge_reregistration"},
    "enforcement": set(),
}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def parse_spec(process_id: str, validator=None):
    parser = SpiffBpmnParser(validator=validator or BpmnValidator())
    parser.add_bpmn_file(str(FILES[process_id]))
    return parser.get_spec(process_id)


@pytest.fixture(scope="module")
def specs():
    return {pid: parse_spec(pid) for pid in FILES}


@pytest.fixture(scope="module")
def clocked_specs():
    """The specs as the engine parses them (engine/spiff.py): timers re-evaluate
    ``due(...)`` on every refresh against ``engine.clock`` and treat None as "not running".
    Needed where a test moves a deadline after its timer task exists (the stock timer
    evaluates its expression only once per task)."""
    from engine.spiff import parse_process

    return {pid: parse_process(path.read_bytes(), pid, path.name) for pid, path in FILES.items()}


def xml(process_id: str):
    return etree.parse(str(FILES[process_id]))


def process_node(doc, process_id):
    (node,) = doc.xpath(f"/bpmn:definitions/bpmn:process[@id='{process_id}']", namespaces=NS)
    return node


def flow_nodes(process):
    """Flow nodes of the process: every direct child except flows and non-node content."""
    skip = {"sequenceFlow", "documentation", "extensionElements", "laneSet", "textAnnotation", "association"}
    return [el for el in process if isinstance(el.tag, str) and etree.QName(el).localname not in skip]


def bounds(shape):
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))


def on_border(point, box, tol=0.5):
    px, py = point
    x, y, w, h = box
    inside = x - tol <= px <= x + w + tol and y - tol <= py <= y + h + tol
    on_edge = min(abs(px - x), abs(px - x - w), abs(py - y), abs(py - y - h)) <= tol
    return inside and on_edge


def on_diamond(point, box, tol=0.5):
    px, py = point
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    return abs(abs(px - cx) / (w / 2) + abs(py - cy) / (h / 2) - 1) <= tol / min(w, h) * 4


def on_circle(point, box, tol=0.5):
    px, py = point
    x, y, w, h = box
    cx, cy, r = x + w / 2, y + h / 2, w / 2
    return abs(((px - cx) ** 2 + (py - cy) ** 2) ** 0.5 - r) <= tol


def touches(point, shape_el, box):
    kind = etree.QName(shape_el).localname
    if kind.endswith("Gateway"):
        return on_diamond(point, box)
    if kind.endswith("Event"):
        return on_circle(point, box)
    return on_border(point, box)


def overlap(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


@dataclass
class Call:
    task: str
    operation: str
    params: dict


class RecordingScriptEngine(PythonScriptEngine):
    """Provides ``due(name)`` from a dict and records every service call."""

    DEADLINES = ("registration", "reregistration", "vdab", "b1", "regularisation")

    def __init__(self, dues: dict | None = None, responses: dict | None = None, after_call=None):
        self.dues = {name: WAIT for name in self.DEADLINES}
        self.dues.update(dues or {})
        self.responses = responses or {}
        self.after_call = after_call  # (engine, Call) -> None, e.g. to move a deadline
        self.calls: list[Call] = []
        self.clock = self  # for the engine's clocked timers (clocked_specs)
        super().__init__(environment=TaskDataEnvironment({"due": self.due}))

    def now(self):
        return NOW

    def due(self, name):
        return self.dues[name]  # KeyError on an unknown deadline name

    def call_service(self, task, operation_name, operation_params):
        params = {name: spec["value"] for name, spec in operation_params.items()}
        call = Call(task.task_spec.name, operation_name, params)
        self.calls.append(call)
        if self.after_call is not None:
            self.after_call(self, call)
        return json.dumps(self.responses.get(operation_name, {}))

    def operations(self):
        return [(c.operation, c.params) for c in self.calls]


def run(wf):
    wf.do_engine_steps()
    wf.refresh_timers()
    wf.do_engine_steps()


def start(spec, engine) -> BpmnWorkflow:
    wf = BpmnWorkflow(spec, script_engine=engine)
    run(wf)
    return wf


def ready(wf):
    return sorted(t.task_spec.name for t in wf.get_tasks(state=TaskState.READY, manual=True))


def waiting(wf):
    return sorted(
        t.task_spec.name
        for t in wf.get_tasks(state=TaskState.WAITING)
        if getattr(t.task_spec, "event_definition", None) is not None
    )


def completed(wf):
    return {t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)}


def complete(wf, name, **data):
    (task,) = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == name]
    task.data.update(data)
    task.run()
    run(wf)


def signal(wf, name):
    wf.catch(BpmnEvent(SignalEventDefinition(name)))
    run(wf)


# --------------------------------------------------------------------------------------
# Structure: schema, parse, contract
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("process_id", FILES)
@pytest.mark.parametrize("validator", [BpmnValidator(), SPIFF_VALIDATOR], ids=["bpmn-xsd", "bpmn+spiff-xsd"])
def test_schema_valid_and_parses(process_id, validator):
    spec = parse_spec(process_id, validator)
    assert spec.name == process_id


def test_validator_rejects_invalid_bpmn():
    """Sanity check that schema validation is really on."""
    broken = TRAJECTORY.read_text(encoding="utf-8").replace(
        '<bpmn:userTask id="intake"', '<bpmn:userTask bogus="1" id="intake"', 1
    )
    parser = SpiffBpmnParser(validator=BpmnValidator())
    with pytest.raises(ValidationException):
        parser.add_bpmn_str(broken.encode("utf-8"), filename="broken.bpmn")


@pytest.mark.parametrize("process_id", FILES)
def test_process_is_executable_and_single(process_id):
    doc = xml(process_id)
    processes = doc.xpath("/bpmn:definitions/bpmn:process", namespaces=NS)
    assert [p.get("id") for p in processes] == [process_id]
    assert processes[0].get("isExecutable") == "true"


@pytest.mark.parametrize("process_id", FILES)
def test_contract_ids_and_classes(specs, process_id):
    spec = specs[process_id]
    for bpmn_id, cls in CLASSES[process_id].items():
        assert bpmn_id in spec.task_specs, f"{process_id}: missing {bpmn_id}"
        assert type(spec.task_specs[bpmn_id]) is cls, f"{bpmn_id}: {type(spec.task_specs[bpmn_id])}"


@pytest.mark.parametrize("process_id", FILES)
def test_no_unlisted_flow_nodes(process_id):
    """Every flow node in the file is part of the contract (no strays)."""
    ids = {el.get("id") for el in flow_nodes(process_node(xml(process_id), process_id))}
    assert ids == set(CLASSES[process_id])


@pytest.mark.parametrize("process_id", FILES)
def test_ids_unique_including_extension_elements(process_id):
    """Spiff 3.2.0's ProcessParser indexes *every* element with an ``id`` attribute,
    extension elements included: a ``serviceTaskOperator id="issue_attest"`` inside a
    service task with ``id="issue_attest"`` replaces the task in the index and parsing
    fails ("There is no support implemented for this task type"). Hence the ``_task``
    suffix on the six service tasks whose operation shares their name. (Operator and
    parameter ids may repeat among themselves: nothing looks them up by id.)"""
    process = process_node(xml(process_id), process_id)
    elements = [el for el in process.iter() if isinstance(el.tag, str) and el.get("id")]
    bpmn_ids = [el.get("id") for el in elements if el.tag.startswith(BPMN)]
    assert len(bpmn_ids) == len(set(bpmn_ids)), "duplicate BPMN ids"
    extension_ids = {el.get("id") for el in elements if not el.tag.startswith(BPMN)}
    assert not extension_ids & set(bpmn_ids), "extension-element id equals a BPMN element id"


def test_stock_parser_needs_distinct_operator_ids():
    """Documents the Spiff limitation behind the ``_task`` suffix (see README)."""
    text = TRAJECTORY.read_text(encoding="utf-8").replace("issue_attest_task", "issue_attest")
    parser = SpiffBpmnParser(validator=BpmnValidator())
    parser.add_bpmn_str(text.encode("utf-8"), filename="collision.bpmn")
    with pytest.raises(ValidationException, match="no support implemented"):
        parser.get_spec("trajectory")


@pytest.mark.parametrize("process_id", FILES)
def test_service_operations(specs, process_id):
    spec = specs[process_id]
    for bpmn_id, (operation, result, params) in SERVICES[process_id].items():
        ts = spec.task_specs[bpmn_id]
        assert ts.operation_name == operation, bpmn_id
        assert ts.operation_params == {k: {"value": v, "type": "str"} for k, v in params.items()}, bpmn_id
        if result is not None:
            assert ts.result_variable == result, bpmn_id
    service_ids = {i for i, c in CLASSES[process_id].items() if c is ServiceTask}
    assert service_ids == set(SERVICES[process_id])


@pytest.mark.parametrize("process_id", FILES)
def test_timers(specs, process_id):
    spec = specs[process_id]
    process = process_node(xml(process_id), process_id)
    for bpmn_id, expression in TIMERS[process_id].items():
        (time_date,) = process.xpath(
            f"./*[@id='{bpmn_id}']/bpmn:timerEventDefinition/bpmn:timeDate", namespaces=NS
        )
        assert time_date.text == expression
        assert time_date.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "bpmn:tFormalExpression"
        definition = spec.task_specs[bpmn_id].event_definition
        if bpmn_id in GATEWAY_EVENTS[process_id]:
            # Spiff moves the events behind an event-based gateway into the gateway.
            gateway = spec.task_specs[GATEWAY_EVENTS[process_id][bpmn_id]].event_definition
            assert isinstance(gateway, MultipleEventDefinition)
            (definition,) = [d for d in gateway.event_definitions if isinstance(d, TimeDateEventDefinition)]
        assert type(definition) is TimeDateEventDefinition, bpmn_id
        assert definition.expression == expression, bpmn_id


@pytest.mark.parametrize("process_id", FILES)
def test_boundary_events(specs, process_id):
    spec = specs[process_id]
    for bpmn_id, (host, cancel) in BOUNDARIES[process_id].items():
        ts = spec.task_specs[bpmn_id]
        assert ts.cancel_activity is cancel, bpmn_id
        split = spec.task_specs[f"{host}.BoundaryEventSplit"]
        assert isinstance(split, BoundaryEventSplit)
        assert bpmn_id in [o.name for o in split.outputs]
        assert host in [o.name for o in split.outputs]
        assert isinstance(spec.task_specs[f"{host}.BoundaryEventJoin"], BoundaryEventJoin)
    hosts = {host for host, _ in BOUNDARIES[process_id].values()}
    attached = {
        name.split(".")[0] for name in spec.task_specs if name.endswith(".BoundaryEventSplit")
    }
    assert attached == hosts


@pytest.mark.parametrize("process_id", FILES)
def test_signals(specs, process_id):
    spec = specs[process_id]
    doc = xml(process_id)
    names = {s.get("id"): s.get("name") for s in doc.xpath("/bpmn:definitions/bpmn:signal", namespaces=NS)}
    assert names == DECLARED_SIGNALS[process_id]
    for bpmn_id, name in SIGNALS[process_id].items():
        (ref,) = doc.xpath(f"//bpmn:*[@id='{bpmn_id}']/bpmn:signalEventDefinition/@signalRef", namespaces=NS)
        assert names[ref] == name
        if bpmn_id in GATEWAY_EVENTS[process_id]:
            gateway = spec.task_specs[GATEWAY_EVENTS[process_id][bpmn_id]].event_definition
            caught = [d.name for d in gateway.event_definitions if isinstance(d, SignalEventDefinition)]
            assert name in caught, bpmn_id
        else:
            definition = spec.task_specs[bpmn_id].event_definition
            assert isinstance(definition, SignalEventDefinition) and definition.name == name, bpmn_id


@pytest.mark.parametrize("process_id", FILES)
def test_event_based_gateways(specs, process_id):
    """Each event-based gateway's outputs are exactly the catch events listed behind it,
    and its MultipleEventDefinition holds one definition per catch event."""
    spec = specs[process_id]
    gateways = {}
    for event, gateway in GATEWAY_EVENTS[process_id].items():
        gateways.setdefault(gateway, []).append(event)
    doc = xml(process_id)
    in_file = {g.get("id") for g in doc.xpath("//bpmn:eventBasedGateway", namespaces=NS)}
    assert in_file == set(gateways)
    for gateway, events in gateways.items():
        ts = spec.task_specs[gateway]
        assert sorted(o.name for o in ts.outputs) == sorted(events), gateway
        assert isinstance(ts.event_definition, MultipleEventDefinition)
        assert len(ts.event_definition.event_definitions) == len(events), gateway


def test_enforcement_gateway_order(specs):
    gateway = specs["enforcement"].task_specs["await_regularisation"]
    assert sorted(o.name for o in gateway.outputs) == ["annulled_in_period", "regularisation_deadline",
                                                       "regularised", "withdrawn_in_period"]
    caught = [d.name for d in gateway.event_definition.event_definitions if isinstance(d, SignalEventDefinition)]
    assert sorted(caught) == ["annulled", "regularised", "withdrawn"]


def test_reregistration_loop_structure():
    """Both the boundary timer and the loop timer flow into the merge, the only way
    into establish_late_reregistration (TRAJECTORY.md §6.6)."""
    doc = xml("trajectory")
    flows = {(f.get("sourceRef"), f.get("targetRef")) for f in doc.xpath("//bpmn:sequenceFlow", namespaces=NS)}
    into = lambda target: sorted(s for s, t in flows if t == target)  # noqa: E731
    out_of = lambda source: sorted(t for s, t in flows if s == source)  # noqa: E731
    assert into("merge_reregistration") == ["reregistration_again", "reregistration_deadline"]
    assert into("establish_late_reregistration") == ["merge_reregistration"]
    assert out_of("establish_late_reregistration") == ["await_reregistration"]
    assert out_of("await_reregistration") == ["registered_after_infraction", "reregistration_again"]
    assert out_of("registered_after_infraction") == ["end_late_reregistration"]
    assert into("end_late_reregistration") == ["registered_after_infraction"]


def test_engine_parse_process_accepts_trajectory():
    """engine/spiff.py parses the file and swaps the loop timer inside the gateway for
    its clocked class."""
    from engine.spiff import ClockedTimeDateEventDefinition, parse_process

    spec = parse_process(TRAJECTORY.read_bytes(), "trajectory", TRAJECTORY.name)
    inner = spec.task_specs["await_reregistration"].event_definition.event_definitions
    assert [type(d) for d in inner] == [SignalEventDefinition, ClockedTimeDateEventDefinition]
    assert inner[1].expression == "due('reregistration')"
    assert type(spec.task_specs["reregistration_deadline"].event_definition) is ClockedTimeDateEventDefinition


def test_b1_gateway(specs):
    gateway = specs["trajectory"].task_specs["b1_in_scope"]
    assert gateway.default_task_spec == "end_no_b1"
    conditions = {target: cond.args[0] for cond, target in gateway.cond_task_specs if cond is not None}
    assert conditions == {"b1_due": "attest['b1_in_scope']"}
    doc = xml("trajectory")
    (gw,) = doc.xpath("//bpmn:exclusiveGateway[@id='b1_in_scope']", namespaces=NS)
    assert gw.get("default") == "no_b1"
    (flow,) = doc.xpath("//bpmn:sequenceFlow[@id='to_b1_due']", namespaces=NS)
    assert (flow.get("sourceRef"), flow.get("targetRef")) == ("b1_in_scope", "b1_due")
    (flow,) = doc.xpath("//bpmn:sequenceFlow[@id='no_b1']", namespaces=NS)
    assert (flow.get("sourceRef"), flow.get("targetRef")) == ("b1_in_scope", "end_no_b1")


@pytest.mark.parametrize("process_id", FILES)
def test_names_and_documentation(process_id):
    process = process_node(xml(process_id), process_id)
    assert process.get("name")
    assert "TRAJECTORY.md §" in process.findtext("bpmn:documentation", namespaces=NS)
    for el in flow_nodes(process):
        assert el.get("name"), el.get("id")
        doc = el.findtext("bpmn:documentation", namespaces=NS)
        assert doc and "TRAJECTORY.md §" in doc, el.get("id")


@pytest.mark.parametrize("process_id", FILES)
def test_incoming_outgoing_match_flows(process_id):
    process = process_node(xml(process_id), process_id)
    flows = process.findall("bpmn:sequenceFlow", NS)
    for el in flow_nodes(process):
        nid = el.get("id")
        incoming = sorted(e.text for e in el.findall("bpmn:incoming", NS))
        outgoing = sorted(e.text for e in el.findall("bpmn:outgoing", NS))
        assert incoming == sorted(f.get("id") for f in flows if f.get("targetRef") == nid), nid
        assert outgoing == sorted(f.get("id") for f in flows if f.get("sourceRef") == nid), nid


# --------------------------------------------------------------------------------------
# Diagram interchange (BPMNDI)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("process_id", FILES)
def test_diagram_complete(process_id):
    doc = xml(process_id)
    process = process_node(doc, process_id)
    (plane,) = doc.xpath("//bpmndi:BPMNDiagram/bpmndi:BPMNPlane", namespaces=NS)
    assert plane.get("bpmnElement") == process_id
    shapes = {s.get("bpmnElement"): s for s in plane.findall("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in plane.findall("bpmndi:BPMNEdge", NS)}
    nodes = {el.get("id"): el for el in flow_nodes(process)}
    flows = {f.get("id"): f for f in process.findall("bpmn:sequenceFlow", NS)}
    assert set(shapes) == set(nodes), "one BPMNShape per flow node, no dangling shapes"
    assert set(edges) == set(flows), "one BPMNEdge per sequence flow, no dangling edges"
    di_ids = [el.get("id") for el in plane]
    assert len(di_ids) == len(set(di_ids))
    for nid, shape in shapes.items():
        x, y, w, h = bounds(shape)
        assert w > 0 and h > 0, nid
    for fid, edge in edges.items():
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.findall("di:waypoint", NS)]
        assert len(points) >= 2, fid
        source, target = flows[fid].get("sourceRef"), flows[fid].get("targetRef")
        assert touches(points[0], nodes[source], bounds(shapes[source])), f"{fid} leaves {source}"
        assert touches(points[-1], nodes[target], bounds(shapes[target])), f"{fid} enters {target}"
        for (ax, ay), (bx, by) in zip(points, points[1:]):
            assert ax == bx or ay == by, f"{fid}: orthogonal segments only"


@pytest.mark.parametrize("process_id", FILES)
def test_diagram_layout(process_id):
    doc = xml(process_id)
    process = process_node(doc, process_id)
    shapes = {s.get("bpmnElement"): bounds(s) for s in doc.iterfind(".//bpmndi:BPMNShape", NS)}
    nodes = {el.get("id"): el for el in flow_nodes(process)}
    attached = {nid: el.get("attachedToRef") for nid, el in nodes.items() if el.get("attachedToRef")}
    # no overlapping shapes, except a boundary event on its host's border
    ids = sorted(shapes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            if attached.get(a) == b or attached.get(b) == a:
                continue
            assert not overlap(shapes[a], shapes[b]), f"{a} overlaps {b}"
    for event, host in attached.items():
        x, y, w, h = shapes[event]
        assert on_border((x + w / 2, y + h / 2), shapes[host]), f"{event} not on the border of {host}"
    # left to right: every flow's target starts right of its source's left edge,
    # except the explicitly listed loop-back flows, which must really go right to left
    flow_ids = set()
    for f in process.findall("bpmn:sequenceFlow", NS):
        fid = f.get("id")
        flow_ids.add(fid)
        rightwards = shapes[f.get("targetRef")][0] > shapes[f.get("sourceRef")][0]
        assert rightwards != (fid in LOOP_BACK_FLOWS[process_id]), fid
    assert LOOP_BACK_FLOWS[process_id] <= flow_ids
    # labels of events and gateways do not cover another shape or another label
    labels = {}
    for shape in doc.iterfind(".//bpmndi:BPMNShape", NS):
        label = shape.find("bpmndi:BPMNLabel", NS)
        if label is None:
            continue
        lb = bounds(label)
        for other, box in shapes.items():
            if other != shape.get("bpmnElement"):
                assert not overlap(lb, box), f"label of {shape.get('bpmnElement')} covers {other}"
        for other, box in labels.items():
            assert not overlap(lb, box), f"label of {shape.get('bpmnElement')} covers the label of {other}"
        labels[shape.get("bpmnElement")] = lb


# --------------------------------------------------------------------------------------
# Behaviour: trajectory
# --------------------------------------------------------------------------------------


def test_trajectory_main_path(specs):
    engine = RecordingScriptEngine(
        dues={"b1": FIRE},
        responses={
            "decide_target_group": {"target_group": "obligated"},
            "issue_attest": {"b1_in_scope": True},
            "b1_check": {"outcome": "attained"},
        },
    )
    wf = start(specs["trajectory"], engine)
    assert engine.operations() == [("decide_target_group", {})]
    assert ready(wf) == ["register"]
    assert waiting(wf) == ["registration_deadline", "reregistration_deadline"]

    complete(wf, "register", registered_on="2024-02-01")
    assert ready(wf) == ["intake"]
    assert waiting(wf) == []  # the boundary timers are cancelled with the task
    complete(wf, "intake", nt2_advice="cvo_standard")
    complete(wf, "contract", contract_signed_on="2024-03-01")
    assert ready(wf) == ["mo", "nt2", "pnt", "vdab"]
    assert waiting(wf) == ["vdab_deadline"]
    for component in ("mo", "nt2", "vdab"):
        complete(wf, component)
    assert ready(wf) == ["pnt"]
    assert [op for op, _ in engine.operations()] == ["decide_target_group"]
    signal(wf, "registered")  # thrown by the engine on registration; nothing waits for it here
    complete(wf, "pnt")

    assert wf.is_completed()
    assert engine.operations() == [("decide_target_group", {}), ("issue_attest", {}), ("b1_check", {})]
    assert {"b1_due", "b1_check_task", "end_trajectory"} <= completed(wf)
    assert not {"end_no_b1", "await_reregistration", "end_late_reregistration"} & completed(wf)
    assert wf.last_task.data["target_decision"] == {"target_group": "obligated"}
    assert wf.last_task.data["attest"] == {"b1_in_scope": True}
    assert wf.last_task.data["b1"] == {"outcome": "attained"}


def _through_components(wf):
    complete(wf, "register")
    complete(wf, "intake")
    complete(wf, "contract")
    for component in ("mo", "nt2", "pnt", "vdab"):
        complete(wf, component)


def test_trajectory_waits_for_b1_due(specs):
    engine = RecordingScriptEngine(responses={"issue_attest": {"b1_in_scope": True}})
    wf = start(specs["trajectory"], engine)
    _through_components(wf)
    assert not wf.is_completed()
    assert waiting(wf) == ["b1_due"]
    assert [op for op, _ in engine.operations()] == ["decide_target_group", "issue_attest"]


def test_trajectory_without_b1(specs):
    engine = RecordingScriptEngine(dues={"b1": FIRE}, responses={"issue_attest": {"b1_in_scope": False}})
    wf = start(specs["trajectory"], engine)
    _through_components(wf)
    assert wf.is_completed()
    assert "end_no_b1" in completed(wf)
    assert not {"b1_due", "b1_check_task", "end_trajectory"} & completed(wf)
    assert [op for op, _ in engine.operations()] == ["decide_target_group", "issue_attest"]


def test_trajectory_registration_deadline(specs):
    engine = RecordingScriptEngine(dues={"registration": FIRE})
    wf = start(specs["trajectory"], engine)
    assert engine.operations() == [
        ("decide_target_group", {}),
        ("establish_infraction", {"trigger": "registration_deadline"}),
    ]
    assert engine.calls[-1].task == "establish_late_registration"
    assert "end_late_registration" in completed(wf)
    # non-interrupting: registration stays open, the other timer keeps waiting
    assert ready(wf) == ["register"]
    assert waiting(wf) == ["reregistration_deadline"]
    run(wf)  # a further refresh does not establish the infraction again
    assert len(engine.calls) == 2

    complete(wf, "register")  # late registration continues the trajectory
    assert ready(wf) == ["intake"]
    assert waiting(wf) == []


def _settle_reregistration(engine, call):
    """Like the engine: once a re-registration deadline is put to the ruleset it no
    longer runs (``due`` returns None) until a further hand-over arms a new one."""
    if call.params == {"trigger": "reregistration_deadline"}:
        engine.dues["reregistration"] = None


REREGISTRATION = ("establish_infraction", {"trigger": "reregistration_deadline"})


def test_trajectory_reregistration_deadline(clocked_specs):
    engine = RecordingScriptEngine(dues={"reregistration": FIRE}, after_call=_settle_reregistration)
    wf = start(clocked_specs["trajectory"], engine)
    assert engine.operations() == [("decide_target_group", {}), REREGISTRATION]
    assert engine.calls[-1].task == "establish_late_reregistration"
    assert "end_late_reregistration" not in completed(wf)
    # non-interrupting: registration stays open; the loop waits for the next deadline or registration
    assert ready(wf) == ["register"]
    assert waiting(wf) == ["await_reregistration", "registration_deadline"]
    run(wf)  # a further refresh does not establish the infraction again
    assert engine.operations().count(REREGISTRATION) == 1


def test_trajectory_reregistration_repeats(clocked_specs):
    """A late_registration_after_infraction is handed over and a new re-registration
    deadline is armed: the loop timer fires on each new instant, and the signal
    ``registered`` ends the loop (TRAJECTORY.md §6.6)."""
    engine = RecordingScriptEngine(
        dues={"reregistration": FIRE, "b1": FIRE},
        responses={"issue_attest": {"b1_in_scope": True}},
        after_call=_settle_reregistration,
    )
    wf = start(clocked_specs["trajectory"], engine)
    assert engine.operations().count(REREGISTRATION) == 1

    engine.dues["reregistration"] = FIRE  # second hand-over armed a new deadline, now passed
    run(wf)
    assert engine.operations().count(REREGISTRATION) == 2
    assert engine.calls[-1].task == "establish_late_reregistration"
    assert ready(wf) == ["register"]
    assert waiting(wf) == ["await_reregistration", "registration_deadline"]

    engine.dues["reregistration"] = FIRE  # and a third one
    run(wf)
    assert engine.operations().count(REREGISTRATION) == 3
    assert waiting(wf) == ["await_reregistration", "registration_deadline"]
    run(wf)  # nothing new is due: the loop keeps waiting
    assert engine.operations().count(REREGISTRATION) == 3
    from engine.spiff import waiting_timers

    assert ("await_reregistration", None) in waiting_timers(wf)  # due('reregistration') is None
    # the boundary timer fired once; the loop timer did the rest
    fired = [t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)]
    assert fired.count("reregistration_deadline") == 1
    assert fired.count("reregistration_again") == 2
    assert fired.count("merge_reregistration") == 3

    complete(wf, "register")  # late registration: the engine then throws "registered"
    assert ready(wf) == ["intake"]
    assert waiting(wf) == ["await_reregistration"]
    signal(wf, "registered")
    assert waiting(wf) == []
    assert {"registered_after_infraction", "end_late_reregistration"} <= completed(wf)
    assert engine.operations().count(REREGISTRATION) == 3

    complete(wf, "intake")
    complete(wf, "contract")
    for component in ("mo", "nt2", "pnt", "vdab"):
        complete(wf, component)
    assert wf.is_completed()
    assert "end_trajectory" in completed(wf)
    assert [op for op, _ in engine.operations()] == [
        "decide_target_group", "establish_infraction", "establish_infraction", "establish_infraction",
        "issue_attest", "b1_check",
    ]


def test_trajectory_reregistration_loop_needs_the_signal(clocked_specs):
    """Without the signal ``registered`` the loop keeps the instance open after the
    main path has ended (the engine must throw it on registration)."""
    engine = RecordingScriptEngine(
        dues={"reregistration": FIRE, "b1": FIRE},
        responses={"issue_attest": {"b1_in_scope": True}},
        after_call=_settle_reregistration,
    )
    wf = start(clocked_specs["trajectory"], engine)
    _through_components(wf)
    assert "end_trajectory" in completed(wf)
    assert not wf.is_completed()
    assert waiting(wf) == ["await_reregistration"]
    signal(wf, "registered")
    assert wf.is_completed()
    assert "end_late_reregistration" in completed(wf)


def test_trajectory_registered_signal_before_reregistration_deadline(clocked_specs):
    """The signal ends the loop right after the first re-registration check, too."""
    engine = RecordingScriptEngine(dues={"reregistration": FIRE}, after_call=_settle_reregistration)
    wf = start(clocked_specs["trajectory"], engine)
    complete(wf, "register")
    signal(wf, "registered")
    assert waiting(wf) == []
    assert ready(wf) == ["intake"]
    assert "end_late_reregistration" in completed(wf)
    assert "reregistration_again" not in completed(wf)


def test_trajectory_vdab_deadline(specs):
    engine = RecordingScriptEngine(
        dues={"vdab": FIRE, "b1": FIRE}, responses={"issue_attest": {"b1_in_scope": True}}
    )
    wf = start(specs["trajectory"], engine)
    complete(wf, "register")
    complete(wf, "intake")
    complete(wf, "contract")
    assert engine.operations()[-1] == ("establish_infraction", {"trigger": "vdab_deadline"})
    assert engine.calls[-1].task == "establish_late_vdab"
    assert "end_late_vdab" in completed(wf)
    assert ready(wf) == ["mo", "nt2", "pnt", "vdab"]  # non-interrupting
    for component in ("vdab", "mo", "nt2", "pnt"):
        complete(wf, component)
    assert wf.is_completed()
    assert "end_trajectory" in completed(wf)
    assert [op for op, _ in engine.operations()].count("establish_infraction") == 1


# --------------------------------------------------------------------------------------
# Behaviour: enforcement
# --------------------------------------------------------------------------------------


def test_enforcement_regularised(specs):
    engine = RecordingScriptEngine()
    wf = start(specs["enforcement"], engine)
    assert engine.operations() == [("issue_notice", {})]
    # Spiff waits in the event-based gateway itself, not in the catch events behind it
    assert waiting(wf) == ["await_regularisation"]
    signal(wf, "regularised")
    assert wf.is_completed()
    assert engine.operations() == [("issue_notice", {}), ("close_infraction", {"outcome": "regularised"})]
    assert engine.calls[-1].task == "close_regularised"
    assert {"regularised", "end_regularised"} <= completed(wf)


def test_enforcement_annulled_in_period(specs):
    engine = RecordingScriptEngine()
    wf = start(specs["enforcement"], engine)
    signal(wf, "annulled")
    assert wf.is_completed()
    assert engine.operations() == [("issue_notice", {}), ("close_infraction", {"outcome": "annulled"})]
    assert engine.calls[-1].task == "close_annulled_in_period"
    assert "end_annulled_in_period" in completed(wf)


def test_enforcement_handed_over_and_decided(specs):
    engine = RecordingScriptEngine(dues={"regularisation": FIRE})
    wf = start(specs["enforcement"], engine)
    assert engine.operations() == [("issue_notice", {}), ("hand_over", {})]
    assert ready(wf) == ["decide"]
    complete(wf, "decide", decision="fine", amount=100)
    assert wf.is_completed()
    assert engine.operations() == [("issue_notice", {}), ("hand_over", {}), ("record_decision", {})]
    assert {"regularisation_deadline", "decide", "end_decided"} <= completed(wf)
    assert wf.last_task.data["decision"] == "fine"


def test_enforcement_annulled_after_handover(specs):
    engine = RecordingScriptEngine(dues={"regularisation": FIRE})
    wf = start(specs["enforcement"], engine)
    assert ready(wf) == ["decide"]
    signal(wf, "annulled")
    assert wf.is_completed()
    assert engine.operations() == [
        ("issue_notice", {}),
        ("hand_over", {}),
        ("close_infraction", {"outcome": "annulled"}),
    ]
    assert engine.calls[-1].task == "close_annulled_after_handover"
    assert "end_annulled_after_handover" in completed(wf)
    assert "decide" not in completed(wf)  # interrupted
    assert "end_decided" not in completed(wf)


@pytest.mark.parametrize("name, task", [("withdrawn", "close_withdrawn_in_period")])
def test_enforcement_withdrawn_in_period(specs, name, task):
    engine = RecordingScriptEngine()
    wf = start(specs["enforcement"], engine)
    signal(wf, name)
    assert wf.is_completed()
    assert engine.operations() == [("issue_notice", {}), ("close_infraction", {"outcome": "withdrawn"})]
    assert engine.calls[-1].task == task


@pytest.mark.parametrize("name, outcome, end", [
    ("withdrawn", "withdrawn", "end_withdrawn_after_handover"),
    ("regularised", "regularised", "end_regularised_after_handover"),
])
def test_enforcement_late_fact_after_handover(specs, name, outcome, end):
    """After hand-over a late-recorded fact withdraws the infraction or regularises it (the engine
    throws ``regularised`` then only for a fact whose day lies in the regularisation period)."""
    engine = RecordingScriptEngine(dues={"regularisation": FIRE})
    wf = start(specs["enforcement"], engine)
    assert ready(wf) == ["decide"]
    signal(wf, name)
    assert wf.is_completed()
    assert engine.operations() == [("issue_notice", {}), ("hand_over", {}), ("close_infraction", {"outcome": outcome})]
    assert end in completed(wf)
    assert "decide" not in completed(wf)


def test_enforcement_waits_for_deadline(specs):
    engine = RecordingScriptEngine()
    wf = start(specs["enforcement"], engine)
    run(wf)
    assert not wf.is_completed()
    assert waiting(wf) == ["await_regularisation"]
    assert engine.operations() == [("issue_notice", {})]


def test_signals_need_spiffs_own_event_definition_class(specs):
    """Spiff matches signals by class identity *and* name: the parsed specs hold
    ``SpiffWorkflow.spiff.specs.event_definitions.SignalEventDefinition``, so a signal
    thrown with the base ``SpiffWorkflow.bpmn.specs.event_definitions.SignalEventDefinition``
    is silently not caught."""
    engine = RecordingScriptEngine()
    wf = start(specs["enforcement"], engine)
    wf.catch(BpmnEvent(BaseSignalEventDefinition("regularised")))
    run(wf)
    assert waiting(wf) == ["await_regularisation"]
    signal(wf, "regularised")
    assert wf.is_completed()
