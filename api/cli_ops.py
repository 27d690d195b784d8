"""The operators' commands of ``inburgering`` (registered by :func:`register` from api/cli.py).

    inburgering incidents list|show|retry|resolve
    inburgering processes list|show|diff
    inburgering migrate --process P --to W [--from V] [--dossier ID]... [--dry-run]
    inburgering sweeper [--once] [--hour H]
"""
from __future__ import annotations

import json
from typing import List, Optional

import typer

incidents_app = typer.Typer(help="Incidents: dossiers whose step raised in the sweep or in a command.",
                            no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(incidents_app, name="incidents")


def _cli():
    from api import cli
    return cli


def _database_option():
    return typer.Option(None, "--database", help="Database URL (default: INBURGERING_DATABASE_URL "
                                                 "or sqlite:///var/inburgering.db).")


@incidents_app.command("list")
def incidents_list(status: str = typer.Option("open", help="open | resolved | all"),
                   dossier: Optional[str] = typer.Option(None, help="Only this dossier's incidents."),
                   limit: int = typer.Option(50, min=1, max=500, help="At most this many (newest first)."),
                   as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
                   database: Optional[str] = _database_option()) -> None:
    """List incidents, newest first."""
    from engine import incidents
    from engine.errors import EngineError

    cli = _cli()
    if status not in ("open", "resolved", "all"):
        cli._fail(f"--status: {status!r} is not one of open, resolved, all")
    engine, _ = cli._engine(database)
    try:
        result = incidents.listing(engine, status=None if status == "all" else status, dossier_id=dossier,
                                   limit=limit)
    except EngineError as error:
        cli._fail(error.message)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{result['total']} {status} incident(s)")
    for item in result["items"]:
        retry = f", retry after {item['next_attempt_at']}" if item["next_attempt_at"] and item["status"] == "open" \
            else ""
        typer.echo(f"#{item['id']:<5} {item['status']:<8} dossier {item['dossier_id']}  {item['source']} "
                   f"{item['operation']}: {item['error_class']}: {item['message'][:80]}  "
                   f"(attempts {item['attempts']}, first {item['first_seen']}, last {item['last_seen']}{retry})")


@incidents_app.command("show")
def incidents_show(incident_id: int = typer.Argument(..., help="Incident id."),
                   database: Optional[str] = _database_option()) -> None:
    """One incident with its stack trace."""
    from engine import incidents
    from engine.errors import EngineError

    cli = _cli()
    engine, _ = cli._engine(database)
    try:
        typer.echo(json.dumps(incidents.get(engine, incident_id).to_dict(), indent=2))
    except EngineError as error:
        cli._fail(error.message, 1)


@incidents_app.command("retry")
def incidents_retry(incident_id: int = typer.Argument(..., help="Incident id (a sweep incident)."),
                    user: str = typer.Option("cli", help="Who retries (kept with the incident)."),
                    database: Optional[str] = _database_option()) -> None:
    """Fire the dossier's due timers now; success resolves the incident, a failure adds an attempt (exit 1)."""
    from engine.errors import EngineError
    from timers.sweep import retry_incident

    cli = _cli()
    engine, _ = cli._engine(database)
    try:
        result = retry_incident(engine, incident_id, f"admin:{user}")
    except EngineError as error:
        cli._fail(error.message, 1)
    typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(0 if result["ok"] else 1)


@incidents_app.command("resolve")
def incidents_resolve(incident_id: int = typer.Argument(..., help="Incident id."),
                      reason: str = typer.Option(..., help="Why it is closed (kept with the incident)."),
                      user: str = typer.Option("cli", help="Who resolves it."),
                      database: Optional[str] = _database_option()) -> None:
    """Close an open incident with a reason."""
    from engine import incidents
    from engine.errors import EngineError

    cli = _cli()
    engine, _ = cli._engine(database)
    try:
        result = incidents.resolve(engine, incident_id, reason, f"admin:{user}", engine.clock.now())
    except EngineError as error:
        cli._fail(error.message, 1 if error.status in (404, 409) else 2)
    typer.echo(json.dumps(result.to_dict(trace=False), indent=2))
