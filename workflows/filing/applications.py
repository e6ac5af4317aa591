"""Use cases of an applicant: file, amend after a return, withdraw."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models import (
    AccountKind,
    Agency,
    Application,
    ApplicationState,
    DefinitionVersion,
    HistoryEntry,
    Person,
    RegistrationRow,
    Role,
    TaskState,
)
from models.sealing import digest

from .. import agency_rules, audit
from ..accounts.admission import admission_errors, suspension_errors, suspension_refusal, unadmitted_refusal
from ..accounts.effects import active_account, agency_items, items_parts_done, with_bureau_split
from ..accounts.records import departed_querier_errors, manager_limit_errors
from ..accounts.transfers import transfer_errors
from ..attachments.records import bind_files, check_files
from ..calendar import local_date
from ..engine import SERIALIZER_VERSION, Run
from ..errors import Conflict, Forbidden, IncidentOpened, Invalid, NotFound
from ..forms import (
    AGENCY_FORMS,
    FORMS,
    REGISTRATION,
    SCHEDULER,
    FormSpec,
    application_form,
    attachment_ids,
    clean_form,
    engine_values,
    form_for,
    keep_masked,
    row_key,
    sheet_rows,
)
from ..oversight import comparison
from ..oversight.bases import bind_basis
from ..runtime import incidents
from ..runtime.decisions import add_history
from ..runtime.diagrams import live_definition, live_version, load_diagram
from ..runtime.sync import close_task, is_amend_step, restore, single_writer, sync
from ..settings import timer_data
from .eligibility import (
    auditor_refusal,
    central_audit_errors,
    contractor_refusal,
    office_hours_errors,
    proxy_errors,
    with_commissioning_agency,
)

log = logging.getLogger(__name__)


def forms_for(person: Person, on: date, session: Session | None = None) -> list[FormSpec]:
    """The forms this person may file on this (Taipei) day (an irregular audit only in a central agency); with a
    session, as their agency's chains word them."""
    forms = [f for f in FORMS.values() if may_file(person, f, on) and auditor_refusal(person, f.key, on) is None]
    return [filing_form(session, f.key, person) for f in forms] if session is not None else forms


def filing_form(session: Session, form_key: str, person: Person) -> FormSpec:
    """The form this person fills to file ``form_key``: the version of the process that runs their filings (an
    agency layer's own, 003 附表1 for 社會局), else the city's."""
    if not AGENCY_FORMS.get(person.agency.code, {}).get(form_key):
        return FORMS[form_key]
    try:
        process = live_definition(session, form_key, person.agency_id).key
    except NotFound:
        return FORMS[form_key]
    return form_for(form_key, person.agency.code, process)


def may_file(person: Person, form: FormSpec, on: date) -> bool:
    """The form's filer role, and for a form an agency layer adds, the agency it is open to (003 §5 ¶3)."""
    commissioned_by = person.agency.commissioned_by.code if person.agency.commissioned_by else None
    return ((form.filer_role is None or person.holds(form.filer_role, on))
            and agency_rules.open_to(form.key, person.agency.code, commissioned_by))


def _context_errors(session: Session, form: FormSpec, data: dict[str, Any], actor: Person,
                    amending: int | None) -> dict[str, str]:
    """Rules that need the records: existing accounts and the agency's permitted items."""
    errors: dict[str, str] = office_hours_errors(form.key, data)
    permitted = agency_items(session, actor.agency_id)
    if form.key == "querier_account" and data["request_type"] == "remove_departed":
        errors.update(departed_querier_errors(session, data["departed_querier"], actor))
    elif form.key == "querier_account":
        has_account = active_account(session, actor.id, AccountKind.QUERIER) is not None
        if data["request_type"] == "add" and has_account:
            errors["request_type"] = "您已有資料查詢者帳號，請改申請「異動查調項目」"
        if data["request_type"] != "add" and not has_account:
            errors["request_type"] = "您尚無資料查詢者帳號，請先申請新增"
        outside = sorted(set(data.get("items") or ()) - permitted)
        if outside:
            errors["items"] = f"本機關尚未核准的查調項目：{', '.join(outside)}"
        if data.get("departed_querier"):
            errors["departed_querier"] = "僅於申請刪除本機關離職或調職人員之帳號時填寫"
    elif form.key == "manager_account":
        has_account = active_account(session, actor.id, AccountKind.MANAGER) is not None
        if data["request_type"] == "add" and has_account:
            errors["request_type"] = "您已是機關管理者"
        if data["request_type"] == "delete" and not has_account:
            errors["request_type"] = "您沒有機關管理者帳號可刪除"
        if data["request_type"] == "change" and not has_account:  # 004 §5(1): 新增或異動
            errors["request_type"] = "您沒有機關管理者帳號可異動"
        if data["request_type"] == "add" and not errors:
            errors.update(manager_limit_errors(session, actor.agency, actor.id, data.get("succeeds")))
    elif form.key == "query_items_change":
        if already := sorted(set(data.get("add_items") or ()) & permitted):
            errors["add_items"] = f"本機關已核准的項目不需再申請：{', '.join(already)}"
        if missing := sorted(set(data.get("remove_items") or ()) - permitted):
            errors["remove_items"] = f"本機關未核准的項目無法刪除：{', '.join(missing)}"
    elif form.key == comparison.FORM:
        errors.update(comparison.period_errors(data))
    elif form.key == "agency_admission":
        errors.update(admission_errors(actor.agency, data))
    elif form.key == "agency_suspension":
        errors.update(suspension_errors(session, actor, data))
    elif form.key == "role_transfer":
        errors.update(transfer_errors(session, data, actor, amending))
    elif form.key in ("central_audit", "unscheduled_audit"):
        errors.update(central_audit_errors(session, actor, data))
    elif form.key == "proxy_authorisation":
        errors.update(proxy_errors(session, actor, data))
    elif form.key == REGISTRATION:
        errors.update(_registration_errors(session, data, actor))
    if form.requester_field and data.get(form.requester_field):
        errors.update(_requester_errors(session, form, data, actor))
    elif form.key == "audit_record":
        errors.update(_audited_errors(session, data, actor))
    for f in form.fields:  # a basis picked from the filer's agency's legal-basis table, or another with a reason
        if f.type == "legal_basis" and data.get(f.name) and f.name not in errors:
            errors.update(bind_basis(session, actor.agency_id, f.name, data))
    return errors


def _registration_errors(session: Session, data: dict[str, Any], actor: Person) -> dict[str, str]:
    """The filer queries with their own querier account, which holds each line's item."""
    account = active_account(session, actor.id, AccountKind.QUERIER)
    if account is None:
        return {"rows" if "rows" in data else "item": "您沒有有效的資料查詢者帳號"}
    if "rows" not in data:  # a sheet of one subject (an agency's own, another city's)
        return {} if data["item"] in account.item_codes else {"item": "您的帳號未獲准查調此項目"}
    return {row_key("rows", line, "item"): f"第 {line} 筆：您的帳號未獲准查調此項目"
            for line, row in enumerate(data["rows"], start=1) if row.get("item") not in account.item_codes}


def requester_of(session: Session, form: FormSpec, data: dict[str, Any]) -> Person | None:
    """The colleague an application is filed for (需要資料者, 003 §5 ¶2), by the username the form names."""
    username = data.get(form.requester_field) if form.requester_field else None
    return session.scalar(select(Person).where(Person.username == username)) if username else None


def _requester_errors(session: Session, form: FormSpec, data: dict[str, Any], actor: Person) -> dict[str, str]:
    """003 §5 ¶2: the one who needs the data is a colleague of the same unit (同業務單位之人員)."""
    person = requester_of(session, form, data)
    if person is None or not person.active:
        return {form.requester_field: f"沒有在職人員「{data[form.requester_field]}」"}
    if person.id == actor.id:
        return {form.requester_field: "需要資料者為本人時免填"}
    if person.unit_id != actor.unit_id:
        return {form.requester_field: f"{person.name}不是您同業務單位之人員（003 第五點第二項）"}
    return {}


def _audited_errors(session: Session, data: dict[str, Any], actor: Person) -> dict[str, str]:
    """003 附表4: the querier audited is one of this agency's queriers."""
    person = session.scalar(select(Person).where(Person.username == data["querier"]))
    if person is None or person.agency_id != actor.agency_id or active_account(
            session, person.id, AccountKind.QUERIER) is None:
        return {"querier": f"本機關沒有資料查詢者「{data['querier']}」"}
    return {}


def _validated(session: Session, form: FormSpec, data: dict[str, Any], actor: Person,
               amending: int | None = None, extra_files: list[int] | None = None) -> dict[str, Any]:
    names = {f.name for f in form.fields}
    computed = {f.name for f in form.fields if f.computed}  # set from the records below, never as typed
    data = {k: v for k, v in data.items() if k not in computed}
    data = with_bureau_split(session, names, with_commissioning_agency(names, data, actor), actor.agency)
    data = comparison.with_figures(session, form.key, data, actor.agency_id)
    clean, errors = clean_form(form, data)
    if not errors:
        errors = _context_errors(session, form, clean, actor, amending)
    errors.update(_file_errors(session, form, clean, actor, amending, extra_files or []))
    if errors:
        raise Invalid(errors)
    return clean


def _file_errors(session: Session, form: FormSpec, clean: dict[str, Any], actor: Person, amending: int | None,
                 extra_files: list[int]) -> dict[str, str]:
    """Each attachment named must be the filer's own upload, not withdrawn, and a draft or this application's."""
    named = {**attachment_ids(form.fields, clean), "attachments": extra_files}
    return {name: problem for name, ids in named.items() if (problem := check_files(session, ids, actor, amending))}


def _bind(session: Session, app: Application, form: FormSpec, clean: dict[str, Any], extra_files: list[int],
          actor: Person, now: datetime, task=None) -> None:
    for name, ids in attachment_ids(form.fields, clean).items():
        bind_files(session, app, ids, actor, now, field=name, task=task)
    bind_files(session, app, extra_files, actor, now, task=task)


def submit_application(session: Session, *, form_key: str, data: dict[str, Any], actor: Person,
                       now: datetime, attachments: list[int] | None = None) -> Application:
    """File a form: start its chain on the latest diagram version and open the first step.

    The files the form's attachment fields name, and ``attachments`` (other files for it), are the filer's drafts
    (``attachments.records.add_draft``); they are bound to the application in the same transaction.
    """
    if form_key not in FORMS:
        raise NotFound(f"no form '{form_key}'")
    _load_agency(session, actor)
    form = filing_form(session, form_key, actor)
    if not may_file(actor, form, local_date(now)):
        if form.filer_role is None or actor.holds(form.filer_role, local_date(now)):
            owner = agency_rules.owner_of(form_key)
            whose = "委辦之機關" if owner.filers[form_key] == "commissioned" else ""
            raise Forbidden(f"{form.title}僅供{owner.name}{whose}人員填具")
        raise Forbidden(f"only a {form.filer_role} may file {form.title}")
    if refusal := (suspension_refusal(actor.agency, local_date(now), form_key, data)
                   or unadmitted_refusal(actor.agency, form_key, data)):
        raise Forbidden(refusal)
    if refusal := (contractor_refusal(actor, form_key, data) or auditor_refusal(actor, form_key, local_date(now))):
        raise Forbidden(refusal)
    extra_files = sorted(set(attachments or []))
    clean = _validated(session, form, data, actor, extra_files=extra_files)
    version = live_version(session, form_key, actor.agency_id)
    try:
        run = Run.start(load_diagram(version), {**engine_values(form, clean), **timer_data()})
        app = _received(session, form_key, version, clean, actor, now, run=run)
        _bind(session, app, form, clean, extra_files, actor, now)
        session.commit()
    except Exception as exc:
        if not incidents.is_engine_failure(exc):
            raise
        _start_failed(session, exc, form_key=form_key, version_id=version.id, clean=clean, actor=actor, now=now,
                      bind=lambda kept: _bind(session, kept, form, clean, extra_files, actor, now))
    return app


# The filer's agency with its kinds (the admission rules ask them) in one statement, not a lazy load and then the
# kinds' own selectin load.
_AGENCY_WITH_KINDS = select(Agency).options(joinedload(Agency.kind_rows)).where(Agency.id == bindparam("agency"))


def _load_agency(session: Session, actor: Person) -> None:
    """The filer's agency with its kinds, as ``actor.agency``, unless the session holds it already."""
    if ("agency" not in actor.__dict__ and object_session(actor) is session
            and identity_key(Agency, actor.agency_id) not in session.identity_map):
        agency = session.execute(_AGENCY_WITH_KINDS, {"agency": actor.agency_id}).unique().scalar_one()
        set_committed_value(actor, "agency", agency)  # as its lazy load would: the session keeps it weakly


def _received(session: Session, form_key: str, version: DefinitionVersion, clean: dict[str, Any], actor: Person,
              now: datetime, run: Run | None = None, **noted: Any) -> Application:
    """The filed application, its 提出申請, the first steps of its chain when it started, and its audit event
    (the caller commits)."""
    app = Application(form_key=form_key, definition_version=version, applicant=actor, applicant_id=actor.id,
                      agency_id=actor.agency_id,
                      unit_id=actor.unit_id, data=clean, workflow_state="", serializer_version=SERIALIZER_VERSION,
                      created_at=now, updated_at=now)
    app.agency = actor.agency
    app.requester = requester_of(session, form_for(form_key, actor.agency.code, version.definition.key), clean)
    sync_registration_rows(app)
    session.add(app)
    if run is None or run.is_completed:
        session.flush()  # the incident, or a chain that ends at once auditing its closing, needs the id
    # Nothing is written before the engine's work is done: on SQLite the first INSERT takes the write lock,
    # held until the commit, so the rows go out together at the flush below.
    with session.no_autoflush:
        if run is not None:
            sync(session, app, run, now, prepared=True)
        add_history(session, app, step="start", step_name="提出申請", role=Role.APPLICANT, actor_id=actor.id,
                    decision="submit", created_at=now)
    if app.id is None:
        session.flush()  # the audit event names it (a chain whose first step has people flushed already)
    audit.record(session, "application_submitted", actor=actor, subject_type="application", subject_id=app.id,
                 now=now, form=form_key, version=version.version, **noted)
    return app


def sync_registration_rows(app: Application) -> None:
    """Keep a 查調資料登記表's lines (registration_row) equal to its data: line by line, so a corrected sheet
    changes its lines in place and drops the ones it no longer has."""
    if app.form_key != REGISTRATION:
        return
    wanted = sheet_rows(app.data)
    kept = {r.line: r for r in app.registration_rows}
    for line, row in enumerate(wanted, start=1):
        target = kept.get(line) or RegistrationRow(line=line)
        number = row.get("subject_national_id") or None
        target.query_date = date.fromisoformat(row["query_date"]) if row.get("query_date") else None
        target.item, target.subject_id, target.subject_hash = row.get("item"), number, digest(number) if number else ""
        if line not in kept:
            app.registration_rows.append(target)
    app.registration_rows = [r for r in app.registration_rows if r.line <= len(wanted)]


def _start_failed(session: Session, error: Exception, *, form_key: str, version_id: int, clean: dict[str, Any],
                  actor: Person, now: datetime, bind=None) -> None:
    """Keep the filing without a chain (what the failed start wrote is rolled back) and open an incident for it.

    The administrators' retry starts the chain (``runtime.incidents``); the applicant need not file again.
    """
    session.rollback()
    log.error("filing of %s by %s failed in the engine", form_key, actor.username, exc_info=error)
    app = _received(session, form_key, session.get(DefinitionVersion, version_id), clean, actor, now, started=False)
    app.waiting_since = now  # waiting, for the administrators: shown as stuck since it was filed
    if bind is not None:  # the filing's files go with the kept application
        bind(app)
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
    form = application_form(app)
    # The pages and the API show personal numbers masked; one sent back unchanged keeps the filed number.
    clean = _validated(session, form, keep_masked(app.form_key, data, app.data), actor, amending=app.id)
    run = restore(app)
    run.complete(task.task_guid, {**engine_values(form, clean), "decision": "resubmit", "opinion": note})
    app.data = clean
    sync_registration_rows(app)
    _bind(session, app, form, clean, [], actor, now, task=task)  # new files come with the amend step
    app.requester = requester_of(session, form, clean)
    return _finish(session, app, run, task, actor, now, "resubmit", note, "application_amended")


def withdraw_application(session: Session, *, application_id: int, actor: Person, now: datetime,
                         reason: str = "") -> Application:
    """Withdraw an application that is still under way."""
    app = _own_application(session, application_id, actor)
    if not app.is_open:
        raise Conflict("此申請已結案，無法撤回")
    if FORMS[app.form_key].filer_role == SCHEDULER:
        raise Conflict("排程啟動的定期作業無法撤回")
    if items_parts_done(app):  # 000 附表四: what 資訊處 has set is in effect; a new application changes it back
        raise Conflict("總管理機關已完成查調服務項目設定，無法撤回；如需變更請另提異動申請")
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
