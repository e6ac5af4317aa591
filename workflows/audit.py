"""Append-only audit trail, written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent, Person


def record(session: Session, event_type: str, *, actor: Person | None, subject_type: str,
           subject_id: int | None, now: datetime, **payload: Any) -> None:
    """Add one audit event; the use case's single commit makes it durable."""
    session.add(AuditEvent(event_type=event_type, actor_id=actor.id if actor else None,
                           subject_type=subject_type, subject_id=subject_id,
                           payload=payload or None, created_at=now))
