"""The query plans of the engine's hot statements in a store of 200,000 dossiers, SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.query_plans [--dossiers 200000] [--database postgresql+psycopg://…]

Nothing is hand-written here: the store is built like ``benchmarks/sweep_ratio.py`` builds its
large store (1,000 due dossiers imported, the rest copies of a template, agencies spread), an
engine is started on it with the dossier cache **off** (every load reads the store, as after a
restart) and runs the hot paths while an SQLAlchemy listener records every statement it sends:

* a caseworker step on a dossier (``Engine.handle``: version read, dossier row, waiting
  instances, due timers, version-checked update, journal insert, instance update, due index);
* the sweep: the due query (``timers/sweep.py: due_dossiers``, also with an ``id_range`` as the
  simulation workers use it) and one dossier claimed and fired;
* reads: the dossier view, the caseworker worklist (one agency, and all), the enforcement queue.

Each recorded statement is then explained with its own parameters (SQLite ``EXPLAIN QUERY
PLAN``, PostgreSQL ``EXPLAIN``) and checked:

* **full scan** — a big table (dossier, instance, due_timer, journal_entry) read without an
  index condition (SQLite ``SCAN t`` / ``SCAN t USING INDEX`` without a constraint;
  PostgreSQL ``Seq Scan``);
* **wrong index** — the statement has an equality on a selective key of the table (``id``,
  ``dossier_id``, ``instance_id``) but the index condition the plan uses names none of them
  (e.g. the waiting-instance load searched by ``status``);
* **sort before LIMIT** — a statement with ``ORDER BY … LIMIT`` whose order the index does not
  give, so every matching row is read and sorted before the first page comes out;
* **sort** — a temporary B-tree / ``Sort`` node otherwise (noted, not an error by itself).

Read statements are also timed (median of 11 runs). The plans are taken as built, without
``ANALYZE`` (the engine never runs it; on PostgreSQL autovacuum may have analyzed the tables
during the build: the output says whether it did), then once more after ``ANALYZE``, and once
with the instance indexes as they were before migration 0006 (its ``downgrade()``), to show
what the migration changes.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import sweep_ratio  # noqa: E402

BIG_TABLES = ("dossier", "instance", "due_timer", "journal_entry")
SELECTIVE = ("id", "dossier_id", "instance_id")
MIGRATION_0006 = ROOT / "engine" / "migrations" / "versions" / "0006_indexes.py"
#: Copies of the template (waiting at registration, obligation start 2024-03-01) and due dossiers the
#: recordings act on: another one each time, since a recording changes them.
STEP_DOSSIERS = ("BULK-0000123", "BULK-0000124", "BULK-0000125")
FIRE_DOSSIERS = ("DUE-00007", "DUE-00008", "DUE-00009")


def log(message: str) -> None:
    print(message, flush=True)


# ----------------------------------------------------------------------------- building


def build_sqlite(path: Path, dossiers: int, due: int = 1000) -> None:
    url = f"sqlite:///{path}"
    sweep_ratio.import_due_part(url, due)
    sweep_ratio.add_copies(url, dossiers - due - 1, with_journal=True)
    sweep_ratio.checkpoint(path)


@contextmanager
def postgres_store(url: str, dossiers: int, due: int = 1000, keep: bool = False):
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]
    schema = f"plans_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in url else "?"
    store = f"{url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'create schema "{schema}"')
    try:
        log(f"building {dossiers:,} dossiers in schema {schema}")
        sweep_ratio.import_due_part(store, due)
        sweep_ratio.add_copies(store, dossiers - due - 1, with_journal=True)
        yield store, schema
    finally:
        if not keep:
            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute("SET lock_timeout = '20s'")
                conn.execute(f'drop schema if exists "{schema}" cascade')


# ----------------------------------------------------------------------------- recording


def record_hot_paths(url: str, round_: int = 0) -> list[dict]:
    """Run the hot paths on the store (cache off) and return every distinct statement sent.

    ``round_`` picks the dossiers acted on (0, 1, 2: a recording changes them)."""
    from sqlalchemy import event

    from engine.clock import ManualClock
    from engine.service import Actor, bootstrap
    from engine.settings import Settings
    from timers.sweep import claim_and_fire, due_dossiers

    engine = bootstrap(Settings(database_url=url, demo_data=False, cache_size=0), ManualClock(sweep_ratio.SWEEP_AT))
    recorded: dict[str, dict] = {}
    current = {"path": ""}

    def listener(conn, cursor, statement, parameters, context, executemany):
        if executemany and parameters:
            parameters = parameters[0]
        key = statement.strip()
        if key.split(None, 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE"):
            return
        if key not in recorded:
            recorded[key] = {"statement": key, "parameters": parameters, "path": current["path"]}

    try:
        event.listen(engine.db, "before_cursor_execute", listener)
        caseworker = Actor("plans", "caseworker", "agii")
        paths = [
            ("step (Engine.handle, cache miss)",
             lambda: engine.handle(STEP_DOSSIERS[round_], "registered", {}, actor=caseworker)),
            ("sweep: due query", lambda: due_dossiers(engine, sweep_ratio.SWEEP_AT)),
            ("sweep: due query with id_range (simulation workers)",
             lambda: due_dossiers(engine, sweep_ratio.SWEEP_AT, id_range=("BULK-0100000", None))),
            ("sweep: due query with a two-sided id_range (a middle one of 3+ workers)",
             lambda: due_dossiers(engine, sweep_ratio.SWEEP_AT, id_range=("BULK-0050000", "BULK-0150000"))),
            ("sweep: claim and fire one dossier", lambda: claim_and_fire(engine, FIRE_DOSSIERS[round_], sweep_ratio.SWEEP_AT)),
            ("read: dossier view", lambda: engine.dossier_view("BULK-0000456")),
            ("read: worklist of one agency", lambda: engine.worklist("amal")),
            ("read: worklist, all agencies", lambda: engine.worklist(None)),
            ("read: enforcement queue", lambda: engine.enforcement_queue()),
        ]
        for name, run in paths:
            current["path"] = name
            run()
    finally:
        event.remove(engine.db, "before_cursor_execute", listener)
        engine.db.dispose()
    return list(recorded.values())


# ----------------------------------------------------------------------------- explaining and checking


def label_of(statement: str) -> str:
    """A short readable label: verb, table, the WHERE columns."""
    text = " ".join(statement.split())
    verb = text.split(None, 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", text, re.I)
    where = text.split(" WHERE ", 1)[1] if " WHERE " in text else ""
    cols = []
    for col in re.findall(r"(?:\w+\.)?(\w+)\s*(?:=|<=|>=|<|>|!=|LIKE|IN)\s", where + " ", re.I):
        if col not in cols and col.lower() not in ("and", "or", "not"):
            cols.append(col)
    extra = " ORDER BY" if " ORDER BY " in text else ""
    what = ""
    if verb == "SELECT":
        selected = [c.strip().split(".")[-1].split(" AS ")[0] for c in
                    re.split(r",(?![^(]*\))", text[len("SELECT "):].split(" FROM ", 1)[0])]
        what = (", ".join(selected) if len(selected) <= 3 else f"{len(selected)} columns") + " FROM "
    return (f"{verb} {what}{table.group(1) if table else '?'}" + (f" WHERE {', '.join(cols)}" if cols else "")
            + extra)


def equality_keys(statement: str, table: str) -> set[str]:
    """Selective key columns compared with ``=`` in the WHERE clause."""
    text = " ".join(statement.split())
    if " WHERE " not in text:
        return set()
    where = text.split(" WHERE ", 1)[1]
    found = set()
    for col in re.findall(r"(?:\"?" + table + r"\"?\.)?\"?(\w+)\"?\s*=\s*(?:\?|%\(|\$|:)", where):
        if col in SELECTIVE:
            found.add(col)
    return found


def target_table(statement: str) -> str | None:
    match = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.I)
    return match.group(1) if match else None


def explain_sqlite(path: Path, statement: str, parameters) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, parameters or ())]
    finally:
        conn.close()


def check_sqlite(statement: str, plan: list[str]) -> list[str]:
    flags = []
    table = target_table(statement)
    for line in plan:
        scan = re.match(r"SCAN (\w+)(.*)", line)
        if scan and scan.group(1) in BIG_TABLES and "COVERING INDEX" not in scan.group(2):
            flags.append(f"FULL SCAN of {scan.group(1)}")
        elif scan and scan.group(1) in BIG_TABLES:
            flags.append(f"FULL INDEX SCAN of {scan.group(1)}")
        search = re.match(r"SEARCH (\w+) USING (?:COVERING )?(?:INDEX (\w+)|INTEGER PRIMARY KEY) \((.*)\)", line)
        if search and search.group(1) == table:
            wanted = equality_keys(statement, table)
            used = set(re.findall(r"(\w+)[=<>]", search.group(3)))
            if wanted and not wanted & used:
                flags.append(f"WRONG INDEX {search.group(2)} ({search.group(3)}) though the statement has "
                             f"{', '.join(sorted(wanted))} =")
        if "TEMP B-TREE" in line:
            flags.append("SORT BEFORE LIMIT (reads every matching row)" if _limited(statement)
                         else "sort (temp B-tree)")
    return list(dict.fromkeys(flags))


def _limited(statement: str) -> bool:
    """Whether the statement's outermost query has ORDER BY and LIMIT (subqueries and calls removed)."""
    outer = " ".join(statement.split()).upper()
    while True:
        stripped = re.sub(r"\([^()]*\)", "", outer)
        if stripped == outer:
            break
        outer = stripped
    return " ORDER BY " in outer and " LIMIT " in outer


def normalized(plan: list[str]) -> list[str]:
    """A plan without cost estimates and literal values, to compare plans of different runs."""
    return [re.sub(r"'[^']*'", "?", re.sub(r"\s*\(cost=[^)]*\)", "", line)).rstrip() for line in plan]


def check(backend: str, statement: str, plan: list[str]) -> list[str]:
    return check_sqlite(statement, plan) if backend == "sqlite" else check_postgres(statement, plan)


def explain_postgres(url: str, statement: str, parameters) -> list[str]:
    from engine.db import make_engine

    db = make_engine(url)
    try:
        raw = db.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("EXPLAIN " + statement, parameters)
            lines = [row[0] for row in cur.fetchall()]
            raw.rollback()
            return lines
        finally:
            raw.close()
    finally:
        db.dispose()


def check_postgres(statement: str, plan: list[str]) -> list[str]:
    flags = []
    table = target_table(statement)
    wanted = equality_keys(statement, table) if table else set()
    for index, line in enumerate(plan):
        seq = re.search(r"Seq Scan on (\w+)", line)
        if seq and seq.group(1) in BIG_TABLES:
            flags.append(f"FULL SCAN of {seq.group(1)}")
        scan = re.search(r"(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)"
                         r"(?: on (\w+))?", line)
        if scan and wanted:
            cond = next((plan[j] for j in range(index + 1, min(index + 4, len(plan))) if "Index Cond" in plan[j]), "")
            used = set(re.findall(r"\(?(\w+)\)?(?:::\w+)? (?:=|<=|>=|<|>) ", cond))
            on_table = scan.group(2) or table
            if on_table == table and cond and not wanted & used:
                flags.append(f"WRONG INDEX {scan.group(1)} ({cond.strip()}) though the statement has "
                             f"{', '.join(sorted(wanted))} =")
        if re.search(r"(?:->\s+|^\s*)Sort\s+\(", line):
            flags.append("SORT BEFORE LIMIT (reads every matching row)" if _limited(statement) else "sort")
    return list(dict.fromkeys(flags))


def indexes_of(backend: str, where, table: str | None) -> list[str]:
    """The indexes a write to ``table`` maintains (primary key and unique constraints included)."""
    from sqlalchemy import inspect as sa_inspect

    from engine.db import make_engine

    if table is None:
        return []
    db = make_engine(f"sqlite:///{where}" if backend == "sqlite" else where)
    try:
        inspector = sa_inspect(db)
        out = [f"primary key ({', '.join(inspector.get_pk_constraint(table)['constrained_columns'])})"]
        out += [f"unique ({', '.join(u['column_names'])})" for u in inspector.get_unique_constraints(table)]
        out += [f"{i['name']} ({', '.join(i['column_names'])})" for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint")]  # PostgreSQL lists a unique constraint's index too
        return out
    finally:
        db.dispose()


def time_statement(run, repeat: int = 11) -> float:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs) * 1000


def explain_all(backend: str, where, recorded: list[dict], timed: bool = True) -> list[dict]:
    out = []
    for item in recorded:
        statement, parameters = item["statement"], item["parameters"]
        if backend == "sqlite":
            plan = explain_sqlite(where, statement, parameters)
            flags = check_sqlite(statement, plan)
        else:
            plan = explain_postgres(where, statement, parameters)
            flags = check_postgres(statement, plan)
        row = {"path": item["path"], "label": label_of(statement), "statement": " ".join(statement.split()),
               "plan": plan, "flags": flags}
        if timed and statement.lstrip().upper().startswith("SELECT"):
            row["ms"] = time_select(backend, where, statement, parameters)
        elif not statement.lstrip().upper().startswith("SELECT"):
            row["indexes"] = indexes_of(backend, where, target_table(statement))
        out.append(row)
    return out


def time_select(backend: str, where, statement: str, parameters) -> float:
    if backend == "sqlite":
        conn = sqlite3.connect(where)
        try:
            return time_statement(lambda: conn.execute(statement, parameters or ()).fetchall())
        finally:
            conn.close()
    from engine.db import make_engine

    db = make_engine(where)
    try:
        raw = db.raw_connection()
        try:
            cur = raw.cursor()
            ms = time_statement(lambda: (cur.execute(statement, parameters), cur.fetchall()))
            raw.rollback()
            return ms
        finally:
            raw.close()
    finally:
        db.dispose()


# ----------------------------------------------------------------------------- migration 0006 and ANALYZE


def _migration_0006():
    spec = importlib.util.spec_from_file_location("migration_0006", MIGRATION_0006)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def apply_0006(url: str, direction: str) -> None:
    """Run migration 0006's ``upgrade`` or ``downgrade`` on the store (alembic Operations, no version bump)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from engine.db import make_engine

    module = _migration_0006()
    db = make_engine(url)
    try:
        with db.begin() as conn:
            with Operations.context(MigrationContext.configure(conn)):
                getattr(module, direction)()
    finally:
        db.dispose()


def analyze(backend: str, where, schema: str | None = None) -> None:
    if backend == "sqlite":
        conn = sqlite3.connect(where)
        try:
            conn.execute("ANALYZE")
        finally:
            conn.close()
        return
    import psycopg

    libpq = where.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]
    with psycopg.connect(libpq, autocommit=True) as conn:
        for table in BIG_TABLES:
            conn.execute(f'ANALYZE "{schema}".{table}')


def postgres_analyzed(url: str, schema: str) -> dict:
    import psycopg

    libpq = url.replace("postgresql+psycopg://", "postgresql://", 1).split("?", 1)[0]
    with psycopg.connect(libpq) as conn:
        rows = conn.execute("select relname, last_autoanalyze is not null or last_analyze is not null "
                            "from pg_stat_user_tables where schemaname = %s", (schema,)).fetchall()
    return {name: bool(done) for name, done in rows if name in BIG_TABLES}


# ----------------------------------------------------------------------------- the whole check


def inspect_store(backend: str, where, url: str, schema: str | None = None) -> dict:
    """Plans as built (head), before 0006, and after ANALYZE, on a store the caller may let us change."""
    result: dict = {"backend": backend}
    if backend == "postgres":
        result["analyzed_before"] = postgres_analyzed(url, schema)
    apply_0006(url, "downgrade")
    before = explain_all(backend, where, record_hot_paths(url, 1))
    apply_0006(url, "upgrade")
    recorded = record_hot_paths(url, 0)
    result["head"] = explain_all(backend, where, recorded)
    result["before_0006"] = before
    analyze(backend, where, schema)
    result["analyzed"] = explain_all(backend, where, recorded, timed=True)
    result["statements"] = len(recorded)
    return result


def run_sqlite(dossiers: int, store: Path | None = None) -> dict:
    """``store``: an already built store to inspect (a copy is taken); else one is built."""
    with tempfile.TemporaryDirectory(prefix="bench-plans-") as tmp:
        path = Path(tmp) / "plans.db"
        if store is not None:
            shutil.copyfile(store, path)
        else:
            log(f"building {dossiers:,} dossiers in {path}")
            build_sqlite(path, dossiers)
        with sqlite3.connect(path) as conn:
            count = conn.execute("select count(*) from dossier").fetchone()[0]
        result = inspect_store("sqlite", path, f"sqlite:///{path}")
    result["dossiers"] = count
    return result


def run_postgres(url: str, dossiers: int, keep: bool = False) -> dict:
    with postgres_store(url, dossiers, keep=keep) as (store, schema):
        from engine.db import make_engine
        from sqlalchemy import text

        db = make_engine(store)
        with db.connect() as conn:
            count = conn.execute(text("select count(*) from dossier")).scalar()
        db.dispose()
        result = inspect_store("postgres", store, store, schema)
    result["dossiers"] = count
    return result


def summary(result: dict) -> list[str]:
    """Text lines: every statement at head with its plan, flags and time; what 0006 and ANALYZE change."""
    lines = [f"{result['backend']}: {result['dossiers']:,} dossiers, {result['statements']} distinct statements"]
    if "analyzed_before" in result:
        done = [t for t, ok in result["analyzed_before"].items() if ok]
        lines.append(f"  autovacuum had analyzed before the check: {', '.join(done) or 'none'} of the four big tables")
    for section, title in (("head", "as built (schema at head, no ANALYZE)"),):
        lines.append(f"  {title}:")
        for row in result[section]:
            flags = "; ".join(row["flags"]) or "ok"
            ms = f", {row['ms']:.3f} ms" if "ms" in row else ""
            lines.append(f"    [{row['path']}] {row['label']}{ms}: {flags}")
            for plan_line in row["plan"]:
                lines.append(f"        {plan_line}")
            if row.get("indexes"):
                lines.append(f"        (maintains {len(row['indexes'])}: {'; '.join(row['indexes'])})")
    for section, title in (("before_0006", "before migration 0006"), ("analyzed", "after ANALYZE")):
        others = {row["statement"]: row for row in result[section]}
        changed = [(h, others[h["statement"]]) for h in result["head"]
                   if h["statement"] in others and normalized(others[h["statement"]]["plan"]) != normalized(h["plan"])]
        lines.append(f"  {title}: {len(changed)} plan(s) differ from head")
        for head, other in changed:
            ms = f", {other['ms']:.3f} ms (head {head.get('ms', 0):.3f} ms)" if "ms" in other else ""
            lines.append(f"    [{other['path']}] {other['label']}{ms}: {'; '.join(other['flags']) or 'ok'}")
            for plan_line in other["plan"]:
                lines.append(f"        {plan_line}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--database", metavar="URL", help="a PostgreSQL URL (default: a SQLite file in a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--json", type=Path, help="also write the result as JSON here")
    args = parser.parse_args(argv)
    result = run_postgres(args.database, args.dossiers, args.keep) if args.database else run_sqlite(args.dossiers)
    print("\n".join(summary(result)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    flagged = [r for r in result["head"] if any(not f.startswith("sort") for f in r["flags"])]
    return 1 if flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
