"""What auditors read: the audit trail and the reveals of ID numbers, of the agencies they answer for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Agency, Application, NationalIdReveal, Person

from ..audit import AuditPage, list_audit_events
from ..calendar import local_date
from ..forms import sensitive_fields
from ..runtime.visibility import audited_agencies


def list_audit_trail(session: Session, viewer: Person, *, now: datetime, event_type: str | None = None,
                     subject_type: str | None = None, subject_id: int | None = None, page: int = 1,
                     per_page: int = 50) -> AuditPage:
    """Audit events the viewer may read, newest first: an auditor their agency's, city staff their city's."""
    agencies = audited_agencies(session, viewer, local_date(now))
    return list_audit_events(session, agencies=agencies, event_type=event_type, subject_type=subject_type,
                             subject_id=subject_id, page=page, per_page=per_page)


@dataclass(frozen=True)
class RevealRow:
    id: int
    application_id: int
    form_key: str
    agency: str
    field: str
    field_label: str
    subject_name: str | None
    actor: str
    actor_name: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class RevealPage:
    items: list[RevealRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def list_reveals(session: Session, viewer: Person, *, now: datetime, application_id: int | None = None,
                 page: int = 1, per_page: int = 50) -> RevealPage:
    """Reveals of national ID numbers the viewer audits, newest first: the same scope as the audit trail."""
    agencies = audited_agencies(session, viewer, local_date(now))
    conditions = [c for c in (
        Application.agency_id.in_(agencies) if agencies is not None else None,
        NationalIdReveal.application_id == application_id if application_id is not None else None) if c is not None]
    total = session.scalar(select(func.count()).select_from(NationalIdReveal).join(Application)
                           .where(*conditions)) or 0
    rows = session.execute(
        select(NationalIdReveal, Application.form_key, Agency.name, Person.username, Person.name)
        .join(Application, Application.id == NationalIdReveal.application_id)
        .join(Agency, Agency.id == Application.agency_id).join(Person, Person.id == NationalIdReveal.actor_id)
        .where(*conditions).order_by(NationalIdReveal.created_at.desc(), NationalIdReveal.id.desc())
        .limit(per_page).offset((page - 1) * per_page))
    items = [RevealRow(r.id, r.application_id, form_key, agency, r.field, _label(form_key, r.field), r.subject_name,
                       username, name, r.reason, r.created_at) for r, form_key, agency, username, name in rows]
    return RevealPage(items, total, page, per_page)


def _label(form_key: str, field: str) -> str:
    return next((f.label for f in sensitive_fields(form_key) if f.name == field), field)
