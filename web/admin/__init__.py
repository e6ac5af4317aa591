"""Administrators: the schedules (next and last run, result, run now), the pending timers, the incidents, which
process runs each form (chains), the audit chain."""

from __future__ import annotations

from functools import wraps

from apscheduler.triggers.cron import CronTrigger
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from workflows import audit
from workflows.editor.chains import list_form_chains, switch_form_chain
from workflows.errors import Conflict, Invalid, NotFound
from workflows.runtime.incidents import list_incidents, retry_incident
from workflows.timers import duties, sweep

from .. import clock
from ..extensions import db
from ..i18n import _, tr, tr_message
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
                     "day": s.day, "month": s.month if s.every == "year" else None, "hour": s.hour,
                     "due_day": s.due_day,
                     "next_run_at": CronTrigger(timezone=TAIPEI, **s.cron()).get_next_fire_time(None, now),
                     "last_run_at": run.started_at if run else None, "last_period": run.period if run else None,
                     "last_result": run.result if run else None, "last_detail": run.detail if run else None})
    return rows


def pending_timers(limit: int = 200) -> list[dict]:
    return [t.__dict__ for t in sweep.list_pending_timers(db.session, limit)]


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


INCIDENT_STATES = ("open", "resolved", "all")


@bp.get("/incidents")
@admin_required
def incidents_page():
    state = request.args.get("state", "open")
    if state not in INCIDENT_STATES:
        state = "open"
    rows = list_incidents(db.session, actor=current_user, state=state)
    return render_template("admin/incidents.html", rows=rows, state=state, states=INCIDENT_STATES)


@bp.post("/incidents/<int:incident_id>/retry")
@admin_required
def retry_incident_now(incident_id: int):
    try:
        incident = retry_incident(db.session, incident_id=incident_id, actor=current_user, now=clock.now())
    except NotFound:
        abort(404)
    except Conflict as exc:
        flash(tr_message(str(exc)), "error")
    else:
        if incident.resolved_at is not None:
            flash(_("異常 %(id)s 已解除：重試成功", id=incident.id), "success")
        else:
            flash(_("重試仍失敗：%(error)s", error=incident.message), "error")
    return redirect(url_for(".incidents_page"))


@bp.get("/chains")
@admin_required
def chains_page():
    return render_template("admin/chains.html", rows=list_form_chains(db.session, actor=current_user))


@bp.post("/chains/<form_key>")
@admin_required
def switch_chain(form_key: str):
    process = request.form.get("process", "")
    try:
        switch_form_chain(db.session, form_key=form_key, process_key=process, actor=current_user, now=clock.now(),
                          note=request.form.get("note", ""), agency=request.form.get("agency") or None)
    except (Conflict, Invalid) as exc:
        errors = exc.errors.values() if isinstance(exc, Invalid) and exc.errors else [str(exc)]
        flash(_("；").join(tr_message(e) for e in errors), "error")
    else:
        flash(_("「%(form)s」的新申請今後由流程「%(process)s」辦理；進行中的案件仍依原流程", form=form_key,
                process=process), "success")
    return redirect(url_for(".chains_page"))


@bp.get("/audit")
@admin_required
def audit_page():
    return render_template("admin/audit.html", check=audit.verify_chain(db.session, actor=current_user))
