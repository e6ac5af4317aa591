"""Violation cases (000 §6(3); 001 §12(4); 003 §8): a violation found in the query logs runs its own chain.

A flag the agency manager raises as a violation (``flags.answer_flag``), or a sampled row the checker found a
problem and raises (``raise_sampling_violation``), opens a case: the process ``violation`` starts for the log
row's agency, whose manager records the correction, then files the review report (檢討報告) that 勞工局
acknowledges. The report is due ``violation_report_days`` calendar days after the case opened (10 in 社會局,
003 §8; per agency in ``violation_report_days_by_agency``); a report filed after that is late. In 社會局 a
稽核紀錄表 (``audit_record``, 003 附表4) that found a violation opens the same case for the audited querier when
the 局長 approves it (``open_from_audit_record``, 003 §8 ¶2); that case names the record, not a log row.

A major anomaly (the flag or sampled row raised as major, or the manager's or auditor's later choice) also starts
the joint audit (001 §12(2), process ``joint_audit``): the agency's auditor with 政風, the IT unit, and the audit
report the agency head reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    AccountKind,
    Agency,
    Application,
    ApplicationState,
    HistoryEntry,
    Person,
    QueryLog,
    SamplingDraw,
    SamplingItem,
    ViolationCase,
)

from .. import agency_rules, audit
from ..accounts.records import active_account
from ..calendar import local_date
from ..engine import SERIALIZER_VERSION, Run
from ..errors import Conflict, Invalid, NotFound
from ..runtime.diagrams import live_version, load_diagram
from ..runtime.sync import sync
from ..runtime.visibility import agency_scope
from ..settings import SETTINGS, timer_data
from ..validators import text_problem
from .sampling import check_checker

PROCESS = "violation"
JOINT_AUDIT = "joint_audit"
AUDIT_RECORD = "audit_record"  # 社會局's 稽核紀錄表 (003 附表4)
REPORT_STEP = "report"  # the diagram's step where the review report is filed


def report_days(agency: Agency) -> int:
    """Calendar days from the case to its review report: the deployment's setting for the agency, else the
    agency layer's own rule (社會局: 10 days, 003 §8 ¶2), else the city's."""
    return SETTINGS.violation_report_days_by_agency.get(
        agency.code, agency_rules.setting(agency.code, "violation_report_days", SETTINGS.violation_report_days))


def _start(session: Session, process: str, agency_id: int, data: dict, now: datetime) -> tuple[Application, Run]:
    """A chain of the agency's with no applicant: its manager and auditor must be candidates of its steps."""
    version = live_version(session, process)
    run = Run.start(load_diagram(version), {**data, **timer_data()})
    app = Application(form_key=process, definition_version=version, applicant_id=None, agency_id=agency_id,
                      unit_id=None, data=data, workflow_state="", serializer_version=SERIALIZER_VERSION,
                      created_at=now, updated_at=now)
    session.add(app)
    session.flush()
    return app, run


def open_case(session: Session, *, log: QueryLog, source: str, description: str, actor: Person, now: datetime,
              flag: str | None = None, draw_id: int | None = None, major: bool = False) -> ViolationCase:
    """Start the case's chain for the log row's agency and link it to the row; audited. The caller commits.

    ``major``: a major anomaly, whose joint audit starts with it.
    """
    agency = session.get(Agency, log.agency_id)
    due = local_date(now) + timedelta(days=report_days(agency))
    data = {"source": source, "flag": flag, "query_log_id": log.id, "sampling_draw": draw_id,
            "account": log.account, "description": description, "report_due": due.isoformat()}
    app, run = _start(session, PROCESS, agency.id, data, now)
    case = ViolationCase(application_id=app.id, agency_id=agency.id, source=source, log_id=log.id, flag=flag,
                         draw_id=draw_id, description=description, report_due=due, opened_by_id=actor.id,
                         created_at=now)
    session.add(case)
    session.flush()
    sync(session, app, run, now)
    audit.record(session, "violation_case_opened", actor=actor, subject_type="application", subject_id=app.id,
                 now=now, agency_id=agency.id, case=case.id, source=source, query_log=log.id, flag=flag,
                 sampling_draw=draw_id, report_due=due.isoformat())
    if major:
        _start_joint_audit(session, case, log, description, actor, now)
    return case


def open_from_audit_record(session: Session, app: Application, actor: Person, now: datetime) -> ViolationCase | None:
    """A 稽核紀錄表 the 局長 approved that found a violation opens the case for the audited querier, who corrects at
    once and reports within the layer's days (003 §8 ¶2). Nothing for another form or a record without one; once
    per record. Audited; the caller commits."""
    if app.form_key != AUDIT_RECORD or app.state != ApplicationState.COMPLETED or not (app.data or {}).get(
            "violation_found"):
        return None
    if session.scalar(select(ViolationCase.id).where(ViolationCase.audit_record_id == app.id)):
        return None
    agency = session.get(Agency, app.agency_id)
    querier = session.scalar(select(Person).where(Person.username == app.data["querier"]))
    account = active_account(session, querier.id, AccountKind.QUERIER) if querier else None
    due = local_date(now) + timedelta(days=report_days(agency))
    description = f"稽核紀錄表（申請編號 {app.id}）：{app.data.get('opinion') or ''}".strip()
    data = {"source": AUDIT_RECORD, "audit_record": app.id, "querier": app.data["querier"],
            "account": account.egov_account if account else app.data["querier"], "description": description,
            "report_due": due.isoformat()}
    case_app, run = _start(session, PROCESS, agency.id, data, now)
    case = ViolationCase(application_id=case_app.id, agency_id=agency.id, source=AUDIT_RECORD, log_id=None,
                         audit_record_id=app.id, description=description, report_due=due, opened_by_id=actor.id,
                         created_at=now)
    session.add(case)
    session.flush()
    sync(session, case_app, run, now)
    audit.record(session, "violation_case_opened", actor=actor, subject_type="application", subject_id=case_app.id,
                 now=now, agency_id=agency.id, case=case.id, source=AUDIT_RECORD, audit_record=app.id,
                 querier=app.data["querier"], report_due=due.isoformat())
    return case


def start_joint_audit(session: Session, *, case_id: int, reason: str, actor: Person, now: datetime) -> Application:
    """The agency's manager or auditor judges a case a major anomaly: its joint audit starts (001 §12(2))."""
    case = session.get(ViolationCase, case_id)
    if case is None:
        raise NotFound(f"沒有違規案件 {case_id}")
    check_checker(actor, case.agency_id, now)
    if not (reason or "").strip():
        raise Invalid({"reason": "請說明列為重大異常之理由"})
    if text_problem(reason) or len(reason) > 2000:
        raise Invalid({"reason": text_problem(reason) or "超過 2000 字"})
    if case.joint_audit_id is not None:
        raise Conflict("這個違規案件已啟動共同稽核")
    log = session.get(QueryLog, case.log_id) if case.log_id is not None else None
    app = _start_joint_audit(session, case, log, reason.strip(), actor, now)
    session.commit()
    return app


def _start_joint_audit(session: Session, case: ViolationCase, log: QueryLog | None, reason: str, actor: Person,
                       now: datetime) -> Application:
    account = log.account if log else session.get(Application, case.application_id).data.get("account")
    data = {"violation_case": case.id, "query_log_id": log.id if log else None, "account": account, "reason": reason}
    app, run = _start(session, JOINT_AUDIT, case.agency_id, data, now)
    case.joint_audit_id = app.id
    sync(session, app, run, now)
    audit.record(session, "joint_audit_started", actor=actor, subject_type="application", subject_id=app.id,
                 now=now, agency_id=case.agency_id, case=case.id, violation=case.application_id, reason=reason)
    return app


def raise_sampling_violation(session: Session, *, draw_id: int, log_id: int, actor: Person, now: datetime,
                             major: bool = False) -> ViolationCase:
    """The checker raises a sampled row ticked as a problem as a violation: its case opens (001 §12(1), (4))."""
    item = session.get(SamplingItem, (draw_id, log_id))
    if item is None:
        raise NotFound("這筆紀錄不在抽樣名單中")
    draw = session.get(SamplingDraw, draw_id)
    check_checker(actor, draw.agency_id, now)
    if item.verdict != "problem":
        raise Invalid({"verdict": "只有勾稽為有問題的紀錄可以列為違規"})
    if session.scalar(select(ViolationCase.id).where(ViolationCase.draw_id == draw_id,
                                                     ViolationCase.log_id == log_id)):
        raise Conflict("這筆抽查紀錄已列為違規案件")
    case = open_case(session, log=session.get(QueryLog, log_id), source="sampling", description=item.note or "",
                     actor=actor, now=now, draw_id=draw_id, major=major)
    session.commit()
    return case


@dataclass(frozen=True)
class CaseRow:
    id: int
    application_id: int
    agency: str
    source: str
    log_id: int | None  # none for a case a 稽核紀錄表 opened (its application: ``audit_record_id``)
    flag: str | None
    draw_id: int | None
    description: str
    opened_at: datetime
    report_due: date
    reported_at: datetime | None  # when the review report was filed
    late: bool  # filed after its due date, or still not filed after it
    state: str
    joint_audit_id: int | None
    audit_record_id: int | None = None


def case_rows(session: Session, actor: Person, now: datetime, *, log_id: int | None = None) -> list[CaseRow]:
    """The cases of the agencies whose logs the actor reads (``agency_scope``), newest first; late ones marked."""
    today = local_date(now)
    scope = agency_scope(session, actor, today)
    query = (select(ViolationCase, Application, Agency.name)
             .join(Application, Application.id == ViolationCase.application_id)
             .join(Agency, Agency.id == ViolationCase.agency_id)
             .order_by(ViolationCase.created_at.desc(), ViolationCase.id.desc()))
    if scope is not None:
        query = query.where(ViolationCase.agency_id.in_(scope))
    if log_id is not None:
        query = query.where(ViolationCase.log_id == log_id)
    found = session.execute(query).all()
    reported = dict(session.execute(
        select(HistoryEntry.application_id, HistoryEntry.created_at).where(
            HistoryEntry.application_id.in_([app.id for _, app, _ in found]), HistoryEntry.step == REPORT_STEP,
            HistoryEntry.decision == "approve").order_by(HistoryEntry.created_at)).all()) if found else {}
    rows = []
    for case, app, agency in found:
        at = reported.get(app.id)
        late = local_date(at) > case.report_due if at else today > case.report_due
        rows.append(CaseRow(case.id, app.id, agency, case.source, case.log_id, case.flag, case.draw_id,
                            case.description, case.created_at, case.report_due, at, late,
                            app.state.value if isinstance(app.state, ApplicationState) else str(app.state),
                            case.joint_audit_id, case.audit_record_id))
    return rows
