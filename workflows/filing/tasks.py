"""Use cases of an approver: read a step's form and decide it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, undefer
from sqlalchemy.orm.util import identity_key

from models import QUERY_ITEMS, Agency, Application, HumanTask, Person, Role, TaskCandidate, TaskState

from ..accounts import central_audit, transfers
from ..accounts.effects import BUREAU_ITEMS, TO_BUREAU, agency_items
from ..accounts.records import manager_limit_errors
from ..accounts.review import list_reviewed_accounts, review_check, review_fields, review_record
from ..attachments.records import check_step_files
from ..calendar import local_date
from ..errors import Conflict, Forbidden, IncidentOpened, Invalid, NotFound
from ..forms import (
    PER_ITEM_RECORDED,
    STEP_FORMS,
    Field,
    StepForm,
    application_form,
    attachment_ids,
    clean_fields,
    item_choices,
    per_item_check,
    per_item_fields,
    per_item_record,
    requested_items,
)
from ..oversight import findings, violations
from ..runtime import incidents
from ..runtime.candidates import standing, standing_columns, standing_params
from ..runtime.decisions import apply_decision
from ..runtime.sync import is_amend_step, restore, single_writer
from .applications import amend_application, withdraw_application

log = logging.getLogger(__name__)
Check = Callable[[dict[str, Any]], dict[str, str]]


@dataclass(frozen=True)
class StepFields:
    """The decisions and fields one open step asks for, with choices bound to the application.

    ``check`` adds rules that need the bound records; ``record`` turns the cleaned fields into what the
    engine and the sign-off history keep (the account review folds its per-account fields into one list).
    """

    step: StepForm
    fields: tuple[Field, ...]
    check: Check | None = None
    record: Callable[[dict[str, Any]], dict[str, Any]] | None = None


def _earlier(app: Application, key: str) -> list[str]:
    for entry in reversed(app.history):
        if entry.data and key in entry.data:
            return entry.data[key] or []
    return []


def _put_to_bureau(app: Application, approved: list[str]) -> list[str]:
    """勞保局 answers only on the items put to it: with the split (000 附表四), the ones the city lacked."""
    if TO_BUREAU not in app.data:
        return approved
    return [code for code in approved if code in (app.data.get(BUREAU_ITEMS) or ())]


def step_fields(session: Session, app: Application, task: HumanTask, now: datetime) -> StepFields:
    """What this step asks, bound to the application and, for reviews, to the accounts as of ``now``."""
    key = "amend" if is_amend_step(task.role, task.form) else task.form or "review"
    step = STEP_FORMS.get(key, STEP_FORMS["review"])
    if step.key == "amend":
        return StepFields(step, application_form(app).fields)
    requested = requested_items(step, app.data)
    if requested is not None:  # a step deciding each requested item (000 附表三's item sheet, 003 附表1)
        own = tuple(f for f in step.fields if f not in PER_ITEM_RECORDED)
        return StepFields(step, per_item_fields(requested) + own, per_item_check(requested),
                          per_item_record(requested))
    if step.key == "account_review":
        accounts = list_reviewed_accounts(session, app.agency_id, now)
        return StepFields(step, review_fields(accounts) + step.fields, review_check(accounts),
                          review_record(accounts))
    if step.key == central_audit.STEP:  # 001 §3(1)3: every agency's WebIR accounts, each kept or marked
        audited = central_audit.city_accounts(session, app.agency.city)
        return StepFields(step, central_audit.audit_fields(audited) + step.fields,
                          record=central_audit.audit_record(audited))
    if step.key in (findings.AUDIT_STEP, findings.CORRECTION_STEP):  # 001 §12(3): findings tracked until closed
        asked = tuple(f for f in step.fields if f.name != findings.COMPUTED)
        if step.key == findings.AUDIT_STEP:
            return StepFields(step, asked, record=findings.audit_record)
        still_open = findings.open_findings(app.history)
        labels = {f.name: f.label for f in STEP_FORMS[findings.AUDIT_STEP].fields}
        asked = tuple(replace(f, choices=tuple((code, labels.get(code, code)) for code in still_open))
                      if f.name == "closed_findings" else f for f in asked)
        return StepFields(step, asked, findings.correction_check(still_open), findings.correction_record(still_open))
    if step.key == "transfer_account":
        fields = transfers.account_step_fields(session, app, step.fields)
        return StepFields(step, fields, transfers.account_step_check(fields))
    # Built only for the step that has the field: the bureau's choices read the whole sign-off history.
    choices = {
        "approved_items": lambda: item_choices([*app.data.get("add_items", []), *app.data.get("remove_items", [])]),
        "bureau_approved_items": lambda: item_choices(_put_to_bureau(app, _earlier(app, "approved_items"))),
        "terminated_items": lambda: item_choices(_earlier(app, "items_to_terminate")),
    }
    if step.key == "items_review":  # 001 §9(3): this agency's items, each still needed unless ticked
        choices["items_to_terminate"] = lambda: item_choices(sorted(agency_items(session, app.agency_id),
                                                                    key=list(QUERY_ITEMS).index))
    bound = tuple(replace(f, choices=choices[f.name]()) if f.name in choices else f for f in step.fields)
    if TO_BUREAU in app.data and any(f.name == "approved_items" for f in step.fields):
        return StepFields(step, bound, record=_bureau_after_review(app))
    return StepFields(step, bound)


def _bureau_after_review(app: Application) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """勞保局 is asked only when 勞工局 agreed to an item the city lacks (000 附表四): the gateway reads it."""
    lacking = set(app.data.get(BUREAU_ITEMS) or ())
    return lambda clean: {**clean, TO_BUREAU: bool(lacking & set(clean.get("approved_items") or ()))}


# One query for the task and the candidate check, built once (its cache key too); the 404 / 403 tell-apart only
# when it finds nothing.
_TASK_FOR = select(HumanTask).where(HumanTask.id == bindparam("task"), select(TaskCandidate.person_id).where(
    TaskCandidate.human_task_id == HumanTask.id, TaskCandidate.person_id == bindparam("person")).exists())


# A step to decide: with it, the open decision incident it would resolve (``incidents.resolve_decided``).
_TASK_TO_DECIDE = _TASK_FOR.add_columns(incidents.DECIDED_INCIDENT)
# The same for a session that does not hold the step's application yet (a request's): what deciding reads of the
# application — its saved state, the diagram's version, the agency, the applicant — comes in the same statement
# instead of one lazy load each. A session that holds it already reads only the step (joining would read it again).
# The agency's kinds (a selectin load of their own whenever an agency loads) are read only if a step asks them.
_TASK_AND_APPLICATION_TO_DECIDE = _TASK_TO_DECIDE.options(
    joinedload(HumanTask.application).options(
        undefer(Application.workflow_state), joinedload(Application.definition_version),
        joinedload(Application.agency).lazyload(Agency.kind_rows), joinedload(Application.applicant)))


def get_task_for(session: Session, task_id: int, actor: Person) -> HumanTask:
    """A task the actor may act on (or has acted on); 404 when absent, 403 when not theirs."""
    return _found(session, session.scalar(_TASK_FOR, {"task": task_id, "person": actor.id}), task_id)


def _found(session: Session, task: HumanTask | None, task_id: int) -> HumanTask:
    if task is None:
        if session.get(HumanTask, task_id) is None:
            raise NotFound("no such task")
        raise Forbidden("this task is not yours")
    return task


def require_holder(session: Session, task: HumanTask, actor: Person, now: datetime) -> int | None:
    """403 unless the actor could hold this step today: a candidate row alone is not enough. The id of the holder
    the actor would decide it for (None: their own), asked in the same statement (``standing``).

    Candidates are resolved when a step opens; someone who has since left the role (or was handed the step
    before reassignment was limited to holders) keeps the row but may no longer act on it.
    """
    return _holder(standing(session, task.role, task.application, actor, local_date(now)))


def _holder(answer: tuple[bool, int | None]) -> int | None:
    """403 unless ``standing``'s ``answer`` says the actor may hold the step; the holder they decide it for."""
    may, principal_id = answer
    if not may:
        raise Forbidden("您目前不具此步驟的角色，無法處理此案件")
    return principal_id


def _check_decision(fields: StepFields, decision: str, opinion: str, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if decision not in fields.step.decisions:
        errors["decision"] = f"「決定」須為 {', '.join(fields.step.decisions)} 之一"
    if decision in ("reject", "return") and not opinion.strip():
        errors["opinion"] = "不同意或退回補正時，請填寫意見（理由）"
    if len(opinion) > 2000:
        errors["opinion"] = "意見過長"
    clean, field_errors = clean_fields(fields.fields, data, context={"decision": decision})
    errors.update(field_errors)
    for check in (fields.step.check, fields.check):
        if not field_errors and check:
            errors.update(check({**clean, "decision": decision}))  # a rule of approving only reads the decision
    if decision == "approve" and "approved_items" in clean and not clean["approved_items"]:
        errors["approved_items"] = "未同意任何項目時，請選擇「不同意」"
    if errors:
        raise Invalid(errors)
    return clean


def _file_errors(session: Session, fields: StepFields, clean: dict[str, Any], task: HumanTask,
                 actor: Person) -> dict[str, str]:
    """A step's attachment field names files the actor attached at this step (``attachments.records``)."""
    named = attachment_ids(fields.fields, clean)
    return {name: problem for name, ids in named.items() if (problem := check_step_files(session, ids, task, actor))}


def _setting_errors(session: Session, app: Application, task: HumanTask) -> dict[str, str]:
    """The agency's one-manager rule checked again where the account is set: another may have been set meanwhile."""
    if app.form_key != "manager_account" or task.form != "account_setup" or app.data.get("request_type") != "add":
        return {}
    errors = manager_limit_errors(session, app.agency, app.applicant_id, app.data.get("succeeds"))
    return {"decision": "；".join(errors.values())} if errors else {}


def open_step_of(session: Session, task_id: int, actor: Person, now: datetime) -> HumanTask:
    """The actor's step to act on: still open (else 409), held by them (else 403), not claimed by another (409)."""
    task = get_task_for(session, task_id, actor)
    _open_held(session, task, actor, now)
    return task


@cache
def _task_and_standing_to_decide(scope: str):
    """``_TASK_TO_DECIDE`` with the decider's ``standing`` for a step of the scope's roles as two more columns."""
    return _TASK_TO_DECIDE.add_columns(*standing_columns(scope))


def _held_step(session: Session, task_id: int, actor: Person,
               now: datetime) -> tuple[HumanTask, int | None, int | None]:
    """``open_step_of`` with the id of the holder the actor would decide the step for (None: their own) and the id
    of the open decision incident deciding it resolves (None: none), read with the step.

    A session that holds the step and its application already knows the step's role and the application's scope
    before reading: the decider's standing (``candidates.standing``) is asked in the same statement then.
    """
    held = session.identity_map.get(identity_key(HumanTask, task_id))
    app = session.identity_map.get(identity_key(Application, held.application_id)) if held is not None else None
    asked = standing_params(held.role, app, local_date(now)) if app is not None else None
    if asked is None:
        statement = _TASK_TO_DECIDE if app is not None else _TASK_AND_APPLICATION_TO_DECIDE
        task, incident_id = session.execute(statement, {"task": task_id, "person": actor.id}).first() or (None, None)
        task = _found(session, task, task_id)
        return task, _open_held(session, task, actor, now), incident_id
    scope, params = asked
    task, incident_id, may, principal_id = session.execute(
        _task_and_standing_to_decide(scope), {**params, "task": task_id, "person": actor.id}).first() or (
        None, None, False, None)
    task = _found(session, task, task_id)
    return task, _open_held(session, task, actor, now, (may, principal_id)), incident_id


def _open_held(session: Session, task: HumanTask, actor: Person, now: datetime,
               known: tuple[bool, int | None] | None = None) -> int | None:
    """The checks of ``open_step_of``; the id of the holder the actor would decide the step for (None: their own).
    ``known``: the actor's ``standing`` when the step's read asked it already."""
    if task.state != TaskState.OPEN:
        raise Conflict("此案件已由他人處理或已結束")
    principal_id = require_holder(session, task, actor, now) if known is None else _holder(known)
    if task.claimed_by_id not in (None, actor.id):
        raise Conflict("此案件已由他人認領")
    return principal_id


def complete_task(session: Session, *, task_id: int, actor: Person, decision: str, opinion: str = "",
                  data: dict[str, Any] | None = None, now: datetime) -> Application:
    """Decide one step: approve, reject or return; then run the chain on and commit once."""
    task, principal_id, incident_id = _held_step(session, task_id, actor, now)
    app = task.application
    if is_amend_step(task.role, task.form):
        if decision == "withdraw":
            return withdraw_application(session, application_id=app.id, actor=actor, now=now, reason=opinion)
        if decision != "resubmit":
            raise Invalid({"decision": "補正步驟的決定須為 resubmit 或 withdraw"})
        return amend_application(session, application_id=app.id, data=data or app.data, actor=actor, now=now,
                                 note=opinion)
    if actor.id == app.applicant_id and task.role != Role.APPLICANT:  # their own duty step (a reminder) is theirs
        raise Forbidden("申請人不得審核自己的申請")
    fields = step_fields(session, app, task, now)
    clean = _check_decision(fields, decision, opinion, data or {})
    if errors := _file_errors(session, fields, clean, task, actor):
        raise Invalid(errors)
    if decision == "approve" and (errors := _setting_errors(session, app, task)):
        raise Invalid(errors)
    if fields.record:
        clean = fields.record(clean)
    app_id, task_id, step_name = app.id, task.id, task.name
    try:
        with single_writer(session, "此案件剛被其他人處理，請重新整理後再試"):
            apply_decision(session, task, restore(app), actor=actor, decision=decision, opinion=opinion, data=clean,
                           now=now, principal_id=principal_id)
            violations.open_from_audit_record(session, app, actor, now)  # 社會局's 稽核紀錄表 (003 §8 ¶2)
            incidents.resolve_decided(session, incident_id, actor, now)
    except Exception as exc:
        if not incidents.is_engine_failure(exc):
            raise
        _decision_failed(session, exc, app_id=app_id, task_id=task_id, step_name=step_name, actor=actor, now=now,
                         kept={"decision": decision, "opinion": opinion, "data": clean})
    return app


def _decision_failed(session: Session, error: Exception, *, app_id: int, task_id: int, step_name: str,
                     actor: Person, now: datetime, kept: dict[str, Any]) -> None:
    """Roll the decision back, keep it on an incident for the administrators' retry, and tell the person."""
    session.rollback()
    log.error("decision on task %s (application %s) failed in the engine", task_id, app_id, exc_info=error)
    incident = incidents.record_incident(session, app_id, kind=incidents.DECISION, error=error, now=now,
                                         human_task_id=task_id, decision=kept, decided_by=actor, tell_admins=True)
    raise IncidentOpened(f"流程在「{step_name}」無法繼續，您的決定尚未生效；已記錄為流程異常（編號 {incident.id}）"
                         f"並通知系統管理者。管理者排除後重試時會以您的決定繼續，您不需要再送出。",
                         incident_id=incident.id, application_id=app_id) from error
