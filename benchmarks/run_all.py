"""Every speed, size and memory figure of the project, each with its command and conditions; writes BENCHMARKS.md.

    .venv/bin/python benchmarks/run_all.py [--only SECTION ...] [--skip SECTION ...] [--sim-scale 1.0]
                                           [--sweep-small] [--no-postgres] [--out BENCHMARKS.md]

Each section's figures are kept in ``benchmarks/results.json`` with the date, the git commit, the
command and the machine's load when they were measured; ``--only`` re-measures some sections and
keeps the others' last figures, and BENCHMARKS.md is always rewritten from that file, so every
figure in it says when, at which commit and how it was measured.

Sections (the code that measures lives in the module named; run_all only collects and writes):

``steps``       engine step vs bare SpiffWorkflow, both like-for-like modes (``benchmarks/steps.py``)
``size``        bytes at rest per instance in every BPMN wait state (``benchmarks/instance_size.py``)
``sweep``       one sweep of 1,000 due timers among 10,000 vs 200,000 open instances, SQLite, no ANALYZE
                (``benchmarks/sweep_ratio.py``; ``--sweep-small``: 2,000 vs 20,000)
``plans``       the query plan of every statement of the hot paths at 200,000 dossiers, SQLite and
                PostgreSQL (``benchmarks/query_plans.py``; on SQLite the sweep's large store when
                ``sweep`` runs in the same call)
``latency``     open-loop Poisson load against ``inburgering serve``, SQLite and PostgreSQL
                (``benchmarks/open_loop.py``)
``replay``      dossiers replayed per second (``benchmarks/replay_rate.py``)
``origins``     which calibrated indicators the population generator alone produces
                (``simulation/origins.py``)
``simulation``  ``simulate`` with the defaults a user gets (``simulation.driver.simulate``), at ``--sim-scale``

Durations are measured with ``time.perf_counter`` / ``time.process_time``; dates come from ``date``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = ("steps", "size", "sweep", "plans", "latency", "replay", "origins", "simulation")
PG_URL = os.environ.get("INBURGERING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PYTHON = ".venv/bin/python"
RESULTS = ROOT / "benchmarks" / "results.json"

TARGETS = {  # issue 16, "Then faster"
    "steps": 1.5, "size": 3500, "sweep_ratio": 1.2, "fires": 500, "simulation_s": 300, "replay": 200,
    "latency_p99_ms": 50,
}


def log(message: str = "") -> None:
    print(message, flush=True)


def maxrss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


# ----------------------------------------------------------------------------- conditions


def machine() -> dict:
    info = {"python": f"{platform.python_version()} ({platform.python_implementation()})",
            "platform": platform.platform(), "cores": os.cpu_count(), "sqlite": sqlite3.sqlite_version}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    try:
        import psycopg
        with psycopg.connect(PG_URL.replace("postgresql+psycopg", "postgresql"), connect_timeout=3) as conn:
            info["postgresql"] = conn.execute("show server_version").fetchone()[0]
    except Exception as err:  # noqa: BLE001
        info["postgresql"] = f"not reachable ({str(err).splitlines()[0][:80]})"
    try:
        from importlib.metadata import version
        info["spiffworkflow"] = version("SpiffWorkflow")
    except Exception:  # noqa: BLE001
        pass
    return info


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def reference() -> dict:
    """How fast this machine is right now, by two fixed workloads timed just before a section: the
    machines of different sessions (and one machine at different hours) differ by up to 2x, so a
    figure is compared with another one only together with these (lower is faster).

    ``python_ms``: building a dict of 200,000 small lists and summing them (best of 5), the kind of
    work the engine's Python does. ``sqlite_commit_us``: one-row INSERT and COMMIT in a WAL file with
    ``synchronous=NORMAL``, as the engine's store is set up (median of 500, after 50 not counted)."""
    def work() -> int:
        table = {}
        for i in range(200_000):
            table[str(i)] = [i, i * 2, (i, "x")]
        return sum(value[1] for value in table.values())

    runs = []
    for _ in range(5):
        started = time.perf_counter()
        work()
        runs.append(time.perf_counter() - started)
    commits = []
    with tempfile.TemporaryDirectory(prefix="reference_") as tmp:
        conn = sqlite3.connect(f"{tmp}/reference.db", isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, value TEXT)")
            for i in range(550):
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t (value) VALUES (?)", (f"row {i}",))
                conn.execute("COMMIT")
                if i >= 50:
                    commits.append(time.perf_counter() - started)
        finally:
            conn.close()
    return {"python_ms": round(min(runs) * 1000, 1), "sqlite_commit_us": round(statistics.median(commits) * 1e6, 1)}


def today_line() -> str:
    return subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout.strip()


def commit() -> str:
    """The commit measured, with ``+changes (files)`` when tracked files other than the outputs differ."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    if head.returncode != 0:
        return "?"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                            text=True).stdout.splitlines()
    outputs = {"BENCHMARKS.md", "benchmarks/results.json"}
    changed = [line[3:] for line in status if line[3:] not in outputs]
    return head.stdout.strip() + (f"+changes ({', '.join(changed)})" if changed else "")


# ----------------------------------------------------------------------------- sections


def bench_steps(args) -> dict:
    from benchmarks import steps

    log(f"== steps: {args.step_trajectories} trajectories x 7 user tasks in 4 variants, stores of "
        f"{args.step_store:,} waiting trajectories")
    out = steps.run(args.step_trajectories, store=args.step_store, log=log)
    log(steps.format_result(out))
    return out


def bench_size(args) -> dict:
    from benchmarks import instance_size

    log(f"== size: bytes at rest in every wait state (simulated year at --scale {args.size_scale})")
    out = instance_size.run(args.size_scale, log=log)
    log(instance_size.format_result(out))
    return out


def bench_sweep(args, on_large=None) -> dict:
    from benchmarks import sweep_ratio

    sizes = {"small": 2_000, "large": 20_000} if args.sweep_small else {"small": 10_000, "large": 200_000}
    log(f"== sweep: 1,000 due timers among {sizes['small']:,} vs {sizes['large']:,} open instances (SQLite, no "
        "ANALYZE)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-sweep-"))

    def built(label, path):
        if label == "large" and on_large is not None:
            on_large(path)

    try:
        result = sweep_ratio.run_sqlite(sizes, 1000, 3, workdir, True, on_built=built)
    finally:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    small = statistics.median(result["times"]["small"])
    large = statistics.median(result["times"]["large"])
    out = {"sizes": sizes, "due": 1000, "small_s": small, "large_s": large, "ratio": large / small,
           "fires_per_s_small": 1000 / small, "fires_per_s_large": 1000 / large,
           "import_ms": statistics.median(result["imports"]) * 1000,
           "query_small_ms": statistics.median(result["queries"]["small"]) * 1000,
           "query_large_ms": statistics.median(result["queries"]["large"]) * 1000,
           "runs_small": result["times"]["small"], "runs_large": result["times"]["large"]}
    log(f"   sweep {small:.3f} s vs {large:.3f} s: ratio {out['ratio']:.3f}; {out['fires_per_s_large']:.0f} timers/s")
    return out


def bench_plans(args, sqlite_store: Path | None = None, postgres: bool = True) -> dict:
    from benchmarks import query_plans

    out = {}
    log(f"== plans: every hot statement at {args.plan_dossiers:,} dossiers")
    out["sqlite"] = (query_plans.run_sqlite(args.plan_dossiers, store=sqlite_store) if sqlite_store
                     else query_plans.run_sqlite(args.plan_dossiers))
    if postgres:
        out["postgres"] = query_plans.run_postgres(PG_URL, args.plan_dossiers)
    for backend, result in out.items():
        flagged = [r for r in result["head"] if any(not f.startswith("sort") for f in r["flags"])]
        log(f"   {backend}: {result['statements']} statements, {len(flagged)} flagged: "
            + "; ".join(f"{r['label']} ({', '.join(r['flags'])})" for r in flagged))
    return out


def bench_latency(args, postgres: bool) -> dict:
    from benchmarks import open_loop

    out = {}
    for backend in ["sqlite"] + (["postgres"] if postgres else []):
        log(f"== latency: open loop, Poisson arrivals at {', '.join(map(str, args.rates))} steps/s, {backend}")
        try:
            out[backend] = open_loop.run(backend, args.rates, args.latency_duration, args.latency_store,
                                         not args.latency_no_search)
        except Exception as err:  # noqa: BLE001 - e.g. PostgreSQL not reachable
            log(f"   {backend}: not measured: {err}")
            out[backend] = {"error": str(err)}
    return out


def bench_replay(args) -> dict:
    """One store, replayed in one process and with the workers ``inburgering replay`` uses by default,
    alternately, twice each; the median of each."""
    import statistics
    import warnings

    from benchmarks import replay_rate
    from engine.replay import default_workers, replay_all

    count = args.replay_dossiers
    workers = default_workers(count)
    log(f"== replay: {count} dossiers built from the public scenarios, then replayed by 1 and by {workers} "
        "worker processes, alternately")
    runs: dict[int, list] = {1: [], workers: []}
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        url = f"sqlite:///{tmp}/replay.db"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            built = replay_rate.build(url, count, replay_rate.DEFAULT_SCENARIOS)
        for _ in range(2):
            for n in dict.fromkeys((1, workers)):
                cpu = replay_rate.cpu_seconds_with_children()
                summary = replay_all(url, workers=n)
                cpu = replay_rate.cpu_seconds_with_children() - cpu
                runs[n].append((summary, cpu))
    out = {"workers": workers, "build_s": built}
    for n, measured in runs.items():
        result = measured[0][0].to_dict()
        seconds = statistics.median(m[0].seconds for m in measured)
        cpu = statistics.median(m[1] for m in measured)
        out[f"workers_{n}"] = {"seconds": seconds, "per_second": result["dossiers"] / seconds,
                               "per_cpu_second": result["dossiers"] / cpu if cpu else None,
                               "diverged": max(m[0].to_dict()["diverged"] for m in measured)}
        out.update(dossiers=result["dossiers"], entries=result["entries_checked"])
    best = out[f"workers_{workers}"]
    out.update(per_second=best["per_second"], per_cpu_second=best["per_cpu_second"], seconds=best["seconds"],
               diverged=max(out[f"workers_{n}"]["diverged"] for n in runs))
    for n in runs:
        r = out[f"workers_{n}"]
        log(f"   {n} process(es): {r['per_second']:.1f} dossiers/s ({r['per_cpu_second']:.1f} per CPU-second), "
            f"diverged {r['diverged']}")
    return out


def bench_origins(args) -> dict:
    import warnings

    from simulation.driver import simulate
    from simulation.origins import classify, generator_only
    from simulation.population import generate

    scale = args.origins_scale
    log(f"== origins: a journal from generate() alone vs simulate, --scale {scale} --seed 1")
    population = generate(2023, scale, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = simulate(2023, scale, 1, via="engine", population=population)
    alone = generator_only(2023, scale, 1, population=population)
    labels = classify(run.comparison, alone["comparison"])
    generated = {row["key"]: row for row in alone["comparison"]}
    rows = [{"key": r["key"], "label": r["label"], "calibrated": r["calibrated"], "declared": r["origin"],
             "measured": labels[r["key"]], "engine_value": r["simulated"], "generator_value":
             generated[r["key"]]["simulated"], "engine_within": r["within_tolerance"],
             "generator_within": generated[r["key"]]["within_tolerance"], "unit": r["unit"]}
            for r in run.comparison]
    calibrated = [r for r in rows if r["calibrated"]]
    out = {"scale": scale, "rows": rows, "entries": alone["entries"],
           "calibrated": len(calibrated), "input": sum(r["measured"] == "input" for r in calibrated),
           "generator_within": sum(r["generator_within"] for r in calibrated),
           "labels_agree": all(r["declared"] == r["measured"] for r in rows)}
    log(f"   {out['input']}/{out['calibrated']} calibrated indicators identical from the generator alone; "
        f"declared labels agree: {out['labels_agree']}")
    return out


def bench_simulation(args) -> dict:
    import warnings

    from engine.cache import DEFAULT_CAPACITY
    from engine.settings import Settings
    from simulation.driver import default_workers, simulate

    scale, workers = args.sim_scale, args.sim_workers or default_workers()
    cache = Settings.from_env().cache_size
    out = {"workers": workers, "cache_size": cache, "default_cache": cache == DEFAULT_CAPACITY,
           "gc_threshold": list(__import__("gc").get_threshold())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log(f"== simulation: --year 2023 --scale {scale} --seed 1 --workers {workers} (HTTP API, cache {cache})")
        run = simulate(2023, scale, 1, via="api", workers=workers, on_progress=_every_simulated_year(log))
        out["main"] = _sim_figures(run)
        log(f"   {out['main']['total_s']:.0f} s wall ({out['main']['cpu_s']:.0f} s CPU), {run.steps} steps; "
            f"cache hits {run.cache.get('hits')}, misses {run.cache.get('misses')}; refused {len(run.refused)}, "
            f"errors {len(run.errors)}")
        for via in ("api", "engine"):
            log(f"== simulation: --scale {args.sim_compare_scale} --seed 1 --workers 1 via {via}")
            small = simulate(2023, args.sim_compare_scale, 1, via=via)
            out[via] = _sim_figures(small)
            log(f"   {out[via]['ms_per_step']:.1f} ms per step ({out[via]['cpu_ms_per_step']:.1f} ms CPU)")
    out["api_overhead"] = out["api"]["ms_per_step"] / out["engine"]["ms_per_step"] - 1
    out["api_overhead_cpu"] = out["api"]["cpu_ms_per_step"] / out["engine"]["cpu_ms_per_step"] - 1
    return out


def _every_simulated_year(say):
    seen = set()

    def progress(done: int, total: int, day) -> None:
        if day is not None and day.year not in seen:
            seen.add(day.year)
            say(f"   ... {day.year}: {done:,} of {total:,} imports and events")
    return progress


def _sim_figures(run) -> dict:
    s = run.seconds
    engine_s = s.get("import", 0) + s.get("events", 0) + s.get("sweep", 0)
    calibrated = [r for r in run.comparison if r["calibrated"]]
    engine = [r for r in calibrated if r.get("origin") == "engine"]
    return {"scale": run.scale, "persons": run.persons, "events": run.events, "steps": run.steps,
            "timers_fired": run.timers_fired, "days": run.days, "total_s": s["total"], "cpu_s": s["cpu_total"],
            "engine_s": engine_s, "ms_per_step": 1000 * engine_s / run.steps,
            "cpu_ms_per_step": 1000 * s["cpu_total"] / run.steps, "seconds": s, "cache": run.cache,
            "refused": len(run.refused), "errors": len(run.errors),
            "calibrated_within": sum(r["within_tolerance"] for r in calibrated), "calibrated": len(calibrated),
            "engine_within": sum(r["within_tolerance"] for r in engine), "engine_indicators": len(engine)}


# ----------------------------------------------------------------------------- BENCHMARKS.md


def _ms(value) -> str:
    return "–" if value is None else f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _when(meta: dict) -> str:
    ref = meta.get("reference")
    speed = (f"; machine reference {ref['python_ms']:.0f} ms Python, {ref['sqlite_commit_us']:.0f} µs SQLite commit "
             "(lower is faster: [Machine](#machine))" if ref else "; machine reference not taken then")
    return (f"measured {meta['when']} at commit `{meta['commit']}` by `{meta['command']}`; load average "
            f"{meta['load_before']} before, {meta['load_after']} after; {meta['seconds']:.0f} s{speed}")


def _mark(met) -> str:
    return "–" if met is None else ("yes" if met else "**no**")


def target_rows(results: dict) -> list[tuple]:
    rows = []
    steps = results.get("steps", {}).get("result")
    if steps:
        worst = max(steps["ratio_memory_cpu"], steps["ratio_rebuild_cpu"])
        rows.append(("engine step / bare SpiffWorkflow, kept in memory and saved each step (CPU median)",
                     f"{steps['ratio_memory_cpu']:.2f}× ({steps['ratio_memory_wall']:.2f}× wall)",
                     "≤ 1.5× (1.2×)", steps["ratio_memory_cpu"] <= TARGETS["steps"],
                     f"{worst / 1.2:.2f}× the 1.2× aim", "steps"))
        rows.append(("engine step / bare SpiffWorkflow, rebuilt from storage each step (CPU median)",
                     f"{steps['ratio_rebuild_cpu']:.2f}× ({steps['ratio_rebuild_wall']:.2f}× wall)",
                     "≤ 1.5× (1.2×)", steps["ratio_rebuild_cpu"] <= TARGETS["steps"], "", "steps"))
    size = results.get("size", {}).get("result")
    if size:
        complete = not size["not_reached"]
        rows.append(("bytes at rest per instance, worst wait state (largest instance)",
                     f"{size['max_bytes']:,} B ({size['worst_state']}; median there "
                     f"{size['worst_state_median']:,.0f} B)", "≤ 3,500 B",
                     (size["max_bytes"] <= TARGETS["size"]) if complete else None,
                     "" if complete else f"not reached: {', '.join(size['not_reached'])}", "size"))
    sweep = results.get("sweep", {}).get("result")
    if sweep:
        full = sweep["sizes"]["small"] == 10_000
        rows.append((f"sweep of 1,000 due timers, {sweep['sizes']['large']:,} / {sweep['sizes']['small']:,} "
                     "open instances", f"{sweep['ratio']:.3f}", "≤ 1.2 (at 200,000 / 10,000)",
                     (sweep["ratio"] <= TARGETS["sweep_ratio"]) if full else None,
                     "" if full else "not at the target sizes", "sweep"))
        rows.append(("timer fires per second in the sweep (one process)",
                     f"{sweep['fires_per_s_large']:.0f}/s at {sweep['sizes']['large']:,}, "
                     f"{sweep['fires_per_s_small']:.0f}/s at {sweep['sizes']['small']:,}", "≥ 500/s",
                     min(sweep["fires_per_s_large"], sweep["fires_per_s_small"]) >= TARGETS["fires"], "", "sweep"))
    sim = results.get("simulation", {}).get("result")
    if sim:
        m = sim["main"]
        like = m["scale"] == 1.0 and sim["default_cache"]
        minutes = m["total_s"] / 60
        rows.append(("full 2023 inflow (54,786), default settings, 2 cores",
                     f"{minutes:.1f} min wall ({m['cpu_s'] / 60:.1f} min CPU) at --scale {m['scale']}, "
                     f"{sim['workers']} workers", "≤ 5 min", (m["total_s"] <= TARGETS["simulation_s"]) if like else None,
                     "" if like else "not at --scale 1.0 with the defaults: not comparable", "simulation"))
    replay = results.get("replay", {}).get("result")
    if replay:
        if "workers_1" in replay:
            one = replay["workers_1"]
            rows.append(("replay", f"{replay['per_second']:.1f} dossiers/s with {replay['workers']} worker "
                         f"processes ({one['per_second']:.1f} in one process; {one['per_cpu_second']:.1f} per CPU-s)",
                         "≥ 200 dossiers/s", replay["per_second"] >= TARGETS["replay"],
                         f"{replay['dossiers']:,} dossiers, SQLite", "replay"))
        else:
            rows.append(("replay", f"{replay['per_second']:.1f} dossiers/s ({replay['per_cpu_second']:.1f} per CPU-s)",
                         "≥ 200 dossiers/s", replay["per_second"] >= TARGETS["replay"], "", "replay"))
    latency = results.get("latency", {}).get("result")
    if latency:
        for backend, r in latency.items():
            at100 = next((x for x in r.get("rates", []) if x["rate"] == 100), None)
            if at100 is None:
                rows.append((f"open loop, 100 steps/s, {backend}", r.get("error", "not measured"), "p99 ≤ 50 ms",
                             None, "", "latency"))
                continue
            rows.append((f"open loop, 100 steps/s, {backend}",
                         f"p50 {_ms(at100['p50_ms'])}, p99 {_ms(at100['p99_ms'])}", "p99 ≤ 50 ms",
                         at100["failed"] == 0 and at100["p99_ms"] <= TARGETS["latency_p99_ms"],
                         f"server {at100['server_cpu_ms_per_step']:.1f} ms CPU per step; load "
                         f"{at100['loadavg_1m'][0]:.1f}", "latency"))
    return rows


def write_markdown(path: Path, results: dict) -> None:
    lines = ["# Benchmarks", "",
             "Written by `.venv/bin/python benchmarks/run_all.py` from `benchmarks/results.json`. Each section says "
             "when, at which commit and by which command it was measured, and the machine's load then: the "
             "machine has 2 cores shared with other developers, so wall-clock figures carry their load; CPU-time "
             "figures are given where they matter. `--only SECTION` re-measures one section "
             f"({', '.join(f'`{s}`' for s in SECTIONS)}).", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in results.get("machine", {}).items()]
    lines += ["", "The machine is not the same from one session to the next, nor equally fast all day: each "
              "section gives the **machine reference** taken just before it (`benchmarks/run_all.py: reference`: "
              "a fixed Python workload in ms, one SQLite commit in µs; lower is faster). Figures of sections "
              "measured at different references are not like for like; an absolute target (fires per second, "
              "minutes for the year) is judged at the reference it was measured at. Seen on 2026-12-04: at the "
              "start of a session its machine took 1.6-2.8x as long as the day before's for the same work "
              "(`benchmarks/sweep_ratio.py` at the same commit: sweep 4.4 vs 2.8 s, due query 1.07 vs 0.59 ms, "
              "one import 5.0 vs 1.8 ms), and its Python reference ranged from 243 to 622 ms within the next hour."]
    lines += ["", "## Targets (issue 16)", "",
              "A target is marked met only when measured like for like; `–` means not measured under the target's "
              "conditions (see the note).", "",
              "| figure | measured | target | met | note | section |", "|---|---|---|---|---|---|"]
    for label, measured, target, met, note, section in target_rows(results):
        lines.append(f"| {label} | {measured} | {target} | {_mark(met)} | {note} | [{section}](#{section}) |")
    writers = {"steps": _md_steps, "size": _md_size, "sweep": _md_sweep, "plans": _md_plans,
               "latency": _md_latency, "replay": _md_replay, "origins": _md_origins, "simulation": _md_simulation}
    for section in SECTIONS:
        entry = results.get(section)
        lines += ["", f"## {section}", ""]
        if not entry:
            lines.append(f"Not measured yet: `{PYTHON} benchmarks/run_all.py --only {section}`.")
            continue
        lines.append(f"_{_when(entry['meta'])}._")
        lines.append("")
        lines += writers[section](entry["result"])
    peaks = [(s, results[s]["meta"]) for s in SECTIONS if results.get(s) and "maxrss_mb" in results[s]["meta"]]
    if peaks:
        lines += ["", "## Peak memory", "",
                  "Max RSS of the run_all process at the end of each section (it only grows within one call of "
                  "run_all) and of its largest child process (servers, simulation workers):", "",
                  "| section | run_all process | largest child |", "|---|---|---|"]
        lines += [f"| {s} | {m['maxrss_mb']:.0f} MB | {m['children_maxrss_mb']:.0f} MB |" for s, m in peaks]
    path.write_text("\n".join(lines) + "\n")


def _md_steps(r: dict) -> list[str]:
    labels = {"engine:memory": "engine, dossier cache on (default 4,096, of which 128 live): `Engine.handle` on a "
                               "dossier it saved the step before (live in the cache)",
              "bare:memory": "bare Spiff, `BpmnWorkflow` kept in memory, serialised and written each step",
              "engine:rebuild": "engine, cache off (`cache_size=0`): `Engine.handle` reads and deserialises",
              "bare:rebuild": "bare Spiff, row read, decompressed and deserialised each step"}
    lines = [f"What is compared (`{PYTHON} -m benchmarks.steps --trajectories {r['trajectories']} --store "
             f"{r['store']}`): the same BPMN model (`processes/trajectory.bpmn`), the same start and seven user "
             "tasks (register, intake, contract with MO/NT2/VDAB/PNT, VDAB, MO, NT2, PNT; both sides end waiting "
             "at the B1 timer), the same storage: each side its own SQLite file with the engine's settings (WAL, "
             "synchronous=NORMAL, `BEGIN IMMEDIATE`, the log checkpointed by the engine's background thread: "
             "`engine/walcheckpoint.py`), one write transaction per step, the instance state in the "
             "engine's at-rest format (Spiff state without the spec, JSON by orjson, zlib level 6 with an 8 KiB window: `engine/atrest.py`). Each store first holds "
             f"{r['store']:,} other waiting trajectories. Bare Spiff runs Spiff's own `BpmnWorkflow` and script environment "
             "and Spiff's tasks with their UUIDs (the engine's instances are its subclass with faster tree walks, "
             "its own parallel-gateway join and tasks that build Spiff's log records only when the logger "
             "would write them, `engine/taskwalk.py`; tasks read from a state, a new instance included, get "
             "int ids; and its script environment compiles each expression once, `engine/spiff.py`; every one "
             "held equal to Spiff's by oracle tests; the read side of the rebuild mode uses the engine's "
             "reader `engine.spiff.load_state` with Spiff's classes), stubs the service tasks "
             "and journals nothing; "
             "the engine runs its rules, aggregate, journal (hash chain), due index and version check. "
             f"{r['trajectories']} trajectories per variant, the four variants interleaved in rotating order, "
             f"{r['warm_up']} warm-up trajectories not counted; Python's default GC on both sides.", "",
             "| variant | step, CPU median | step, wall median | wall p90 | start (import), CPU median |",
             "|---|---|---|---|---|"]
    for key, label in labels.items():
        v = r["variants"][key]
        lines.append(f"| {label} | {v['step_cpu_ms']:.2f} ms | {v['step_ms']:.2f} ms | {v['step_p90_ms']:.2f} ms | "
                     f"{v['start_cpu_ms']:.2f} ms |")
    lines += ["", f"Engine / bare, kept in memory: **{r['ratio_memory_cpu']:.2f}×** CPU ({r['ratio_memory_wall']:.2f}× "
              f"wall; start {r['ratio_memory_start_cpu']:.2f}×). Rebuilt each step: **{r['ratio_rebuild_cpu']:.2f}×** "
              f"CPU ({r['ratio_rebuild_wall']:.2f}× wall; start {r['ratio_rebuild_start_cpu']:.2f}×). "
              f"Dossier cache in the memory mode: {r['engine_cache_memory_mode']['hits']} hits, "
              f"{r['engine_cache_memory_mode']['misses']} misses.", "",
              "Anatomy of one engine step (mean ms per `Engine.handle`, timing wrappers, its own run after the "
              "measurement):", "", "| part | cache on | cache off |", "|---|---|---|"]
    for part in r["anatomy"]["memory"]:
        lines.append(f"| {part} | {r['anatomy']['memory'][part]:.2f} | {r['anatomy']['rebuild'].get(part, 0):.2f} |")
    return lines


def _md_size(r: dict) -> list[str]:
    lines = [f"`{PYTHON} -m benchmarks.instance_size --scale {r['scale']}`. The wait states are read from the BPMN "
             "at run time (every user task, every catching intermediate event or event-based gateway; boundary "
             "events wait with their task). Instances reach them through the engine: a seeded simulated year "
             f"(--scale {r['scale']}, seed {r['seed']}: {r['persons']:,} newcomers, {r['events']:,} events, "
             f"`Engine.handle` and the daily sweep, {r['backend']}), sampled after every phase of every day: "
             f"{r['samples']:,} samples of waiting instances. **Counted per instance**: its state blob as stored + "
             "the dossier row's `state` (the aggregate JSON, counted in full for every instance of the dossier) + "
             "its due-index rows (every column). Not counted: the other columns of the rows, the journal (the "
             "audit record), page and index overhead.", "",
             "| process | wait state | kind | instances sampled | median | max |", "|---|---|---|---|---|---|"]
    for s in r["wait_states"]:
        if s["instances"]:
            lines.append(f"| {s['process']} | `{s['state']}` | {s['kind']} | {s['instances']:,} | "
                         f"{s['median']:,.0f} B | {s['max']:,} B |")
        else:
            lines.append(f"| {s['process']} | `{s['state']}` | {s['kind']} | **not reached** | | |")
    lines += ["", f"Maximum: **{r['max_bytes']:,} B** ({r['worst_state']}); target ≤ {r['target']:,} B.", "",
              "Largest configurations (what one instance waits in at once):", "",
              "| process | configuration | samples | median | max | its parts at the max (state / aggregate / due rows) |",
              "|---|---|---|---|---|---|"]
    for c in sorted(r["configurations"], key=lambda c: -c["max"])[:10]:
        w = c["worst"]
        lines.append(f"| {c['process']} | `{c['configuration']}` | {c['instances']:,} | {c['median']:,.0f} B | "
                     f"{c['max']:,} B | {w['state']:,} / {w['aggregate']:,} / {w['due_rows']:,} |")
    store = r["store"]
    lines += ["", f"Beside it: the other columns of the instance and dossier rows add about "
              f"{statistics.median(c['worst']['other_columns'] for c in r['configurations']):,.0f} B; the journal "
              f"payload is {store['journal_payload_per_dossier']:,.0f} B per dossier; the whole SQLite file is "
              f"{store.get('file_bytes_per_dossier', 0):,.0f} B per dossier (all tables, indexes, journal, free pages)."]
    return lines


def _md_sweep(r: dict) -> list[str]:
    small, large = r["sizes"]["small"], r["sizes"]["large"]
    flag = "" if small == 10_000 else " --sweep-small"
    return [f"`{PYTHON} benchmarks/run_all.py --only sweep{flag}` (`benchmarks/sweep_ratio.py`, `run_sqlite`): two "
            f"SQLite stores with the same 1,000 due dossiers (real imports) among {small:,} and {large:,} open "
            "instances (the rest copies of a template's rows, due over the following 365 days); **no ANALYZE** "
            "(the engine never runs it); each sweep on a fresh copy of the pristine store, alternating, in one "
            "process with its start-up objects frozen out of the garbage collector's way first, as `inburgering "
            "sweep` and `sweeper` run it (`engine/heap.py`).", "",
            "| store | sweep of 1,000 due timers (median of 3) | runs | timers/s | due query alone |",
            "|---|---|---|---|---|",
            f"| {small:,} | {r['small_s']:.3f} s | {', '.join(f'{t:.3f}' for t in r['runs_small'])} | "
            f"{r['fires_per_s_small']:.0f} | {r['query_small_ms']:.2f} ms |",
            f"| {large:,} | {r['large_s']:.3f} s | {', '.join(f'{t:.3f}' for t in r['runs_large'])} | "
            f"{r['fires_per_s_large']:.0f} | {r['query_large_ms']:.2f} ms |", "",
            f"Ratio {large:,} / {small:,}: **{r['ratio']:.3f}**. One import: {r['import_ms']:.1f} ms."]


def _md_plans(r: dict) -> list[str]:
    from benchmarks.query_plans import check, normalized

    lines = [f"`{PYTHON} -m benchmarks.query_plans [--database URL]`: an engine with its cache off runs the hot "
             "paths on a store of dossiers built like the sweep's large store (a caseworker step, the sweep's due query — also with the "
             "`id_range` the simulation workers use — and one dossier fired, the dossier view, the worklist, the "
             "enforcement queue) while every statement it sends is recorded; each is explained with its own "
             "parameters and checked: **FULL SCAN** (a big table without an index condition), **WRONG INDEX** "
             "(an equality on `id`/`dossier_id`/`instance_id` that the index condition does not use), sort. "
             "As built, without ANALYZE; then what migration 0006 changed (its `downgrade()` applied to the same "
             "store) and what ANALYZE would change."]
    for backend, result in r.items():
        lines += ["", f"### {backend}: {result['dossiers']:,} dossiers, {result['statements']} statements", ""]
        if "analyzed_before" in result:
            done = [t for t, ok in result["analyzed_before"].items() if ok]
            lines += [f"Autovacuum had analyzed {', '.join(done) or 'none'} of the four big tables before the check.",
                      ""]
        lines += ["| path | statement | plan | check | time |", "|---|---|---|---|---|"]
        for row in result["head"]:
            plan = "<br>".join(p.replace("|", "\\|") for p in row["plan"]) or "(no plan rows)"
            if row.get("indexes"):
                plan += f"<br>_maintains {len(row['indexes'])} indexes: {', '.join(row['indexes'])}_"
            flags = check(backend, row["statement"], row["plan"])  # today's checks on the recorded plan
            verdict = "; ".join(f"**{f}**" if not f.startswith("sort") else f for f in flags) or "ok"
            ms = f"{row['ms']:.3f} ms" if "ms" in row else ""
            lines.append(f"| {row['path']} | `{row['label']}` | {plan} | {verdict} | {ms} |")
        for section, title in (("before_0006", "Before migration 0006"), ("analyzed", "After ANALYZE")):
            others = {o["statement"]: o for o in result[section]}
            changed = [(h, others[h["statement"]]) for h in result["head"] if h["statement"] in others
                       and normalized(others[h["statement"]]["plan"]) != normalized(h["plan"])]
            lines += ["", f"{title}: {len(changed)} plan(s) differ from the above (costs and literals aside)."]
            for head, other in changed:
                ms = (f" — {other['ms']:.3f} ms (above: {head['ms']:.3f} ms)"
                      if "ms" in other and "ms" in head else "")
                flags = check(backend, other["statement"], other["plan"])
                lines.append(f"- [{other['path']}] `{other['label']}`: "
                             f"{' / '.join(p.strip() for p in other['plan'])} ({'; '.join(flags) or 'ok'}){ms}")
    return lines


def _md_latency(r: dict) -> list[str]:
    lines = [f"`{PYTHON} -m benchmarks.open_loop --backend BACKEND` (`benchmarks/open_loop.py`): "
             "`inburgering serve` with its defaults (one worker process, dossier cache 4,096 of which 128 live, "
             "start-up objects frozen out of the garbage collector's way: `engine/heap.py`) started on "
             "127.0.0.1; a store of 10,000 dossiers waiting at registration (more than the cache holds); Poisson "
             "arrivals at a fixed rate (open loop), each a caseworker event on a dossier with no request in flight "
             "(register, intake, contract, then PNT hours); latency from the **scheduled** send time (coordinated "
             "omission counted); a light asyncio HTTP/1.1 keep-alive client in one process (server and generator "
             "CPU per run below). 2 s warm-up not counted."]
    for backend, result in r.items():
        lines += ["", f"### {backend}", ""]
        if "error" in result:
            lines.append(f"Not measured: {result['error']}")
            continue
        lines += ["| rate | requests | p50 | p90 | p99 | max | failed | server CPU | server CPU per step | "
                  "generator CPU | load (1 min) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
        probes = (result.get("search") or {}).get("probes", [])
        for x in result["rates"] + probes:
            probe = " (search)" if x in probes else ""
            lines.append(f"| {x['rate']:.0f}/s{probe} | {x['requests']:,} in {x['duration_s']:.0f} s | "
                         f"{_ms(x['p50_ms'])} | {_ms(x['p90_ms'])} | {_ms(x['p99_ms'])} | {_ms(x['max_ms'])} | "
                         f"{x['failed']} | {x['server_cpu_share'] * 100:.0f} % | {x['server_cpu_ms_per_step']:.1f} ms | "
                         f"{x['generator_cpu_share'] * 100:.0f} % | {x['loadavg_1m'][0]:.1f} |")
        found = result.get("search")
        if found:
            lines += ["", f"Highest rate with p99 ≤ 100 ms and no failure: **{found['highest_rate']:.0f} steps/s** "
                      f"(first failing rate {found['first_failing_rate']}; search probes of "
                      f"{found['probe_duration_s']:.0f} s)."]
    return lines


def _md_replay(r: dict) -> list[str]:
    if "workers_1" not in r:  # measured before the replay had workers
        return [f"`{PYTHON} benchmarks/replay_rate.py --dossiers {r['dossiers']}`: {r['dossiers']} dossiers "
                f"({r['entries']} journal entries), replayed in {r['seconds']:.1f} s: "
                f"**{r['per_second']:.1f} dossiers/s**, {r['per_cpu_second']:.1f} per CPU-second; diverged: "
                f"{r['diverged']}."]
    lines = [f"`{PYTHON} benchmarks/replay_rate.py --dossiers {r['dossiers']}`: {r['dossiers']} dossiers "
             f"({r['entries']} journal entries) built from the public scenarios in {r['build_s']:.0f} s (SQLite), "
             "then replayed (chain check, re-execution in an in-memory engine, entry-by-entry comparison) "
             f"in one process and by {r['workers']} processes (what `inburgering replay` uses by default "
             "on this machine: one per CPU, at most 4, from 200 dossiers on: the replaying process and "
             f"{r['workers'] - 1} started for it, each taking 20 dossiers at a time, `engine/replay.py`), "
             "alternately, twice each; medians. The wall time includes starting the workers (an interpreter, "
             "its imports and an in-memory engine each); CPU counts the workers' too.", "",
             "| processes | seconds | dossiers/s | per CPU-second | diverged |", "|---|---|---|---|---|"]
    for n in dict.fromkeys((1, r["workers"])):
        m = r[f"workers_{n}"]
        lines.append(f"| {n} | {m['seconds']:.2f} | **{m['per_second']:.1f}** | {m['per_cpu_second']:.1f} | "
                     f"{m['diverged']} |")
    return lines


def _md_origins(r: dict) -> list[str]:
    def show(value, unit):
        if value is None:
            return "–"
        return f"{value * 100:.1f}%" if unit == "share" else f"{value:.2f}"

    lines = [f"`simulation/origins.py` at --scale {r['scale']}, seed 1: a journal written straight from "
             f"`generate()` ({r['entries']:,} entries: import, the planned target group, every planned event as a "
             "command; no BPMN, sweep or engine command) vs a real `simulate` of the same population. "
             f"**{r['input']} of the {r['calibrated']} calibrated indicators** come out identical from the "
             f"generator alone ({r['generator_within']} within tolerance): they are labelled `input` in the "
             "simulate output and say nothing about the engine. The others are `engine`-derived. Declared labels "
             f"(`simulation/calibration.py`) agree with this measurement: {'yes' if r['labels_agree'] else '**NO**'} "
             "(checked by `tests/simulation/test_simulate.py`).", "",
             "| indicator | calibrated | origin | simulate | generator alone |", "|---|---|---|---|---|"]
    for row in sorted(r["rows"], key=lambda x: (x["measured"] != "engine", x["key"])):
        lines.append(f"| {row['label']} | {'yes' if row['calibrated'] else 'info'} | {row['measured']} | "
                     f"{show(row['engine_value'], row['unit'])} | {show(row['generator_value'], row['unit'])} |")
    return lines


def _md_simulation(r: dict) -> list[str]:
    m = r["main"]
    return [f"`inburgering simulate --year 2023 --scale {m['scale']} --seed 1 --workers {r['workers']}` through "
            f"`simulation.driver.simulate` (HTTP API in process) with the settings a user gets: dossier cache "
            f"{r['cache_size']:,} ({'the default' if r['default_cache'] else '**not the default**'}; 128 of them "
            f"live), GC thresholds {tuple(r['gc_threshold'])} (Python's defaults; each worker freezes its start-up "
            f"objects once, as `serve` does: `engine/heap.py`), {r['workers']} worker processes (the "
            f"default on this machine). {m['persons']:,} newcomers, {m['events']:,} events, {m['days']} daily "
            f"sweeps firing {m['timers_fired']:,} timers; {m['steps']:,} steps; total **{m['total_s']:.0f} s wall** "
            f"({m['total_s'] / 60:.1f} min), {m['cpu_s']:.0f} s CPU over all processes; dossier cache "
            f"{m['cache'].get('hits', 0):,} hits, {m['cache'].get('misses', 0):,} misses; refused {m['refused']}, "
            f"errors {m['errors']}; calibrated indicators within tolerance {m['calibrated_within']}/{m['calibrated']} "
            f"(engine-derived {m['engine_within']}/{m['engine_indicators']}).", "",
            f"HTTP API vs `Engine.handle` at --scale {r['api']['scale']}, one process: {r['api']['ms_per_step']:.1f} vs "
            f"{r['engine']['ms_per_step']:.1f} ms per step ({r['api_overhead'] * 100:+.0f} % wall, "
            f"{r['api_overhead_cpu'] * 100:+.0f} % CPU)."]


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--skip", nargs="*", choices=SECTIONS, default=[], help="skip these sections")
    parser.add_argument("--step-trajectories", type=int, default=60)
    parser.add_argument("--step-store", type=int, default=10_000)
    parser.add_argument("--size-scale", type=float, default=0.02)
    parser.add_argument("--sweep-small", action="store_true", help="2,000 vs 20,000 instead of the target sizes")
    parser.add_argument("--plan-dossiers", type=int, default=200_000)
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200])
    parser.add_argument("--latency-duration", type=float, default=30.0)
    parser.add_argument("--latency-store", type=int, default=10_000)
    parser.add_argument("--latency-no-search", action="store_true", help="skip the search for the highest rate")
    parser.add_argument("--replay-dossiers", type=int, default=1000)
    parser.add_argument("--origins-scale", type=float, default=0.02)
    parser.add_argument("--sim-scale", type=float, default=1.0,
                        help="scale of the timed simulation (1.0: the full 2023 inflow, the target's)")
    parser.add_argument("--sim-workers", type=int, default=None, help="default: what simulate uses (CPUs, <= 4)")
    parser.add_argument("--sim-compare-scale", type=float, default=0.005)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the figures are kept (JSON)")
    parser.add_argument("--write-only", action="store_true", help="measure nothing; rewrite --out from --results")
    args = parser.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    command = f"{PYTHON} benchmarks/run_all.py" + (f" {shlex.join(given)}" if given else "")
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    sections = [] if args.write_only else [s for s in (args.only or SECTIONS) if s not in (args.skip or [])]
    info = machine()
    results["machine"] = info
    postgres = not args.no_postgres and not info.get("postgresql", "").startswith("not reachable")
    log(f"command: {command}")
    log(f"machine: {json.dumps(info)}; load {loadavg()}")
    stash: dict = {}
    for section in sections:
        meta = {"when": today_line(), "commit": commit(), "command": command, "load_before": loadavg(),
                "reference": reference()}
        log(f"== {section}: machine reference {meta['reference']}")
        began = time.perf_counter()
        if section == "steps":
            result = bench_steps(args)
        elif section == "size":
            result = bench_size(args)
        elif section == "sweep":
            plans_too = "plans" in sections and args.plan_dossiers == 200_000 and not args.sweep_small

            def plans_on(path: Path) -> None:  # the plans on the sweep's large store, while it is there
                plans_meta = {"when": today_line(), "commit": commit(), "command": command,
                              "load_before": loadavg(), "reference": reference()}
                plans_began = time.perf_counter()
                stash["plans"] = bench_plans(args, path, postgres)
                stash["plans_meta"] = {**plans_meta, "load_after": loadavg(),
                                       "seconds": time.perf_counter() - plans_began}
            result = bench_sweep(args, plans_on if plans_too else None)
        elif section == "plans":
            result = stash.get("plans") or bench_plans(args, None, postgres)
            meta = stash.get("plans_meta", meta)
        elif section == "latency":
            result = bench_latency(args, postgres)
        elif section == "replay":
            result = bench_replay(args)
        elif section == "origins":
            result = bench_origins(args)
        else:
            result = bench_simulation(args)
        if "seconds" not in meta:
            meta.update(load_after=loadavg(), seconds=time.perf_counter() - began)
        meta.update(maxrss_mb=maxrss_mb(), children_maxrss_mb=maxrss_mb(resource.RUSAGE_CHILDREN))
        results[section] = {"meta": meta, "result": result}
        args.results.write_text(json.dumps(results, indent=1, default=str) + "\n")  # keep what is done
    write_markdown(args.out, results)
    log(f"wrote {args.out} (figures in {args.results})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
