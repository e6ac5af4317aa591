"""Reveal a masked national ID number to someone whose step needs it: with a stated reason, and recorded.

Everyone reads ID numbers masked. A person holding an open step of the application today (a current
candidate who still has the lane's role, e.g. the unit head checking a 查調資料登記表's subject) may see one
whole after stating why; each reveal is a ``national_id_reveal`` row and an audit event, read by auditors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, HumanTask, NationalIdReveal, Person, TaskCandidate, TaskState

from .. import audit
from ..calendar import local_date
from ..errors import Forbidden, Invalid, NotFound
from ..forms import Field, parse_row_key, sensitive_fields
from ..runtime.candidates import may_hold
from ..runtime.visibility import may_view

MAX_REASON = 500
# Whose number a field holds: the form field that names that person.
_WHOSE = {"national_id": "name", "subject_national_id": "subject_name"}


@dataclass(frozen=True)
class Revealed:
    application_id: int
    field: str
    label: str
    value: str
    reveal_id: int
    revealed_at: datetime


def holding_step(session: Session, app: Application, person: Person, now: datetime) -> HumanTask | None:
    """The open step of this application the person holds today, if any: in their inbox and still in the role."""
    steps = session.scalars(select(HumanTask).join(TaskCandidate).where(
        HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN,
        TaskCandidate.person_id == person.id, TaskCandidate.is_open.is_(True)).order_by(HumanTask.id))
    return next((t for t in steps if may_hold(session, t.role, app, person, local_date(now))), None)


def revealable_fields(session: Session, application_id: int, person: Person, now: datetime) -> tuple[Field, ...]:
    """The masked fields this person may reveal on the application: none unless they hold one of its open steps."""
    app = session.get(Application, application_id)
    fields = sensitive_fields(app.form_key) if app else ()
    return fields if fields and holding_step(session, app, person, now) else ()


def reveal_national_id(session: Session, *, application_id: int, field: str, reason: str, actor: Person,
                       now: datetime) -> Revealed:
    """Show one masked number whole to a holder of an open step who states why; record who, what, when, why."""
    app = session.get(Application, application_id)
    if app is None or not may_view(session, application_id, actor, local_date(now)):
        raise NotFound("no such application")
    step = holding_step(session, app, actor, now)
    if step is None:
        raise Forbidden("只有目前承辦此案件步驟的人員可以調閱完整身分證字號")
    fields = {f.name: f for f in sensitive_fields(app.form_key)}
    found = _addressed(app.data or {}, field, fields)
    errors = {}
    if found is None:
        errors["field"] = f"此申請沒有可調閱的欄位「{field}」"
    reason = reason.strip()
    if not reason:
        errors["reason"] = "請說明調閱完整身分證字號的理由"
    elif len(reason) > MAX_REASON:
        errors["reason"] = "理由過長"
    if errors:
        raise Invalid(errors)
    spec, holder = found
    reveal = NationalIdReveal(application_id=app.id, human_task_id=step.id, field=field, actor_id=actor.id,
                              subject_name=holder.get(_WHOSE.get(spec.name, "")), reason=reason, created_at=now)
    session.add(reveal)
    session.flush()
    audit.record(session, "national_id_revealed", actor=actor, subject_type="application", subject_id=app.id,
                 now=now, field=field, step=step.step, reason=reason, reveal=reveal.id)
    session.commit()
    return Revealed(app.id, field, _label(spec, field), holder[spec.name], reveal.id, now)


def _addressed(data: dict, field: str, fields: dict[str, Field]) -> tuple[Field, dict] | None:
    """The sensitive field a reveal names and the mapping holding its number: the form's own field, or a column of
    one line of a sheet's rows (``rows[2].subject_national_id``, lines counted from 1); None when there is none."""
    holder, name = data, field
    if (parsed := parse_row_key(field)) is not None:
        rows, line, name = data.get(parsed[0]), parsed[1], parsed[2]
        holder = rows[line - 1] if isinstance(rows, list) and 0 < line <= len(rows) else None
    if name not in fields or not isinstance(holder, dict) or not holder.get(name):
        return None
    return fields[name], holder


def _label(spec: Field, field: str) -> str:
    if (parsed := parse_row_key(field)) is None:
        return spec.label
    line = parsed[1]
    return f"第 {line} 筆 {spec.label}"
