"""The ``inburgering`` command.

    inburgering serve [--host H] [--port P] [--database URL] [--demo]
    inburgering import FILE [--database URL]
    inburgering sweep [--until DATE] [--database URL]
    inburgering journal verify [--database URL]
    inburgering access-log [--dossier ID] [--user U] [--format table|csv|json] [--out F] [--database URL]
    inburgering token --role ROLE [--agency A] --user U [--database URL]
    inburgering scenario run FILE_OR_DIR... [--out F] [--database URL]
    inburgering replay [--dossier ID | --all] [--out F] [--database URL]
    inburgering dossier as-of ID DATE [--database URL]
    inburgering report --year Y [--as-of DATE] [--format table|csv|json|png] [--out F] [--lang nl|en]
    inburgering simulate [--year 2023] [--scale F] [--seed N] [--until DATE] [--database URL] [--workers N]
                         [--reform REFORM.yaml [--csv F] [--chart F.png]]

The database defaults to ``INBURGERING_DATABASE_URL`` or the embedded SQLite file
``var/inburgering.db``. Exit codes: 0 success, 1 a check failed (scenario mismatch,
journal broken), 2 bad input (nothing was changed).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine import heap
from engine.clock import BRUSSELS, SystemClock, business_date
from engine.errors import EngineError, InvalidInput
from engine.settings import Settings

app = typer.Typer(help="Workflow and rules engine for the Flemish civic-integration trajectory.",
                  no_args_is_help=True, add_completion=False)
journal_app = typer.Typer(help="The hash-chained journal.", no_args_is_help=True)
clock_app = typer.Typer(help="The store's business clock (wall in production, manual in a demo or simulation).",
                        no_args_is_help=True)
scenario_app = typer.Typer(help="Conformance scenarios (shared/scenarios/README.md).", no_args_is_help=True)
app.add_typer(journal_app, name="journal")
app.add_typer(clock_app, name="clock")
app.add_typer(scenario_app, name="scenario")
err = Console(stderr=True)
DEMO_FILE = Path(__file__).parent / "demo" / "newcomers.jsonl"
#: caseworkers' events of the demo (registrations at an office, so the report's table of 000 Q1 has rows)
DEMO_EVENTS = Path(__file__).parent / "demo" / "events.jsonl"


def load_demo_events(engine, path: Path = DEMO_EVENTS) -> tuple[int, list[str]]:
    """Apply the demo's events (one JSON object a line: ``dossier``, ``type`` and the event's body) as a
    demo administrator; an event the engine refuses — dated after the store's today, say, when the demo
    clock starts earlier — is skipped and named. Returns (applied, skipped)."""
    from engine.errors import EngineError
    from engine.service import Actor

    actor = Actor("demo-admin", "admin")
    applied, skipped = 0, []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        event = json.loads(line)
        body = {k: v for k, v in event.items() if k not in ("dossier", "type")}
        try:
            engine.handle(event["dossier"], event["type"], body, actor=actor)
            applied += 1
        except EngineError as error:
            skipped.append(f"{path.name}:{number}: {error.message}")
    return applied, skipped

DatabaseOption = typer.Option(None, "--database", help="Database URL (default: INBURGERING_DATABASE_URL "
                                                      "or sqlite:///var/inburgering.db).")


def _engine(database: Optional[str], clock=None, **overrides):
    """The engine on the store, with the store's own business clock unless ``clock`` is given."""
    from engine.service import bootstrap

    settings = Settings.from_env(database_url=database, **overrides)
    return bootstrap(settings, clock), settings


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def read_newcomer_lines(path: Path) -> list[dict]:
    """Parse and validate every line of a register extract first; raise naming line and path
    (the checks of the web upload and ``POST /newcomers/import``: :func:`engine.desk.check_lines`)."""
    from engine.desk import check_lines

    if not path.exists():
        raise InvalidInput(str(path), "no such file", code="file_not_found", params={"file": str(path)})
    newcomers, problems = check_lines(path.read_text())
    if problems:
        lines = [f"line {p['line']}: " + (f"{p['path']}: " if p["path"] != "$" else "") + p["message"]
                 for p in problems]
        raise InvalidInput(str(path), "nothing imported:\n  " + "\n  ".join(lines), code="nothing_imported",
                           params={"problems": len(problems)})
    return [newcomer for _, newcomer in newcomers]


@app.command("import")
def import_(file: Path = typer.Argument(..., help="JSON lines, one newcomer object per line."),
            database: Optional[str] = DatabaseOption) -> None:
    """Import a register extract: each newcomer → target-group rules → a trajectory instance.

    Every line is validated first; if any line is bad, nothing is imported.
    """
    try:
        newcomers = read_newcomer_lines(file)
    except InvalidInput as error:
        _fail(f"{error.path}: {error.detail}")
    engine, _ = _engine(database)
    counts: dict[str, int] = {}
    with _progress() as progress:
        task = progress.add_task("importing", total=len(newcomers))
        for newcomer in newcomers:
            try:
                result = engine.import_newcomer(newcomer)
                counts[result["target_group"]] = counts.get(result["target_group"], 0) + 1
            except EngineError as error:
                err.print(f"{newcomer['id']}: {error.message}", highlight=False)
                counts["refused"] = counts.get("refused", 0) + 1
            progress.advance(task)
    typer.echo(json.dumps(counts, sort_keys=True))


@app.command()
def sweep(until: Optional[str] = typer.Option(None, help="On a store with a manual clock (demo, simulation): "
                                                          "advance the store's clock day by day up to this date "
                                                          "(YYYY-MM-DD), running each day's 02:00 sweep."),
          database: Optional[str] = DatabaseOption) -> None:
    """Fire every due deadline timer now (the store's business clock), or day by day up to --until."""
    from engine.clock import ClockError
    from timers import sweep as sweeping

    engine, _ = _engine(database)
    if until is None:
        with heap.settled():  # a sweep is long work: start-up objects out of the collector's way (engine/heap.py)
            report = sweeping.sweep(engine)
        typer.echo(json.dumps(report.__dict__))
        raise typer.Exit(1 if report.errors else 0)
    try:
        last = date.fromisoformat(until)
    except ValueError:
        _fail(f"--until: {until!r} is not a calendar date (YYYY-MM-DD)")
    totals = {"days": 0, "timers": 0, "dossiers": 0, "errors": 0}
    with _progress() as progress:
        task = progress.add_task("sweeping", total=None)

        def on_day(day, report):
            totals["days"] += 1
            totals["timers"] += report.timers
            totals["dossiers"] += report.dossiers
            totals["errors"] += len(report.errors)
            progress.update(task, advance=1, description=f"sweep {day}")

        try:
            with heap.settled():
                sweeping.advance_to(engine, last, on_day=on_day)
        except ClockError as error:
            _fail(error.message)
    totals["clock"] = engine.clock.now().astimezone(BRUSSELS).isoformat()
    typer.echo(json.dumps(totals))
    raise typer.Exit(1 if totals["errors"] else 0)


@journal_app.command("export")
def journal_export(out: Path = typer.Option(..., "--out", help="File to write: .jsonl, .jsonl.gz or .json."),
                   dossier: Optional[List[str]] = typer.Option(None, "--dossier", help="Only these dossiers "
                                                                                        "(repeatable)."),
                   database: Optional[str] = DatabaseOption) -> None:
    """Export journals with every field and the process definitions they ran on (engine/exports.py): what
    the golden histories are made of, and what an auditor can verify and replay elsewhere."""
    from engine import exports

    engine, _ = _engine(database)
    try:
        export = exports.export_store(engine, dossier_ids=dossier)
    except EngineError as error:
        _fail(error.message)
    path = exports.write(export, out)
    _record_cli_reads(database, [d.id for d in export.dossiers], "cli journal export")
    err.print(f"wrote {path}: {len(export.dossiers)} dossiers", highlight=False)


@clock_app.command("show")
def clock_show(database: Optional[str] = DatabaseOption) -> None:
    """Print the store's business clock: its mode and now (JSON)."""
    engine, _ = _engine(database)
    now = engine.clock.now()
    typer.echo(json.dumps({"mode": engine.clock.mode, "now": now.astimezone(BRUSSELS).isoformat(),
                           "business_date": business_date(now).isoformat()}))


@clock_app.command("advance")
def clock_advance(to: str = typer.Option(..., "--to", help="Date (YYYY-MM-DD, moved to 02:00 and swept) or "
                                                           "instant (ISO 8601 with offset)."),
                  database: Optional[str] = DatabaseOption) -> None:
    """Move a manual store clock forward (never back), running every daily sweep on the way."""
    from engine.clock import ClockError
    from timers import sweep as sweeping

    engine, _ = _engine(database)
    try:
        day = date.fromisoformat(to) if len(to) == 10 else None
        instant = None if day else datetime.fromisoformat(to)
    except ValueError:
        _fail(f"--to: {to!r} is neither a date (YYYY-MM-DD) nor an ISO 8601 instant")
    if instant is not None and instant.tzinfo is None:
        _fail(f"--to: {to!r} has no UTC offset")
    try:
        sweeping.advance_to(engine, day or business_date(instant), until_instant=instant)
    except ClockError as error:
        _fail(error.message)
    clock_show(database)


@journal_app.command("verify")
def journal_verify(database: Optional[str] = DatabaseOption) -> None:
    """Check every dossier's hash chain and the access log's; exit 1 naming the first edited, inserted or
    deleted entry."""
    from engine import access_log, journal

    engine, _ = _engine(database)
    checked = 0
    with engine.session() as session:
        for dossier_id, problem in journal.verify_all(session):
            checked += 1
            if problem is not None:
                _fail(f"journal broken: {problem}", 1)
    with engine.reading() as connection:
        reads, problem = access_log.verify(connection)
    if problem is not None:
        _fail(f"access log broken: {problem}", 1)
    typer.echo(f"journal intact: {checked} dossiers verified; access log intact: {reads} reads verified")


@app.command()
def token(role: str = typer.Option(..., help="caseworker | enforcement_officer | auditor | admin"),
          user: str = typer.Option(..., help="User id written into the token and the journal."),
          agency: Optional[str] = typer.Option(None, help="atlas | amal | agii (required for caseworker)."),
          database: Optional[str] = typer.Option(None, "--database", help="A demo store whose signing key to use "
                                                 "when INBURGERING_JWT_SECRET is not set (default: "
                                                 "INBURGERING_DATABASE_URL or sqlite:///var/inburgering.db)."),
          ) -> None:
    """Issue a bearer token, valid INBURGERING_TOKEN_HOURS (default 12), signed with INBURGERING_JWT_SECRET or,
    when that is not set, with the key of a store that `serve --demo` ran on."""
    from api.auth import ROLES, issue_token
    from engine.settings import secret_problem

    if role not in ROLES:
        _fail(f"--role: {role!r} is not one of {', '.join(ROLES)}")
    if role == "caseworker" and agency not in ("atlas", "amal", "agii"):
        _fail("--agency: a caseworker token needs --agency atlas, amal or agii")
    settings = Settings.from_env(database_url=database)
    if settings.jwt_secret:
        problem = secret_problem(settings.jwt_secret)
        if problem:
            _fail(problem)
    else:
        key = _demo_key(settings.database_url)
        if key is None:
            _fail("no signing key: set INBURGERING_JWT_SECRET, or name a store that `inburgering serve --demo` "
                  "ran on with --database")
        settings = replace(settings, jwt_secret=key)
    if not 1 <= settings.token_hours <= settings.max_token_hours:
        _fail(f"INBURGERING_TOKEN_HOURS={settings.token_hours} must be between 1 and "
              f"INBURGERING_MAX_TOKEN_HOURS={settings.max_token_hours}")
    typer.echo(issue_token(settings, role=role, user=user, agency=agency, now=_token_time(settings.database_url)))


def _token_time(url: str):
    """Tokens are checked against the store's business clock: issue them on it (a demo store's manual
    clock); without a store (or with a wall-clock one) that is the wall clock."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine.clock import StoreClock
    from engine.db import make_engine

    path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else None
    if path is not None and not Path(path).exists():
        return SystemClock().now()
    db = make_engine(url)
    try:
        with db.connect() as connection:
            row = connection.exec_driver_sql("SELECT mode FROM business_clock WHERE id = 1").first()
        return StoreClock(db, row[0]).now() if row else SystemClock().now()
    except SQLAlchemyError:
        return SystemClock().now()
    finally:
        db.dispose()


def _demo_key(url: str) -> Optional[str]:
    """The signing key a demo store keeps, or None (no such store, not a demo store)."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine import store_keys
    from engine.db import make_engine

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    db = make_engine(url)
    try:
        return store_keys.read(db, store_keys.DEMO_SIGNING_KEY)
    except SQLAlchemyError:
        return None
    finally:
        db.dispose()


def _record_cli_reads(database: Optional[str], dossier_ids: list[str], route: str) -> None:
    """Record CLI reads of dossiers in the store's access log (who: the operating-system user)."""
    import getpass

    from sqlalchemy.exc import SQLAlchemyError

    from engine import access_log

    if not dossier_ids:
        return
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid-{os.getuid()}"
    reads = [access_log.Read(user, "operator", None, dossier_id, route) for dossier_id in dossier_ids]
    try:
        access_log.record(_audit_url(database), reads, business_time=SystemClock().now())
    except SQLAlchemyError as error:
        _fail(f"the read could not be recorded in the store's access log, so nothing is shown "
              f"({type(error).__name__}; a store from before migration 0004 is upgraded by "
              f"`inburgering journal verify --database URL`)", 1)


@app.command("access-log")
def access_log_command(dossier: Optional[str] = typer.Option(None, "--dossier", help="Only reads of this dossier."),
                       user: Optional[str] = typer.Option(None, "--user", help="Only reads by this user."),
                       fmt: str = typer.Option("table", "--format", help="table | csv | json"),
                       out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of stdout."),
                       database: Optional[str] = DatabaseOption) -> None:
    """Who read which dossier, when (wall and engine clock) and through which route: the access log,
    per dossier and/or per user. Listing it is not itself recorded."""
    from sqlalchemy.exc import SQLAlchemyError

    from engine import access_log
    from engine.db import make_engine

    if fmt not in ("table", "csv", "json"):
        _fail(f"--format: {fmt!r} is not one of table, csv, json")
    if dossier is None and user is None:
        _fail("give --dossier, --user or both")
    db = make_engine(_audit_url(database))
    try:
        with db.connect() as connection:
            rows = access_log.listing(connection, dossier_id=dossier, user=user, limit=None)["items"]
    except SQLAlchemyError as error:
        _fail(f"the store has no readable access log ({type(error).__name__})")
    finally:
        db.dispose()
    if fmt == "csv":
        text = access_log.to_csv(rows)
    elif fmt == "json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        header = ("seq", "wall_time", "user", "role", "agency", "dossier_id", "route")
        lines = ["  ".join(header)] + ["  ".join(str(r[k] if r[k] is not None else "-") for k in header) for r in rows]
        text = "\n".join(lines) + f"\n{len(rows)} reads\n"
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)


@scenario_app.command("run")
def scenario_run(paths: List[str] = typer.Argument(..., help="Scenario files or folders of *.json."),
                 out: Optional[Path] = typer.Option(None, "--out", help="Write the outcomes here (JSON list)."),
                 database: Optional[str] = typer.Option(None, "--database", help="Run all scenarios into this "
                                                         "one store instead of a fresh one each.")) -> None:
    """Run scenarios through the real import, API and sweep; exit 1 on any mismatch with `expect`."""
    from api.scenarios import ScenarioError, load_scenarios, run_scenarios

    try:
        scenarios = load_scenarios(paths)
    except ScenarioError as error:
        _fail(str(error))

    def report(scenario, outcome, diffs):
        if diffs:
            err.print(f"[red]FAIL[/red] {scenario.name} ({scenario.source})", highlight=False)
            for line in diffs:
                err.print(f"    {line}", highlight=False)
        else:
            err.print(f"[green]ok[/green]   {scenario.name}", highlight=False)

    outcomes, failures = run_scenarios(scenarios, database_url=database, on_result=report)
    text = json.dumps(outcomes, indent=2)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)
    err.print(f"{len(scenarios) - failures} passed, {failures} failed", highlight=False)
    raise typer.Exit(1 if failures else 0)


dossier_app = typer.Typer(help="One dossier, from its journal.", no_args_is_help=True)
app.add_typer(dossier_app, name="dossier")


def _audit_url(database: Optional[str]) -> str:
    """Audits only read: no bootstrap (no migration, no process deployment) on the audited store."""
    return Settings.from_env(database_url=database).database_url


@app.command("replay")
def replay(dossier: Optional[List[str]] = typer.Option(None, "--dossier", help="Only these dossiers "
                                                       "(repeatable)."),
           all_: bool = typer.Option(False, "--all", help="Every dossier (the default when no --dossier)."),
           out: Optional[Path] = typer.Option(None, "--out", help="Write the JSON summary here."),
           workers: Optional[int] = typer.Option(None, "--workers", min=1, max=32, help="Processes replaying in "
                                                 "parallel (default: one per CPU, at most 4, from 200 dossiers "
                                                 "on; else 1)."),
           database: Optional[str] = DatabaseOption) -> None:
    """Re-execute dossiers from their journaled inputs on the recorded process and rule versions;
    exit 1 naming each dossier whose journal is tampered with or does not replay exactly."""
    from engine.replay import replay_all

    replayed: list[str] = []
    with _progress() as progress:
        task = progress.add_task("replaying", total=None)

        def on_progress(done, total, result):
            replayed.append(result.dossier_id)
            progress.update(task, completed=done, total=total)
            if not result.ok:
                err.print(f"[red]{result.dossier_id}[/red]: {result.first_divergence['message']}", highlight=False)

        try:
            summary = replay_all(_audit_url(database), dossier_ids=dossier or None, on_progress=on_progress,
                                 workers=workers)
        except EngineError as error:
            _fail(error.message)
    _record_cli_reads(database, replayed, "cli replay")
    text = json.dumps(summary.to_dict(), indent=2, default=str)
    if out:
        out.write_text(text + "\n")
    else:
        typer.echo(text)
    err.print(f"{summary.dossiers - len(summary.diverged)} replayed identically, {len(summary.diverged)} diverged "
              f"({summary.rate:.1f} dossiers/s)", highlight=False)
    raise typer.Exit(0 if summary.ok else 1)


@dossier_app.command("as-of")
def dossier_as_of(dossier_id: str = typer.Argument(..., help="Dossier id."),
                  day: str = typer.Argument(..., metavar="DATE", help="YYYY-MM-DD: the state at the end of it."),
                  known_on: Optional[str] = typer.Option(None, "--known-on", help="YYYY-MM-DD: as the system "
                                                         "knew it at the end of this date (default: all recorded)."),
                  database: Optional[str] = DatabaseOption) -> None:
    """The dossier as it stood at the end of DATE, folded from its recorded facts alone (optionally as known
    on another date). Exit 1 when the journal is broken or does not fold to the stored state."""
    from engine.asof import state_as_of

    try:
        on = date.fromisoformat(day)
        known = date.fromisoformat(known_on) if known_on else None
    except ValueError:
        _fail(f"DATE / --known-on: {day!r} / {known_on!r} is not a calendar date (YYYY-MM-DD)")
    try:
        view = state_as_of(_audit_url(database), dossier_id, on, known_on=known)
    except EngineError as error:
        _fail(error.message)
    _record_cli_reads(database, [dossier_id], "cli dossier as-of")
    typer.echo(json.dumps(view, indent=2, default=str))
    raise typer.Exit(0 if view["consistent"] is not False and view["journal_intact"] else 1)


@app.command()
def report(year: int = typer.Option(..., "--year", help="Calendar year."),
           as_of: Optional[str] = typer.Option(None, "--as-of", help="Only what was journaled by the end of "
                                                                     "this date (YYYY-MM-DD): the published 'foto'."),
           fmt: str = typer.Option("table", "--format", help="table | csv | json | png (png needs --out)."),
           out: Optional[Path] = typer.Option(None, "--out", help="Write to this file instead of stdout."),
           lang: str = typer.Option("nl", "--lang", help="nl | en: the language of the table and the chart "
                                                          "(csv and json are language-neutral)."),
           database: Optional[str] = DatabaseOption) -> None:
    """The yearly figures parliament asks for, from the journal alone (TRAJECTORY.md §8)."""
    from api.web import charts, messages
    from api.web.i18n import LANGUAGES, Translator
    from engine import reports

    if fmt not in ("table", "csv", "json", "png"):
        _fail(f"--format: {fmt!r} is not one of table, csv, json, png")
    if fmt == "png" and out is None:
        _fail("--format png needs --out FILE.png")
    if lang not in LANGUAGES:
        _fail(f"--lang: {lang!r} is not one of {', '.join(LANGUAGES)}")
    tr = Translator(lang)
    try:
        on = date.fromisoformat(as_of) if as_of else None
    except ValueError:
        _fail(f"--as-of: {as_of!r} is not a calendar date (YYYY-MM-DD)")
    try:
        rep = reports.report(_audit_url(database), year, on)
    except EngineError as error:
        _fail(messages.of_error(lang, error))
    if fmt == "png":
        charts.to_png(tr, rep, out)
        err.print(f"wrote {out}", highlight=False)
        return
    text = {"table": lambda r: charts.to_text(tr, r), "csv": reports.to_csv,
            "json": lambda r: json.dumps(r, indent=2) + "\n"}[fmt](rep)
    if out:
        out.write_text(text)
    else:
        typer.echo(text, nl=False)


@app.command()
def simulate(year: int = typer.Option(2023, "--year", help="Inflow year (the population is calibrated on the "
                                                           "2023 annual report, seed 001)."),
             scale: float = typer.Option(1.0, "--scale", help="Fraction of the 54,786 adult newcomers "
                                                              "(0.02 = 1,096)."),
             seed: int = typer.Option(1, "--seed", help="Random seed: the same seed gives the same population "
                                                        "and the same report."),
             until: Optional[str] = typer.Option(None, "--until", help="Last simulated day, YYYY-MM-DD "
                                                                       "(default: 31 December of year + 3)."),
             via: str = typer.Option("api", "--via", help="api (the HTTP API in process) | engine "
                                                          "(Engine.handle directly)."),
             workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes, each driving a "
                                                   "share of the newcomers; they also share generating a large "
                                                   "population, and the cohort figures are computed beside the "
                                                   "report (default: the number of CPUs, at most 4)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Also write the whole result (report, "
                                                                    "cohort figures, comparison) as JSON."),
             database: Optional[str] = typer.Option(None, "--database", help="An empty store to simulate into "
                                                    "(default: a temporary SQLite file, removed afterwards)."),
             reform: Optional[Path] = typer.Option(None, "--reform", help="A what-if reform (YAML: name, "
                                                   "description, dated parameter overrides): the same population "
                                                   "runs under the law and under the reform, each in a temporary "
                                                   "store, and the two are printed side by side."),
             csv_out: Optional[Path] = typer.Option(None, "--csv", help="With --reform: also write the side-by-side "
                                                    "figures as CSV."),
             chart: Optional[Path] = typer.Option(None, "--chart", help="With --reform: also write a chart (PNG) "
                                                  "of law vs reform by region."),
             ) -> None:
    """Drive a synthetic year of newcomers through the real import, API and daily sweep, then print the
    auditors' report and the simulated vs published 2023 figures (column "ok": calibrated indicators
    within ±5 percentage points; column "origin": "engine" for what only the engine decides, "input"
    for what the population generator sets). Exit 1 when the engine failed on a request or in the
    sweep. With --reform, the law and the reform side by side instead (see README, "What-if reforms")."""
    from simulation.driver import default_workers, format_result, simulate as run_simulation

    if via not in ("api", "engine"):
        _fail(f"--via: {via!r} is not one of api, engine")
    if scale <= 0:
        _fail("--scale must be positive")
    if workers is None:
        workers = default_workers()
    if workers < 1:
        _fail("--workers must be 1 or more")
    try:
        last = date.fromisoformat(until) if until else None
    except ValueError:
        _fail(f"--until: {until!r} is not a calendar date (YYYY-MM-DD)")
    if reform is None and (csv_out or chart):
        _fail("--csv and --chart go with --reform")
    if reform is not None:
        _simulate_reform(reform, year, scale, seed, last, via, workers, database, out, csv_out, chart)
        return
    with _progress() as progress:
        task = progress.add_task(f"simulating {year}", total=None)

        def on_progress(done: int, total: int, day: date) -> None:
            progress.update(task, completed=done, total=total, description=f"simulating {day}")

        try:
            result = run_simulation(year, scale, seed, last, database, on_progress, via=via, workers=workers)
        except (ValueError, RuntimeError) as error:  # a bad store, or a worker process that failed
            _fail(str(error))
    typer.echo(format_result(result), nl=False)
    if out:
        out.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        err.print(f"wrote {out}", highlight=False)
    raise typer.Exit(1 if result.errors else 0)


def _simulate_reform(path: Path, year: int, scale: float, seed: int, last: Optional[date], via: str, workers: int,
                     database: Optional[str], out: Optional[Path], csv_out: Optional[Path],
                     chart: Optional[Path]) -> None:
    """``simulate --reform``: validate the reform first (nothing runs on a bad file), then both runs."""
    from simulation import reform as reforms

    if database is not None:
        _fail("--reform runs the law and the reform in two temporary stores; it never writes to a store "
              "of yours, so --database is not allowed with it")
    try:
        loaded = reforms.load_reform(path)
    except reforms.ReformError as error:
        _fail(str(error))
    if chart is not None and chart.suffix.lower() != ".png":
        _fail(f"--chart: {chart} must end in .png")
    with _progress() as progress:
        task = progress.add_task(f"simulating {year}", total=None)

        def on_progress(label: str, done: int, total: int, day: date) -> None:
            progress.update(task, completed=done, total=total, description=f"{label}: {day}")

        try:
            result = reforms.compare(loaded, year, scale, seed, last, via=via, workers=workers,
                                     on_progress=on_progress)
        except (ValueError, RuntimeError) as error:
            _fail(str(error))
    typer.echo(reforms.format_table(result), nl=False)
    if csv_out:
        csv_out.write_text(reforms.to_csv(result))
        err.print(f"wrote {csv_out}", highlight=False)
    if chart:
        reforms.to_png(result, chart)
        err.print(f"wrote {chart}", highlight=False)
    if out:
        out.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
        err.print(f"wrote {out}", highlight=False)
    raise typer.Exit(1 if result.law.errors or result.reformed.errors else 0)


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
          port: int = typer.Option(8000, help="Port."),
          database: Optional[str] = DatabaseOption,
          demo: bool = typer.Option(False, "--demo/--no-demo", help="The explicit demo: a development sign-in "
                                    "(pick any role), the demo newcomers in an empty store, a random signing key "
                                    "kept in the store and a banner on every page. Never for real dossiers."),
          scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler",
                                         help="Run the daily 02:00 sweep in this process."),
          workers: int = typer.Option(1, min=1, max=32, help="Worker processes serving the API (one per core "
                                                             "is a good start; the sweep runs once, here).")) -> None:
    """Start the API (OpenAPI docs at /docs) with the daily sweep.

    Without --demo it needs an identity: INBURGERING_JWT_SECRET (at least 32 bytes) for tokens of
    `inburgering token`, and/or an OIDC provider (INBURGERING_OIDC_ISSUER, INBURGERING_OIDC_AUDIENCE,
    and INBURGERING_OIDC_CLIENT_ID for the browser sign-in); see the README, "Running in production"."""
    import uvicorn

    from api.app import create_app
    from api.logs import uvicorn_log_config
    from engine.settings import identity_problem
    from timers.scheduler import start_scheduler

    try:
        log_config = uvicorn_log_config()  # INBURGERING_LOG_FORMAT=json: one JSON object per line
    except ValueError as error:
        _fail(str(error))
    if not demo:
        problem = identity_problem(Settings.from_env(database_url=database))
        if problem:
            _fail(f"not starting: {problem}")
    # a demo store keeps a manual business clock (moved by `sweep --until` / `clock advance`)
    engine, settings = _engine(database, clock_mode="manual" if demo else None)
    if demo:
        settings = _demo_settings(engine, settings)
        err.print("[bold]DEMO[/bold]: development sign-in on, signing key kept in the store, a manual business "
                  "clock; not for real dossiers (tokens: `inburgering token --database URL ...`)", highlight=False)
    if demo and not engine.dossier_ids():
        for newcomer in read_newcomer_lines(DEMO_FILE):
            engine.import_newcomer(newcomer)
        applied, skipped = load_demo_events(engine)
        err.print(f"demo data: imported {DEMO_FILE.name}, {applied} events of {DEMO_EVENTS.name}", highlight=False)
        for problem in skipped:
            err.print(f"demo data: skipped {problem}", highlight=False)
    if scheduler:
        start_scheduler(engine)
    err.print(f"inburgering on http://{host}:{port}  (docs: /docs, database: {settings.database_url})",
              highlight=False)
    if workers == 1:
        app = create_app(engine, settings)
        heap.settle()  # start-up objects out of the collector's way: short full collections (engine/heap.py)
        uvicorn.run(app, host=host, port=port, log_level="info", log_config=log_config)
        return
    # Several processes: each worker builds its own engine from the environment (the schema is
    # already migrated and the processes deployed, above); load-step-save is safe across them.
    os.environ["INBURGERING_DATABASE_URL"] = settings.database_url
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the workers' metrics add up (api/metrics.py)
        import tempfile
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="inburgering-metrics-")
    os.environ[_DEMO_ENV] = "1" if demo else "0"
    uvicorn.run("api.cli:worker_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                log_config=log_config)


#: tells ``serve --workers N``'s worker processes that they serve a demo
_DEMO_ENV = "INBURGERING_SERVING_DEMO"


def _demo_settings(engine, settings: Settings) -> Settings:
    """The demo: development sign-in, banner, and the store's own random signing key (unless one is configured)."""
    from engine import store_keys

    key = settings.jwt_secret or store_keys.get_or_create(engine.db, store_keys.DEMO_SIGNING_KEY)
    return replace(settings, demo=True, jwt_secret=key)


def worker_app():
    """App factory for ``serve --workers N`` (one engine per worker process)."""
    from api.app import create_app
    from engine.service import bootstrap

    settings = Settings.from_env()
    engine = bootstrap(settings)  # the store's own clock (a demo store's is manual)
    if os.environ.get(_DEMO_ENV) == "1":
        settings = _demo_settings(engine, settings)
    app = create_app(engine, settings)
    heap.settle()  # as `serve` does (engine/heap.py)
    return app


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=False, disable=not sys.stderr.isatty())


letters_app = typer.Typer(help="Letters to newcomers (notices of default, hand-overs, decisions) as PDF.",
                          no_args_is_help=True)
app.add_typer(letters_app, name="letters")


@letters_app.command("print")
def letters_print(agency: str = typer.Option(..., "--agency", help="The sender: atlas, amal, agii, or abb (the "
                                                                   "enforcement officers' decisions)."),
                  on: Optional[str] = typer.Option(None, "--on", help="YYYY-MM-DD: the day the letters were "
                                                   "issued (default: today by the store's clock)."),
                  out: Path = typer.Option(..., "--out", help="The PDF to write (one letter after the other)."),
                  database: Optional[str] = DatabaseOption) -> None:
    """An agency's letters of a day as one PDF for mailing; exit 1 when it issued none that day. Each letter is
    a read of its dossier, recorded in the access log (user: the OS user)."""
    from sqlmodel import Session

    from api.letters import SENDERS
    from engine import letters
    from engine.clock import business_date
    from letters import render

    if agency not in SENDERS:
        _fail(f"--agency: unknown agency {agency!r} (one of {', '.join(SENDERS)})")
    day = None
    if on is not None:
        try:
            day = date.fromisoformat(on)
        except ValueError:
            _fail(f"--on: {on!r} is not a calendar date (YYYY-MM-DD)")
    engine, _ = _engine(database)
    day = day or business_date(engine.clock.now())
    with Session(engine.db) as session:
        found = letters.of_day(session, day, agency)
    if not found:
        _fail(f"{agency} issued no letters on {day.isoformat()}", 1)
    try:
        content = render.pdf(found)
    except EngineError as error:
        _fail(error.message, 1)
    _record_cli_reads(database, sorted({letter["dossier_id"] for letter in found}), "cli letters print")
    out.write_bytes(content)
    typer.echo(f"{len(found)} letter(s) of {agency} on {day.isoformat()} written to {out}")


from api import cli_ops  # noqa: E402  (operators' commands: incidents, processes, migrate, sweeper)

cli_ops.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
