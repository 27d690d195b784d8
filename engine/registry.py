"""The service-task registry: BPMN operation name → plain Python function.

BPMN service tasks name an operation (``spiffworkflow:serviceTaskOperator``); one
dispatcher maps it to a function here (after SpiffWorkflow's example ``call_service``).
Effects — infractions, notices, hand-overs, decisions — happen only in these
functions, and every one is journaled with the rule version that decided it.
"""
from __future__ import annotations

from typing import Callable

from .errors import EngineError

Operation = Callable[..., dict]
_OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(fn: Operation) -> Operation:
        if name in _OPERATIONS:
            raise ValueError(f"service operation {name!r} registered twice")
        _OPERATIONS[name] = fn
        return fn
    return register


def operations() -> dict[str, Operation]:
    return dict(_OPERATIONS)


class UnknownOperation(EngineError):
    status = 500


def dispatch(ctx, loaded, task, name: str, params: dict) -> dict:
    """Called by the script engine for every BPMN service task."""
    fn = _OPERATIONS.get(name)
    if fn is None:
        raise UnknownOperation(f"BPMN service task {task.task_spec.name!r} names unknown operation {name!r}; "
                               f"known: {', '.join(sorted(_OPERATIONS))}")
    return fn(ctx, loaded, **params) or {}
