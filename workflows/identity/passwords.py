"""A person's own password and its period (004 §7: managers and queriers change it at least every three months).

Only the passwords this product holds are its business: a person without one (an imported person not yet given a
password) signs in nowhere here. Where the city sets no period (``password_change_months`` None), nothing expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Person

from .. import audit
from ..calendar import months_before
from ..errors import Invalid
from ..settings import SETTINGS
from .sessions import end_sessions

MIN_LENGTH = 8


def password_expired(person: Person, now: datetime) -> bool:
    """Whether the person must change their password before doing anything else.

    A password of unknown age (set before the product kept the date) counts as expired: the period cannot be shown
    to hold for it.
    """
    months = SETTINGS.password_change_months
    if not months:
        return False
    changed = person.password_changed_at
    return changed is None or changed <= months_before(now, months)


def password_due_on(person: Person) -> datetime | None:
    """When the person's current password expires, if the city sets a period and the date is known."""
    months = SETTINGS.password_change_months
    if not months or person.password_changed_at is None:
        return None
    return months_before(person.password_changed_at, -months)


def change_own_password(session: Session, *, actor: Person, current: str, new: str, now: datetime) -> None:
    """The person sets a new password: the current one proves it is them; every other session and token ends."""
    errors = {}
    if not actor.check_password(current):
        errors["current_password"] = "目前密碼不正確"
    if len(new) < MIN_LENGTH:
        errors["new_password"] = f"新密碼至少 {MIN_LENGTH} 個字元"
    elif new == current:
        errors["new_password"] = "新密碼不可與目前密碼相同"
    if errors:
        raise Invalid(errors)
    actor.set_password(new, changed_at=now)
    end_sessions(session, actor)
    audit.record(session, "person_password_changed", actor=actor, subject_type="person", subject_id=actor.id,
                 now=now)
    session.commit()
