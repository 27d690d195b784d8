"""House rules for rules/ (ENGINEERING.md principles 2, 5 and 8): no wall clock, no legal
dates or amounts as literals in code, every module cites what it encodes."""
import ast
import re
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "rules"
MODULES = sorted(RULES.glob("*.py"))
ISO_DATE = re.compile(r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b")
# The legal numbers of TRAJECTORY.md: they belong in rules/parameters/*.yaml.
LEGAL_NUMBERS = {3, 6, 18, 24, 30, 40, 50, 64, 65, 66, 67, 80, 90, 180, 5000, 160, 240, 360, 480, 600, 1140, 2022, 2023, 2025, 2030}


def tree(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def docstring_nodes(module):
    nodes = set()
    for node in ast.walk(module):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                nodes.add(id(first.value))
        # attribute docstrings: a bare string right after an assignment
        for body_node in getattr(node, "body", []) if isinstance(getattr(node, "body", None), list) else []:
            if isinstance(body_node, ast.Expr) and isinstance(body_node.value, ast.Constant) and isinstance(body_node.value.value, str):
                nodes.add(id(body_node.value))
    return nodes


def test_there_are_modules():
    assert {p.name for p in MODULES} >= {"parameters.py", "dates.py", "geography.py", "host.py", "target_group.py",
                                          "infractions.py", "b1.py", "components.py", "fees.py"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_wall_clock(path):
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"now", "today", "utcnow", "time_ns", "monotonic"}, f"{path.name}:{node.lineno}"
            if node.attr == "time" and isinstance(node.value, ast.Name):
                assert node.value.id != "time", f"{path.name}:{node.lineno}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names]
            assert "time" not in names and getattr(node, "module", None) != "time", f"{path.name}:{node.lineno}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_legal_dates_or_amounts_as_literals(path):
    module = tree(path)
    docstrings = docstring_nodes(module)
    for node in ast.walk(module):
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            if isinstance(node.value, str):
                assert not ISO_DATE.search(node.value), f"{path.name}:{node.lineno}: date literal {node.value!r}"
            elif isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                assert node.value not in LEGAL_NUMBERS, f"{path.name}:{node.lineno}: legal number {node.value!r}"
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "date":
            assert not any(isinstance(arg, ast.Constant) for arg in node.args), f"{path.name}:{node.lineno}: date(...) literal"


LAW_MODULES = [p for p in MODULES if p.name not in {"__init__.py", "conditions.py", "engine_json.py"}]


@pytest.mark.parametrize("path", LAW_MODULES, ids=lambda p: p.name)
def test_every_module_says_what_it_encodes(path):
    docstring = ast.get_docstring(tree(path))
    assert docstring, path.name
    assert re.search(r"TRAJECTORY\.md|README\.md|ENGINEERING\.md", docstring), path.name
