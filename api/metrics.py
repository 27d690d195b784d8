"""``GET /metrics`` in the Prometheus text format (prometheus-client), and the middleware that counts.

Series (all prefixed ``inburgering_``):

| series | type | labels |
|---|---|---|
| ``http_requests_total`` | counter | method, route (the route *template*, e.g. ``/dossiers/{dossier_id}``), status |
| ``http_request_duration_seconds`` | histogram | method, route |
| ``step_duration_seconds`` | histogram | event (one caseworker or officer event: ``POST …/events/{type}``) |
| ``sweep_duration_seconds`` | histogram | – (every sweep run by this process) |
| ``timers_fired_total`` | counter | – |
| ``sweep_dossiers_failed_total`` | counter | – |
| ``due_backlog`` | gauge | – due-index rows with ``due_at <= now`` (read at scrape time) |
| ``incidents_open`` | gauge | – (read at scrape time) |
| ``dossier_cache_hits_total``, ``dossier_cache_misses_total`` | counter | – this process's cache |
| ``dossier_cache_stale_total`` | counter | – commands whose cached copy another process had outdated (decided again on the store's rows) |

Access: an ``admin`` bearer token, or — with ``INBURGERING_METRICS_LOOPBACK=1`` — any request
from a loopback address (127.0.0.0/8, ::1) without a token, for a Prometheus on the same host.
Several worker processes (``serve --workers N``) share their counters through
``PROMETHEUS_MULTIPROC_DIR`` (set by ``serve`` to a fresh folder when it is not set), so any
worker answers for all of them.
"""
from __future__ import annotations

import ipaddress
import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from engine.errors import EngineError

from .asgi import HttpMiddleware

PREFIX = "inburgering_"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SWEEP_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600)

REQUESTS = Counter(PREFIX + "http_requests_total", "HTTP requests by route template and status",
                   ("method", "route", "status"))
LATENCY = Histogram(PREFIX + "http_request_duration_seconds", "HTTP request latency by route template",
                    ("method", "route"), buckets=LATENCY_BUCKETS)
STEPS = Histogram(PREFIX + "step_duration_seconds", "Latency of one caseworker or officer event (engine step)",
                  ("event",), buckets=LATENCY_BUCKETS)
SWEEPS = Histogram(PREFIX + "sweep_duration_seconds", "Duration of one deadline sweep", buckets=SWEEP_BUCKETS)
FIRED = Counter(PREFIX + "timers_fired_total", "Deadline timers fired by the sweep")
FAILED = Counter(PREFIX + "sweep_dossiers_failed_total", "Dossiers whose firing raised in the sweep (incidents)")
CACHE_HITS = Counter(PREFIX + "dossier_cache_hits_total", "Dossier cache hits (engine/cache.py)")
CACHE_MISSES = Counter(PREFIX + "dossier_cache_misses_total", "Dossier cache misses (engine/cache.py)")
CACHE_STALE = Counter(PREFIX + "dossier_cache_stale_total",
                      "Commands whose cached dossier another process had outdated (engine/cache.py)")

EVENT_PREFIX = "/dossiers/{dossier_id}/events/"
LOOPBACK_SETTING = "INBURGERING_METRICS_LOOPBACK"


def observe_sweep(report) -> None:
    """A :data:`timers.sweep.SWEEP_OBSERVERS` callable."""
    SWEEPS.observe(report.seconds)
    FIRED.inc(report.timers)
    FAILED.inc(len(report.errors))


class _CacheCounter:
    """Moves the cache's plain counters into the Prometheus counters (the increase since last time)."""

    SERIES = (("hits", CACHE_HITS), ("misses", CACHE_MISSES), ("stale", CACHE_STALE))

    def __init__(self):
        self.seen: dict[int, tuple[int, ...]] = {}

    def update(self, engine) -> None:
        cache = getattr(engine, "cache", None)
        if cache is None:
            return
        now = tuple(getattr(cache.stats, name) for name, _ in self.SERIES)
        last = self.seen.get(id(cache), (0,) * len(self.SERIES))
        for (_, counter), value, before in zip(self.SERIES, now, last):
            if value > before:
                counter.inc(value - before)
        self.seen[id(cache)] = now


_CACHE = _CacheCounter()


class MetricsMiddleware(HttpMiddleware):
    """Counts and times every HTTP request."""

    async def http(self, scope, receive, send):
        started = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")  # set on this scope by the router
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(elapsed)
            if method == "POST" and template.startswith(EVENT_PREFIX):
                STEPS.labels(template[len(EVENT_PREFIX):]).observe(elapsed)
            _CACHE.update(scope["app"].state.engine)


def _store_gauges(engine) -> CollectorRegistry:
    """The gauges read from the store at scrape time (the same for every process)."""
    from sqlalchemy import func, select

    from engine import incidents
    from engine.models import DueTimer

    class StoreCollector:
        def collect(self):
            now = int(engine.clock.now().timestamp())
            with engine.reading() as connection:
                backlog = connection.execute(select(func.count()).select_from(DueTimer)
                                             .where(DueTimer.due_at <= now)).scalar_one()
            yield GaugeMetricFamily(PREFIX + "due_backlog", "Due-index rows with due_at <= now (not fired yet)",
                                    value=backlog)
            yield GaugeMetricFamily(PREFIX + "incidents_open", "Open incidents", value=incidents.count_open(engine))

    registry = CollectorRegistry(auto_describe=True)
    registry.register(StoreCollector())
    return registry


def _process_registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY
    return REGISTRY


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, or the test client's "testclient"
        return False


async def metrics(request: Request) -> Response:
    """The Prometheus exposition; an admin token, or loopback when the setting allows it."""
    if not (request.app.state.metrics_loopback and _loopback(request)):
        from api.auth import ADMIN, authenticated, bearer, require

        credentials = await bearer(request)
        actor = await authenticated(request, credentials)
        await require(ADMIN)(actor)
    engine = request.app.state.engine
    _CACHE.update(engine)
    body = generate_latest(_process_registry())
    try:
        body += generate_latest(_store_gauges(engine))
    except EngineError:
        pass
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    from timers.sweep import SWEEP_OBSERVERS

    app.state.metrics_loopback = os.environ.get(LOOPBACK_SETTING, "0") in ("1", "true", "yes")
    app.add_middleware(MetricsMiddleware)
    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
    if observe_sweep not in SWEEP_OBSERVERS:
        SWEEP_OBSERVERS.append(observe_sweep)
