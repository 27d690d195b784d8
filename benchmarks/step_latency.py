"""Caseworker step latency (p50/p99) with concurrent clients against `inburgering serve` on loopback.

    .venv/bin/python -m benchmarks.step_latency [--clients 50] [--steps 20] [--backend sqlite|postgres|both]

Starts the real server as a subprocess (uvicorn, one process, no demo data, no scheduler)
on 127.0.0.1 with a free port, imports one obligated newcomer per client, then runs the
clients at once: each registers its newcomer, records the intake and the contract, and
then reports PNT hours one hour at a time (every request is a full load-step-save of a
BPMN instance with journal and due-date index). Request counts are bounded; traffic goes
only to the loopback address. Prints p50, p90, p99, max and throughput per backend.
"""
from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-signing-key-not-a-secret-000000"
PG_URL = os.environ.get("INBURGERING_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token(role: str, agency: str | None = None) -> str:
    sys.path.insert(0, str(ROOT))
    from api.auth import issue_token
    from engine.clock import SystemClock
    from engine.settings import Settings

    return issue_token(Settings(jwt_secret=SECRET), role=role, user=f"bench-{role}", agency=agency,
                       now=SystemClock().now())


class Server:
    def __init__(self, database_url: str, workers: int = 1):
        self.port = free_port()
        env = {**os.environ, "INBURGERING_JWT_SECRET": SECRET, "INBURGERING_DATABASE_URL": database_url}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--no-demo", "--no-scheduler", "--port", str(self.port),
             "--workers", str(workers)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start within 60 s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run(database_url: str, clients: int, steps: int, workers: int = 1) -> dict:
    server = Server(database_url, workers)
    try:
        admin = {"Authorization": f"Bearer {token('admin')}"}
        caseworker = {"Authorization": f"Bearer {token('caseworker', 'agii')}"}
        run_id = uuid.uuid4().hex[:6]
        ids = [f"L{run_id}{n:03d}" for n in range(clients)]
        with httpx.Client(base_url=server.base, timeout=60) as http:
            for dossier_id in ids:
                response = http.post("/newcomers", headers=admin, json={
                    "id": dossier_id, "birth_date": "1990-01-01", "nationalities": ["SY"],
                    "residence": "recognised_refugee", "nis_code": "31005", "obligation_start": "2026-10-01"})
                response.raise_for_status()
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        start_gate = threading.Barrier(clients)

        def client(dossier_id: str) -> None:
            plan = [("registered", {}), ("intake", {"advice": "cvo_standard"}),
                    ("contract_signed", {"components": ["mo", "nt2", "pnt"]})]
            plan += [("pnt_hours", {"hours": 1})] * max(0, steps - len(plan))
            mine = []
            with httpx.Client(base_url=server.base, timeout=120, headers=caseworker) as http:
                start_gate.wait()
                for event, body in plan[:steps]:
                    began = time.perf_counter()
                    response = http.post(f"/dossiers/{dossier_id}/events/{event}", json=body)
                    mine.append(time.perf_counter() - began)
                    if response.status_code != 200:
                        with lock:
                            failures.append(f"{dossier_id} {event}: {response.status_code} {response.text[:120]}")
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(d,)) for d in ids]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
    finally:
        server.stop()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"requests": len(latencies), "failures": failures, "wall_s": wall,
            "p50_ms": statistics.median(latencies) * 1000, "p90_ms": pick(0.90), "p99_ms": pick(0.99),
            "max_ms": latencies[-1] * 1000, "throughput_rps": len(latencies) / wall}


def postgres_schema_url() -> tuple[str, callable]:
    import psycopg

    plain = PG_URL.replace("postgresql+psycopg", "postgresql")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG_URL}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20, help="requests per client (bounded)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: python -m benchmarks.step_latency --clients {args.clients} --steps {args.steps} "
          f"--backend {args.backend} --workers {args.workers}")
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        drop = None
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "sqlite":
                url = f"sqlite:///{tmp}/latency.db"
            else:
                url, drop = postgres_schema_url()
            try:
                result = run(url, args.clients, args.steps, args.workers)
            finally:
                if drop:
                    drop()
        print(f"{backend:8s} {result['requests']} steps by {args.clients} concurrent clients: "
              f"p50 {result['p50_ms']:.0f} ms, p90 {result['p90_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms, "
              f"max {result['max_ms']:.0f} ms, {result['throughput_rps']:.1f} steps/s, "
              f"{len(result['failures'])} failed")
        for failure in result["failures"][:5]:
            print(f"    {failure}")


if __name__ == "__main__":
    main()
