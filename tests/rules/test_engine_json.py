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


no_floats = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.tuples(children, children)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=10,
)


@given(no_floats)
def test_writes_what_the_standard_library_writes_when_no_float_needs_mending(value):
    assert engine_json.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_an_error_names_the_place_of_the_bad_value():
    with pytest.raises(ValueError, match=r"^\$\.a\[1\]\.b: nan is not a finite number"):
        engine_json.dumps({"a": [1, {"b": float("nan")}]})
    with pytest.raises(ValueError, match=r"^\$\[0\]\[2\]: key 3 is not a string"):
        engine_json.dumps([[0, 1, {3: 4}]])


def test_subclasses_keep_their_base_types_json():
    import enum

    class Colour(str, enum.Enum):
        RED = "red"

    class Level(enum.IntEnum):
        HIGH = 3

    assert engine_json.dumps({"c": Colour.RED, "l": Level.HIGH}) == '{"c":"red","l":3}'
