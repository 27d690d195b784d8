"""Open-loop caseworker-step latency against a real ``inburgering serve`` on loopback.

    .venv/bin/python -m benchmarks.open_loop [--backend sqlite|postgres|both] [--rates 50 100 200]
                                             [--duration 30] [--store 10000] [--no-search] [--json FILE]

**Open loop.** Requests arrive as a Poisson process at a fixed rate, whatever the server does:
the arrival times are drawn up front (exponential gaps, seeded) and each request is sent at its
scheduled time, not when an earlier one finished (a closed loop of N clients lets a slow server
slow the load down and hides the queueing). **Coordinated omission** is accounted for: a
request's latency runs from its *scheduled* send time to its response, so time spent waiting
for the generator or for a connection counts.

**Server.** ``python -m api.cli serve --no-demo --no-scheduler --port P`` — the defaults of
``serve`` otherwise: one worker process, the dossier cache at 4,096, the store's own settings,
uvicorn on httptools and uvloop (installed with the project; 4.8-5.0 -> 4.5-4.7 ms server CPU a
step, interleaved A/B at 100 steps/s on SQLite, 2026-12-03) —
started by the benchmark on 127.0.0.1 and stopped afterwards. Its store (a temporary SQLite file,
or a fresh schema in PostgreSQL database ``test``, vacuumed, analyzed and checkpointed after the
bulk load: :func:`settle_postgres`) holds ``--store`` dossiers before the first request: one newcomer imported through the engine (obligation start ten days before today), the
others exact copies of its rows under other ids (see ``benchmarks/sweep_ratio.py``), so the store
is larger than the cache and steps miss it as they would in production.

**Steps.** Each request is one caseworker event (``POST /dossiers/{id}/events/{type}``) on a
dossier drawn at random from the store among those with no request in flight; each dossier walks
its own valid sequence: registered, intake, contract_signed (MO, NT2, PNT), then PNT hours, one
hour at a time. Every step is a full load-decide-save of a BPMN instance with journal and due index.

**Generator.** One asyncio loop in this process with a minimal HTTP/1.1 keep-alive client on
asyncio streams (a pool of up to 256 connections; one request at a time per connection): httpx's
``AsyncClient`` cost about 3 ms of CPU per request here, which on a 2-core machine shared with
the server would have made the generator part of what is measured. The generator's CPU time and
the server's are measured per run and printed (share of one core, and server CPU per step), so
one can see how close the generator came to being the bottleneck and how much of the latency is
the machine's other load. A run with errors or timeouts says so.

Rates: ``--rates`` (default 50, 100, 200 steps/s), ``--duration`` seconds each after a 2-second
warm-up that is not counted; then the highest rate with p99 <= 100 ms is searched (doubling
above the best passing rate, then bisection to within 10 %, shorter runs).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "benchmark-signing-key-not-a-secret-000000"
PG_URL = os.environ.get("INBURGERING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
P99_LIMIT_MS = 100.0
WARM_UP_S = 2.0
SEQUENCE = [("registered", {}), ("intake", {"advice": "cvo_standard"}),
            ("contract_signed", {"components": ["mo", "nt2", "pnt"]})]
REPEAT = ("pnt_hours", {"hours": 1})


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token(role: str, agency: str | None = None) -> str:
    from api.auth import issue_token
    from engine.clock import SystemClock
    from engine.settings import Settings

    return issue_token(Settings(jwt_secret=SECRET), role=role, user=f"bench-{role}", agency=agency,
                       now=SystemClock().now())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """``inburgering serve`` with its defaults, on a free loopback port, as a child process."""

    def __init__(self, database_url: str):
        self.port = free_port()
        env = {**os.environ, "INBURGERING_JWT_SECRET": SECRET, "INBURGERING_DATABASE_URL": database_url}
        env.pop("INBURGERING_CACHE_SIZE", None)  # serve's default
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--no-demo", "--no-scheduler", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with code {self.proc.returncode}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start within 90 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def build_store(url: str, dossiers: int) -> list[str]:
    """``dossiers`` obligated newcomers waiting at registration; returns their ids."""
    from benchmarks import sweep_ratio
    from engine.clock import SystemClock, business_date
    from engine.service import bootstrap
    from engine.settings import Settings

    clock = SystemClock()
    start = (business_date(clock.now()) - timedelta(days=10)).isoformat()
    engine = bootstrap(Settings(database_url=url, demo_data=False), clock)
    try:
        engine.import_newcomer(sweep_ratio.newcomer(sweep_ratio.TEMPLATE_ID, start))
    finally:
        engine.db.dispose()
    sweep_ratio.add_copies(url, dossiers - 1, with_journal=True, identical=True)
    if url.startswith("postgresql"):
        settle_postgres(url)
    return [sweep_ratio.TEMPLATE_ID] + [f"BULK-{i:07}" for i in range(dossiers - 1)]


def settle_postgres(url: str) -> None:
    """Bring a freshly bulk-loaded PostgreSQL store to the state it has after some minutes in
    service: ``VACUUM (ANALYZE)`` of its tables (what autovacuum does on its own soon after so
    many inserts; the first reads of new rows otherwise also write their hint bits) and a
    ``CHECKPOINT`` (the bulk load's dirty pages written). Without it, that catch-up ran inside the
    measured seconds: two runs of the same commit at 100 steps/s gave p99 61 and 134 ms, with
    stalls up to 0.4 s (2026-12-03). The query plans without statistics are checked apart
    (``benchmarks/query_plans.py``)."""
    import psycopg

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    schema = parsed.query["options"].split("search_path=", 1)[1]
    with psycopg.connect(parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False),
                         autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))]
        for table in tables:
            conn.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')
        conn.execute("CHECKPOINT")


class Load:
    """Which step each dossier takes next; at most one request in flight per dossier."""

    def __init__(self, ids: list[str], seed: int):
        self.rng = random.Random(seed)
        self.free = list(ids)
        self.done = {d: 0 for d in ids}
        self.retired = 0

    def take(self) -> tuple[str, str, dict] | None:
        if not self.free:
            return None
        index = self.rng.randrange(len(self.free))
        self.free[index], self.free[-1] = self.free[-1], self.free[index]
        dossier = self.free.pop()
        n = self.done[dossier]
        event, body = SEQUENCE[n] if n < len(SEQUENCE) else REPEAT
        return dossier, event, body

    def give_back(self, dossier: str, status: int) -> None:
        """After a 200 the dossier takes its next step; after a refusal or a request given up (its
        effect unknown: the server may still apply it) the dossier is retired from the load."""
        if status == 200:
            self.done[dossier] += 1
            self.free.append(dossier)
        else:
            self.retired += 1


class RawClient:
    """HTTP/1.1 POSTs with JSON bodies over a pool of keep-alive connections (asyncio streams)."""

    #: uvicorn closes a keep-alive connection after 5 s idle; one idle longer than this is not reused
    MAX_IDLE_S = 2.0

    def __init__(self, port: int, headers: dict, size: int = 256):
        self.port = port
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.idle: list = []  # (reader, writer, idle since)
        self.size = size
        self.open = 0
        self.slot = asyncio.Semaphore(size)

    async def _connection(self):
        now = time.perf_counter()
        while self.idle:
            reader, writer, since = self.idle.pop()
            if now - since <= self.MAX_IDLE_S and not reader.at_eof():
                return reader, writer, True
            writer.close()
            self.open -= 1
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.open += 1
        return reader, writer, False

    async def post(self, path: str, body: dict) -> int:
        data = json.dumps(body).encode()
        request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.head}Content-Type: application/json\r\n"
                   f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        async with self.slot:
            for attempt in (1, 2):
                reader, writer, reused = await self._connection()
                try:
                    writer.write(request)
                    await writer.drain()
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    writer.close()
                    self.open -= 1
                    # a kept-alive connection the server had just closed: nothing was read; send again
                    if reused and attempt == 1 and not getattr(error, "partial", b""):
                        continue
                    raise
                except BaseException:
                    writer.close()
                    self.open -= 1
                    raise
                break
            try:
                lines = head.decode("latin-1").split("\r\n")
                status = int(lines[0].split()[1])
                fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                if "content-length" not in fields:
                    raise RuntimeError(f"response without Content-Length: {lines[0]}")
                await reader.readexactly(int(fields["content-length"]))
            except BaseException:
                writer.close()
                self.open -= 1
                raise
            if fields.get("connection", "").lower() == "close":
                writer.close()
                self.open -= 1
            else:
                self.idle.append((reader, writer, time.perf_counter()))
            return status

    async def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle = []


async def _run_rate(port: int, headers: dict, load: Load, rate: float, duration: float, seed: int) -> dict:
    rng = random.Random(seed)
    arrivals, t = [], 0.0
    while True:
        t += rng.expovariate(rate)
        if t > WARM_UP_S + duration:
            break
        arrivals.append(t)
    results: list[tuple[float, float, int, str]] = []  # (scheduled offset, latency, status, event)
    lateness: list[float] = []
    client = RawClient(port, headers)
    try:
        waiting_for_dossier = asyncio.Condition()

        async def one(offset: float, scheduled: float) -> None:
            async with waiting_for_dossier:
                picked = load.take()
                while picked is None:
                    await waiting_for_dossier.wait()
                    picked = load.take()
            dossier, event, body = picked
            status = 0
            try:
                status = await asyncio.wait_for(client.post(f"/dossiers/{dossier}/events/{event}", body), 30)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, RuntimeError, ValueError) as error:
                status = -1
                event = f"{event} ({type(error).__name__})"
            finally:
                done = time.perf_counter()
                async with waiting_for_dossier:
                    load.give_back(dossier, status)
                    waiting_for_dossier.notify()
            results.append((offset, done - scheduled, status, event))

        loop_start = time.perf_counter()
        tasks = []
        for offset in arrivals:
            scheduled = loop_start + offset
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lateness.append(time.perf_counter() - scheduled)
            tasks.append(asyncio.create_task(one(offset, scheduled)))
        await asyncio.gather(*tasks)
        connections = client.open
    finally:
        await client.close()
    measured = [r for r in results if r[0] >= WARM_UP_S]
    latencies = sorted(r[1] * 1000 for r in measured)
    failed = [r for r in measured if r[2] != 200]
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    mix: dict[str, int] = {}
    for r in measured:
        mix[r[3]] = mix.get(r[3], 0) + 1
    return {"rate": rate, "duration_s": duration, "requests": len(measured), "sent": len(results),
            "failed": len(failed),
            "failures": sorted({f"{r[3]}: {r[2]}" for r in failed})[:5],
            "achieved_rate": len(measured) / duration, "p50_ms": statistics.median(latencies),
            "p90_ms": pick(0.90), "p99_ms": pick(0.99), "max_ms": latencies[-1],
            "send_lateness_p99_ms": sorted(lateness)[int(0.99 * len(lateness))] * 1000, "mix": mix,
            "connections": connections}


def drain(server: Server, limit_s: float = 180.0) -> float:
    """Wait until the server is idle (under 5 % of a core over a second): requests a client gave up
    on may still be queued in it, and must not weigh on the next rate. Returns the seconds waited."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        before = cpu_seconds(server.proc.pid)
        time.sleep(1.0)
        if cpu_seconds(server.proc.pid) - before < 0.05:
            break
    return time.perf_counter() - began


def run_rate(server: Server, headers: dict, load: Load, rate: float, duration: float, seed: int) -> dict:
    result_drained = drain(server)
    gen0, srv0, wall0 = time.process_time(), cpu_seconds(server.proc.pid), time.perf_counter()
    load0 = os.getloadavg()[0]
    result = asyncio.run(_run_rate(server.port, headers, load, rate, duration, seed))
    wall = time.perf_counter() - wall0
    result["generator_cpu_share"] = (time.process_time() - gen0) / wall
    result["server_cpu_share"] = (cpu_seconds(server.proc.pid) - srv0) / wall
    result["server_cpu_ms_per_step"] = (cpu_seconds(server.proc.pid) - srv0) * 1000 / max(1, result["sent"])
    result["loadavg_1m"] = (load0, os.getloadavg()[0])
    result["drained_s"] = result_drained
    result["retired_dossiers"] = load.retired
    ok = result["failed"] == 0 and result["p99_ms"] <= P99_LIMIT_MS
    log(f"   {rate:6.0f} steps/s: p50 {result['p50_ms']:6.1f} ms, p99 {result['p99_ms']:7.1f} ms, max "
        f"{result['max_ms']:7.1f} ms, {result['requests']} requests, {result['failed']} failed; CPU: server "
        f"{result['server_cpu_share'] * 100:.0f} % ({result['server_cpu_ms_per_step']:.1f} ms per step), generator "
        f"{result['generator_cpu_share'] * 100:.0f} % of a core; load {result['loadavg_1m'][0]:.1f}"
        f"{'' if ok else '  (p99 > 100 ms or failures)'}")
    return result


def search(server: Server, headers: dict, load: Load, measured: list[dict], duration: float, seed: int,
           max_probes: int = 8) -> dict:
    """The highest rate with p99 <= 100 ms and no failure: halving below the lowest failing rate when
    nothing passed, doubling above the best passing one when nothing failed, then bisection to 10 %."""
    good = lambda r: r["failed"] == 0 and r["p99_ms"] <= P99_LIMIT_MS  # noqa: E731
    low = max((r["rate"] for r in measured if good(r)), default=0.0)
    high = min((r["rate"] for r in measured if not good(r) and r["rate"] > low), default=None)
    probes: list[dict] = []

    def probe(rate: float) -> bool:
        result = run_rate(server, headers, load, rate, duration, seed + 100 + len(probes))
        probes.append(result)
        return good(result)

    while not low and high is not None and high > 5 and len(probes) < max_probes:
        rate = round(high / 2, 1)
        if probe(rate):
            low = rate
        else:
            high = rate
    while low and high is None and len(probes) < max_probes:
        rate = low * 2
        if probe(rate):
            low = rate
        else:
            high = rate
    while low and high is not None and (high - low) / low > 0.10 and len(probes) < max_probes:
        rate = round((low + high) / 2, 1)
        if probe(rate):
            low = rate
        else:
            high = rate
    return {"highest_rate": low, "first_failing_rate": high, "probes": probes, "probe_duration_s": duration}


def run(backend: str, rates: list[float], duration: float, store: int, do_search: bool = True,
        search_duration: float = 15.0, seed: int = 16) -> dict:
    drop = None
    with tempfile.TemporaryDirectory(prefix="bench-open-loop-") as tmp:
        if backend == "sqlite":
            url = f"sqlite:///{tmp}/open-loop.db"
        else:
            url, drop = postgres_schema_url()
        try:
            log(f"   building a store of {store:,} dossiers ({backend})")
            ids = build_store(url, store)
            server = Server(url)
            try:
                headers = {"Authorization": f"Bearer {token('caseworker', 'agii')}"}
                load = Load(ids, seed)
                results = [run_rate(server, headers, load, rate, duration, seed + i) for i, rate in enumerate(rates)]
                found = search(server, headers, load, results, search_duration, seed) if do_search else None
            finally:
                server.stop()
        finally:
            if drop:
                drop()
    return {"backend": backend, "store": store, "rates": results, "search": found, "p99_limit_ms": P99_LIMIT_MS,
            "warm_up_s": WARM_UP_S}


def postgres_schema_url():
    import psycopg

    plain = PG_URL.replace("postgresql+psycopg", "postgresql")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200])
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds per rate (default 30)")
    parser.add_argument("--store", type=int, default=10_000, help="dossiers in the store (default 10,000)")
    parser.add_argument("--no-search", action="store_true", help="skip the search for the highest rate")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = {}
    for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
        log(f"== {backend}")
        out[backend] = run(backend, args.rates, args.duration, args.store, not args.no_search)
        found = out[backend]["search"]
        if found:
            log(f"   highest rate with p99 <= {P99_LIMIT_MS:.0f} ms: {found['highest_rate']} steps/s "
                f"(first failing: {found['first_failing_rate']})")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
