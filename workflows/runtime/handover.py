"""A person leaves: their open steps go to whoever now holds the step's role (as a role transfer moves them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import HistoryEntry, HumanTask, Person, Role, TaskCandidate, TaskState

from .. import audit
from ..calendar import local_date
from .candidates import resolve_candidates


def hand_over_open_steps(session: Session, person: Person, *, reason: str, now: datetime) -> list[int]:
    """Take ``person`` off every open step (not their own amend steps) and add the role's current holders."""
    session.flush()  # the person's new state counts when the holders are resolved
    # Locked: a step completed meanwhile by another worker is re-read as closed and left alone.
    tasks = session.scalars(select(HumanTask).join(TaskCandidate).where(
        TaskCandidate.person_id == person.id, HumanTask.state == TaskState.OPEN, HumanTask.role != Role.APPLICANT)
        .order_by(HumanTask.id).with_for_update(of=HumanTask)).all()
    for task in tasks:
        _hand_over(session, task, person, reason, now)
    return [t.id for t in tasks]


def _hand_over(session: Session, task: HumanTask, person: Person, reason: str, now: datetime) -> None:
    holders = {c.person_id: c for c in task.candidates}
    task.candidates.remove(holders.pop(person.id))
    if task.claimed_by_id == person.id:
        task.claimed_by_id, task.claimed_at = None, None
    successors = resolve_candidates(session, task.role, task.application, local_date(now))
    for successor in successors:
        if successor.id not in holders:
            task.candidates.append(TaskCandidate.for_task(task, person_id=successor.id, is_open=True, created_at=now))
    names = "、".join(p.name for p in successors) or "（目前無人擔任此角色，待系統管理者指派）"
    session.add(HistoryEntry(application_id=task.application_id, step=task.step, step_name=task.name,
                             role=task.role, actor_id=None, decision="reassign",
                             opinion=f"{reason}：由 {person.name} 改由 {names} 辦理",
                             data={"from": person.username, "to": [p.username for p in successors]},
                             created_at=now))
    audit.record(session, "task_reassigned", actor=None, subject_type="human_task", subject_id=task.id, now=now,
                 application=task.application_id, from_person=person.username,
                 to_person=[p.username for p in successors], reason=reason)
