"""Rule conditions that carry their own complement.

A ruleset that must reach exactly one verdict needs "none of these holds" as
well as "this holds". durable-rules has no general negation (its ``-m.x`` only
tests that a field is absent), so every :class:`Cond` keeps both a condition and
its complement, written out with De Morgan's laws; ``~``, ``&`` and ``|`` combine
them. Both sides are durable-rules expressions over the asserted fact ``m``.

Facts used with these conditions must hold every field they test, without nulls:
durable-rules treats a missing field (or a null) as failing both a test and its
complement. Lists tested with :func:`has_item`/:func:`has_item_other_than` must be
non-empty (durable-rules' "all items" test fails on an empty list).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import Any, Iterable

from durable.lang import item, m

__all__ = [
    "Cond",
    "field",
    "equals",
    "one_of",
    "is_true",
    "below",
    "at_least",
    "has_item",
    "has_item_other_than",
    "all_of",
    "any_of",
]


@dataclass(frozen=True, eq=False)
class Cond:
    """A durable-rules condition (``holds``) with its complement (``fails``)."""

    holds: Any
    fails: Any

    def __invert__(self) -> "Cond":
        return Cond(self.fails, self.holds)

    def __and__(self, other: "Cond") -> "Cond":
        return Cond(self.holds & other.holds, self.fails | other.fails)

    def __or__(self, other: "Cond") -> "Cond":
        return Cond(self.holds | other.holds, self.fails & other.fails)

    def define(self) -> dict:
        """The durable-rules JSON of the condition (so a Cond can be a rule's ``when``)."""
        return self.holds.define()


def field(path: str) -> Any:
    """The durable-rules reference to a (dotted) field of the fact."""
    reference = m
    for part in path.split("."):
        reference = getattr(reference, part)
    return reference


def equals(path: str, expected: Any) -> Cond:
    return Cond(field(path) == expected, field(path) != expected)


def one_of(path: str, values: Iterable[Any]) -> Cond:
    return any_of(*(equals(path, value) for value in values))


def is_true(path: str) -> Cond:
    """A boolean field is true (its complement: it is false)."""
    return Cond(field(path) == True, field(path) == False)  # noqa: E712 - durable-rules DSL


def below(path: str, limit_path: str) -> Cond:
    """A numeric field is below another field of the same fact."""
    return Cond(field(path) < field(limit_path), field(path) >= field(limit_path))


def at_least(path: str, limit_path: str) -> Cond:
    return ~below(path, limit_path)


def has_item(path: str, expected: Any) -> Cond:
    """A non-empty list field contains ``expected``."""
    return Cond(field(path).anyItem(item == expected), field(path).allItems(item != expected))


def has_item_other_than(path: str, excluded: Any) -> Cond:
    """A non-empty list field contains something other than ``excluded``."""
    return Cond(field(path).anyItem(item != excluded), field(path).allItems(item == excluded))


def all_of(*conditions: Cond) -> Cond:
    if not conditions:
        raise ValueError("all_of needs at least one condition")
    return reduce(lambda left, right: left & right, conditions)


def any_of(*conditions: Cond) -> Cond:
    if not conditions:
        raise ValueError("any_of needs at least one condition")
    return reduce(lambda left, right: left | right, conditions)
