"""No personal data in logs (issue 13): errors provoked with a known birth date and national register number
(INSZ) leave neither in the captured logs — the app's (caplog, SQLite and PostgreSQL) and a real server's
stderr (`inburgering serve` in a subprocess)."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.auth import issue_token
from engine.clock import wall_now
from engine.settings import Settings

from .conftest import newcomer_data

ROOT = Path(__file__).resolve().parents[2]
BIRTH = "1987-03-14"
INSZ = "870314123" + f"{97 - 870314123 % 97:02d}"
SECRET_VALUES = (BIRTH, INSZ, "870314", "SY", "recognised_refugee")


def person(dossier_id="p1"):
    return newcomer_data(dossier_id, birth_date=BIRTH, insz=INSZ, nationalities=["SY"], residence="recognised_refugee")


def break_the_journal(db) -> None:
    """The store loses its journal table: the import fails inside the database, with the newcomer's data bound."""
    with db.begin() as connection:
        connection.execute(text("ALTER TABLE journal_entry RENAME TO journal_entry_gone"))


def provoke(client, headers) -> list:
    """A database failure, invalid input with the person's data and bad ids: never a log line with personal data."""
    responses = [client.post("/newcomers", json=person(), headers=headers)]
    assert responses[0].status_code == 500
    responses.append(client.post("/newcomers", json={**person("p2"), "obligation_start": "1980-01-01"},
                                 headers=headers))                            # birth after the obligation start
    responses.append(client.post("/newcomers", json={**person("p3"), "insz": INSZ[:-1] + "0"}, headers=headers))
    responses.append(client.get("/dossiers/p1%00", headers=headers))
    for response in responses:
        assert INSZ not in response.text and "870314" not in response.text
    return responses


def test_app_logs_carry_no_personal_data(engine, settings, auth, caplog):
    break_the_journal(engine.db)
    with caplog.at_level(logging.DEBUG):
        with TestClient(create_app(engine, settings), raise_server_exceptions=False) as client:
            responses = provoke(client, auth("admin"))
    correlation = responses[0].json()["correlation_id"]
    assert correlation in caplog.text and "journal_entry" in caplog.text  # the error is logged, usefully
    for value in SECRET_VALUES:
        assert value not in caplog.text, value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_stderr_carries_no_personal_data(tmp_path):
    url = f"sqlite:///{tmp_path}/served.db"
    from engine.clock import SystemClock
    from engine.service import bootstrap

    secret = "log-test-signing-key-of-more-than-32-bytes"
    store = bootstrap(Settings(database_url=url, jwt_secret=secret, demo_data=False), SystemClock())
    break_the_journal(store.db)
    store.db.dispose()
    port = _free_port()
    env = {**os.environ, "INBURGERING_JWT_SECRET": secret, "INBURGERING_DATABASE_URL": url}
    log_file = tmp_path / "stderr.log"
    with log_file.open("wb") as sink:
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--no-scheduler", "--port", str(port)],
                                  cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the server did not start: " + log_file.read_text())
                time.sleep(0.2)
            token = issue_token(Settings(jwt_secret=secret), role="admin", user="root", now=wall_now())
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
                responses = provoke(client, {})
            assert responses[0].headers["connection"] == "close"
        finally:
            server.terminate()
            server.wait(timeout=30)
    logged = log_file.read_text()
    assert responses[0].json()["correlation_id"] in logged
    for value in SECRET_VALUES:
        assert value not in logged, value


def test_database_errors_never_carry_bound_parameters(database_url):
    """``hide_parameters``: whatever logs or prints a database error (ours, a library's) never sees the values."""
    from sqlalchemy.exc import DBAPIError

    from engine.db import make_engine

    db = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as raised:
            with db.connect() as connection:
                connection.execute(text("SELECT * FROM no_such_table WHERE a = :birth AND b = :insz"),
                                   {"birth": BIRTH, "insz": INSZ})
        assert BIRTH not in str(raised.value) and INSZ not in str(raised.value)
        assert "hidden" in str(raised.value)
    finally:
        db.dispose()
