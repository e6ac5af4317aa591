"""The scheduler's jobs: a failure is logged with its traceback and the job runs again next time."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ImportState, Person, QueryLogImport
from tests.workflows.oversight.logfiles import csv_bytes
from web import clock
from web.extensions import db
from web.scheduler import TAIPEI, build
from workflows.oversight.imports import queue_import
from workflows.timers import duties
from workflows.timers import sweep as timers


def failing_once(monkeypatch, module, name):
    """Make ``module.name`` raise on its first call and work from then on."""
    real, calls = getattr(module, name), []

    def flaky(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError(f"{name} broke")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


def scheduled(app, job_id):
    """The job as build() registers it (not started: the test runs it by hand, as the executor would)."""
    return build(app, BackgroundScheduler(timezone=TAIPEI)).get_job(job_id)


def tracebacks(caplog):
    return [r for r in caplog.records if r.name == "web.scheduler" and r.exc_info]


def test_a_sweep_that_raises_is_logged_and_the_next_sweep_runs(app, monkeypatch, caplog):
    calls = failing_once(monkeypatch, timers, "sweep")
    job = scheduled(app, "timer_sweep")
    assert job.func(*job.args) is None
    [record] = tracebacks(caplog)
    assert record.getMessage() == "scheduled job sweep_timers failed; it runs again at its next time"
    assert "sweep broke" in caplog.text
    assert job.func(*job.args) == timers.SweepResult(0, 0, 0, 0)
    assert len(calls) == 2


def test_a_duty_job_that_raises_is_logged_with_its_name(app, monkeypatch, caplog):
    failing_once(monkeypatch, duties, "run_schedule")
    job = scheduled(app, "duty:usage_check")
    assert job.func(*job.args) is None
    [record] = tracebacks(caplog)
    assert record.getMessage() == "scheduled job run_duty usage_check failed; it runs again at its next time"


def test_the_scheduler_registers_only_the_duties_left_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "DUTY_SCHEDULES", {"usage_check": None})
    jobs = {job.id for job in build(app, BackgroundScheduler(timezone=TAIPEI)).get_jobs()}
    assert "duty:usage_check" not in jobs and "duty:account_review" in jobs
    assert "duty:password_reminder" not in jobs  # Taoyuan's duty (004 §7): not in Kaohsiung's pack at all
    assert {"timer_sweep", "email_outbox", "duty_catch_up"} <= jobs


def test_the_daily_jobs_run_at_their_taipei_times(app):
    digest = scheduled(app, "daily_digest")
    fields = {f.name: str(f) for f in digest.trigger.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon-fri", "8", "30")
    assert str(digest.trigger.timezone) == TAIPEI
    assert digest.func(*digest.args) == 0  # nothing held in the demo city
    for job_id in ("accounts_ending", "data_deletions", "destructions", "leave_substitutes"):
        job = scheduled(app, job_id)
        assert str(job.trigger.timezone) == TAIPEI and {f.name: str(f) for f in job.trigger.fields}["hour"] == "0"
        assert job.func(*job.args) in ([], 0)


def test_dead_query_log_imports_are_swept_from_start_up_and_their_upload_removed(app, monkeypatch):
    job = scheduled(app, "dead_imports")
    assert job.trigger.interval == timedelta(minutes=5) and job.next_run_time is not None  # also at start-up
    with app.app_context(), Session(db.engine, expire_on_commit=False) as session:
        manager = session.scalar(select(Person).where(Person.username == "manager"))
        queued = queue_import(session, agency_code="KHH-SW", file_name="webir.csv", size=None, actor=manager,
                              stream=io.BytesIO(csv_bytes([["applicant.egov", "115/11/26", "08:00:00", "C0101",
                                                            "F123456789", "", "", ""]])), now=clock.now())
    upload = Path(app.instance_path) / "uploads" / f"import-{queued.id}.upload"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"kept upload")
    assert job.func(*job.args) == []  # queued just now: its thread may yet start
    assert upload.exists()

    later = clock.now() + timedelta(minutes=app.config["QUERY_LOG_IMPORT_STALE_MINUTES"] + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert job.func(*job.args) == [queued.id]
    assert not upload.exists()
    with app.app_context(), Session(db.engine) as session:
        assert session.get(QueryLogImport, queued.id).state == ImportState.FAILED
