"""APScheduler glue: a metronome that asks the core what is due.

Jobs: the timer sweep, the e-mail outbox, one cron job per recurring duty, and the daily ones: accounts stopped on
their date, deletion confirmations of registrations whose use ended a month ago, approved destruction lists carried
out (and attachment drafts never filed purged), leave substitutes begun or ended, the 08:30 digest; and every few
minutes (first at start-up) query-log import jobs whose process died are ended as failed. It runs inside the
web app when SCHEDULER_ENABLED is set (never in tests, never in the reloader's parent), or as its
own process with `flask scheduler` — the production recipe. Two schedulers at once are safe: timers
and duty periods are claimed in the database.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from workflows import notify as notifications
from workflows.accounts.records import disable_ended_accounts
from workflows.attachments.records import purge_stale_drafts
from workflows.oversight.imports import fail_dead_imports
from workflows.personal.digest import DIGEST_HOUR, DIGEST_MINUTE, send_digests
from workflows.personal.substitutes import refresh_all_substitutes
from workflows.retention.destruction import carry_out_destructions
from workflows.timers import deletions, duties
from workflows.timers import sweep as timers

from . import clock
from .extensions import db
from .oversight import jobs

log = logging.getLogger(__name__)
TAIPEI = "Asia/Taipei"
T = TypeVar("T")


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


def run_logged(app: Flask, work: Callable[..., T], what: str) -> T:
    """One daily job of the core in the app's context and a session of its own; what it did, logged as ``what``."""
    with app.app_context():
        try:
            done = work(db.session, clock.now())
            if done:
                log.info("%s: %s", what, done)
            return done
        finally:
            db.session.remove()


def end_accounts(app: Flask) -> list[int]:
    """Stop the accounts whose approved deletion date has come (their role ended with the same date)."""
    return run_logged(app, disable_ended_accounts, "accounts stopped on their date")


def start_deletions(app: Flask) -> list[int]:
    """Each day: the querier of every registration whose use ended a month ago confirms the deletion (001 §11)."""
    return run_logged(app, deletions.start_due_deletions, "deletion confirmations started")


def destroy_approved(app: Flask) -> list[int]:
    """Each day: carry out the destruction lists their agency head approved (never a list not approved), then
    delete the attachments uploaded for a filing that was never submitted (drafts older than a day)."""
    carried = run_logged(app, carry_out_destructions, "destruction lists carried out")
    run_logged(app, purge_stale_drafts, "unfiled attachment drafts purged")
    return carried


def refresh_substitutes(app: Flask) -> int:
    """At the start of each Taipei day: leave substitutes that began gain their rows, those that ended lose them."""
    with app.app_context():
        try:
            return refresh_all_substitutes(db.session, clock.now())
        finally:
            db.session.remove()


def end_dead_imports(app: Flask) -> list[int]:
    """Query-log import jobs whose process died (no heartbeat for QUERY_LOG_IMPORT_STALE_MINUTES) end as failed,
    their staged rows removed; the upload each kept in the instance folder goes too."""
    with app.app_context():
        try:
            stale = timedelta(minutes=app.config["QUERY_LOG_IMPORT_STALE_MINUTES"])
            ended = fail_dead_imports(db.session, clock.now(), stale)
        finally:
            db.session.remove()
    for import_id in ended:
        jobs.job_upload(app, import_id).unlink(missing_ok=True)
    if ended:
        log.warning("query-log imports ended as failed, their process gone: %s", ended)
    return ended


def digest(app: Flask) -> int:
    """08:30 on working days (the core skips holidays): each person's held notifications as one message."""
    with app.app_context():
        try:
            return send_digests(db.session, clock.now())
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
    """The city's schedules; DUTY_SCHEDULES in the config disables one (None) or moves its day and hour."""
    return duties.list_schedules(app.config["DUTY_SCHEDULES"])


def logged(job: Callable[..., T]) -> Callable[..., T | None]:
    """A scheduler job whose failure is logged with its traceback; it stays scheduled and runs next time."""
    @wraps(job)
    def run(*args):
        try:
            return job(*args)
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next time",
                          " ".join([job.__name__, *map(str, args[1:])]))  # args[0] is the app
            return None
    return run


def build(app: Flask, scheduler: BaseScheduler) -> BaseScheduler:
    """Register every job; the first sweep and the duty catch-up run at once (missed work fires once)."""
    now = clock.now()
    scheduler.add_job(logged(sweep_timers), "interval", args=[app], id="timer_sweep",
                      seconds=app.config["TIMER_SWEEP_SECONDS"], next_run_time=now, max_instances=1, coalesce=True)
    scheduler.add_job(logged(send_emails), "interval", args=[app], id="email_outbox", seconds=60, next_run_time=now,
                      max_instances=1, coalesce=True)
    for schedule in schedules(app):
        scheduler.add_job(logged(run_duty), CronTrigger(timezone=TAIPEI, **schedule.cron()),
                          args=[app, schedule.name], id=f"duty:{schedule.name}", max_instances=1, coalesce=True,
                          misfire_grace_time=3600)
    scheduler.add_job(logged(catch_up), args=[app], id="duty_catch_up", next_run_time=now)
    scheduler.add_job(logged(end_accounts), CronTrigger(timezone=TAIPEI, hour=0, minute=1), args=[app],
                      id="accounts_ending", next_run_time=now, max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(logged(start_deletions), CronTrigger(timezone=TAIPEI, hour=0, minute=5), args=[app],
                      id="data_deletions", next_run_time=now, max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(logged(destroy_approved), CronTrigger(timezone=TAIPEI, hour=0, minute=10), args=[app],
                      id="destructions", next_run_time=now, max_instances=1, coalesce=True, misfire_grace_time=3600)
    scheduler.add_job(logged(refresh_substitutes), CronTrigger(timezone=TAIPEI, hour=0, minute=0, second=30),
                      args=[app], id="leave_substitutes", next_run_time=now, max_instances=1, coalesce=True,
                      misfire_grace_time=3600)
    scheduler.add_job(logged(end_dead_imports), "interval", args=[app], id="dead_imports", minutes=5,
                      next_run_time=now, max_instances=1, coalesce=True)
    scheduler.add_job(logged(digest), CronTrigger(timezone=TAIPEI, day_of_week="mon-fri", hour=DIGEST_HOUR,
                                                  minute=DIGEST_MINUTE), args=[app], id="daily_digest",
                      max_instances=1, coalesce=True, misfire_grace_time=3600)
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
