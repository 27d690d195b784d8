"""Fixtures of the audit tests: the audited store (public scenarios plus one extra story, run
through the real doors — register import, HTTP API, sweep — into one SQLite file, built once
per session) and private copies of it for the tests that tamper with a journal.
"""
from __future__ import annotations

import sqlite3

import pytest

from .helpers import EXTRA, build_store, sqlite_path


@pytest.fixture(scope="session")
def audit_store(tmp_path_factory) -> str:
    """URL of the shared, read-only audited store."""
    return build_store(tmp_path_factory.mktemp("audit"), [EXTRA])


@pytest.fixture
def store_copy(audit_store, tmp_path) -> str:
    """A private copy of the audited store (consistent snapshot via SQLite's backup API)."""
    target = tmp_path / "copy.db"
    with sqlite3.connect(sqlite_path(audit_store)) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


