"""APScheduler glue: a metronome that asks the core what is due.

Jobs: the timer sweep, the e-mail outbox, and one cron job per recurring duty. It runs inside the
web app when SCHEDULER_ENABLED is set (never in tests, never in the reloader's parent), or as its
own process with `flask scheduler` — the production recipe. Two schedulers at once are safe: timers
and duty periods are claimed in the database.
"""

from __future__ import annotations

import logging
import os

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from workflows import notify as notifications
from workflows.timers import duties
from workflows.timers import sweep as timers

from . import clock
from .extensions import db

log = logging.getLogger(__name__)
TAIPEI = "Asia/Taipei"


def mailer(app: Flask) -> notifications.Mailer:
    c = app.config
    return notifications.smtp_mailer(c["MAIL_SERVER"], c["MAIL_PORT"], c["MAIL_FROM"], c.get("MAIL_USERNAME"),
                                     c.get("MAIL_PASSWORD"), c.get("MAIL_USE_TLS", False))


def sweep_timers(app: Flask) -> timers.SweepResult:
    with app.app_context():
        result = timers.sweep(db.session, clock.now())
        if result.woken or result.skipped or result.failed:
            log.info("timer sweep: %s", result)
        db.session.remove()
        return result


def send_emails(app: Flask) -> int:
    with app.app_context():
        try:
            return notifications.send_pending_emails(db.session, mailer(app), clock.now())
        finally:
            db.session.remove()


def run_duty(app: Flask, name: str):
    with app.app_context():
        schedule = duties.find_schedule(name, schedules(app))
        result = duties.run_schedule(db.session, schedule, clock.now())
        log.info("duty %s: %s", name, result.result if result else "already ran this period")
        db.session.remove()
        return result


def schedules(app: Flask) -> list[duties.Schedule]:
    """The city's schedules; DUTY_SCHEDULES in the config can disable one (None) or move its day and hour."""
    overrides = app.config.get("DUTY_SCHEDULES", {})
    result = []
    for schedule in duties.SCHEDULES:
        change = overrides.get(schedule.name, {})
        if change is None:
            continue
        result.append(duties.Schedule(**{**schedule.__dict__, **change}))
    return result


def build(app: Flask, scheduler: BaseScheduler) -> BaseScheduler:
    """Register every job; the first sweep and the duty catch-up run at once (missed work fires once)."""
    now = clock.now()
    scheduler.add_job(sweep_timers, "interval", args=[app], id="timer_sweep", seconds=app.config["TIMER_SWEEP_SECONDS"],
                      next_run_time=now, max_instances=1, coalesce=True)
    scheduler.add_job(send_emails, "interval", args=[app], id="email_outbox", seconds=60, next_run_time=now,
                      max_instances=1, coalesce=True)
    for schedule in schedules(app):
        scheduler.add_job(run_duty, CronTrigger(timezone=TAIPEI, **schedule.cron()), args=[app, schedule.name],
                          id=f"duty:{schedule.name}", max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(catch_up, args=[app], id="duty_catch_up", next_run_time=now)
    return scheduler


def catch_up(app: Flask) -> None:
    with app.app_context():
        ran = duties.catch_up(db.session, schedules(app), clock.now())
        if ran:
            log.info("caught up: %s", [(r.schedule, r.period, r.result) for r in ran])
        db.session.remove()


def init_app(app: Flask) -> None:
    """Start a background scheduler with the web app when enabled, once per process."""
    if not app.config.get("SCHEDULER_ENABLED") or app.testing:
        return
    if app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return  # the reloader's watcher process: only the child serving requests runs jobs
    scheduler = build(app, BackgroundScheduler(timezone=TAIPEI))
    scheduler.start()
    app.extensions["scheduler"] = scheduler
