"""SpiffWorkflow's hottest tree walks, done by a plain depth-first generator.

Every engine step of a Spiff instance walks its whole task tree at least twice: once per pass
of ``do_engine_steps`` for the READY tasks to run, and once per completed task for the WAITING
tasks to update (``Workflow.update_waiting_tasks``). Spiff does both with its general
``TaskIterator`` (filter objects, ``list.pop(0)``, the depth kept by walking parents, a
subprocess lookup per task): a fifth of a deadline sweep's CPU (cProfile, 1,000 fires:
``update_workflow`` 11 %, ``update_waiting_tasks`` 8.5 %). A joining parallel gateway walks it
once more for every update (``get_tasks(spec_name=...)``).

:class:`Workflow` is a ``BpmnWorkflow`` whose two walks go through :func:`walk`, which visits the
same tasks in the same order as ``TaskIterator(root, state=...)`` of SpiffWorkflow 3.2:
depth first, children in order; a task's children are taken when the task is reached (lazily,
as Spiff does, so a walk that changes the tree sees what Spiff would see); a subtree is entered
only from a task whose state is at least the filter's minimum (``MAYBE`` for predicted states,
``FUTURE`` for definite ones, else ``COMPLETED``) and above depth 1,000. A workflow with
subprocesses (none of our processes has one) keeps Spiff's own walk.
``tests/engine/test_taskwalk.py`` holds the two walks equal on instances in every wait state.
"""
from __future__ import annotations

import logging
from typing import Iterator

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import ParallelGateway as SpiffParallelGateway
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from .clock import task_stamp

#: SpiffWorkflow's task logger (``SpiffWorkflow.task``)
_TASK_LOG = logging.getLogger("spiff.task")

#: TaskIterator's default ``max_depth``: it does not enter the children of a task this deep
MAX_DEPTH = 1000


def min_state(state: int) -> int:
    """The lowest state whose children a walk for ``state`` enters (TaskIterator's rule: predicted
    tasks follow definite ones, definite tasks follow finished ones, never the other way)."""
    if state & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    if state & TaskState.DEFINITE_MASK:
        return TaskState.FUTURE
    return TaskState.COMPLETED


def walk(root: SpiffTask, state: int) -> Iterator[SpiffTask]:
    """The tasks under ``root`` (itself included) whose state is in ``state``, in the order of
    ``TaskIterator(root, state=state)``."""
    floor = min_state(state)
    tasks = root.workflow.tasks
    stack = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        children = task._children
        if children and task._state >= floor and depth < MAX_DEPTH:
            for child in reversed(children):  # the first child is visited next
                push((tasks.get(child), depth + 1))
        if task._state & state and task.last_state_change >= 0:
            yield task


class Workflow(BpmnWorkflow):
    """A ``BpmnWorkflow`` whose engine steps and waiting-task updates walk the tree with :func:`walk`."""

    def _do_engine_steps(self, will_complete_task=None, did_complete_task=None):
        if self.subprocesses:
            return super()._do_engine_steps(will_complete_task, did_complete_task)
        count = 0
        for task in list(walk(self.task_tree, TaskState.READY)):  # Spiff takes the list first, too
            if not task.task_spec.manual:
                if will_complete_task is not None:
                    will_complete_task(task)
                task.run()
                count += 1
                if did_complete_task is not None:
                    did_complete_task(task)
        return count > 0 or len(self.get_active_subprocesses()) > 0

    def update_waiting_tasks(self) -> None:
        for task in walk(self.task_tree, TaskState.WAITING):
            task.task_spec._update(task)

    def get_tasks(self, first_task: SpiffTask | None = None, **kwargs) -> list[SpiffTask]:
        """Spiff's ``get_tasks``; the query a joining gateway makes on every update of every task
        waiting in it (``ParallelGateway._check_threshold_unstructured``: ``spec_name`` alone, a
        tenth of an engine step, py-spy 2026-12-03) and the one a catching event makes of its own
        subtree when it runs (``CatchingEvent._run_hook``: ``first_task`` and ``spec_name``; 3 % of a
        replay, cProfile) go through :func:`walk`: the tasks of every state, filtered by spec name,
        in the same order."""
        if not self.subprocesses and len(kwargs) == 1 and "spec_name" in kwargs:
            name = kwargs["spec_name"]
            root = self.task_tree if first_task is None else first_task  # a catching event asks its subtree
            return [task for task in walk(root, TaskState.ANY_MASK) if task.task_spec.name == name]
        return super().get_tasks(first_task, **kwargs)


class ParallelGateway(SpiffParallelGateway):
    """A BPMN parallel gateway whose join rule asks each task's ancestry once.

    Spiff's ``_check_threshold_unstructured`` runs on every update of a task waiting in the join
    (after every completed task while the four trajectory components run in parallel): for each
    task of the gateway's spec it asks ``task.is_descendant_of(my_task)`` and
    ``my_task.is_descendant_of(task)``, each a walk up to the root through the ``parent`` property
    (a dict lookup keyed by a UUID, whose hash is Python code): a tenth of an engine step
    (cProfile 2026-12-03: 290 parent lookups a step). Here ``my_task``'s ancestors are collected
    once, and a task's own walk up stops at the first of them it meets (a task is below
    ``my_task`` only if ``my_task`` comes before that common ancestor); the gateway's tasks are
    taken from the task map instead of a walk of the tree. The rule is Spiff 3.2's,
    case for case: a task below ``my_task`` (a loop's first pass) frees the input its branch came
    by, a task above it (an earlier pass) is skipped, any other frees its parent's input when the
    parent completed. ``tests/engine/test_taskwalk.py`` holds it equal to Spiff's on instances in
    every wait state of our processes.
    """

    def _check_threshold_unstructured(self, my_task):
        by_id = my_task.workflow.tasks
        waiting_inputs = set(self.inputs)
        above = set()  # the ids of my_task's ancestors
        parent = by_id.get(my_task._parent)
        while parent is not None:
            above.add(parent.id)
            parent = by_id.get(parent._parent)
        # the gateway's tasks: Spiff asks get_tasks(spec_name=...), a walk of the whole tree in its
        # order; the answer does not depend on the order (inputs are only removed), so the tasks of
        # this spec are taken from the workflow's task map (the same tasks: the tree's)
        for task in [t for t in by_id.values() if t.task_spec is self]:
            if _below(task, my_task, above, by_id):
                _free_input(task, waiting_inputs, by_id)
            elif task.id in above:
                continue
            elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
                waiting_inputs.remove(task.parent.task_spec)
        return len(waiting_inputs) == 0


def _below(task: SpiffTask, ancestor: SpiffTask, above: set, by_id: dict) -> bool:
    """``task.is_descendant_of(ancestor)``, given the ids of ``ancestor``'s own ancestors (``above``):
    the walk up from ``task`` meets ``ancestor`` before any of them, or never meets ``ancestor``."""
    parent = by_id.get(task._parent)
    while parent is not None:
        if parent is ancestor:
            return True
        if parent.id in above:
            return False
        parent = by_id.get(parent._parent)
    return False


def _free_input(task: SpiffTask, waiting_inputs: set, by_id: dict) -> None:
    """Spiff's ``remove_ancestor``: the first of ``task`` and its ancestors whose spec is an input
    still waited on frees that input."""
    while task is not None:
        if task.task_spec in waiting_inputs:
            waiting_inputs.remove(task.task_spec)
            return
        task = by_id.get(task._parent)


class Task(SpiffTask):
    """A Spiff task whose state changes build their log record only when Spiff's task logger would
    write it.

    Spiff 3.2's ``Task._set_state`` formats a message and collects a dict of ten log extras (the
    task's spec, parent, state name, ...) on every state change, then hands them to ``logger.info``
    or ``logger.debug``, which drop them unless that level is enabled (it is not, by default):
    4 % of an engine step (cProfile 2026-12-03). Here the change itself is the same (state, and
    ``last_state_change`` from the wall clock, as Spiff does); the record is made, by Spiff's own
    method, only when ``spiff.task`` is enabled for it. Children get this class too
    (:meth:`_add_child`, Spiff's body). The engine's instances are made of these tasks
    (:func:`engine.spiff.load_state` with the engine's :class:`Workflow`; a new instance is read
    from its spec's fresh state), Spiff's own ``BpmnWorkflow`` keeps Spiff's tasks."""

    def _set_state(self, value: int) -> None:
        changed = value != self._state
        if _TASK_LOG.isEnabledFor(logging.INFO if changed else logging.DEBUG):
            return super()._set_state(value)  # Spiff's own, with its log record
        if changed:
            self.last_state_change = task_stamp()
            self._state = value

    def _add_child(self, task_spec, state: int = TaskState.MAYBE) -> "Task":
        if self.has_state(TaskState.PREDICTED_MASK) and state & TaskState.PREDICTED_MASK == 0:
            raise WorkflowException('Attempt to add non-predicted child to predicted task', task_spec=self.task_spec)
        task = Task(self.workflow, task_spec, self, state=state)
        task.thread_id = self.thread_id
        if state == TaskState.READY:
            task._ready()
        return task
