"""`serve` is secure by default: no identity, no start (naming the setting); `--demo` is explicit (development
sign-in, banner, a random signing key kept in the store, which `inburgering token --database` uses)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.auth import verify_token
from api.cli import _demo_settings, app as cli
from engine import store_keys
from engine.settings import RETIRED_DEFAULT_SECRET, Settings

CLEAN = {"INBURGERING_JWT_SECRET": None, "INBURGERING_OIDC_ISSUER": None, "INBURGERING_OIDC_AUDIENCE": None,
         "INBURGERING_TOKEN_HOURS": None, "INBURGERING_MAX_TOKEN_HOURS": None}


@pytest.mark.parametrize("env,named", [
    ({}, "INBURGERING_JWT_SECRET"),
    ({"INBURGERING_JWT_SECRET": "too-short"}, "INBURGERING_JWT_SECRET"),
    ({"INBURGERING_JWT_SECRET": RETIRED_DEFAULT_SECRET}, "INBURGERING_JWT_SECRET"),
    ({"INBURGERING_OIDC_ISSUER": "https://idp.example"}, "INBURGERING_OIDC_AUDIENCE"),
    ({"INBURGERING_JWT_SECRET": "k" * 40, "INBURGERING_TOKEN_HOURS": "48"}, "INBURGERING_MAX_TOKEN_HOURS"),
], ids=["nothing", "short", "old-default", "oidc-without-audience", "lifetime"])
def test_serve_refuses_to_start_without_an_identity(tmp_path, env, named):
    result = CliRunner().invoke(cli, ["serve", "--no-scheduler", "--database", f"sqlite:///{tmp_path}/s.db"],
                                env={**CLEAN, **env})
    assert result.exit_code == 2, result.output
    assert "not starting" in result.output and named in result.output
    assert not (tmp_path / "s.db").exists()  # refused before touching the store


def test_the_demo_keeps_a_random_key_in_the_store(engine, clock, tmp_path, database_url):
    from engine.clock import wall_now

    clock.set(wall_now())  # `inburgering token` stamps its tokens with the wall clock
    settings = Settings(database_url=database_url, demo_data=False)
    demo = _demo_settings(engine, settings)
    assert demo.demo and len(demo.jwt_secret) >= 32
    assert demo.jwt_secret == store_keys.read(engine.db, store_keys.DEMO_SIGNING_KEY)
    assert _demo_settings(engine, settings).jwt_secret == demo.jwt_secret  # kept across restarts
    # a configured secret wins over the store's
    assert _demo_settings(engine, replace(settings, jwt_secret="c" * 40)).jwt_secret == "c" * 40
    # `inburgering token --database` signs with the store's key: its tokens work against the demo
    result = CliRunner().invoke(cli, ["token", "--role", "auditor", "--user", "ines", "--database", database_url],
                                env=CLEAN)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    with TestClient(create_app(engine, demo)) as client:
        assert client.get("/worklist", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        login = client.get("/ui/login").text
        assert 'id="demo-banner"' in login and 'id="f-role"' in login
    with TestClient(create_app(engine, replace(demo, demo=False))) as client:
        login = client.get("/ui/login").text
        assert 'id="demo-banner"' not in login and 'id="f-role"' not in login
    other = Settings(jwt_secret="another-store-key-of-32-bytes-or-more")
    with pytest.raises(Exception):
        verify_token(other, token, now=engine.clock.now())


def test_token_needs_a_key(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(cli, ["token", "--role", "admin", "--user", "x", "--database",
                                  f"sqlite:///{tmp_path}/none.db"], env=CLEAN)
    assert missing.exit_code == 2 and "INBURGERING_JWT_SECRET" in missing.output
    short = runner.invoke(cli, ["token", "--role", "admin", "--user", "x"], env={**CLEAN,
                                                                                "INBURGERING_JWT_SECRET": "short"})
    assert short.exit_code == 2 and "32" in short.output
    ok = runner.invoke(cli, ["token", "--role", "register_import", "--user", "etl"],
                       env={**CLEAN, "INBURGERING_JWT_SECRET": "s" * 40})
    assert ok.exit_code == 0 and ok.output.count(".") == 2


def test_serve_script_runs_the_demo():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "scripts" / "serve.sh").read_text()
    assert "serve --demo" in script
