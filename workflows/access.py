"""Who may do what, where the answer depends on no application: log-in and the administrator check."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Person

from .errors import Forbidden


def authenticate(session: Session, username: str, password: str) -> Person | None:
    """The active person with this username and password; None otherwise."""
    person = session.scalar(select(Person).where(Person.username == username.strip()))
    if person and person.active and person.check_password(password):
        return person
    return None


def require_admin(actor: Person | None) -> None:
    if actor is None or not actor.is_admin:
        raise Forbidden("只有系統管理者可以編輯與部署流程圖")
