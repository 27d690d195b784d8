"""The engine's script environment compiles each BPMN expression once and evaluates it as Spiff's does."""
from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from engine import spiff


def test_same_results_as_spiffs_environment_and_compiled_once():
    ours, stock = spiff.CompiledExpressions({"double": lambda x: 2 * x}), TaskDataEnvironment({"double": lambda x: 2 * x})
    spiff._compiled_expression.cache_clear()
    for expression, data in [("double(hours) >= 40", {"hours": 20}), ("double(hours) >= 40", {"hours": 19}),
                             ("advice in ('cbe', 'cbe_alfa')", {"advice": "cbe"}), ("a + b", {"a": 1, "b": 2})]:
        assert ours.evaluate(expression, dict(data)) == stock.evaluate(expression, dict(data))
    info = spiff._compiled_expression.cache_info()
    assert (info.misses, info.hits) == (3, 1)  # the repeated condition was compiled once
    assert "hours" not in ours.globals  # one evaluation's data does not leak into the next


def test_errors_surface_as_before():
    env = spiff.CompiledExpressions({})
    with pytest.raises(SyntaxError):
        env.evaluate("due(", {})
    with pytest.raises(NameError):
        env.evaluate("unknown_name + 1", {})
