"""Law changes are data (issue 11 point 5): every parameter in ``rules/parameters/`` is read by the code
that decides — ``rules/`` or ``engine/``. A parameter read by nothing (only by tests, the simulation or
a docstring) is law the engine does not apply: the test fails naming it.

"Read" means the parameter's name is a string literal in the Python code of those packages — as in
``parameters.value("registration_months", on)``, ``cite("…", on)``, ``in_force("…", on)``,
``get("…")`` or a tuple of names cited together. Comments and docstrings do not count (the sources
are parsed with :mod:`ast`; a bare string statement is documentation), nor do fragments of an
f-string: a name assembled at run time (``f"fee_{item}"``) cannot be checked, so it is written out.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rules import parameters

ROOT = Path(__file__).resolve().parents[2]
READERS = ("rules", "engine")


def literal_strings(source: str, filename: str = "<source>") -> set[str]:
    """The string literals of Python code that are values: not docstrings or other bare string
    statements, not the constant parts of an f-string."""
    module = ast.parse(source, filename=filename)
    excluded: set[int] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            excluded.add(id(node.value))  # a docstring, or a string used as a comment
        if isinstance(node, ast.JoinedStr):
            excluded.update(id(part) for part in node.values if isinstance(part, ast.Constant))
    return {node.value for node in ast.walk(module)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in excluded}


def _read_names() -> dict[str, list[str]]:
    """Each string literal of rules/ and engine/ → the files it appears in."""
    found: dict[str, list[str]] = {}
    for package in READERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for literal in literal_strings(path.read_text(encoding="utf-8"), str(path)):
                found.setdefault(literal, []).append(str(path.relative_to(ROOT)))
    return found


def test_the_scanner_counts_code_and_not_documentation():
    sample = '''
"""The module mentions doc_months."""
# a comment mentions comment_months
import parameters

LABEL = "label_months"


def decide(on, item):
    """Reads docstring_months."""
    "a bare string: bare_months"
    assembled = parameters.value(f"fee_{item}", on)
    return (parameters.value("value_months", on), parameters.cite("cite_months", on),
            parameters.get("get_months"), assembled, f"{'inner_months'}")


class Rules:
    """Class docstring: class_months."""
    NAMES = ("tuple_months",)
'''
    found = literal_strings(sample)
    assert {"value_months", "cite_months", "get_months", "tuple_months", "label_months", "inner_months"} <= found
    for documentation in ("doc_months", "comment_months", "docstring_months", "bare_months", "class_months",
                          "fee_", "The module mentions doc_months."):
        assert documentation not in found


def test_every_parameter_is_read_by_the_rules_or_the_engine():
    names = parameters.default_law().names()
    assert len(names) == len(list((ROOT / "rules" / "parameters").glob("*.yaml")))
    read = _read_names()
    unread = [name for name in names if name not in read]
    assert unread == [], (f"parameters read by nothing in {' or '.join(READERS)}/ (law the engine does not "
                          f"apply): {', '.join(unread)}")


@pytest.mark.parametrize("name", ["fee_mo_course", "fee_nt2_course", "fee_mo_test", "fee_mo_exemption_test",
                                  "fee_b1_test"])
def test_the_fee_parameters_are_named_in_full(name):
    """The fee tariffs were read as f"fee_{item}": the names are written out so a reader (and this test) can
    find them."""
    assert "rules/fees.py" in _read_names().get(name, [])
