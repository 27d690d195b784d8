"""The durable-rules door (rules/host.py; ENGINEERING.md "durable-rules 2.0.28")."""
import threading
import uuid

import pytest
from durable.lang import m

from rules import host
from rules.conditions import equals
from rules.host import Rule, RuleEvaluationError, RulesetAlreadyDefined, UnknownRuleset, emit


def unordered(emitted):
    return sorted(map(repr, emitted))


def fresh_name(label: str) -> str:
    """durable-rules cannot re-register a ruleset: every test defines its own."""
    return f"test_{label}_{uuid.uuid4().hex[:8]}_v1"


@pytest.fixture
def colour_ruleset():
    name = fresh_name("colours")
    host.define(name, [
        Rule("red", m.colour == "red", emit({"code": "is_red"})),
        Rule("warm", (m.colour == "red") | (m.colour == "orange"), emit({"code": "is_warm"})),
        Rule("big", m.size > m.limit, lambda fact: [{"code": "big", "size": fact["size"]}]),
    ])
    return name


def test_every_matching_rule_fires_synchronously(colour_ruleset):
    emitted = host.evaluate(colour_ruleset, {"colour": "red", "size": 3, "limit": 5})
    assert sorted(e["code"] for e in emitted) == ["is_red", "is_warm"]
    emitted = host.evaluate(colour_ruleset, {"colour": "orange", "size": 9, "limit": 5})
    assert sorted(e["code"] for e in emitted) == ["big", "is_warm"]
    assert {"code": "big", "size": 9} in emitted


def test_a_rule_fires_once_even_when_several_alternatives_match():
    # durable-rules would run the action once per matching alternative of the `|`
    calls = []
    name = fresh_name("alternatives")
    host.define(name, [Rule("either", (m.a == 1) | (m.b == 1) | (m.c == 1), lambda fact: calls.append(1) or {"hit": 1})])
    assert host.evaluate(name, {"a": 1, "b": 1, "c": 1}) == [{"hit": 1}]
    assert calls == [1]


def test_actions_see_the_fact_without_engine_keys():
    seen = []
    name = fresh_name("seen")
    host.define(name, [Rule("any", m.a == 1, lambda fact: seen.append(fact))])
    assert host.evaluate(name, {"a": 1, "b": [1, 2]}) == []
    assert seen == [{"a": 1, "b": [1, 2]}]


def test_a_message_no_rule_matches_emits_nothing(colour_ruleset):
    assert host.evaluate(colour_ruleset, {"colour": "blue", "size": 1, "limit": 5}) == []
    assert host.evaluate(colour_ruleset, {"unrelated": True}) == []


def test_unmatched_messages_do_not_exhaust_the_state_table(colour_ruleset):
    # unhandled messages would each keep one of durable-rules' 1024 states (and deleting
    # such a state crashes the process): the host's catch-all rule prevents both
    for _ in range(1500):
        assert host.evaluate(colour_ruleset, {"size": 1}) == []
    assert len(host.evaluate(colour_ruleset, {"colour": "red", "size": 1, "limit": 5})) == 2


def test_identical_facts_are_not_deduplicated(colour_ruleset):
    facts = {"colour": "red", "size": 1, "limit": 5}
    first = host.evaluate(colour_ruleset, facts)
    second = host.evaluate(colour_ruleset, facts)
    assert first and sorted(map(str, first)) == sorted(map(str, second))


def test_more_evaluations_than_durable_rules_has_state_slots(colour_ruleset):
    # durable-rules keeps at most 1024 session states per ruleset; each evaluation frees its own
    for _ in range(1500):
        assert len(host.evaluate(colour_ruleset, {"colour": "red", "size": 1, "limit": 5})) == 2


def test_an_exception_in_an_action_is_raised_not_swallowed():
    name = fresh_name("boom")

    def explode(fact):
        raise ZeroDivisionError("division in a rule")

    host.define(name, [Rule("ok", m.x == 1, emit({"ok": True})), Rule("explode", m.x == 1, explode)])
    with pytest.raises(RuleEvaluationError, match="explode") as caught:
        host.evaluate(name, {"x": 1})
    assert isinstance(caught.value.__cause__, ZeroDivisionError)
    # the host stays usable, also beyond the state table size
    for _ in range(1100):
        with pytest.raises(RuleEvaluationError):
            host.evaluate(name, {"x": 1})
    assert host.evaluate(name, {"x": 2}) == []


def test_an_action_emitting_garbage_is_an_error():
    name = fresh_name("garbage")
    host.define(name, [Rule("bad", m.x == 1, lambda fact: ["not a mapping"])])
    with pytest.raises(RuleEvaluationError, match="not a mapping"):
        host.evaluate(name, {"x": 1})


def test_rules_cannot_evaluate_from_inside_an_action(colour_ruleset):
    name = fresh_name("reentrant")
    host.define(name, [Rule("nested", m.x == 1, lambda fact: host.evaluate(colour_ruleset, {"colour": "red"}))])
    with pytest.raises(RuleEvaluationError, match="inside a rule action"):
        host.evaluate(name, {"x": 1})


def test_unknown_ruleset():
    with pytest.raises(UnknownRuleset, match="never_defined") as caught:
        host.evaluate("never_defined_v1", {"x": 1})
    assert isinstance(caught.value, KeyError)


def test_a_ruleset_is_defined_once(colour_ruleset):
    with pytest.raises(RulesetAlreadyDefined, match="new versioned name"):
        host.define(colour_ruleset, [Rule("other", m.x == 1, emit({}))])
    assert colour_ruleset in host.defined_rulesets()


def test_definition_errors():
    with pytest.raises(ValueError, match="no rules"):
        host.define(fresh_name("empty"), [])
    with pytest.raises(ValueError, match="duplicate rule names"):
        host.define(fresh_name("dup"), [Rule("a", m.x == 1, emit({})), Rule("a", m.x == 2, emit({}))])
    with pytest.raises(TypeError, match="not a durable-rules expression"):
        host.define(fresh_name("cond"), [Rule("a", "x == 1", emit({}))])


def test_facts_are_checked(colour_ruleset):
    for key in ("sid", "id", "_evaluation"):
        with pytest.raises(ValueError, match="reserved"):
            host.evaluate(colour_ruleset, {key: "mine", "colour": "red"})
    with pytest.raises(ValueError, match="JSON"):
        host.evaluate(colour_ruleset, {"colour": object()})


def test_conditions_with_complements_are_usable_as_rules():
    name = fresh_name("cond")
    red = equals("colour", "red")
    host.define(name, [Rule("red", red, emit({"v": "red"})), Rule("not_red", ~red, emit({"v": "other"}))])
    assert host.evaluate(name, {"colour": "red"}) == [{"v": "red"}]
    assert host.evaluate(name, {"colour": "blue"}) == [{"v": "other"}]


def test_no_background_threads_and_thread_safe_evaluation(colour_ruleset):
    host.evaluate(colour_ruleset, {"colour": "red", "size": 1, "limit": 0})
    before = {t.ident for t in threading.enumerate()}
    failures = []

    def worker(n):
        for i in range(150):
            size = n * 1000 + i
            emitted = host.evaluate(colour_ruleset, {"colour": "green", "size": size, "limit": -1})
            if emitted != [{"code": "big", "size": size}]:
                failures.append((size, emitted))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    after = {t.ident for t in threading.enumerate()}
    assert after <= before  # durable-rules' dispatcher/timer threads never started
    assert not any(isinstance(t, threading.Timer) for t in threading.enumerate())


def test_floats_reach_the_rules_exactly():
    # durable-rules' own JSON reader refuses 1e-05 (exponent without a decimal point)
    name = fresh_name("floats")
    host.define(name, [Rule("positive", m.p > 0, emit({"sign": "+"})), Rule("below", m.p < m.limit, emit({"below": True}))])
    assert unordered(host.evaluate(name, {"p": 1e-05, "limit": 1})) == unordered([{"sign": "+"}, {"below": True}])
    assert unordered(host.evaluate(name, {"p": 5e-324, "limit": 1e-300})) == unordered([{"sign": "+"}, {"below": True}])
    assert unordered(host.evaluate(name, {"p": 1e-300, "limit": 5e-324})) == unordered([{"sign": "+"}])
    assert unordered(host.evaluate(name, {"p": 79.99999999999999, "limit": 80})) == unordered([{"sign": "+"}, {"below": True}])
    assert unordered(host.evaluate(name, {"p": 1e+16, "limit": 80})) == unordered([{"sign": "+"}])
    with pytest.raises(ValueError, match="finite"):
        host.evaluate(name, {"p": float("nan"), "limit": 1})


def test_conditions_durable_rules_would_misread_are_refused_at_definition():
    with pytest.raises(ValueError, match="exponent"):
        host.define(fresh_name("tiny"), [Rule("tiny", m.p > 1e-06, emit({}))])
