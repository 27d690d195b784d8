"""Forms generated from the events' JSON Schemas, and the form text → payload conversion."""
from __future__ import annotations

from api.web import forms
from api.web.i18n import Translator
from engine.commands import EVENT_SCHEMAS

TR = Translator("nl")


def kinds(event: str) -> dict:
    """The form's inputs, without the date of the fact every event has."""
    found = {f.name: f.kind for f in forms.fields_of(EVENT_SCHEMAS[event])}
    assert found.pop("on") == "date"
    return found


def test_schema_types_become_the_right_inputs():
    assert kinds("intake") == {"advice": "select"}
    assert kinds("contract_signed") == {"components": "checkboxes"}
    assert kinds("b1_test") == {"passed": "checkbox"}
    assert kinds("pnt_hours") == {"hours": "number"}
    assert kinds("activity") == {"kind": "select", "from": "date", "to": "date"}
    assert kinds("moved") == {"nis_code": "text"}
    assert kinds("registered") == {"office": "select"}  # its options: the offices the page finds in force
    test_result = {f.name: f for f in forms.fields_of(EVENT_SCHEMAS["test_result"])}
    assert test_result["component"].required and not test_result["level"].required
    assert (test_result["core_percent"].minimum, test_result["core_percent"].maximum) == (0, 100)
    assert test_result["level"].options == ["below_A1", "A1", "A2", "B1", "B2"]


def test_choices_override_a_string_field():
    fields = forms.fields_of(EVENT_SCHEMAS["enforcement_decision"], {"infraction": ["late_registration"]})
    infraction = next(f for f in fields if f.name == "infraction")
    assert infraction.kind == "select" and infraction.options == ["late_registration"]


def test_form_text_becomes_the_api_payload():
    fields = forms.fields_of(EVENT_SCHEMAS["test_result"])
    sub = forms.parse(fields, {"component": ["mo"], "core_percent": ["61,5"], "total_percent": ["70"],
                               "level": [""]}, TR)
    assert sub.payload == {"component": "mo", "core_percent": 61.5, "total_percent": 70} and sub.ok
    b1 = forms.parse(forms.fields_of(EVENT_SCHEMAS["b1_test"]), {}, TR)
    assert b1.payload == {"passed": False}
    contract = forms.parse(forms.fields_of(EVENT_SCHEMAS["contract_signed"]), {"components": ["nt2", "mo"]}, TR)
    assert contract.payload == {"components": ["mo", "nt2"]}  # schema order
    bad = forms.parse(forms.fields_of(EVENT_SCHEMAS["contract_signed"]), {"components": ["xx"]}, TR)
    assert "components" in bad.errors


def test_all_schema_errors_are_collected_per_field():
    schema = EVENT_SCHEMAS["enforcement_decision"]
    fields = forms.fields_of(schema, {"infraction": ["late_registration"]})
    sub = forms.parse(fields, {"decision": ["maybe"], "fine_eur": ["-5"]}, TR)
    forms.validate(schema, fields, sub, TR)
    assert sub.errors == {"decision": "Kies een van de mogelijkheden.",
                          "fine_eur": "Vul een waarde in tussen 0 en 1000000."}


def test_json_paths_map_to_fields():
    fields = forms.fields_of(EVENT_SCHEMAS["contract_signed"])
    assert forms.field_of_path("$.components[0]", fields) == "components"
    assert forms.field_of_path("$", fields) is None
    assert forms.field_of_path("$.other", fields) is None


def test_urlencoded_bodies_are_parsed_without_multipart():
    assert forms.form_pairs(b"a=1&b=x+y&a=2&c=") == {"a": ["1", "2"], "b": ["x y"], "c": [""]}
