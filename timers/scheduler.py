"""APScheduler job: the sweep daily at 02:00 Europe/Brussels inside ``inburgering serve``.

APScheduler keeps time by itself; the sweep asks the engine's clock for "now".
Several serve processes may each run this job: the sweep is safe under concurrency
(see :mod:`timers.sweep`).
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from engine.clock import BRUSSELS
from engine.service import Engine

from .sweep import SWEEP_TIME, sweep

log = logging.getLogger("inburgering.scheduler")


def _job(engine: Engine):
    def job() -> None:
        report = sweep(engine)
        log.info("sweep at %s: %d timers in %d dossiers, %d errors, %d backed off (%.1f s)",
                 report.at, report.timers, report.dossiers, len(report.errors), report.backed_off, report.seconds)
    return job


def _add_daily(scheduler, engine: Engine, hour: int) -> None:
    scheduler.add_job(_job(engine), CronTrigger(hour=hour, minute=SWEEP_TIME.minute, timezone=BRUSSELS),
                      id="deadline-sweep", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)


def start_scheduler(engine: Engine) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=BRUSSELS)
    _add_daily(scheduler, engine, SWEEP_TIME.hour)
    scheduler.start()
    return scheduler


def sweeper_scheduler(engine: Engine, hour: int = SWEEP_TIME.hour):
    """The daily sweep for ``inburgering sweeper``: a blocking scheduler (not yet started)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone=BRUSSELS)
    _add_daily(scheduler, engine, hour)
    return scheduler
