"""Two time axes for auditors: the dossier on date D as the system knew it at the end of date T.

The story of ../shared/scenarios/next/07: the registration deadline ran to 29 June 2024; the sweep
of 30 June established late_registration; the registration had happened on 28 June, but the
caseworker entered it on 2 July, which withdrew the infraction. "What did we know on 1 July?"
"""
from __future__ import annotations

from datetime import date, time

import pytest

from engine.asof import state_as_of
from engine.clock import brussels_instant
from engine.errors import InvalidInput
from timers.sweep import sweep_days

from ..engine.helpers import CASEWORKER, newcomer


@pytest.fixture
def story(engine, clock):
    clock.set(brussels_instant(date(2024, 3, 29)))
    engine.import_newcomer(newcomer(obligation_start="2024-03-29"))
    sweep_days(engine, clock, date(2024, 6, 29), date(2024, 7, 2))
    clock.set(brussels_instant(date(2024, 7, 2), time(9)))
    engine.handle("N1", "registered", {"on": "2024-06-28"}, actor=CASEWORKER)
    return engine


def _late_registration(view):
    return [(i["type"], i["outcome"]) for i in view["infractions"]]


def test_what_we_knew_before_the_late_entry(story):
    view = state_as_of(story, "N1", date(2024, 6, 30), known_on=date(2024, 7, 1))
    assert view["registered_on"] is None
    assert _late_registration(view) == [("late_registration", "open")]
    assert view["known_on"] == "2024-07-01"


def test_the_same_day_as_known_now_holds_the_registration_that_happened_then(story):
    view = state_as_of(story, "N1", date(2024, 6, 30))
    assert view["registered_on"] == "2024-06-28"
    # established on 30 June; its withdrawal is a fact of 2 July, so on 30 June it was still open
    assert _late_registration(view) == [("late_registration", "open")]
    later = state_as_of(story, "N1", date(2024, 7, 2))
    assert _late_registration(later) == [("late_registration", "withdrawn")]
    assert later["consistent"] is True and later["journal_intact"] is True


def test_before_the_fact_was_known_the_dossier_is_not_registered_on_any_day(story):
    assert state_as_of(story, "N1", date(2024, 6, 29), known_on=date(2024, 7, 1))["registered_on"] is None
    assert state_as_of(story, "N1", date(2024, 6, 29))["registered_on"] == "2024-06-28"


def test_known_on_before_as_of_is_refused(story):
    with pytest.raises(InvalidInput) as refused:
        state_as_of(story, "N1", date(2024, 7, 2), known_on=date(2024, 7, 1))
    assert refused.value.code == "known_on_before_as_of"


def test_the_api_answers_both_axes(story):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import issue_token
    from engine.settings import Settings

    settings = Settings(jwt_secret="known-on-test-signing-key-0123456789abcdef", demo_data=False)
    client = TestClient(create_app(story, settings))
    token = issue_token(settings, role="auditor", user="auditor-1", now=story.clock.now())
    headers = {"Authorization": f"Bearer {token}"}
    then = client.get("/dossiers/N1?as_of=2024-06-30&known_on=2024-07-01", headers=headers).json()
    now = client.get("/dossiers/N1?as_of=2024-06-30", headers=headers).json()
    assert (then["registered_on"], now["registered_on"]) == (None, "2024-06-28")
    assert client.get("/dossiers/N1/as-of/2024-06-30?known_on=2024-07-01", headers=headers).json()[
        "registered_on"] is None
    bad = client.get("/dossiers/N1?as_of=2024-07-02&known_on=2024-07-01", headers=headers)
    assert bad.status_code == 422 and bad.json()["path"] == "$.known_on"
