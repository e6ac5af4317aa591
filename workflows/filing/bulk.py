"""Decide several steps at once with one opinion, where the diagram allows it (a step's bulk property)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import Person

from ..errors import Conflict, Forbidden, Invalid, NotFound, WorkflowError
from .tasks import complete_task, get_task_for

MAX_BULK = 100
BULK_DECISIONS = ("approve", "reject")
_STATUS = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422))


@dataclass(frozen=True)
class BulkOutcome:
    """What happened to one row: decided, or refused with the status and message of that refusal."""

    task_id: int
    status: int
    message: str = ""
    application_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


def decide_many(session: Session, *, task_ids: list[int], actor: Person, decision: str, opinion: str,
                now: datetime) -> list[BulkOutcome]:
    """Each row is its own decision: its own transaction, history entry and audit event.

    Not all-or-nothing on purpose: each application runs its own chain and another holder may decide one
    of them first; that row reports its 409 and the others stand, as if each had been decided alone.
    """
    errors = {}
    if decision not in BULK_DECISIONS:
        errors["decision"] = f"批次決定須為 {', '.join(BULK_DECISIONS)} 之一"
    if not task_ids:
        errors["task_ids"] = "請至少選擇一件"
    elif len(task_ids) > MAX_BULK or len(set(task_ids)) != len(task_ids):
        errors["task_ids"] = f"一次最多 {MAX_BULK} 件，且不可重複"
    if errors:
        raise Invalid(errors)
    return [_decide_one(session, task_id, actor, decision, opinion, now) for task_id in task_ids]


def _decide_one(session: Session, task_id: int, actor: Person, decision: str, opinion: str,
                now: datetime) -> BulkOutcome:
    try:
        if not get_task_for(session, task_id, actor).bulk:
            raise Invalid({"task_ids": "此步驟不可批次決定，請逐件開啟審核"})
        app = complete_task(session, task_id=task_id, actor=actor, decision=decision, opinion=opinion, now=now)
    except WorkflowError as exc:
        session.rollback()
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 422)
        message = next(iter(exc.errors.values())) if isinstance(exc, Invalid) and exc.errors else str(exc)
        return BulkOutcome(task_id, status, message)
    return BulkOutcome(task_id, 200, application_id=app.id)
