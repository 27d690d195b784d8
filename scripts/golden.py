#!/usr/bin/env python3
"""Golden histories: check them (default) or regenerate them (``--regenerate``).

    scripts/golden.py                                # replay every tests/golden/*.jsonl.gz; exit 1 on a difference
    scripts/golden.py --regenerate                   # rebuild them with today's code (justify it in the commit!)
    scripts/golden.py --regenerate --only scenarios-next

(Run directly, it re-runs itself with the project's ``.venv/bin/python``; ``scripts/setup.sh dev`` makes it.)

A golden history is a journal export (engine/exports.py) of histories recorded by an earlier
commit: the public conformance scenarios and a small simulated cohort. Checking loads each file
into a temporary store (every hash chain verified), replays every dossier with today's code and
prints each difference — dossier, entry (seq, kind) and field. ``tests/audit/test_golden.py`` does
the same on every test run, on SQLite and PostgreSQL. When to regenerate (only when a past decision
is *meant* to change) and what the commit message must say: tests/golden/README.md.

Exit codes: 0 every golden history replays (or was written), 1 a difference, 2 bad usage or input.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
SCENARIOS = ROOT.parent / "shared" / "scenarios"


@dataclass(frozen=True)
class Recipe:
    """How one golden file is made: a name (the file is ``<name>.jsonl.gz``), what it holds, and the
    function that records it into an empty store at a database URL."""

    name: str
    description: str
    record: Callable[[str, Path], dict]  # (database URL, scenarios folder) → meta


def _scenarios(folder: str) -> Callable[[str, Path], dict]:
    def record(url: str, scenarios: Path) -> dict:
        from api.scenarios import compare, load_scenarios, run_scenarios

        directory = scenarios / folder
        loaded = load_scenarios([str(directory)])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcomes, failures = run_scenarios(loaded, database_url=url)
        mismatches = {s.name: compare(s.data.get("expect", {}), o) for s, o in zip(loaded, outcomes)}
        mismatches = {name: diffs for name, diffs in mismatches.items() if diffs}
        if mismatches:  # recorded all the same: the golden file records what the code does, not what it should
            print(f"  warning: {len(mismatches)} scenario(s) of {folder} do not match their expectation: "
                  + "; ".join(f"{name}: {diffs[0]}" for name, diffs in mismatches.items()), file=sys.stderr)
        return {"recipe": f"inburgering scenario run ../shared/scenarios/{folder} --database URL",
                "scenarios": sorted(p.name for p in directory.glob("*.json")),
                "expectations_met": not mismatches}
    return record


def _simulation(scale: float, seed: int, until: date) -> Callable[[str, Path], dict]:
    def record(url: str, scenarios: Path) -> dict:
        from simulation.driver import simulate

        result = simulate(2023, scale, seed, until, url, None, via="api", workers=1)
        if result.errors:
            raise RuntimeError(f"the simulation failed: {result.errors[:3]}")
        return {"recipe": f"inburgering simulate --year 2023 --scale {scale} --seed {seed} --until {until} "
                          "--workers 1 --via api --database URL",
                "persons": result.persons}
    return record


RECIPES = (
    Recipe("scenarios-public", "the six public conformance scenarios (../shared/scenarios/public)",
           _scenarios("public")),
    Recipe("scenarios-next", "the next conformance scenarios (../shared/scenarios/next)", _scenarios("next")),
    Recipe("sim-2023-s7", "110 simulated newcomers of 2023 (seed 7) until the end of 2026",
           _simulation(0.002, 7, date(2026, 12, 31))),
)


def golden_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl.gz"))


def check(directory: Path, *, only: list[str] | None = None, out=sys.stdout) -> int:
    """Replay every golden file; print every difference. Returns the number of files that differ."""
    from engine import exports

    files = [p for p in golden_files(directory) if not only or p.name[:-len(".jsonl.gz")] in only]
    if not files:
        print(f"no golden files in {directory}" + (f" named {', '.join(only)}" if only else ""), file=out)
        return 1
    failed = 0
    for path in files:
        started = time.perf_counter()
        try:
            export = exports.read(path)
            summary = exports.replay_export(export)
        except exports.ExportError as err:
            print(f"{path.name}: cannot be loaded: {err}", file=out)
            failed += 1
            continue
        seconds = time.perf_counter() - started
        if summary.ok:
            print(f"{path.name}: {summary.dossiers} dossiers, {summary.entries_checked} entries replay unchanged "
                  f"({seconds:.1f} s)", file=out)
            continue
        failed += 1
        print(f"{path.name}: {len(summary.diverged)} of {summary.dossiers} dossiers differ:", file=out)
        for result in summary.diverged:
            print(f"  {exports.describe(result.first_divergence)}", file=out)
    return failed


def regenerate(directory: Path, scenarios: Path, *, only: list[str] | None = None, out=sys.stdout) -> int:
    """Record every recipe (or ``only``) with today's code and write its golden file; print what changed."""
    from engine import exports

    directory.mkdir(parents=True, exist_ok=True)
    changed = False
    unknown = sorted(set(only or ()) - {r.name for r in RECIPES})
    if unknown:
        print(f"unknown golden name(s): {', '.join(unknown)} (known: {', '.join(r.name for r in RECIPES)})", file=out)
        return 2
    for recipe in RECIPES:
        if only and recipe.name not in only:
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="inburgering-golden-") as tmp:
            url = f"sqlite:///{tmp}/golden.db"
            meta = {"name": recipe.name, "description": recipe.description, **recipe.record(url, scenarios)}
            export = exports.export_store(url, meta=meta)
        check_run = exports.replay_export(export)
        if not check_run.ok:  # a history today's code cannot replay is no golden history (non-determinism?)
            print(f"{recipe.name}: the fresh recording does not replay; not written:", file=out)
            for result in check_run.diverged:
                print(f"  {exports.describe(result.first_divergence)}", file=out)
            return 1
        path = directory / f"{recipe.name}.jsonl.gz"
        before = exports.read(path) if path.exists() else None
        exports.write(export, path)
        changes = exports.differences(before, export) if before is not None else ["new file"]
        changed = changed or bool(changes)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(export.dossiers)} dossiers, "
              f"{export.entries} entries, {path.stat().st_size:,} bytes ({time.perf_counter() - started:.1f} s); "
              f"{'unchanged' if not changes else f'{len(changes)} change(s)'}", file=out)
        for line in changes[:20]:
            print(f"  {line}", file=out)
        if len(changes) > 20:
            print(f"  ... and {len(changes) - 20} more", file=out)
    if changed:
        print("Regenerated. The commit message must say why these past histories change "
              "(tests/golden/README.md).", file=out)
    else:
        print("Regenerated: nothing changed.", file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="See tests/golden/README.md for when to regenerate.")
    parser.add_argument("--regenerate", action="store_true",
                        help="record the golden histories again with today's code and overwrite the files "
                             "(the commit message must justify it); without it: only check and print differences")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"only this golden history (repeatable): {', '.join(r.name for r in RECIPES)}")
    parser.add_argument("--golden-dir", type=Path, default=GOLDEN, help=f"folder of the golden files (default {GOLDEN})")
    parser.add_argument("--scenarios", type=Path, default=SCENARIOS,
                        help=f"the shared scenarios folder, for --regenerate (default {SCENARIOS})")
    args = parser.parse_args(argv)
    if args.regenerate:
        if not args.scenarios.is_dir():
            parser.error(f"--scenarios: {args.scenarios} is not a folder")
        return regenerate(args.golden_dir, args.scenarios, only=args.only)
    return 1 if check(args.golden_dir, only=args.only) else 0


if __name__ == "__main__":
    VENV = ROOT / ".venv"
    if (VENV / "bin" / "python").exists() and Path(sys.prefix).resolve() != VENV.resolve():
        import os

        os.execv(VENV / "bin" / "python", [str(VENV / "bin" / "python"), __file__, *sys.argv[1:]])
    sys.exit(main())
