"""Fixtures for the HTTP API tests: a real engine per test, on SQLite and on PostgreSQL.

PostgreSQL gets a fresh schema per test from ``tests/conftest.py``'s ``pg_schema_url``
(skipped with the reason when unreachable, a failure when CI is set).
"""
from __future__ import annotations

import os
from datetime import datetime
from typing import Callable, Optional

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import issue_token
from engine.clock import BRUSSELS, ManualClock
from engine.service import Engine, bootstrap
from engine.settings import Settings

START = datetime(2024, 2, 1, 9, 0, tzinfo=BRUSSELS)
SECRET = "test"



def pytest_collection_modifyitems(items):
    # The tests sign with a short secret on purpose; production secrets come from the environment.
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("ignore:The HMAC key is .* bytes long"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/t.db"
        return
    yield request.getfixturevalue("pg_schema_url")  # tests/conftest.py: fresh schema, skip/fail rule


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, jwt_secret=SECRET, demo_data=False)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def engine(settings, clock) -> Engine:
    eng = bootstrap(settings, clock)
    yield eng
    eng.db.dispose()  # release pooled connections before the schema is dropped


@pytest.fixture
def client(engine, settings) -> TestClient:
    with TestClient(create_app(engine, settings)) as test_client:
        yield test_client


@pytest.fixture
def auth(settings, clock) -> Callable[..., dict]:
    """``auth("caseworker", "atlas")`` → headers with a token issued now (on the engine clock)."""

    def headers(role: str, agency: Optional[str] = None, *, user: Optional[str] = None,
                issued: Optional[datetime] = None) -> dict:
        token = issue_token(settings, role=role, user=user or f"{role}-1", agency=agency,
                            now=issued or clock.now())
        return {"Authorization": f"Bearer {token}"}

    return headers


def newcomer_data(dossier_id: str = "n1", **overrides) -> dict:
    """An obligated newcomer in Antwerpen stad (Atlas), obligation starting 2024-01-15."""
    data = {"id": dossier_id, "birth_date": "1990-05-05", "nationalities": ["MA"],
            "residence": "family_reunification_third_country", "nis_code": "11002",
            "obligation_start": "2024-01-15"}
    data.update(overrides)
    return data


@pytest.fixture
def newcomer(client, auth) -> Callable[..., str]:
    """Import a newcomer through the API (as admin); returns the dossier id."""

    def make(dossier_id: str = "n1", **overrides) -> str:
        response = client.post("/newcomers", json=newcomer_data(dossier_id, **overrides), headers=auth("admin"))
        assert response.status_code == 201, response.text
        return dossier_id

    return make
