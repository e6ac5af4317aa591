"""Append-only audit trail, written in the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from models import Application, AuditEvent, HumanTask, Person, WebirAccount


def record(session: Session, event_type: str, *, actor: Person | None, subject_type: str,
           subject_id: int | None, now: datetime, **payload: Any) -> None:
    """Add one audit event; the use case's single commit makes it durable."""
    session.add(AuditEvent(event_type=event_type, actor_id=actor.id if actor else None,
                           subject_type=subject_type, subject_id=subject_id,
                           payload=payload or None, created_at=now))


@dataclass(frozen=True)
class AuditRow:
    id: int
    event_type: str
    actor: str | None
    subject_type: str
    subject_id: int | None
    payload: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditRow]
    total: int
    page: int
    per_page: int


def of_agencies(agencies):
    """SQL condition: events about something of these agencies (a SELECT of ids).

    An application, one of its steps or a WebIR account belongs to an agency; events about anything
    else (a deployed diagram, a schedule run) belong to none and are left out.
    """
    applications = select(Application.id).where(Application.agency_id.in_(agencies))
    return or_(
        and_(AuditEvent.subject_type == "application", AuditEvent.subject_id.in_(applications)),
        and_(AuditEvent.subject_type == "human_task", AuditEvent.subject_id.in_(
            select(HumanTask.id).where(HumanTask.application_id.in_(applications)))),
        and_(AuditEvent.subject_type == "webir_account", AuditEvent.subject_id.in_(
            select(WebirAccount.id).where(WebirAccount.agency_id.in_(agencies)))))


def list_audit_events(session: Session, *, agencies=None, event_type: str | None = None,
                      subject_type: str | None = None, subject_id: int | None = None, page: int = 1,
                      per_page: int = 50) -> AuditPage:
    """Audit events, newest first, in a stable order for paging; only those of ``agencies`` when given."""
    conditions = [c for c in (
        of_agencies(agencies) if agencies is not None else None,
        AuditEvent.event_type == event_type if event_type else None,
        AuditEvent.subject_type == subject_type if subject_type else None,
        AuditEvent.subject_id == subject_id if subject_id is not None else None) if c is not None]
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    rows = session.execute(
        select(AuditEvent, Person.username).outerjoin(Person, Person.id == AuditEvent.actor_id).where(*conditions)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(per_page).offset((page - 1) * per_page))
    items = [AuditRow(e.id, e.event_type, username, e.subject_type, e.subject_id, e.payload, e.created_at)
             for e, username in rows]
    return AuditPage(items, total, page, per_page)
