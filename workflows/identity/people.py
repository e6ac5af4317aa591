"""Administrators end a person's access or lift a log-in lockout."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Person

from .. import audit
from ..access import require_admin
from ..errors import Forbidden, NotFound
from ..runtime.handover import hand_over_open_steps
from .sessions import end_sessions


def get_person(session: Session, username: str) -> Person:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"沒有帳號 {username}")
    return person


def unlock_person(session: Session, username: str, *, actor: Person | None, now: datetime) -> Person:
    """Lift a log-in lockout and forget the failures counted so far."""
    require_admin(actor, "只有系統管理者可以解除帳號鎖定")
    person = get_person(session, username)
    was_locked_until = person.locked_until
    person.failed_logins, person.failed_logins_since, person.locked_until = 0, None, None
    audit.record(session, "person_unlocked", actor=actor, subject_type="person", subject_id=person.id, now=now,
                 locked_until=was_locked_until.isoformat() if was_locked_until else None)
    session.commit()
    return person


def deactivate_person(session: Session, username: str, *, actor: Person | None, now: datetime) -> Person:
    """Refuse the person's log-ins, end their sessions and API tokens at once, and hand their open steps on."""
    require_admin(actor, "只有系統管理者可以停用帳號")
    person = get_person(session, username)
    if person.id == actor.id:
        raise Forbidden("不能停用自己的帳號")
    person.active = False
    end_sessions(session, person)
    moved = hand_over_open_steps(session, person, reason=f"{person.name}的帳號已停用", now=now)
    audit.record(session, "person_deactivated", actor=actor, subject_type="person", subject_id=person.id, now=now,
                 tasks_moved=moved)
    session.commit()
    return person
