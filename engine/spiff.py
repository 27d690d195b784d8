"""Our integration with SpiffWorkflow 3.2.0.

Three things the stock library does not do for us (ENGINEERING.md, "What we know
about our libraries"):

* **Clocked timers.** Spiff's ``TimeDateEventDefinition`` compares with
  ``datetime.now``; :class:`ClockedTimeDateEventDefinition` asks the injected
  clock instead, and re-evaluates its ``timeDate`` expression on every refresh,
  so a suspension that moves a deadline moves the timer. An expression that
  evaluates to ``None`` means "this deadline is not running".
* **Service-task registry.** :class:`RegistryScriptEngine` sends every BPMN service
  task to one dispatcher (a plain callable), instead of Spiff's default, which
  has no services at all.
* **State without the spec.** The default serializer writes the whole process
  spec into every instance. :func:`dump_state` / :func:`load_state` write and read
  only the instance state; the spec is parsed once per deployed version.
"""
from __future__ import annotations

import json
from copy import copy
from datetime import datetime
from functools import lru_cache
from typing import Any, Callable
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.task_parsers import GatewayParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.default import ParallelGatewayConverter, TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.specs import StartTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from .clock import Clock, task_stamp
from . import atrest, taskwalk
from .taskwalk import ParallelGateway, Workflow

ServiceDispatcher = Callable[[Any, str, dict], dict]


class ClockedTimeDateEventDefinition(TimeDateEventDefinition):
    """A ``timeDate`` timer that fires when the injected clock passes its due instant."""

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_fired", False):
            return True
        due = due_instant(my_task, self.expression)
        my_task._set_internal_data(event_value=due.isoformat() if due else None)
        engine = my_task.workflow.script_engine
        if due is not None and due <= engine.clock.now():
            my_task._set_internal_data(event_fired=True)
            return True
        return False


def due_instant(task, expression: str) -> datetime | None:
    """Evaluate a timer's ``timeDate`` expression in the task's context."""
    value = task.workflow.script_engine.evaluate(task, expression)
    if value is None:
        return None
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        raise ValueError(f"timer {task.task_spec.name}: due instant {value!r} has no UTC offset")
    return instant


@lru_cache(maxsize=512)
def _compiled_expression(expression: str):
    return compile(expression, "<expression>", "eval")


class CompiledExpressions(TaskDataEnvironment):
    """Spiff's task-data environment, compiling each expression once: its ``evaluate`` passes the
    string to ``eval``, which compiled it anew every time (a timer's ``due(...)`` on every walk of
    the waiting tasks, a gateway's condition on every step). ``eval`` takes the code object the
    same way: the same globals, the task's data as context."""

    def evaluate(self, expression, context, external_context=None):
        return super().evaluate(_compiled_expression(expression), context, external_context)


class RegistryScriptEngine(PythonScriptEngine):
    """Script engine bound to one loaded instance: its clock, its ``due`` and its services."""

    def __init__(self, clock: Clock, dispatch: ServiceDispatcher, script_globals: dict | None = None):
        super().__init__(environment=CompiledExpressions(script_globals or {}))
        self.clock = clock
        self.dispatch = dispatch

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        return json.dumps(self.dispatch(task, operation_name, params))


def _clocked(definition):
    if type(definition) is TimeDateEventDefinition:
        return ClockedTimeDateEventDefinition(definition.name, definition.expression,
                                              description=definition.description)
    if isinstance(definition, MultipleEventDefinition):
        # An event-based gateway gathers the events behind it into one MultipleEventDefinition.
        definition.event_definitions = [_clocked(d) for d in definition.event_definitions]
    return definition


def _replace_timers(spec) -> None:
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if definition is not None:
            task_spec.event_definition = _clocked(definition)


class BpmnParseError(ValueError):
    """A BPMN file that does not parse or validate; the message names file, line and reason."""


class _Parser(SpiffBpmnParser):
    """Spiff's parser, with the engine's parallel gateway (:class:`engine.taskwalk.ParallelGateway`:
    the same join rule, its ancestry asked once)."""

    OVERRIDE_PARSER_CLASSES = {**SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
                               full_tag("parallelGateway"): (GatewayParser, ParallelGateway)}


def parse_process(source: bytes, process_id: str, filename: str):
    """Parse and schema-validate one BPMN document; return the (clocked) process spec."""
    from lxml import etree

    parser = _Parser(validator=BpmnValidator())
    try:
        parser.add_bpmn_str(source, filename=filename)
        spec = parser.get_spec(process_id)
    except etree.XMLSyntaxError as err:
        raise BpmnParseError(f"{filename}: line {err.lineno}: {err.msg}") from err
    except Exception as err:  # Spiff's ValidationException carries line and file
        line = getattr(err, "line_number", None) or getattr(err, "sourceline", None)
        where = f"line {line}: " if line else ""
        raise BpmnParseError(f"{filename}: {where}{err}") from err
    _replace_timers(spec)
    return spec


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Workflow converter that leaves the spec out (it is stored once per version)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_state(self, dct, spec):
        workflow = self.target_class(spec, {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer():
    config = dict(DEFAULT_CONFIG)
    config.update(SPIFF_CONFIG)
    config[ClockedTimeDateEventDefinition] = TimerConditionalEventDefinitionConverter
    config[ParallelGateway] = ParallelGatewayConverter  # typename "ParallelGateway", as Spiff's
    config[taskwalk.Task] = config[Task]  # the engine's tasks convert as Spiff's (typename "Task")
    registry = BpmnWorkflowSerializer.configure(config)
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _make_serializer()
#: The version of the stored instance state (``instance.state_format``).
#: 1 (release 0.1): SpiffWorkflow 3.2.0's workflow dict without the spec (:class:`_StateOnlyConverter`).
#: 2: the same content, compact (:func:`compact`): tasks as a list of rows, their UUIDs replaced by their
#:    position, default fields left out, state-change times as microsecond offsets — a third of the
#:    bytes at rest. Reading goes through the upcasters to the current format, then :func:`expand`.
STATE_FORMAT = 2
STATE_FORMATS = {1: "spiff-3.2.0/state-only/1", 2: "spiff-3.2.0/state-only/compact/2"}
#: format N → a function turning a format-N state dict into format N+1
STATE_UPCASTERS: dict[int, Callable[[dict], dict]] = {}

_state_converter = _StateOnlyConverter(BpmnWorkflow, _SERIALIZER.registry)
_TASK_DEFAULTS = {"triggered": False, "internal_data": {}, "data": {}, "delta": {}, "typename": "Task"}
_TASK_ROW = ("parent", "children", "state", "task_spec", "last_state_change")


def compact(state: dict) -> dict:
    """Format 1 → 2 (see :data:`STATE_FORMAT`)."""
    if state.get("subprocesses"):
        raise ValueError("instances with subprocesses cannot be stored compact (none of our processes has one)")
    ids = list(state["tasks"])
    index = {task_id: i for i, task_id in enumerate(ids)}
    tasks = [state["tasks"][task_id] for task_id in ids]
    start = min((t["last_state_change"] for t in tasks), default=0.0)
    rows = []
    for task in tasks:
        row = [index[task["parent"]] if task["parent"] is not None else -1, [index[c] for c in task["children"]],
               task["state"], task["task_spec"], round((task["last_state_change"] - start) * 1_000_000)]
        extra = {k: v for k, v in task.items() if k not in _TASK_ROW and k != "id" and _TASK_DEFAULTS.get(k, ...) != v}
        if extra:
            row.append(extra)
        rows.append(row)
    out = {k: v for k, v in state.items() if k not in ("tasks", "root", "last_task")}
    out.update(tasks=rows, root=index[state["root"]], t0=start,
               last_task=index.get(state.get("last_task")) if state.get("last_task") else None)
    return out


def expand(state: dict) -> dict:
    """Format 2 → the dict Spiff's converter reads (format 1 content); tasks get stable UUIDs from
    their positions (nothing outside the instance refers to a Spiff task id)."""
    ids = [str(UUID(int=i + 1)) for i in range(len(state["tasks"]))]
    start = state["t0"]
    tasks = {}
    for i, row in enumerate(state["tasks"]):
        parent, children, task_state, spec, offset = row[:5]
        task = {"id": ids[i], "parent": ids[parent] if parent >= 0 else None, "children": [ids[c] for c in children],
                "last_state_change": start + offset / 1_000_000, "state": task_state, "task_spec": spec}
        task.update({k: (dict(v) if isinstance(v, dict) else v) for k, v in _TASK_DEFAULTS.items()})
        if len(row) > 5:
            task.update(row[5])
        tasks[ids[i]] = task
    out = {k: v for k, v in state.items() if k not in ("tasks", "root", "last_task", "t0")}
    out.update(tasks=tasks, root=ids[state["root"]],
               last_task=ids[state["last_task"]] if state.get("last_task") is not None else None)
    return out


STATE_UPCASTERS[1] = compact


def task_states(state: dict, state_format: int) -> list[tuple[str, int]]:
    """(task spec name, task state) of every task of a stored state, without rebuilding the instance."""
    if state_format == 1:
        return [(t["task_spec"], t["state"]) for t in state["tasks"].values()]
    return [(row[3], row[2]) for row in state["tasks"]]


def dump_state(workflow: BpmnWorkflow) -> dict:
    """The instance state as a JSON-ready dict, without the process spec (format :data:`STATE_FORMAT`).

    Writes the compact rows straight from the tasks: the same dict as :func:`reference_dump_state`
    (Spiff's converter, then :func:`compact`; ``tests/engine/test_persistence.py`` holds the two
    equal on instances in every wait state), without the format-1 dict in between: a third of the
    CPU of a save (measured: 0.81 → see BENCHMARKS.md)."""
    if workflow.subprocesses:
        raise ValueError("instances with subprocesses cannot be stored compact (none of our processes has one)")
    registry = _SERIALIZER.registry
    by_id = workflow.tasks
    tasks = list(by_id.values())
    index = {task.id: i for i, task in enumerate(tasks)}
    start = min((task.last_state_change for task in tasks), default=0.0)
    rows = []
    append = rows.append
    convert, updated_keys, deleted_keys = registry.convert, DeepMerge.get_updated_keys, DeepMerge.get_deleted_keys
    for task in tasks:
        parent = by_id.get(task._parent)
        row = [index[task._parent] if parent is not None else -1, [index[c] for c in task._children],
               task._state, task.task_spec.name, round((task.last_state_change - start) * 1_000_000)]
        # Spiff's TaskConverter.to_dict fields, in its order, where they differ from _TASK_DEFAULTS
        extra = {}
        if task.triggered != False:  # noqa: E712 (the converter's comparison, not a truth test)
            extra["triggered"] = task.triggered
        if task.internal_data:  # (most tasks have none: skip the converter's walk)
            internal = convert(task.internal_data)
            if internal != {}:
                extra["internal_data"] = internal
        data = task.data
        if parent is None:
            if data != {}:
                extra["data"] = data
        elif data == parent.data:  # most tasks: what Spiff's key-by-key comparison gives, at C speed
            extra["delta"] = {"updates": {}, "deletions": []}
        else:
            extra["delta"] = {"updates": updated_keys(parent.data, data), "deletions": deleted_keys(parent.data, data)}
        if extra:
            row.append(extra)
        append(row)
    last = workflow.last_task
    return {"data": registry.convert(registry.clean(workflow.data)), "correlations": workflow.correlations,
            "success": workflow.success, "completed": workflow.completed, "subprocesses": {},
            "bpmn_events": registry.convert(workflow.bpmn_events), "tasks": rows,
            "root": index[workflow.task_tree.id], "t0": start,
            "last_task": index.get(last.id) if last is not None else None}


def load_state(state: dict, spec, state_format: int = STATE_FORMAT, *, plain: bool = False,
               cls: type = Workflow) -> BpmnWorkflow:
    """Rebuild an instance from :func:`dump_state` output (a dict the caller hands over) and the spec;
    a state of an older format goes through the upcasters first.

    Builds the tasks straight from the compact rows, as Spiff's ``TaskConverter.from_dict`` does
    from a format-1 dict (:func:`reference_load_state`; held equal by ``tests/engine/test_persistence.py``),
    without expanding the rows to UUID-keyed dicts and parsing the UUIDs back.

    ``plain``: the caller knows no value of ``state`` is a converted object (its JSON text has no
    ``"typename"`` key: :func:`is_plain`) and hands ``state`` over for good, so the task and workflow
    data are taken as they are: Spiff's ``restore`` would only copy every dict and list of them
    (about 40 % of a load).

    ``cls``: the workflow class, the engine's :class:`engine.taskwalk.Workflow` by default (a
    benchmark's bare-Spiff side passes Spiff's own ``BpmnWorkflow``).

    Each task is made without calling ``Task.__init__``, its attributes set in that method's order
    to the stored values: the constructor would draw a UUID default, read the wall clock, look the
    (not yet linked) parent up and tell it of its child, all of it overwritten right after (a
    quarter of a load; 14 % of an import, which reads its new instance from the spec's fresh
    state)."""
    if state_format > STATE_FORMAT:
        raise ValueError(f"instance state format {state_format} is newer than this release reads ({STATE_FORMAT})")
    while state_format < STATE_FORMAT:
        state = STATE_UPCASTERS[state_format](state)
        state_format += 1
    if state.get("subprocesses"):
        raise ValueError("a compact state has no subprocesses")
    registry = _SERIALIZER.registry
    restore = _as_is if plain else registry.restore
    workflow = cls(spec, {}, deserializing=True)
    rows = state["tasks"]
    ids = _task_ids(len(rows))
    by_id = workflow.tasks = {}
    manager, specs, start = workflow.event_manager, spec.task_specs, state["t0"]
    catching = _catching_names(spec)
    task_class = taskwalk.Task if isinstance(workflow, Workflow) else Task  # Spiff's own class: Spiff's tasks
    thread_id = task_class.thread_id_pool
    for i, row in enumerate(rows):
        parent, children, task_state, name, offset = row[:5]
        extra = row[5] if len(row) > 5 else _NO_EXTRA
        task_spec = specs.get(name) or StartTask(workflow.spec)  # (a name the spec lacks: as Task.__init__ does)
        tid = ids[i]
        task = _new_task(task_class)  # Task.__init__'s attributes, in its order, as stored (docstring)
        task.id = tid
        by_id[tid] = task
        task.workflow = workflow
        task._parent = ids[parent] if parent >= 0 else None
        task._children = [ids[c] for c in children]
        task._state = task_state
        task.triggered = extra.get("triggered", False)
        task.task_spec = task_spec
        task.thread_id = thread_id
        task.data = None  # (set below, once the parent's data is known)
        task.internal_data = registry.restore(extra["internal_data"]) if "internal_data" in extra else {}
        task.last_state_change = start + offset / 1_000_000
        if task_state & _WAITING and name in catching:
            manager.add_task(task)
        delta = extra.get("delta")
        parent_task = by_id.get(task._parent) if parent >= 0 else None
        if delta and parent_task is not None:
            data = _merged_copy(parent_task.data)
            updates = delta.get("updates")
            if updates:
                data.update(restore(updates))
            for key in delta.get("deletions", ()):
                data.pop(key, None)
        else:
            data = restore(extra["data"]) if "data" in extra else {}
        task.data = data
    workflow.task_tree = by_id.get(ids[state["root"]])
    workflow.success = state["success"]
    workflow.completed = state.get("completed", False)
    workflow.correlations = state.get("correlations", {})
    if state.get("last_task") is not None:
        workflow.last_task = by_id.get(ids[state["last_task"]])
    workflow.data = restore(state.get("data", {}))
    workflow.bpmn_events = restore(state.get("bpmn_events", []))
    return workflow


_WAITING = TaskState.WAITING


def _catching_names(spec) -> frozenset:
    """The names of the spec's catching events (a waiting one goes to the event manager: as Spiff's
    ``TaskConverter`` does), kept on the spec (specs never change: :mod:`engine.processes`)."""
    found = spec.__dict__.get("_engine_catching")
    if found is None:
        found = spec._engine_catching = frozenset(
            name for name, task_spec in spec.task_specs.items() if isinstance(task_spec, CatchingEvent))
    return found


def _merged_copy(data: dict) -> dict:
    """``DeepMerge.merge({}, data)``, as Spiff's ``TaskConverter`` gives a task its parent's data: a new
    dict, each dict, list or set value copied one level (``copy.copy``), other values as they are;
    without the merge's lookup of each key in the empty target and its ``copy`` dispatch for every value."""
    out = {}
    for key, value in data.items():
        kind = type(value)
        if kind is dict or kind is list:
            value = value.copy()
        elif isinstance(value, (dict, list, set)):
            value = copy(value)
        out[key] = value
    return out


def is_plain(text: bytes) -> bool:
    """Whether a stored state's JSON text holds no converted object (no ``"typename"`` key), so that
    :func:`load_state` may take its data as they are (``plain=True``)."""
    return b'"typename"' not in text


def _as_is(value):
    return value


_NO_EXTRA: dict = {}
#: a task without its constructor (:func:`load_state` sets every attribute ``Task.__init__`` sets)
_new_task = object.__new__
_TASK_IDS: list[int] = []


def _task_ids(count: int) -> list[int]:
    """The ids of the tasks of a state read by :func:`load_state`: position ``i`` → ``i + 1``.

    Plain ints, not the UUIDs Spiff gives the tasks it creates (``uuid4()``; :func:`expand` gives
    ``UUID(int=i + 1)``): Spiff uses a task id only as a key of the workflow's task map and to name
    it (``str``), nothing outside an instance refers to one, and ints and UUIDs never compare equal,
    so the tasks Spiff adds to a read instance keep ids of their own. A UUID's hash is Python code
    (``UUID.__hash__``), run on every lookup of a parent or child in the task map, several hundred a
    step; an int's is not (cProfile 2026-12-03: 5 % of an engine step)."""
    while len(_TASK_IDS) < count:
        _TASK_IDS.append(len(_TASK_IDS) + 1)
    return _TASK_IDS


def reference_dump_state(workflow: BpmnWorkflow) -> dict:
    """:func:`dump_state` through Spiff's own converter (the oracle its tests compare with)."""
    return compact(_state_converter.to_dict(workflow))


def reference_load_state(state: dict, spec) -> BpmnWorkflow:
    """:func:`load_state` of a current-format state through Spiff's own converter (the oracle)."""
    return _state_converter.from_state(expand(state), spec)


def new_workflow(spec) -> BpmnWorkflow:
    """A new instance of ``spec``, before its first engine step: what ``Workflow(spec)`` builds (the
    root task ready, the tree predicted from the spec), read from that instance's state, kept once
    per spec (:func:`fresh_state`): a third of the CPU of building it (0.53 -> 0.2 ms for the
    trajectory; the prediction walks the whole spec). The state's tasks get their positions' ids
    (:func:`_task_ids`), as every instance read from the store has, and its tasks' state-change
    times start now, spaced as in the kept state; the instance differs from a built one in nothing
    else (``tests/engine/test_taskwalk.py``: the same tasks, in the same
    states, before and after its first steps)."""
    text, plain = fresh_state(spec)
    state = atrest.loads(text)
    state["t0"] = task_stamp()  # its tasks changed state now, as a built one's did (not when the spec's was made)
    return load_state(state, spec, plain=plain)


def fresh_state(spec) -> tuple[bytes, bool]:
    """The JSON text at rest (:func:`engine.atrest.dumps`) of the state of a new ``Workflow(spec)``
    and whether it is plain (:func:`is_plain`), made at the first call and kept on the spec (specs are
    built once per process version and never change: :mod:`engine.processes`)."""
    found = spec.__dict__.get("_engine_fresh_state")
    if found is None:
        text = atrest.dumps(dump_state(Workflow(spec)))
        found = spec._engine_fresh_state = (text, is_plain(text))
    return found


def bind(workflow: BpmnWorkflow, clock: Clock, dispatch: ServiceDispatcher, script_globals: dict) -> None:
    """Attach the per-load script engine (clock, ``due``, registry) to a workflow."""
    workflow.script_engine = RegistryScriptEngine(clock, dispatch, script_globals)


def dispose(workflow: BpmnWorkflow) -> None:
    """Break an instance's reference cycles (workflow <-> tasks, workflow <-> event manager,
    script engine -> the unit of work that bound it) so that it is freed the moment the last
    reference goes, by reference counting, instead of waiting as garbage for a full collection
    of Python's cyclic collector (engine/heap.py). The instance is unusable afterwards."""
    workflow.tasks = {}
    workflow.task_tree = None
    workflow.last_task = None
    manager = workflow.event_manager
    manager.tasks = {}
    manager.workflow = None
    workflow.script_engine = None


def run(workflow: BpmnWorkflow) -> None:
    """Fire due timers, then run engine steps until only user tasks and waiting events are left.

    (``do_engine_steps`` ends with a timer refresh of its own.)"""
    workflow.refresh_timers()
    workflow.do_engine_steps()


def reset_to(workflow: BpmnWorkflow, task) -> None:
    """Start ``task``'s branch over (Spiff's ``reset_from_task_id``) and forget the dropped tasks.

    Spiff 3.2 drops the branch's descendants from the task tree but not from the workflow's event
    manager, which keeps every catching event task it was told of: a timer in a dropped branch (the
    re-registration loop's ``reregistration_again`` after the obligation ended and started again)
    stays there without a parent, and the next ``refresh_timers`` fails on it (AttributeError). A
    workflow loaded from storage rebuilds the manager from the tree, so only the live instance (the
    dossier cache) carried the stale entry; this keeps the two the same."""
    workflow.reset_from_task_id(task.id)
    manager = workflow.event_manager
    for task_id in [t for t in manager.tasks if t not in workflow.tasks]:
        del manager.tasks[task_id]


def _tasks_in(workflow: BpmnWorkflow, states: int) -> list:
    """The instance's tasks in any of ``states``: one pass over its task dict, several times cheaper
    than Spiff's tree iterator; the iterator (which also walks subprocesses) when there are any."""
    if workflow.subprocesses:
        return list(workflow.get_tasks(state=states))
    return [task for task in workflow.tasks.values() if task.state & states]


def ready_user_task(workflow: BpmnWorkflow, spec_name: str):
    found = [t for t in _tasks_in(workflow, TaskState.READY) if t.task_spec.manual and t.task_spec.name == spec_name]
    if len(found) > 1:  # several ready: the first in tree order, as Spiff would give it
        found = [t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.name == spec_name]
    return found[0] if found else None


def ready_user_tasks(workflow: BpmnWorkflow) -> list[str]:
    """Names of the ready user tasks, sorted."""
    return sorted(t.task_spec.name for t in _tasks_in(workflow, TaskState.READY) if t.task_spec.manual)


def task_completed(workflow: BpmnWorkflow, spec_name: str) -> bool:
    """Whether a task of that name has completed in this instance."""
    return any(t.task_spec.name == spec_name for t in _tasks_in(workflow, TaskState.COMPLETED))


def timer_waits(workflow: BpmnWorkflow, spec_name: str) -> bool:
    """Whether the catch event (a boundary timer, say) named ``spec_name`` is waiting."""
    return any(t.task_spec.name == spec_name for t in _tasks_in(workflow, TaskState.WAITING))


def complete_user_task(workflow: BpmnWorkflow, spec_name: str, data: dict) -> bool:
    """Complete a ready user task with ``data``; False when no such task is ready."""
    task = ready_user_task(workflow, spec_name)
    if task is None:
        return False
    task.data.update(data)
    task.run()
    run(workflow)
    return True


def throw_signal(workflow: BpmnWorkflow, name: str, payload: dict | None = None) -> bool:
    """Throw a signal into the instance and run it; whether a waiting event caught it."""
    # ``internal=False``: an event nobody catches is not kept in ``bpmn_events`` (it would grow the state)
    caught = workflow.event_manager.catch(BpmnEvent(SignalEventDefinition(name), payload), internal=False)
    run(workflow)
    return caught > 0


def waiting_timers(workflow: BpmnWorkflow) -> list[tuple[str, datetime | None]]:
    """(timer task name, due instant or None) for every timer the instance waits on."""
    return waiting_summary(workflow)[1]


def waiting_summary(workflow: BpmnWorkflow) -> tuple[list[str], list[tuple[str, datetime | None]]]:
    """One walk of the task tree: (ready user tasks, waiting timers with their due instants)."""
    ready, timers = [], []
    for task in _tasks_in(workflow, TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                ready.append(task.task_spec.name)
            continue
        definition = getattr(task.task_spec, "event_definition", None)
        inner = definition.event_definitions if isinstance(definition, MultipleEventDefinition) else [definition]
        for timer in inner:
            if isinstance(timer, ClockedTimeDateEventDefinition):
                timers.append((task.task_spec.name, due_instant(task, timer.expression)))
    return sorted(ready), timers


def wait_states(workflow: BpmnWorkflow) -> list[str]:
    """Names of the user tasks and catch events the instance currently waits in."""
    names = {t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    names |= {t.task_spec.name for t in workflow.get_tasks(state=TaskState.WAITING)
              if getattr(t.task_spec, "event_definition", None) is not None}
    return sorted(names)
