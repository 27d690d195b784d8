"""The production layout in deploy/ names commands and options that exist (parsed, not run)."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import typer

from api.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def command_lines() -> list[tuple[str, str]]:
    lines = []
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            lines.append(("Procfile", line.split(":", 1)[1]))
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                lines.append((unit.name, line.split("=", 1)[1]))
    return lines


@pytest.mark.parametrize("where, line", command_lines())
def test_every_command_in_deploy_parses(where, line):
    text = re.sub(r"\$\{[A-Z_]+:-([^}]+)\}", r"\1", line).replace("%i", "2")
    words = shlex.split(text)
    words = words[next(i for i, w in enumerate(words) if w.endswith("inburgering")) + 1:]
    group = typer.main.get_command(app)
    ctx = group.make_context("inburgering", list(words), resilient_parsing=False)
    name, command, rest = group.resolve_command(ctx, list(ctx._protected_args) + ctx.args)
    with command.make_context(name, rest, parent=ctx) as sub:
        assert sub.params, (where, line)


def test_the_env_example_names_only_known_settings():
    names = {line.split("=", 1)[0] for line in (DEPLOY / "inburgering.env.example").read_text().splitlines()
             if line and not line.startswith("#")}
    readme = (DEPLOY.parent / "README.md").read_text()
    assert names and all(name in readme for name in names), names - {n for n in names if n in readme}
