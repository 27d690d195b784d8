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
    app.add_typer(processes_app, name="processes")
    app.command("migrate")(migrate)
    app.command("sweeper")(sweeper)


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


processes_app = typer.Typer(help="Deployed process versions, where their instances wait, how versions differ.",
                            no_args_is_help=True)


@processes_app.command("list")
def processes_list(as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
                   database: Optional[str] = _database_option()) -> None:
    """Every deployed version: when it was deployed, whether new instances start on it, its instances."""
    from engine import processes

    engine, _ = _cli()._engine(database)
    rows = processes.versions(engine)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(f"{row['name']}@{row['version']:<4} deployed {row['deployed_at']}  {row['content_hash']}  "
                   f"{'current' if row['current'] else '       '}  waiting {row['instances']['waiting']:>7}  "
                   f"completed {row['instances']['completed']:>7}")


@processes_app.command("show")
def processes_show(name: str = typer.Argument(..., help="trajectory | enforcement"),
                   version: Optional[int] = typer.Argument(None, help="Version (default: the current one)."),
                   database: Optional[str] = _database_option()) -> None:
    """One version and how many of its waiting instances wait in each user task or catch event."""
    from engine import processes
    from engine.errors import EngineError

    cli = _cli()
    engine, _ = cli._engine(database)
    if name not in processes.PROCESS_NAMES:
        cli._fail(f"NAME: {name!r} is not one of {', '.join(processes.PROCESS_NAMES)}")
    try:
        detail = processes.version_detail(engine, name, version or engine.processes.current(name).version)
    except EngineError as error:
        cli._fail(error.message, 1)
    typer.echo(json.dumps(detail, indent=2, ensure_ascii=False))


@processes_app.command("diff")
def processes_diff(name: str = typer.Argument(..., help="trajectory | enforcement"),
                   old: Optional[int] = typer.Argument(None, metavar="V", help="Old version (default: the one "
                                                                              "before W)."),
                   new: Optional[int] = typer.Argument(None, metavar="W", help="New version (default: current)."),
                   database: Optional[str] = _database_option()) -> None:
    """Tasks added, removed, renamed and changed between two versions (SpiffWorkflow's spec diff)."""
    from engine import migration, processes
    from engine.errors import EngineError

    cli = _cli()
    engine, _ = cli._engine(database)
    if name not in processes.PROCESS_NAMES:
        cli._fail(f"NAME: {name!r} is not one of {', '.join(processes.PROCESS_NAMES)}")
    new = new or engine.processes.current(name).version
    old = old or new - 1
    if old < 1:
        cli._fail(f"{name} has only version {new}: nothing to compare")
    try:
        typer.echo(json.dumps(migration.spec_diff(engine, name, old, new), indent=2))
    except EngineError as error:
        cli._fail(error.message, 1)


def migrate(process: str = typer.Option(..., "--process", help="trajectory | enforcement"),
            to: int = typer.Option(..., "--to", metavar="W", help="The version to move instances to."),
            from_: Optional[int] = typer.Option(None, "--from", metavar="V", help="Only instances on this version "
                                                                                  "(default: every other)."),
            dossier: Optional[List[str]] = typer.Option(None, "--dossier", help="Only these dossiers (repeatable)."),
            dry_run: bool = typer.Option(False, "--dry-run", help="Only say, per instance, whether it can move and "
                                                                  "why not; change nothing."),
            batch: int = typer.Option(100, min=1, max=10_000, help="Progress is reported every N instances."),
            user: str = typer.Option("cli", help="Who migrates (journaled as admin:USER)."),
            out: Optional[str] = typer.Option(None, "--out", help="Write the full report (every instance, what "
                                                                  "changes in it) as JSON to this file."),
            database: Optional[str] = _database_option()) -> None:
    """Move running instances to another process version, one transaction per instance.

    Blocked instances (a waiting task removed, a changed timer, ...) stay where they are and are
    listed with the reason. A run that was interrupted (crash, kill) is resumed by running the same
    command again. Exit 1 when an instance was blocked or failed."""
    from pathlib import Path

    from engine import migration
    from engine.errors import EngineError

    cli = _cli()
    engine, _ = cli._engine(database)
    with cli._progress() as progress:
        task = progress.add_task("planning" if dry_run else "migrating", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = migration.migrate(engine, process, to, from_version=from_, dossiers=dossier or None,
                                       dry_run=dry_run, actor=f"admin:{user}", batch=batch,
                                       detail=out is not None, on_progress=on_progress)
        except EngineError as error:
            cli._fail(error.message, 1 if error.status == 404 else 2)
    summary = report.to_dict()
    if out:
        Path(out).write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    blocked = [p for p in summary.pop("instances") if not p["can_migrate"]]
    for plan in blocked[:20]:
        cli.err.print(f"{plan['instance_id']} ({plan['status']}): {'; '.join(plan['reasons'])}", highlight=False,
                      soft_wrap=True)
    if len(blocked) > 20:
        cli.err.print(f"… and {len(blocked) - 20} more (see --out)", highlight=False)
    typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    raise typer.Exit(1 if any(s in report.counts for s in ("blocked", "failed")) else 0)


def sweeper(once: bool = typer.Option(False, "--once", help="Sweep once now, print the report, exit (1 when a "
                                                            "dossier failed)."),
            hour: Optional[int] = typer.Option(None, "--hour", min=0, max=23, help="Hour of the daily sweep, "
                                               "Europe/Brussels (default: INBURGERING_SWEEP_HOUR or 2)."),
            start_sweep: bool = typer.Option(True, "--start-sweep/--no-start-sweep", help="Also sweep once at "
                                             "start (catches up after downtime; a sweep is idempotent)."),
            metrics_port: Optional[int] = typer.Option(None, "--metrics-port", min=1, max=65535,
                                                       help="Serve this process's Prometheus metrics on "
                                                            "127.0.0.1:PORT (sweep duration, timers fired)."),
            database: Optional[str] = _database_option()) -> None:
    """The deadline sweep as its own process: the scheduler's daily job without the API.

    Run one or more next to `serve --no-scheduler` on PostgreSQL (dossiers are claimed with
    SKIP LOCKED, so sweepers never fire a timer twice); see README "Operating"."""
    import logging
    import os

    from api.logs import configure
    from engine import heap
    from timers import sweep as sweeping

    cli = _cli()
    try:
        configure()
    except ValueError as error:
        cli._fail(str(error))
    logging.basicConfig(level=logging.INFO)
    engine, settings = cli._engine(database)
    if once:
        with heap.settled():  # a sweep is long work: start-up objects out of the collector's way (engine/heap.py)
            report = sweeping.sweep(engine)
        typer.echo(json.dumps(report.__dict__))
        raise typer.Exit(1 if report.errors else 0)
    if hour is None:
        raw = os.environ.get("INBURGERING_SWEEP_HOUR", str(settings.sweep_hour))
        if not raw.isdigit() or not 0 <= int(raw) <= 23:
            cli._fail(f"INBURGERING_SWEEP_HOUR={raw!r}: expected an hour 0-23")
        hour = int(raw)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from api.metrics import observe_sweep
        sweeping.SWEEP_OBSERVERS.append(observe_sweep)
        start_http_server(metrics_port, addr="127.0.0.1")
    from timers.scheduler import sweeper_scheduler

    scheduler = sweeper_scheduler(engine, hour)
    cli.err.print(f"sweeper: daily at {hour:02d}:00 Europe/Brussels on {settings.database_url}", highlight=False)
    if start_sweep:
        scheduler.add_job(scheduler.get_job("deadline-sweep").func, id="start-sweep")
    with heap.settled():  # start-up objects out of the collector's way, as `serve` (engine/heap.py)
        scheduler.start()  # blocks; SIGTERM/SIGINT stop it between two dossiers' transactions
