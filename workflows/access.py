"""Who may do what, where the answer depends on no application: log-in and the administrator check."""

from __future__ import annotations

from models import Person

from .errors import Forbidden


def require_admin(actor: Person | None, message: str = "只有系統管理者可以編輯與部署流程圖") -> None:
    if actor is None or not actor.is_admin:
        raise Forbidden(message)
