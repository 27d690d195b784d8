"""Our only door to durable-rules (ENGINEERING.md, "What we know about our libraries").

Rule modules declare rulesets with :func:`define` (a name and a list of
:class:`Rule`: a durable-rules condition over the fact ``m`` plus an action that
returns what it emits); callers run them with :func:`evaluate`.

What this module takes care of, so that nobody else has to:

* **One host, created lazily under a lock.** durable-rules' host is global and not
  thread-safe; every call into it runs under :data:`_lock`, one at a time. Our
  host subclass starts none of durable-rules' background dispatch/timer threads
  (its own clock is wrong when TZ is not UTC, and deadlines are ours): actions run
  synchronously inside the assertion, in the calling thread.
* **Single registration.** A ruleset is registered with durable-rules the first
  time it is evaluated and can never be replaced: a law change is a new,
  versioned ruleset name (``target_group_v1`` → ``target_group_v2``).
* **One message per evaluation.** The facts are asserted as ONE fact with a fresh
  ``sid``/``id`` (uuid4), so distinct evaluations never collide or get
  de-duplicated. A *fact* rather than an event: durable-rules lets an event be
  consumed by the first rule that matches it, while a fact is seen by every rule
  whose condition holds — our rulesets need all of them. The session state is
  deleted afterwards (durable-rules keeps states in a fixed-size table and raises
  ``MemoryError`` once it is full).
* **Every message is handled.** durable-rules keeps a session state even for a
  message no rule matches (``MessageNotHandledException``), and deleting that
  state crashes the process (``free(): invalid pointer``) — so such states would
  leak until the table is full. Every ruleset therefore gets a silent catch-all
  rule on a marker field the host adds to each message; a message none of the
  ruleset's own rules matches simply emits nothing: ``[]``.
* **Each rule fires at most once per message.** durable-rules compiles a condition
  with ``|`` into one network path per alternative and fires the action once for
  every alternative that matches; the host runs a rule's action only the first
  time, so a rule means "this condition holds for the fact".
* **No swallowed errors.** durable-rules catches an exception raised in an action
  and stores it in the session state; we record the original, check the state,
  and raise :class:`RuleEvaluationError`.
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import durable_rules_engine
from durable import engine as _durable

from . import engine_json

__all__ = [
    "Rule",
    "emit",
    "define",
    "defined_rulesets",
    "evaluate",
    "RuleEvaluationError",
    "UnknownRuleset",
    "RulesetAlreadyDefined",
]

_log = logging.getLogger(__name__)

Emitted = Mapping[str, Any]
Action = Callable[[dict], "Iterable[Emitted] | Emitted | None"]
_MARKER = "_evaluation"  # added to every message; matched by the catch-all rule
_CATCH_ALL = "__host_every_message__"
_RESERVED = ("sid", "id", _MARKER)


class RuleEvaluationError(RuntimeError):
    """A rule action failed, or the rule engine itself did."""


class UnknownRuleset(KeyError):
    """No ruleset of this name was defined."""

    def __str__(self) -> str:
        return f"unknown ruleset {self.args[0]!r}"


class RulesetAlreadyDefined(ValueError):
    """A ruleset name can be defined once; a changed ruleset needs a new versioned name."""


@dataclass(frozen=True, eq=False)
class Rule:
    """One rule: when ``when`` holds for the fact, ``action(fact)`` runs and emits.

    ``when`` is a durable-rules expression over ``durable.lang.m`` (or its JSON
    definition as a dict). ``action`` receives the fact (without ``sid``/``id``)
    and returns a mapping, an iterable of mappings, or ``None``.
    """

    name: str
    when: Any
    action: Action


def emit(*outputs: Emitted) -> Action:
    """An action that emits (copies of) ``outputs`` whenever its rule fires."""
    frozen = tuple(dict(output) for output in outputs)

    def action(fact: dict) -> list[dict]:
        return [dict(output) for output in frozen]

    return action


class _QuietHost(_durable.Host):
    """A durable-rules host without its background dispatch and timer threads."""

    def _run(self) -> None:  # noqa: D401 - overrides the thread start-up
        return None

    def assert_fact_text(self, ruleset_name: str, text: str) -> Any:
        """``Host.assert_fact`` for JSON we serialized ourselves (:mod:`rules.engine_json`).

        Same path as durable-rules' own ``assert_fact`` (assert, then run the
        actions synchronously), minus its ``json.dumps``.
        """
        rules = self.get_ruleset(ruleset_name)

        def assert_text(fact_text: str) -> Any:
            return rules._handle_result(durable_rules_engine.assert_fact(rules._handle, fact_text), fact_text)

        return self._handle_function(rules, assert_text, text, None)


@dataclass
class _Evaluation:
    ruleset: str
    outputs: list[dict] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    error: BaseException | None = None
    failed_rule: str | None = None


_lock = threading.Lock()
_host: _QuietHost | None = None
_definitions: dict[str, tuple[Rule, ...]] = {}
_registered: set[str] = set()
_running: dict[str, _Evaluation] = {}  # by sid, only while an evaluation runs
_owner: int | None = None  # thread holding _lock, to refuse re-entrant calls


def define(ruleset_name: str, rules: Sequence[Rule]) -> None:
    """Declare a ruleset; it is registered with durable-rules on first evaluation.

    Raises :class:`RulesetAlreadyDefined` when the name is taken, and
    :class:`ValueError` for an empty ruleset or duplicate rule names.
    """
    if not isinstance(ruleset_name, str) or not ruleset_name:
        raise ValueError("a ruleset needs a non-empty name")
    rules = tuple(rules)
    if not rules:
        raise ValueError(f"ruleset {ruleset_name!r} has no rules")
    for rule in rules:
        _condition(ruleset_name, rule)  # fail fast on a malformed condition
    names = [rule.name for rule in rules]
    if _CATCH_ALL in names:
        raise ValueError(f"ruleset {ruleset_name!r}: the rule name {_CATCH_ALL!r} is reserved")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"ruleset {ruleset_name!r}: duplicate rule names {duplicates}")
    with _guard():
        if ruleset_name in _definitions:
            raise RulesetAlreadyDefined(
                f"ruleset {ruleset_name!r} is already defined; give a changed ruleset a new versioned name"
            )
        _definitions[ruleset_name] = rules


def split_name(durable_name: str) -> tuple[str, str]:
    """``"infractions_2022_v1"`` → ``("infractions_2022", "1")``: a ruleset is registered under its name
    and version, and the dated parameters that choose it name it so (rules/parameters/*_ruleset.yaml)."""
    name, sep, version = durable_name.rpartition("_v")
    if not sep or not name or not version:
        raise ValueError(f"ruleset name {durable_name!r} is not of the form NAME_vVERSION")
    return name, version


def defined_rulesets() -> tuple[str, ...]:
    """Names of all defined rulesets."""
    with _guard():
        return tuple(sorted(_definitions))


def evaluate(ruleset_name: str, facts: Mapping[str, Any]) -> list[dict]:
    """Assert ``facts`` as one message into ``ruleset_name``; return what the actions emitted.

    Emitted mappings come back as dicts, in the order the actions ran. A message
    no rule matches returns ``[]``. Raises :class:`UnknownRuleset`,
    :class:`ValueError` (reserved keys ``sid``/``id``, or facts that are not
    JSON), and :class:`RuleEvaluationError` when an action or the engine fails.
    """
    reserved = [key for key in _RESERVED if key in facts]
    if reserved:
        raise ValueError(f"facts must not contain the reserved key(s) {reserved}")
    sid = uuid.uuid4().hex
    message = {**facts, "sid": sid, "id": sid, _MARKER: 1}
    try:
        text = engine_json.dumps(message)
    except ValueError as error:
        raise ValueError(f"facts for {ruleset_name!r} are not JSON the rule engine reads: {error}") from error

    with _guard():
        host = _ensure_registered(ruleset_name)
        evaluation = _Evaluation(ruleset_name)
        _running[sid] = evaluation
        handled = True
        try:
            state = host.assert_fact_text(ruleset_name, text)
        except _durable.MessageNotHandledException:  # cannot happen with the catch-all rule
            handled = False
            state = None
            _log.warning("durable-rules did not handle a message of %s; its state slot leaks", ruleset_name)
        except Exception as error:  # the engine itself failed
            raise RuleEvaluationError(
                f"rule engine failed evaluating {ruleset_name!r}: {error!r}"
            ) from error
        finally:
            del _running[sid]
            if handled:  # deleting the state of an unhandled message crashes durable-rules
                _delete_state(host, ruleset_name, sid)

    if evaluation.error is not None:
        raise RuleEvaluationError(
            f"rule {evaluation.failed_rule!r} of {ruleset_name!r} failed: {evaluation.error!r}"
        ) from evaluation.error
    if isinstance(state, dict) and state.get("exception"):
        raise RuleEvaluationError(f"ruleset {ruleset_name!r} failed: {state['exception']}")
    return evaluation.outputs


# ---------------------------------------------------------------- internals


class _guard:
    """Hold the module lock; refuse a re-entrant call from a rule action."""

    def __enter__(self) -> None:
        global _owner
        if _owner == threading.get_ident():
            raise RuleEvaluationError("rules cannot be evaluated or defined from inside a rule action")
        _lock.acquire()
        _owner = threading.get_ident()

    def __exit__(self, *exc: object) -> None:
        global _owner
        _owner = None
        _lock.release()


def _ensure_registered(ruleset_name: str) -> _QuietHost:
    """Create the host once and register ``ruleset_name`` once (caller holds the lock)."""
    global _host
    if ruleset_name not in _definitions:
        raise UnknownRuleset(ruleset_name)
    if _host is None:
        _host = _QuietHost()
    if ruleset_name not in _registered:
        try:
            _host.register_rulesets({ruleset_name: _durable_definition(ruleset_name)})
        except Exception as error:
            raise RuleEvaluationError(f"durable-rules refused ruleset {ruleset_name!r}: {error!r}") from error
        _registered.add(ruleset_name)
    return _host


def _durable_definition(ruleset_name: str) -> dict:
    definition = {
        rule.name: {"all": [{"m": _condition(ruleset_name, rule)}], "run": _durable_action(rule)}
        for rule in _definitions[ruleset_name]
    }
    definition[_CATCH_ALL] = {"all": [{"m": {_MARKER: 1}}], "run": _ignore}
    return definition


def _ignore(c: Any) -> None:
    """The catch-all action: the message was seen; nothing to emit."""
    return None


def _condition(ruleset_name: str, rule: Rule) -> dict:
    """The JSON condition durable-rules expects for one rule."""
    if not isinstance(rule, Rule):
        raise TypeError(f"ruleset {ruleset_name!r}: {rule!r} is not a Rule")
    if not callable(rule.action):
        raise TypeError(f"rule {rule.name!r} of {ruleset_name!r}: action is not callable")
    condition = rule.when.define() if hasattr(rule.when, "define") else rule.when
    if not isinstance(condition, dict) or not condition:
        raise TypeError(f"rule {rule.name!r} of {ruleset_name!r}: condition is not a durable-rules expression")
    try:
        engine_json.check(condition)
    except ValueError as error:
        raise ValueError(f"rule {rule.name!r} of {ruleset_name!r}: {error}") from error
    return condition


def _durable_action(rule: Rule) -> Callable[[Any], None]:
    def run(c: Any) -> None:
        raw = dict(c.m._d)
        evaluation = _running.get(raw.get("sid"))
        if evaluation is None:  # not one of ours (cannot happen: no background dispatch)
            raise RuleEvaluationError(f"rule {rule.name!r} fired outside an evaluation")
        if rule.name in evaluation.fired:  # another alternative of the same condition
            return
        evaluation.fired.add(rule.name)
        fact = {key: item for key, item in raw.items() if key not in _RESERVED}
        try:
            emitted = rule.action(fact)
            evaluation.outputs.extend(_as_outputs(rule.name, emitted))
        except BaseException as error:
            if evaluation.error is None:
                evaluation.error = error
                evaluation.failed_rule = rule.name
            raise  # durable-rules records it in the session state as well

    return run


def _as_outputs(rule_name: str, emitted: Any) -> list[dict]:
    if emitted is None:
        return []
    if isinstance(emitted, Mapping):
        return [dict(emitted)]
    outputs = []
    for item in emitted:
        if not isinstance(item, Mapping):
            raise TypeError(f"rule {rule_name!r} emitted {item!r}, not a mapping")
        outputs.append(dict(item))
    return outputs


def _delete_state(host: _QuietHost, ruleset_name: str, sid: str) -> None:
    try:
        host.delete_state(ruleset_name, sid)
    except Exception as error:
        _log.warning("could not delete durable-rules state %s of %s: %r", sid, ruleset_name, error)
