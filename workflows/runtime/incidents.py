"""Incidents: an application the engine could not advance, shown to administrators until a retry succeeds.

As Camunda's incidents: the timer sweep records one when waking an instance fails and passes that
instance by while it is open, instead of failing on it every tick; an administrator retries it after a
fix (a corrected diagram the instance was moved to, repaired records), which runs the engine again and
resolves the incident when it gets through. Filings and decisions can record their failures the same way
with their own ``kind`` and the step being decided.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from models import Application, Incident, Person

from .. import audit
from ..access import require_admin
from ..errors import Conflict, NotFound
from .sync import fire_due_timers, single_writer

log = logging.getLogger(__name__)

TIMER = "timer"  # the sweep's wake of a due instance
MESSAGE_LIMIT = 2000
TRACEBACK_LIMIT = 20000


@dataclass(frozen=True)
class IncidentRow:
    id: int
    application_id: int
    form_key: str
    kind: str
    step: str | None
    error_type: str
    message: str
    traceback: str
    first_occurred_at: datetime
    last_occurred_at: datetime
    attempts: int
    resolved_at: datetime | None
    resolved_by: str | None


def has_open_incident() -> ColumnElement[bool]:
    """SQL condition on Application: an incident of this application is still open."""
    return exists().where(Incident.application_id == Application.id, Incident.resolved_at.is_(None))


def find_open_incident(session: Session, application_id: int, kind: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.application_id == application_id, Incident.kind == kind,
                                                 Incident.resolved_at.is_(None)).order_by(Incident.id).limit(1))


def record_incident(session: Session, application_id: int, *, kind: str, error: BaseException, now: datetime,
                    human_task_id: int | None = None) -> Incident:
    """Open an incident for this failure, or count a repeat on the one already open, and commit.

    Call it after rolling back the use case that failed: the incident is a transaction of its own.
    """
    incident = find_open_incident(session, application_id, kind)
    opened = incident is None
    if opened:
        incident = Incident(application_id=application_id, kind=kind, human_task_id=human_task_id,
                            first_occurred_at=now, attempts=0)
        session.add(incident)
    _note_failure(incident, error, now)
    session.flush()
    if opened:
        audit.record(session, "incident_opened", actor=None, subject_type="incident", subject_id=incident.id,
                     now=now, application=application_id, kind=kind, step=incident.step,
                     error_type=incident.error_type, message=incident.message[:500])
    session.commit()
    return incident


def retry_incident(session: Session, *, incident_id: int, actor: Person, now: datetime) -> Incident:
    """Run the application's engine again and commit: resolved if it gets through, counted again if not."""
    require_admin(actor)
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("沒有這筆異常")
    if incident.resolved_at is not None:
        raise Conflict("此異常已解除，不需要重試")
    app = incident.application
    try:
        with single_writer(session, "此案件剛被其他人處理，請重新整理後再試"):
            live = app.is_open
            if live:
                fire_due_timers(session, app, now)
            _resolve(session, incident, actor, now, outcome="resolved" if live else "closed")
    except Conflict:
        raise
    except Exception as exc:  # the engine failed again: keep the incident open with this attempt's error
        session.rollback()
        log.exception("retry of incident %s (application %s) failed", incident_id, incident.application_id)
        incident = session.get(Incident, incident_id, populate_existing=True)
        _note_failure(incident, exc, now)
        _audit_retried(session, incident, actor, now, "failed")
        session.commit()
    return incident


def list_incidents(session: Session, *, actor: Person, state: str = "open", limit: int = 200) -> list[IncidentRow]:
    """Incidents for administrators, the open ones first, most recent failure first."""
    require_admin(actor)
    query = _rows()
    if state == "open":
        query = query.where(Incident.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Incident.resolved_at.is_not(None))
    rows = session.execute(query.order_by(Incident.resolved_at.is_not(None), Incident.last_occurred_at.desc(),
                                          Incident.id.desc()).limit(limit))
    return [_row(*r) for r in rows]


def get_incident(session: Session, *, incident_id: int, actor: Person) -> IncidentRow:
    require_admin(actor)
    found = session.execute(_rows().where(Incident.id == incident_id)).first()
    if found is None:
        raise NotFound("沒有這筆異常")
    return _row(*found)


def _rows():
    return (select(Incident, Application.form_key, Person.username)
            .join(Application, Application.id == Incident.application_id)
            .outerjoin(Person, Person.id == Incident.resolved_by_id))


def _row(i: Incident, form_key: str, resolved_by: str | None) -> IncidentRow:
    return IncidentRow(i.id, i.application_id, form_key, i.kind, i.step, i.error_type, i.message, i.traceback,
                       i.first_occurred_at, i.last_occurred_at, i.attempts, i.resolved_at, resolved_by)


def _note_failure(incident: Incident, error: BaseException, now: datetime) -> None:
    incident.step = getattr(error, "element", None) or incident.step
    incident.error_type = _error_type(error)
    incident.message = (str(error) or type(error).__name__)[:MESSAGE_LIMIT]
    incident.traceback = "".join(traceback.format_exception(error))[-TRACEBACK_LIMIT:]
    incident.last_occurred_at = now
    incident.attempts += 1


def _error_type(error: BaseException) -> str:
    """The exception's type, and the one at the root of its chain when that differs (EngineError (NameError))."""
    root = error
    for _ in range(20):  # a chain is short; never follow a cycle for ever
        if (root.__cause__ or root.__context__) is None:
            break
        root = root.__cause__ or root.__context__
    name = type(error).__name__
    return name if root is error else f"{name} ({type(root).__name__})"[:200]


def _resolve(session: Session, incident: Incident, actor: Person, now: datetime, outcome: str) -> None:
    incident.resolved_at, incident.resolved_by_id = now, actor.id
    _audit_retried(session, incident, actor, now, outcome)
    audit.record(session, "incident_resolved", actor=actor, subject_type="incident", subject_id=incident.id,
                 now=now, application=incident.application_id, kind=incident.kind, attempts=incident.attempts)


def _audit_retried(session: Session, incident: Incident, actor: Person, now: datetime, outcome: str) -> None:
    audit.record(session, "incident_retried", actor=actor, subject_type="incident", subject_id=incident.id, now=now,
                 application=incident.application_id, outcome=outcome)
