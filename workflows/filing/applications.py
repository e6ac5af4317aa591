"""Use cases of an applicant: file, amend after a return, withdraw."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from models import (
    AccountKind,
    Application,
    ApplicationState,
    DefinitionVersion,
    HistoryEntry,
    Person,
    Role,
    TaskState,
)

from .. import audit
from ..accounts.admission import admission_errors, suspension_errors, suspension_refusal
from ..accounts.effects import active_account, agency_items
from ..accounts.records import manager_limit_errors
from ..accounts.transfers import transfer_errors
from ..calendar import local_date
from ..engine import SERIALIZER_VERSION, Run
from ..errors import Conflict, Forbidden, IncidentOpened, Invalid, NotFound
from ..forms import FORMS, SCHEDULER, FormSpec, clean_form, engine_values, keep_masked
from ..oversight.bases import bind_basis
from ..runtime import incidents
from ..runtime.diagrams import live_version, load_diagram
from ..runtime.sync import close_task, is_amend_step, restore, single_writer, sync
from ..settings import timer_data

log = logging.getLogger(__name__)


def forms_for(person: Person, on: date) -> list[FormSpec]:
    """The forms this person may file on this (Taipei) day."""
    return [f for f in FORMS.values() if may_file(person, f, on)]


def may_file(person: Person, form: FormSpec, on: date) -> bool:
    return form.filer_role is None or person.holds(form.filer_role, on)


def _context_errors(session: Session, form: FormSpec, data: dict[str, Any], actor: Person,
                    amending: int | None) -> dict[str, str]:
    """Rules that need the records: existing accounts and the agency's permitted items."""
    errors: dict[str, str] = {}
    permitted = agency_items(session, actor.agency_id)
    if form.key == "querier_account":
        has_account = active_account(session, actor.id, AccountKind.QUERIER) is not None
        if data["request_type"] == "add" and has_account:
            errors["request_type"] = "您已有資料查詢者帳號，請改申請「異動查調項目」"
        if data["request_type"] != "add" and not has_account:
            errors["request_type"] = "您尚無資料查詢者帳號，請先申請新增"
        outside = sorted(set(data.get("items") or ()) - permitted)
        if outside:
            errors["items"] = f"本機關尚未核准的查調項目：{', '.join(outside)}"
    elif form.key == "manager_account":
        has_account = active_account(session, actor.id, AccountKind.MANAGER) is not None
        if data["request_type"] == "add" and has_account:
            errors["request_type"] = "您已是機關管理者"
        if data["request_type"] == "delete" and not has_account:
            errors["request_type"] = "您沒有機關管理者帳號可刪除"
        if data["request_type"] == "add" and not errors:
            errors.update(manager_limit_errors(session, actor.agency, actor.id, data.get("succeeds")))
    elif form.key == "query_items_change":
        if already := sorted(set(data.get("add_items") or ()) & permitted):
            errors["add_items"] = f"本機關已核准的項目不需再申請：{', '.join(already)}"
        if missing := sorted(set(data.get("remove_items") or ()) - permitted):
            errors["remove_items"] = f"本機關未核准的項目無法刪除：{', '.join(missing)}"
    elif form.key == "agency_admission":
        errors.update(admission_errors(actor.agency, data))
    elif form.key == "agency_suspension":
        errors.update(suspension_errors(session, actor, data))
    elif form.key == "role_transfer":
        errors.update(transfer_errors(session, data, actor, amending))
    elif form.key == "query_registration":
        account = active_account(session, actor.id, AccountKind.QUERIER)
        if account is None:
            errors["item"] = "您沒有有效的資料查詢者帳號"
        elif data["item"] not in account.item_codes:
            errors["item"] = "您的帳號未獲准查調此項目"
    for f in form.fields:  # a basis picked from the filer's agency's legal-basis table, or another with a reason
        if f.type == "legal_basis" and data.get(f.name) and f.name not in errors:
            errors.update(bind_basis(session, actor.agency_id, f.name, data))
    return errors


def _validated(session: Session, form: FormSpec, data: dict[str, Any], actor: Person,
               amending: int | None = None) -> dict[str, Any]:
    clean, errors = clean_form(form, data)
    if not errors:
        errors = _context_errors(session, form, clean, actor, amending)
    if errors:
        raise Invalid(errors)
    return clean


def submit_application(session: Session, *, form_key: str, data: dict[str, Any], actor: Person,
                       now: datetime) -> Application:
    """File a form: start its chain on the latest diagram version and open the first step."""
    form = FORMS.get(form_key)
    if form is None:
        raise NotFound(f"no form '{form_key}'")
    if not may_file(actor, form, local_date(now)):
        raise Forbidden(f"only a {form.filer_role} may file {form.title}")
    if refusal := suspension_refusal(actor.agency, local_date(now), form_key, data):
        raise Forbidden(refusal)
    clean = _validated(session, form, data, actor)
    version = live_version(session, form_key)
    try:
        run = Run.start(load_diagram(version), {**engine_values(form, clean), **timer_data()})
        app = _received(session, form_key, version, clean, actor, now, run=run)
        session.commit()
    except Exception as exc:
        if not incidents.is_engine_failure(exc):
            raise
        _start_failed(session, exc, form_key=form_key, version_id=version.id, clean=clean, actor=actor, now=now)
    return app


def _received(session: Session, form_key: str, version: DefinitionVersion, clean: dict[str, Any], actor: Person,
              now: datetime, run: Run | None = None, **noted: Any) -> Application:
    """The filed application, its 提出申請, the first steps of its chain when it started, and its audit event
    (the caller commits)."""
    app = Application(form_key=form_key, definition_version=version, applicant=actor, applicant_id=actor.id,
                      agency_id=actor.agency_id,
                      unit_id=actor.unit_id, data=clean, workflow_state="", serializer_version=SERIALIZER_VERSION,
                      created_at=now, updated_at=now)
    app.agency = actor.agency
    session.add(app)
    if run is None or run.is_completed:
        session.flush()  # the incident, or a chain that ends at once auditing its closing, needs the id
    # Nothing is written before the engine's work is done: on SQLite the first INSERT takes the write lock,
    # held until the commit, so the rows go out together at the flush below.
    with session.no_autoflush:
        if run is not None:
            sync(session, app, run, now)
        session.add(HistoryEntry(application=app, step="start", step_name="提出申請", role=Role.APPLICANT,
                                 actor_id=actor.id, decision="submit", created_at=now))
    session.flush()
    audit.record(session, "application_submitted", actor=actor, subject_type="application", subject_id=app.id,
                 now=now, form=form_key, version=version.version, **noted)
    return app


def _start_failed(session: Session, error: Exception, *, form_key: str, version_id: int, clean: dict[str, Any],
                  actor: Person, now: datetime) -> None:
    """Keep the filing without a chain (what the failed start wrote is rolled back) and open an incident for it.

    The administrators' retry starts the chain (``runtime.incidents``); the applicant need not file again.
    """
    session.rollback()
    log.error("filing of %s by %s failed in the engine", form_key, actor.username, exc_info=error)
    app = _received(session, form_key, session.get(DefinitionVersion, version_id), clean, actor, now, started=False)
    app.waiting_since = now  # waiting, for the administrators: shown as stuck since it was filed
    incident = incidents.record_incident(session, app.id, kind=incidents.FILING, error=error, now=now,
                                         tell_admins=True)
    raise IncidentOpened(f"您的申請已收到（案號 {app.id}），但流程啟動時發生異常，尚未送到第一個簽核步驟；"
                         f"已記錄為流程異常（編號 {incident.id}）並通知系統管理者。管理者排除後即會開始簽核，"
                         f"您不需要重新申請。", incident_id=incident.id, application_id=app.id) from error


def _own_application(session: Session, application_id: int, actor: Person) -> Application:
    app = session.get(Application, application_id)
    if app is None or app.applicant_id != actor.id:
        raise NotFound("no such application")
    return app


def _amend_task(app: Application):
    return next((t for t in app.tasks if t.state == TaskState.OPEN and is_amend_step(t.role, t.form)), None)


def amend_application(session: Session, *, application_id: int, data: dict[str, Any], actor: Person,
                      now: datetime, note: str = "") -> Application:
    """Resubmit a returned application with corrected data; it goes through the chain again."""
    app = _own_application(session, application_id, actor)
    task = _amend_task(app)
    if app.state != ApplicationState.RETURNED or task is None:
        raise Conflict("只有被退回補正的申請可以修改後重新送出")
    form = FORMS[app.form_key]
    # The pages and the API show personal numbers masked; one sent back unchanged keeps the filed number.
    clean = _validated(session, form, keep_masked(app.form_key, data, app.data), actor, amending=app.id)
    run = restore(app)
    run.complete(task.task_guid, {**engine_values(form, clean), "decision": "resubmit", "opinion": note})
    app.data = clean
    return _finish(session, app, run, task, actor, now, "resubmit", note, "application_amended")


def withdraw_application(session: Session, *, application_id: int, actor: Person, now: datetime,
                         reason: str = "") -> Application:
    """Withdraw an application that is still under way."""
    app = _own_application(session, application_id, actor)
    if not app.is_open:
        raise Conflict("此申請已結案，無法撤回")
    if FORMS[app.form_key].filer_role == SCHEDULER:
        raise Conflict("排程啟動的定期作業無法撤回")
    if not app.workflow_state:  # its chain never started (an open filing incident): nothing to cancel
        with single_writer(session, "此申請剛被其他人處理，請重新整理後再試"):
            app.state, app.closed_at, app.waiting_since, app.updated_at = ApplicationState.WITHDRAWN, now, None, now
            session.add(HistoryEntry(application=app, step="withdraw", step_name="撤回申請", role=Role.APPLICANT,
                                     actor_id=actor.id, decision="withdraw", opinion=reason or None, created_at=now))
            audit.record(session, "application_withdrawn", actor=actor, subject_type="application",
                         subject_id=app.id, now=now)
        return app
    run = restore(app)
    task = _amend_task(app)
    if task is not None:
        run.complete(task.task_guid, {"decision": "withdraw", "opinion": reason})
    else:
        run.cancel()
    return _finish(session, app, run, task, actor, now, "withdraw", reason, "application_withdrawn",
                   outcome=ApplicationState.WITHDRAWN)


def _finish(session: Session, app: Application, run: Run, task, actor: Person, now: datetime,
            decision: str, note: str, event: str, outcome: ApplicationState | None = None) -> Application:
    with single_writer(session, "此申請剛被其他人處理，請重新整理後再試"):
        if task is not None:
            close_task(task, TaskState.COMPLETED, now, actor)
        sync(session, app, run, now, outcome, actor=actor)
        session.add(HistoryEntry(application=app, step=task.step if task else "withdraw",
                                 step_name=task.name if task else "撤回申請", role=Role.APPLICANT,
                                 actor_id=actor.id, decision=decision, opinion=note or None, created_at=now))
        if app.is_open:
            # A closing event (application_withdrawn) is already recorded by sync, with the actor.
            audit.record(session, event, actor=actor, subject_type="application", subject_id=app.id, now=now)
    return app
