"""Apply a person's decision on an open step to the engine and write everything back (the caller commits).

Deciding a step (``filing.tasks.complete_task``) and an administrator's retry of a decision that failed in
the engine (``runtime.incidents``) both come through here, so a retried decision leaves the same history,
audit trail and inbox rows as one that went through the first time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Application, HistoryEntry, HumanTask, Person, TaskState

from .. import audit, writes
from ..accounts.effects import apply_step_effects
from ..engine import Run
from .sync import close_task, sync

_ADD_HISTORY = insert(HistoryEntry.__table__)


def add_history(session: Session, app: Application, **entry: Any) -> None:
    """One sign-off history entry, written at the commit by a prepared INSERT (``writes``); a loaded
    ``app.history`` is expired then, so it reads back with the entry."""
    def rows() -> list[dict[str, Any]]:
        if "history" in app.__dict__:
            session.expire(app, ["history"])
        return [{"application_id": app.id, **entry}]

    writes.at_commit(session, _ADD_HISTORY, rows)


def apply_decision(session: Session, task: HumanTask, run: Run, *, actor: Person, decision: str, opinion: str,
                   data: dict[str, Any], now: datetime, principal_id: int | None, **noted: Any) -> None:
    """Complete the step in the restored engine with this decision and run the chain on; ``noted`` goes into the
    audit. ``principal_id``: the holder the actor decides for (None: their own), as ``candidates.standing``
    gave it when the caller checked the actor may hold the step."""
    app = task.application
    run.complete(task.task_guid, {**data, "decision": decision, "opinion": opinion})
    if decision == "approve":
        apply_step_effects(session, app, task.form, now, app.data, run.data, data)
    close_task(task, TaskState.COMPLETED, now, actor)
    principal = session.get(Person, principal_id) if principal_id is not None else None
    add_history(session, app, step=task.step, step_name=task.name, role=task.role, actor_id=actor.id,
                decision=decision, opinion=opinion or None,
                data={k: v for k, v in data.items() if v not in (None, [], "")} or None, created_at=now,
                on_behalf_of_id=principal.id if principal else None)
    if principal:
        noted["on_behalf_of"] = principal.username
    audit.record(session, "task_completed", actor=actor, subject_type="human_task", subject_id=task.id,
                 now=now, application=app.id, step=task.step, decision=decision, **noted)
    sync(session, app, run, now, prepared=True)
