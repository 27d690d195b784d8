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


def start_scheduler(engine: Engine) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=BRUSSELS)

    def job() -> None:
        report = sweep(engine)
        log.info("sweep at %s: %d timers in %d dossiers, %d errors",
                 report.at, report.timers, report.dossiers, len(report.errors))

    scheduler.add_job(job, CronTrigger(hour=SWEEP_TIME.hour, minute=SWEEP_TIME.minute, timezone=BRUSSELS),
                      id="deadline-sweep", max_instances=1, coalesce=True, misfire_grace_time=6 * 3600)
    scheduler.start()
    return scheduler
