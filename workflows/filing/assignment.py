"""Who holds a step: claim it, release it, or hand it to someone else with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ROLE_LABELS, HumanTask, Person, Role, TaskCandidate, TaskState

from .. import audit
from ..calendar import local_date
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..notify import notify
from ..runtime.candidates import may_hold
from ..runtime.sync import single_writer
from .tasks import get_task_for, require_holder


def _open_task_for(session: Session, task_id: int, actor: Person) -> HumanTask:
    task = get_task_for(session, task_id, actor)
    if task.state != TaskState.OPEN:
        raise Conflict("此案件已由他人處理或已結束")
    return task


def claim_task(session: Session, *, task_id: int, actor: Person, now: datetime) -> HumanTask:
    """Take a step shared by several candidates: it leaves the others' inboxes until released."""
    task = _open_task_for(session, task_id, actor)
    require_holder(session, task, actor, now)
    if task.claimed_by_id not in (None, actor.id):
        raise Conflict(f"此案件已由 {task.claimed_by.name} 認領")
    with single_writer(session, "此案件剛被其他人認領，請重新整理"):
        task.claimed_by_id, task.claimed_at = actor.id, now
        for candidate in task.candidates:
            candidate.is_open = candidate.person_id == actor.id
        task.application.updated_at = now  # bumps the version: two claims at once cannot both win
        audit.record(session, "task_claimed", actor=actor, subject_type="human_task", subject_id=task.id, now=now)
    return task


def release_task(session: Session, *, task_id: int, actor: Person, now: datetime) -> HumanTask:
    """Give a claimed step back to all its candidates."""
    task = _open_task_for(session, task_id, actor)
    if task.claimed_by_id != actor.id:
        raise Conflict("只有認領人可以釋出此案件")
    with single_writer(session, "此案件剛被其他人處理，請重新整理"):
        task.claimed_by_id = task.claimed_at = None
        for candidate in task.candidates:
            candidate.is_open = True
        task.application.updated_at = now
        audit.record(session, "task_released", actor=actor, subject_type="human_task", subject_id=task.id, now=now)
    return task


def reassign_task(session: Session, *, task_id: int, actor: Person, to_username: str, reason: str,
                  now: datetime) -> HumanTask:
    """Hand a step to someone who could hold it, with a reason; a holder or an administrator may do it.

    The target must be one of the people the lane's role resolves to for this application (a holder of the
    role in its unit, agency or city, or a holder's delegate): the same rule that chose the step's people.
    """
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound("no such task")
    if not actor.is_admin:
        task = _open_task_for(session, task_id, actor)
    elif task.state != TaskState.OPEN:
        raise Conflict("此案件已由他人處理或已結束")
    if task.role == Role.APPLICANT:
        raise Forbidden("補正步驟只能由申請人本人辦理，不可改派")
    target = session.scalar(select(Person).where(Person.username == to_username, Person.active.is_(True)))
    errors = {}
    if target is None:
        errors["to"] = f"找不到在職人員「{to_username}」"
    elif target.id == task.application.applicant_id:
        errors["to"] = "不可交由申請人審核自己的申請"
    elif not may_hold(session, task.role, task.application, target, local_date(now)):
        role = ROLE_LABELS.get(task.role, task.role)
        errors["to"] = f"「{target.name}」不是此案件的{role}或其授權人員，不可改派"
    if not reason.strip():
        errors["reason"] = "請說明改派理由"
    if errors:
        raise Invalid(errors)
    if not actor.is_admin and target.id == actor.id:
        raise Forbidden("已是您的案件")
    with single_writer(session, "此案件剛被其他人處理，請重新整理"):
        before = [c.person.username for c in task.candidates]
        task.candidates = [TaskCandidate.for_task(task, person_id=target.id, created_at=now)]
        task.claimed_by_id = task.claimed_at = None
        task.application.updated_at = now
        audit.record(session, "task_reassigned", actor=actor, subject_type="human_task", subject_id=task.id,
                     now=now, before=before, after=[target.username], reason=reason)
        notify(session, [target], kind="reassigned", subject=f"【改派】{task.name}（案號 {task.application_id}）",
               body=f"{actor.name} 將此案件改由您處理。理由：{reason}", link=f"/tasks/{task.id}", now=now,
               application=task.application, task=task)
    return task
