"""One catalogue, two languages: complete, consistent, and the only place with interface text."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from api.web import i18n
from api.web.forms import fields_of
from engine import commands

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "api" / "web" / "templates"
WEB = ROOT / "api" / "web"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders():
    for key, texts in i18n.MESSAGES.items():
        assert len(texts) == len(i18n.LANGUAGES), key
        assert all(text.strip() for text in texts), key
        assert _placeholders(texts[0]) == _placeholders(texts[1]), key


def test_every_event_field_and_option_has_a_label():
    for event, schema in commands.EVENT_SCHEMAS.items():
        assert f"event.{event}" in i18n.MESSAGES and f"event.{event}.help" in i18n.MESSAGES, event
        for field in fields_of(schema):
            assert f"field.{field.name}" in i18n.MESSAGES, (event, field.name)
            for option in field.options:
                assert i18n.value_key(option, field.name) in i18n.MESSAGES, (event, field.name, option)


def test_every_code_the_engine_shows_has_a_label():
    from api.auth import AGENCIES, ROLES
    from engine.context import USER_STEPS
    from engine.dossier import COMPONENTS
    from rules import geography, infractions, target_group

    codes = {*ROLES, *AGENCIES, *USER_STEPS, *COMPONENTS, *target_group.REASON_ORDER,
             *target_group.RESIDENCE_STATUSES, *target_group.EVIDENCE_KINDS, *target_group.MOVED_IN_FROM,
             *(region for _, (region, _agency) in geography._PREFIXES), *infractions.DIRECT_2022.values(),
             "irregular_participation", "early_termination", "obligated", "entitled", "excluded",
             "registration", "reregistration", "vdab", "b1", "regularisation", "running", "met", "fired", "stopped",
             "open", "regularised", "handed_over", "fined", "not_fined", "annulled"}
    codes |= {region for region, _agency in geography._CITIES.values()} if hasattr(geography, "_CITIES") else set()
    missing = sorted(c for c in codes if i18n.value_key(c, "residence" if c in target_group.RESIDENCE_STATUSES
                                                      else None) not in i18n.MESSAGES)
    assert not missing, missing


def test_every_journal_kind_has_a_label():
    kinds = set()
    for path in (ROOT / "engine").glob("*.py"):
        kinds |= set(re.findall(r'record\(\s*"([a-z_]+)"', path.read_text()))
        kinds |= set(re.findall(r'"(timer_(?:armed|moved|disarmed))"', path.read_text()))
    assert kinds, "no journal kinds found in engine/"
    assert not sorted(k for k in kinds if f"kind.{k}" not in i18n.MESSAGES)


def test_keys_named_literally_in_templates_and_code_exist():
    pattern = re.compile(r"""\bt\(\s*['"]([a-z0-9_.\/]+)['"]""")
    used = set()
    for path in [*TEMPLATES.glob("*.html"), *WEB.glob("*.py")]:
        used |= {key for key in pattern.findall(path.read_text()) if not key.endswith(".")}
    assert used
    assert not sorted(key for key in used if key not in i18n.MESSAGES)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_carry_no_interface_text_of_their_own(template):
    source = (TEMPLATES / template).read_text()
    text = re.sub(r"{#.*?#}|{%.*?%}|{{.*?}}", " ", source, flags=re.S)  # Jinja
    text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)  # tags and their attributes
    text = re.sub(r'[\w-]+="[^"]*"', " ", text)  # attributes a macro writes into a tag
    words = re.findall(r"[^\W\d_]{2,}", text)
    assert not words, f"{template}: literal text {words[:10]} (put it in api/web/i18n.py)"
    for attribute in re.findall(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', source):
        assert "{{" in attribute or not re.search(r"[^\W\d_]{2,}", attribute), (template, attribute)


def test_unknown_language_falls_back_to_dutch():
    assert i18n.Translator("fr").t("worklist.title") == "Werklijst"
    assert i18n.Translator("en").t("worklist.title") == "Worklist"
    assert i18n.Translator("en").v("vdab_exempt:working") == "exempt from VDAB: working"
    assert i18n.Translator("nl").v("regularised", "residence") == "geregulariseerd"
    assert i18n.Translator("nl").v(True) == "ja"
