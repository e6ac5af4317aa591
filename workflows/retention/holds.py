"""Legal holds: an application kept past its retention period, off every destruction list until released."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, LegalHold, Person, Role

from .. import audit
from ..calendar import local_date
from ..errors import Conflict, Forbidden, Invalid, NotFound


def active_hold(session: Session, application_id: int) -> LegalHold | None:
    return session.scalar(select(LegalHold).where(LegalHold.application_id == application_id,
                                                  LegalHold.released_at.is_(None)))


def held_ids():
    """SELECT of the applications under an active hold."""
    return select(LegalHold.application_id).where(LegalHold.released_at.is_(None))


def _require_holder_of_holds(session: Session, app: Application, actor: Person, now: datetime) -> None:
    """Administrators, or an auditor of the application's agency (today)."""
    if actor.is_admin:
        return
    on = local_date(now)
    if not any(h.role == Role.AUDITOR and h.agency_id == app.agency_id and h.valid_on(on) for h in actor.roles):
        raise Forbidden("只有系統管理者或該機關的查核人員可以設定或解除保全")


def _application(session: Session, application_id: int) -> Application:
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound("找不到此案件")
    return app


def set_hold(session: Session, *, application_id: int, reason: str, actor: Person, now: datetime) -> LegalHold:
    app = _application(session, application_id)
    _require_holder_of_holds(session, app, actor, now)
    if not (reason or "").strip():
        raise Invalid({"reason": "請說明保全的理由"})
    if active_hold(session, app.id):
        raise Conflict("此案件已在保全中")
    hold = LegalHold(application_id=app.id, reason=reason.strip(), set_by_id=actor.id, set_at=now)
    session.add(hold)
    session.flush()
    audit.record(session, "legal_hold_set", actor=actor, subject_type="application", subject_id=app.id, now=now,
                 hold=hold.id, reason=hold.reason)
    session.commit()
    return hold


def release_hold(session: Session, *, application_id: int, reason: str, actor: Person, now: datetime) -> LegalHold:
    app = _application(session, application_id)
    _require_holder_of_holds(session, app, actor, now)
    if not (reason or "").strip():
        raise Invalid({"reason": "請說明解除保全的理由"})
    hold = active_hold(session, app.id)
    if hold is None:
        raise Conflict("此案件沒有保全")
    hold.released_at, hold.released_by_id, hold.release_reason = now, actor.id, reason.strip()
    audit.record(session, "legal_hold_released", actor=actor, subject_type="application", subject_id=app.id,
                 now=now, hold=hold.id, reason=hold.release_reason)
    session.commit()
    return hold
