"""Send a case back to an earlier step of its chain (退回前關), and recall one's own decision (取回)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, ApplicationState, HistoryEntry, HumanTask, Person, Role, TaskState

from .. import audit
from ..calendar import local_date
from ..engine import rewind
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..notify import notify
from ..runtime.candidates import may_hold
from ..runtime.diagrams import load_diagram
from ..runtime.sync import close_task, restore, single_writer, sync
from .tasks import open_step_of

SEND_BACK = "send_back"
RECALL = "recall"
MAX_REASON = 2000


@dataclass(frozen=True)
class Target:
    """An earlier step a case may be sent back to."""

    step: str
    name: str


def send_back_targets(session: Session, task: HumanTask) -> list[Target]:
    """The steps this application has already passed (decided by someone other than the applicant), oldest first.

    Read from the sign-off history, not the engine: a step counts once however many rounds it saw.
    """
    app = task.application
    user_tasks = load_diagram(app.definition_version).user_tasks
    seen: dict[str, Target] = {}
    for entry in app.history:
        if (entry.role != Role.APPLICANT and entry.decision == "approve" and entry.step != task.step
                and entry.step in user_tasks and entry.step not in seen):
            seen[entry.step] = Target(entry.step, entry.step_name)
    return list(seen.values())


def send_back(session: Session, *, task_id: int, actor: Person, to_step: str, reason: str,
              now: datetime) -> Application:
    """Send the case from the actor's open step back to an earlier step of its path, with a reason.

    The earlier step's holders get it again; after they decide, it flows on as the diagram says and so
    comes back through every step after it, this one included.
    """
    task = open_step_of(session, task_id, actor, now)
    app = task.application
    if task.role == Role.APPLICANT:
        raise Forbidden("補正步驟不能退回前關")
    if actor.id == app.applicant_id:
        raise Forbidden("申請人不得審核自己的申請")
    targets = {t.step: t for t in send_back_targets(session, task)}
    errors = {}
    if to_step not in targets:
        errors["to_step"] = "只能退回到此案件已經過的前一關卡"
    if not reason.strip():
        errors["reason"] = "請說明退回理由"
    elif len(reason) > MAX_REASON:
        errors["reason"] = "理由過長"
    if errors:
        raise Invalid(errors)
    target = targets[to_step]
    rounds = 1 + sum(1 for h in app.history if h.decision == SEND_BACK)
    with single_writer(session, "此案件剛被其他人處理，請重新整理後再試"):
        run = restore(app)
        rewind(run, task.task_guid, to_step)
        close_task(task, TaskState.COMPLETED, now, actor)
        session.add(HistoryEntry(application=app, step=task.step, step_name=task.name, role=task.role,
                                 actor_id=actor.id, decision=SEND_BACK, opinion=reason.strip(),
                                 data={"to_step": to_step, "to_step_name": target.name, "round": rounds},
                                 created_at=now))
        _note_round(app, SEND_BACK, task.step, to_step, now)
        audit.record(session, "task_sent_back", actor=actor, subject_type="human_task", subject_id=task.id,
                     now=now, application=app.id, step=task.step, to_step=to_step, round=rounds, reason=reason)
        sync(session, app, run, now)
        _tell_holders(session, app, actor, target, reason.strip(), now)
    return app


def _tell_holders(session: Session, app: Application, actor: Person, target: Target, reason: str,
                  now: datetime) -> None:
    """The step's holders learn under the bell (and by e-mail) that a case came back to them, and why."""
    rows = [row for row in app.tasks if row.state == TaskState.OPEN and row.step == target.step]
    people = [c.person for row in rows for c in row.candidates]
    notify(session, people, kind="sent_back", subject=f"【退回前關】{target.name}（案號 {app.id}）",
           body=f"{actor.name} 將此案件退回「{target.name}」重新處理。理由：{reason}",
           link=f"/applications/{app.id}", now=now, application=app, task=rows[0] if rows else None)


def recall_decision(session: Session, *, application_id: int, actor: Person, reason: str = "",
                    now: datetime) -> Application:
    """Take back the actor's own approval while the next step has not been acted on; the step returns to them.

    403 when the actor made no decision that could be recalled (or no longer holds that step's role);
    409 once anyone acted after it (a later decision, a claim) or the chain has ended.
    """
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound("no such application")
    mine = next((h for h in reversed(app.history) if h.actor_id == actor.id), None)
    if mine is None or mine.decision != "approve" or mine.role == Role.APPLICANT:
        raise Forbidden("只有做出同意決定的人可以取回")
    if mine is not app.history[-1] or app.state != ApplicationState.RUNNING:
        raise Conflict("下一關已處理或案件已結束，無法取回")
    live = [t for t in app.tasks if t.state == TaskState.OPEN]
    if len(live) != 1 or live[0].claimed_by_id is not None or live[0].created_at < mine.created_at:
        raise Conflict("下一關已處理或案件已結束，無法取回")
    if not may_hold(session, mine.role, app, actor, local_date(now)):
        raise Forbidden("您目前不具此步驟的角色，無法取回")
    if len(reason) > MAX_REASON:
        raise Invalid({"reason": "理由過長"})
    nxt = live[0]
    with single_writer(session, "此案件剛被其他人處理，請重新整理後再試"):
        run = restore(app)
        rewind(run, nxt.task_guid, mine.step)
        session.add(HistoryEntry(application=app, step=mine.step, step_name=mine.step_name, role=mine.role,
                                 actor_id=actor.id, decision=RECALL, opinion=reason.strip() or None,
                                 data={"from_step": nxt.step, "from_step_name": nxt.name}, created_at=now))
        _note_round(app, RECALL, nxt.step, mine.step, now)
        audit.record(session, "task_recalled", actor=actor, subject_type="human_task", subject_id=nxt.id,
                     now=now, application=app.id, step=mine.step, from_step=nxt.step)
        sync(session, app, run, now)
        _claim_for(app, mine.step, actor, now)
    return app


def recallable(session: Session, application_id: int, actor: Person) -> bool:
    """Whether the actor could recall a decision on this application now (for showing the button)."""
    last = session.scalar(select(HistoryEntry).where(HistoryEntry.application_id == application_id)
                          .order_by(HistoryEntry.id.desc()).limit(1))
    if last is None or last.actor_id != actor.id or last.decision != "approve" or last.role == Role.APPLICANT:
        return False
    open_tasks = session.scalars(select(HumanTask).where(HumanTask.application_id == application_id,
                                                         HumanTask.state == TaskState.OPEN)).all()
    return len(open_tasks) == 1 and open_tasks[0].claimed_by_id is None


def _claim_for(app: Application, step: str, actor: Person, now: datetime) -> None:
    """The recalled step goes back to the one who recalled it: claimed, as if they had taken it."""
    for row in app.tasks:
        if row.state == TaskState.OPEN and row.step == step and any(c.person.id == actor.id for c in row.candidates):
            row.claimed_by_id, row.claimed_at = actor.id, now
            for candidate in row.candidates:
                candidate.is_open = candidate.person.id == actor.id


def _note_round(app: Application, kind: str, from_step: str, to_step: str, now: datetime) -> None:
    trail = dict(app.trail or {})
    trail["rewinds"] = [*trail.get("rewinds", []),
                        {"kind": kind, "from": from_step, "to": to_step, "at": now.isoformat()}]
    app.trail = trail
