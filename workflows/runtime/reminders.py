"""Reminders and escalations: whom a fired boundary timer tells."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Application, HumanTask, Person, Role

from .. import audit
from ..calendar import local_date
from ..engine import Run, TimerInfo
from ..notify import notify
from .candidates import delegates_of, role_holders

# Whom a late step escalates to: the holder's superior role, looked up in the same scope.
SUPERIOR = {
    Role.APPLICANT: Role.UNIT_HEAD, Role.QUERIER: Role.UNIT_HEAD, Role.UNIT_HEAD: Role.AGENCY_HEAD,
    Role.AGENCY_MANAGER: Role.AGENCY_HEAD, Role.AUTHORITY_CLERK: Role.AUTHORITY_SECTION_HEAD,
    Role.AUTHORITY_SECTION_HEAD: Role.AUTHORITY_DIRECTOR, Role.CENTRAL_CLERK: Role.CENTRAL_SECTION_HEAD,
    Role.CENTRAL_SECTION_HEAD: Role.CENTRAL_DIRECTOR, Role.BUREAU_LIAISON: Role.CENTRAL_SECTION_HEAD,
    Role.UNIT_MANAGER: Role.UNIT_HEAD,
}


def superiors(session: Session, task: HumanTask, app: Application, now: datetime) -> list[Person]:
    """The holder's superior; a top role (agency head, director) is told through its delegates."""
    superior = SUPERIOR.get(task.role)
    if superior:
        people = role_holders(session, superior, app, local_date(now))
        # Not the applicant, unless the applicant is the superior (an agency head's own role transfer).
        return [p for p in people if p.id != app.applicant_id] or people
    heads = role_holders(session, task.role, app, local_date(now))
    return delegates_of(session, heads, task.role, local_date(now))


def notify_fired_timers(session: Session, app: Application, run: Run, now: datetime,
                        handled: frozenset[str] = frozenset()) -> None:
    """Reminders go to the step's holders, escalations to their superiors; not again for a timer whose message
    the sweep already sent without the engine (``handled``: their task ids)."""
    for event, timer_id in zip(run.fired, run.fired_ids, strict=True):
        if timer_id not in handled:
            notify_timer(session, app, run.diagram.timers[event], now)


def notify_timer(session: Session, app: Application, info: TimerInfo, now: datetime) -> None:
    """Tell whom a boundary timer's ``notify`` names that its step is late (nobody when it names no one)."""
    task = next((t for t in reversed(app.tasks) if t.step == info.attached_to), None)
    if task is None or info.notify not in ("holder", "superior"):
        return
    holders = [c.person for c in task.candidates]
    people = holders if info.notify == "holder" else superiors(session, task, app, now)
    kind, subject, body, link = timer_message(info, app.id, task, [p.name for p in holders], now)
    notify(session, people, kind=kind, subject=subject, body=body, now=now, application=app, task=task, link=link)
    audit.record(session, "timer_fired", actor=None, subject_type="application", subject_id=app.id, now=now,
                 event=info.event, step=task.step, notified=[p.username for p in people])


def timer_message(info: TimerInfo, application_id: int, task, holder_names: list[str],
                  now: datetime) -> tuple[str, str, str, str]:
    """(kind, subject, body, link) of a late step's reminder or escalation; ``task`` has the step's id, name and
    created_at (a row or the sweep's prefetched tuple)."""
    days = (now - task.created_at).days
    if info.notify == "holder":
        kind, subject, link = "reminder", f"【逾期提醒】{task.name}（案號 {application_id}）", f"/tasks/{task.id}"
    else:
        kind, link = "escalation", f"/applications/{application_id}"
        subject = f"【逾期通報】{task.name} 已等待 {days} 天（案號 {application_id}）"
    body = (f"{task.name}自 {task.created_at:%Y-%m-%d %H:%M} UTC 起由"
            f"{'、'.join(holder_names) or '（無承辦人）'}處理，已等待 {days} 天，請儘速辦理。")
    return kind, subject, body, link
