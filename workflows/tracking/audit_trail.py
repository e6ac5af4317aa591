"""What auditors read: the audit trail of the agencies they answer for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Person

from ..audit import AuditPage, list_audit_events
from ..calendar import local_date
from ..runtime.visibility import audited_agencies


def list_audit_trail(session: Session, viewer: Person, *, now: datetime, event_type: str | None = None,
                     subject_type: str | None = None, subject_id: int | None = None, page: int = 1,
                     per_page: int = 50) -> AuditPage:
    """Audit events the viewer may read, newest first: an auditor their agency's, city staff their city's."""
    agencies = audited_agencies(session, viewer, local_date(now))
    return list_audit_events(session, agencies=agencies, event_type=event_type, subject_type=subject_type,
                             subject_id=subject_id, page=page, per_page=per_page)
