"""How many dossiers per second the auditors' replay re-executes and checks.

    python benchmarks/replay_rate.py [--dossiers N] [--database URL] [--scenarios DIR]

Without ``--database`` it first builds N dossiers by running copies of the public
scenarios (distinct newcomer ids) through the real import, API and sweep into a
temporary SQLite store; then it replays every dossier of the store
(:func:`engine.replay.replay_all`: chain check, re-execution in an in-memory engine,
entry-by-entry comparison) and prints the rate. Single process, single thread.
"""
from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_SCENARIOS = ROOT.parent / "shared" / "scenarios" / "public"


def cpu_seconds_with_children() -> float:
    """CPU seconds of this process and of its children that ended (the replay's worker processes)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def build(url: str, count: int, scenarios_dir: Path) -> float:
    from api.scenarios import Scenario, load_scenarios, run_scenarios

    templates = load_scenarios([str(scenarios_dir)])
    batch = []
    for number in range(count):
        template = templates[number % len(templates)]
        data = copy.deepcopy(template.data)
        data["newcomer"]["id"] = f"B{number:05d}-{data['newcomer']['id']}"
        data.pop("expect", None)  # copies share one store: other dossiers' sweeps may move the clock
        batch.append(Scenario(template.source, data))
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_scenarios(batch, database_url=url)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=60, help="dossiers to build (default 60)")
    parser.add_argument("--database", help="replay this existing store instead of building one")
    parser.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS, help="scenario templates")
    parser.add_argument("--workers", type=int, default=None,
                        help="replay worker processes (default: what `inburgering replay` uses)")
    args = parser.parse_args()

    from engine.replay import replay_all

    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        url = args.database
        if url is None:
            url = f"sqlite:///{tmp}/bench.db"
            seconds = build(url, args.dossiers, args.scenarios)
            print(f"built {args.dossiers} dossiers in {seconds:.1f} s ({args.dossiers / seconds:.1f} dossiers/s "
                  "through import + API + sweep)")
        cpu = cpu_seconds_with_children()
        summary = replay_all(url, workers=args.workers)
        cpu = cpu_seconds_with_children() - cpu
    result = summary.to_dict()
    print(f"replayed {result['dossiers']} dossiers ({result['entries_checked']} journal entries) "
          f"in {result['seconds']:.2f} s: {result['dossiers_per_second']:.1f} dossiers/s, "
          f"{result['entries_checked'] / summary.seconds:.0f} entries/s; diverged: {result['diverged']}")
    print(f"CPU time {cpu:.2f} s: {result['dossiers'] / cpu:.1f} dossiers per CPU-second "
          "(the wall-clock rate is lower on a busy machine)")
    if not summary.ok:
        for divergence in result["divergences"][:5]:
            print(f"  {divergence['dossier_id']}: {divergence['message']}")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
