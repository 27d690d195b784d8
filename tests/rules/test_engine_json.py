"""JSON for durable-rules' parser (rules/engine_json.py)."""
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import engine_json

data = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@given(data)
def test_round_trips_through_standard_json(value):
    assert json.loads(engine_json.dumps(value)) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_no_exponent_without_a_decimal_point(number):
    text = engine_json.dumps(number)
    if "e" in text:
        assert "." in text.split("e")[0]


def test_examples():
    assert engine_json.dumps({"a": [1, 1e-05, "é", None, True]}) == '{"a":[1,1.0e-05,"é",null,true]}'


@pytest.mark.parametrize("value, message", [
    (float("inf"), "finite"), ({"x": float("nan")}, r"\$\.x"), (2**64, "too large"),
    ({1: 2}, "not a string"), (object(), "not JSON"), ({1, 2}, "not JSON"),
])
def test_refused(value, message):
    with pytest.raises(ValueError, match=message):
        engine_json.dumps(value)


def test_check_refuses_what_json_dumps_would_write_badly():
    engine_json.check({"a": 0.5, "b": [1.5e-07]})
    with pytest.raises(ValueError, match="exponent"):
        engine_json.check({"a": [1e-05]})
