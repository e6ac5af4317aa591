"""Deletion after use (001 §11): a month after a registration's data may no longer be used, its querier confirms
that what the query gave them is deleted.

Each approved 查調資料登記表 records until when its data may be used (``use_until``; blank: the day it was approved).
One calendar month after that day the daily job starts a ``data_deletion`` instance for the querier, in their unit,
whose one step asks what was deleted, how and when (step form ``deletion_proof``); its boundary timers remind the
querier and then tell their unit head. The finished step (its history entry and audit event) is the proof, kept for
``DELETION_PROOF`` retention (workflows.settings). A unique ``schedule_run`` row per registration
(schedule ``data_deletion``, period ``reg-<id>``) makes a second start, a restart or two schedulers harmless.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, ApplicationState, ScheduleRun

from .. import audit
from ..calendar import local_date
from ..forms import sheet_rows
from .duties import Target, claim, start_duty

SCHEDULE = "data_deletion"
PROCESS = "data_deletion"
log = logging.getLogger(__name__)


def one_month_after(day: date) -> date:
    """The same day next month; the month's last day when it has no such day (31 January → 28 February)."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def use_ended_on(registration: Application) -> date | None:
    """The last day the registration's data may be used: its ``use_until``, else the day it was approved."""
    if registration.data.get("use_until"):
        return date.fromisoformat(registration.data["use_until"])
    return local_date(registration.closed_at) if registration.closed_at else None


def deletion_due_on(registration: Application) -> date | None:
    ended = use_ended_on(registration)
    return one_month_after(ended) if ended else None


def _period(registration_id: int) -> str:
    return f"reg-{registration_id}"


def start_due_deletions(session: Session, now: datetime) -> list[int]:
    """Start the deletion confirmation of every approved registration due today or earlier; commits each.

    Returns the new instances' ids. One registration that fails is logged and the others still start.
    """
    started_for = {p for p in session.scalars(select(ScheduleRun.period).where(ScheduleRun.schedule == SCHEDULE))}
    today = local_date(now)
    registrations = session.scalars(select(Application).where(
        Application.form_key == "query_registration", Application.state == ApplicationState.COMPLETED,
        Application.applicant_id.is_not(None)).order_by(Application.id)).all()
    started = []
    for registration in registrations:
        due = deletion_due_on(registration)
        if _period(registration.id) in started_for or due is None or due > today:
            continue
        try:
            app = _start_one(session, registration, due, now)
        except Exception:
            session.rollback()
            log.exception("deletion confirmation for registration %s failed to start", registration.id)
            continue
        if app is not None:
            started.append(app)
    return started


def _start_one(session: Session, registration: Application, due: date, now: datetime) -> int | None:
    run = claim(session, SCHEDULE, _period(registration.id), now)
    if run is None:  # another scheduler got here first
        return None
    items = dict.fromkeys(str(r["item"]) for r in sheet_rows(registration.data) if r.get("item"))
    data = {"registration": registration.id, "case_number": registration.data.get("case_number"),
            "item": "、".join(items) or None, "use_until": use_ended_on(registration).isoformat(),
            "deletion_due": due.isoformat()}
    target = Target(registration.agency_id, registration.applicant_id, data, unit_id=registration.unit_id)
    app = start_duty(session, process=PROCESS, target=target, now=now, run_id=run.id)
    run.finished_at, run.result, run.detail = now, "ok", {"applications": [app.id], "registration": registration.id}
    audit.record(session, "data_deletion_requested", actor=None, subject_type="application",
                 subject_id=registration.id, now=now, deletion=app.id, use_until=data["use_until"],
                 deletion_due=data["deletion_due"])
    session.commit()
    return app.id


def deletion_of(session: Session, registration_id: int) -> Application | None:
    """The registration's deletion confirmation, once started (its finished step is the proof)."""
    run = session.scalar(select(ScheduleRun).where(ScheduleRun.schedule == SCHEDULE,
                                                   ScheduleRun.period == _period(registration_id)))
    if run is None or not run.detail:
        return None
    return session.get(Application, run.detail["applications"][0])
