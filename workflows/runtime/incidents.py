"""Incidents: an application the engine could not advance, shown to administrators until a retry succeeds.

As Camunda's incidents: the timer sweep records one when waking an instance fails and passes that
instance by while it is open, instead of failing on it every tick; an administrator retries it after a
fix (a corrected diagram the instance was moved to, repaired records), which runs the engine again and
resolves the incident when it gets through.

Filings and decisions record their engine failures too, after rolling back what the step did, and tell
the administrators (the bell); the person gets ``IncidentOpened`` (409) saying so. What a retry does:

* ``filing``: the application is kept as filed (its data, its history's 提出申請) with no chain started;
  the retry starts the chain on the latest version of the form's live process, so a fixed version
  deployed meanwhile is the one it runs. The applicant need not file again.
* ``decision``: the decision (decision, opinion, fields) is kept on the incident with who made it, and the
  step stays open; the retry applies that decision again as its maker, on the version the application runs
  on then (move it to a fixed version first). When the step has been decided meanwhile (the person tried
  again and got through), or its maker no longer holds it, the retry only resolves the incident and the
  step waits for its holders.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from models import Application, HumanTask, Incident, Person, TaskState

from .. import audit
from ..access import require_admin
from ..calendar import local_date
from ..engine import SERIALIZER_VERSION, EngineError, Run
from ..errors import Conflict, NotFound, WorkflowError
from ..forms import FORMS, engine_values
from ..notify import notify
from ..settings import timer_data
from .candidates import standing
from .decisions import apply_decision
from .diagrams import live_version, load_diagram
from .sync import fire_due_timers, restore, single_writer, sync

log = logging.getLogger(__name__)

TIMER = "timer"  # the sweep's wake of a due instance
FILING = "filing"  # the start of a filed form's chain
DECISION = "decision"  # a person's decision on a step
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
    decision: str | None = None  # a failed decision the retry applies again: its key, and who made it
    decided_by: str | None = None


def has_open_incident() -> ColumnElement[bool]:
    """SQL condition on Application: an incident of this application is still open."""
    return exists().where(Incident.application_id == Application.id, Incident.resolved_at.is_(None))


def find_open_incident(session: Session, application_id: int, kind: str) -> Incident | None:
    return session.scalar(select(Incident).where(Incident.application_id == application_id, Incident.kind == kind,
                                                 Incident.resolved_at.is_(None)).order_by(Incident.id).limit(1))


_INCIDENTS = Incident.__table__
# Asked beside the step's own read (``filing.tasks``): the id of the oldest open decision incident of the step's
# application when it is this step's, else NULL — what ``resolve_decided`` closes.
DECIDED_INCIDENT = (select(case((_INCIDENTS.c.human_task_id == HumanTask.id, _INCIDENTS.c.id)))
                    .where(_INCIDENTS.c.application_id == HumanTask.application_id, _INCIDENTS.c.kind == DECISION,
                           _INCIDENTS.c.resolved_at.is_(None))
                    .order_by(_INCIDENTS.c.id).limit(1).correlate(HumanTask).scalar_subquery())


def is_engine_failure(error: BaseException) -> bool:
    """An error of the engine or the code around it, not of the person's input, the race or the database.

    Input errors (Invalid, Forbidden, …) and a step decided first by someone else (StaleTask, a Conflict)
    stay the person's 4xx; a database failure would fail the incident's own write too.
    """
    if isinstance(error, EngineError):
        return not isinstance(error, Conflict)
    return isinstance(error, Exception) and not isinstance(error, (WorkflowError, SQLAlchemyError))


def record_incident(session: Session, application_id: int, *, kind: str, error: BaseException, now: datetime,
                    human_task_id: int | None = None, decision: dict | None = None,
                    decided_by: Person | None = None, tell_admins: bool = False) -> Incident:
    """Open an incident for this failure, or count a repeat on the one already open, and commit.

    Call it after rolling back the use case that failed: the incident is a transaction of its own (with
    anything else the caller added since the rollback). ``decision`` keeps a failed decision for the retry;
    ``tell_admins`` puts a note under every administrator's bell when the incident opens.
    """
    decided_by_id = decided_by.id if decided_by else None  # read before a pending row could be flushed
    incident = find_open_incident(session, application_id, kind)
    opened = incident is None
    if opened:
        incident = Incident(application_id=application_id, kind=kind, human_task_id=human_task_id,
                            first_occurred_at=now, attempts=0)
        session.add(incident)
    if decision is not None:  # the latest try is the one a retry applies
        incident.human_task_id, incident.decision, incident.decided_by_id = human_task_id, decision, decided_by_id
    _note_failure(incident, error, now)
    session.flush()
    if opened:
        audit.record(session, "incident_opened", actor=None, subject_type="incident", subject_id=incident.id,
                     now=now, application=application_id, kind=kind, step=incident.step,
                     error_type=incident.error_type, message=incident.message[:500])
        if tell_admins:
            _tell_admins(session, incident, now)
    session.commit()
    return incident


def _tell_admins(session: Session, incident: Incident, now: datetime) -> None:
    admins = list(session.scalars(select(Person).where(Person.is_admin, Person.active)))
    notify(session, admins, kind="incident", subject=f"流程異常：案件 {incident.application_id}",
           body=f"案件 {incident.application_id} 在「{incident.step or '流程'}」無法繼續（{incident.message[:200]}）。"
                f"請排除原因後於「流程異常」頁重試。",
           link="/admin/incidents", application=incident.application, now=now)


def resolve_decided(session: Session, incident_id: int | None, actor: Person, now: datetime) -> None:
    """The step got decided after all: close its open decision incident (``incident_id``, read with the step by
    ``DECIDED_INCIDENT``; None: there is none) in the same transaction."""
    if incident_id is not None:
        incident = session.get(Incident, incident_id)
        incident.resolved_at, incident.resolved_by_id = now, actor.id
        audit.record(session, "incident_resolved", actor=actor, subject_type="incident", subject_id=incident.id,
                     now=now, application=incident.application_id, kind=incident.kind, attempts=incident.attempts,
                     outcome="decided")


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
            outcome = _RETRIES[incident.kind](session, incident, app, now) if app.is_open else "closed"
            _resolve(session, incident, actor, now, outcome=outcome)
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


def _retry_timer(session: Session, incident: Incident, app: Application, now: datetime) -> str:
    fire_due_timers(session, app, now)
    return "resolved"


def _retry_filing(session: Session, incident: Incident, app: Application, now: datetime) -> str:
    """Start the chain the filing could not start, on the form's live chain as it is now."""
    if app.workflow_state:  # started after all (a retry that committed while this one was read)
        return "resolved"
    version = live_version(session, app.form_key, app.agency_id)
    run = Run.start(load_diagram(version), {**engine_values(FORMS[app.form_key], app.data), **timer_data()})
    app.definition_version, app.serializer_version = version, SERIALIZER_VERSION
    sync(session, app, run, now)
    return "resolved"


def _retry_decision(session: Session, incident: Incident, app: Application, now: datetime) -> str:
    """Apply the kept decision again as its maker; only resolve when the step is no longer theirs to decide."""
    task = session.get(HumanTask, incident.human_task_id) if incident.human_task_id else None
    decider, kept = incident.decided_by, incident.decision or {}
    if task is None or task.state != TaskState.OPEN:
        return "superseded"
    if decider is None or task.claimed_by_id not in (None, decider.id):
        return "superseded"
    may, principal_id = standing(session, task.role, app, decider, local_date(now))
    if not may:
        return "superseded"
    apply_decision(session, task, restore(app), actor=decider, decision=kept["decision"],
                   opinion=kept.get("opinion") or "", data=kept.get("data") or {}, now=now,
                   principal_id=principal_id, incident=incident.id)
    return "resolved"


_RETRIES = {TIMER: _retry_timer, FILING: _retry_filing, DECISION: _retry_decision}


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
    decider = aliased(Person)
    return (select(Incident, Application.form_key, Person.username, decider.username)
            .join(Application, Application.id == Incident.application_id)
            .outerjoin(Person, Person.id == Incident.resolved_by_id)
            .outerjoin(decider, decider.id == Incident.decided_by_id))


def _row(i: Incident, form_key: str, resolved_by: str | None, decided_by: str | None) -> IncidentRow:
    return IncidentRow(i.id, i.application_id, form_key, i.kind, i.step, i.error_type, i.message, i.traceback,
                       i.first_occurred_at, i.last_occurred_at, i.attempts, i.resolved_at, resolved_by,
                       (i.decision or {}).get("decision"), decided_by)


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
