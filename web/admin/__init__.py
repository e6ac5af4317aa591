"""Administrators: the schedules (next and last run, result, run now), the pending timers, the audit chain."""

from __future__ import annotations

from functools import wraps

from apscheduler.triggers.cron import CronTrigger
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from models import Application, ApplicationState, HumanTask, TaskState
from workflows import audit
from workflows.timers import duties

from .. import clock
from ..extensions import db
from ..i18n import _, tr
from ..scheduler import TAIPEI, schedules

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def schedule_rows(now):
    """Each schedule with its next fire time and its last run, for the page and the API."""
    last = duties.last_runs(db.session)
    rows = []
    for s in schedules(current_app):
        run = last.get(s.name)
        rows.append({"name": s.name, "title": s.title, "process": s.process, "source": s.source, "every": s.every,
                     "next_run_at": CronTrigger(timezone=TAIPEI, **s.cron()).get_next_fire_time(None, now),
                     "last_run_at": run.started_at if run else None, "last_period": run.period if run else None,
                     "last_result": run.result if run else None, "last_detail": run.detail if run else None})
    return rows


def pending_timers(limit: int = 200):
    rows = db.session.execute(
        select(Application.id, Application.form_key, Application.next_timer_at, HumanTask.step, HumanTask.name)
        .join(HumanTask, (HumanTask.application_id == Application.id) & (HumanTask.state == TaskState.OPEN))
        .where(Application.next_timer_at.is_not(None),
               Application.state.in_((ApplicationState.RUNNING, ApplicationState.RETURNED)))
        .order_by(Application.next_timer_at, Application.id).limit(limit)).all()
    return [{"application": r[0], "form": r[1], "due_at": r[2], "step": r[3], "step_name": r[4]} for r in rows]


@bp.get("/schedules")
@admin_required
def schedules_page():
    now = clock.now()
    return render_template("admin/schedules.html", rows=schedule_rows(now), timers=pending_timers(), now=now)


@bp.post("/schedules/<name>/run")
@admin_required
def run_now(name: str):
    schedule = duties.find_schedule(name, schedules(current_app)) or abort(404)
    result = duties.run_schedule(db.session, schedule, clock.now(), actor=current_user)
    title = tr(schedule.title)
    if result is None:
        flash(_("%(title)s：本期（%(period)s）已執行過，不重複啟動", title=title, period=schedule.period(clock.now())),
              "error")
    elif result.result == "failed":
        flash(_("%(title)s：執行失敗 %(error)s", title=title, error=result.detail.get("error")), "error")
    else:
        flash(_("%(title)s：已啟動 %(count)s 件", title=title, count=len(result.detail["applications"])), "success")
    return redirect(url_for(".schedules_page"))


@bp.get("/audit")
@admin_required
def audit_page():
    return render_template("admin/audit.html", check=audit.verify_chain(db.session, actor=current_user))
