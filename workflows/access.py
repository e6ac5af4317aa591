"""Who may do what, where the answer depends on no application."""

from __future__ import annotations

from datetime import datetime

from models import Person, Role

from .calendar import local_date
from .errors import Forbidden


def require_admin(actor: Person | None) -> None:
    if actor is None or not actor.is_admin:
        raise Forbidden("只有系統管理者可以編輯與部署流程圖")


def require_audit_reader(actor: Person | None, now: datetime) -> None:
    """Administrators, and auditors on the Taipei date, read the audit trail."""
    if actor is None or not (actor.is_admin or actor.holds(Role.AUDITOR, local_date(now))):
        raise Forbidden("administrators and auditors only")
