"""Violation cases (000 §6(3); 001 §12(4); 003 §8): opened from a flag or a sampled problem, corrected, reported
to 勞工局 by the deadline, late when after it; seen within the agency's log scope."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from models import Agency, Application, AuditEvent, HumanTask, QueryLog, TaskState, ViolationCase, flag_names
from tests.conftest import NOW
from workflows.demo import valid_national_id
from workflows.errors import Conflict, Forbidden, Invalid
from workflows.filing.tasks import complete_task
from workflows.oversight.flags import answer_flag
from workflows.oversight.imports import import_query_logs
from workflows.oversight.sampling import check_sample_row, draw_sample
from workflows.oversight.violations import case_rows, raise_sampling_violation, start_joint_audit
from workflows.runtime.visibility import may_view
from workflows.settings import SETTINGS

from .logfiles import csv_bytes


def import_rows(session, person, count: int = 2) -> list[QueryLog]:
    rows = [["applicant.egov", f"115/11/{2 + n:02d}", "10:00:00", "C0101", valid_national_id("F", f"2{n:07d}"),
             f"v-{n}", "審查", "成功"] for n in range(count)]
    import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(csv_bytes(rows)), file_name="v.csv",
                      actor=person("manager"), now=NOW, dry_run=False)
    sw = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))
    return list(session.scalars(select(QueryLog).where(QueryLog.agency_id == sw.id, QueryLog.case_number.like("v-%"))
                                .order_by(QueryLog.id)))


def open_task(session, app_id: int) -> HumanTask:
    session.expire_all()
    return session.scalar(select(HumanTask).where(HumanTask.application_id == app_id,
                                                  HumanTask.state == TaskState.OPEN))


def walk(session, person, app_id: int, *, reported_on) -> Application:
    """The manager corrects and reports (on ``reported_on``), 勞工局's clerk acknowledges."""
    task = open_task(session, app_id)
    assert (task.step, task.role) == ("correct", "agency_manager")
    complete_task(session, task_id=task.id, actor=person("manager"), decision="approve", now=NOW,
                  data={"corrected_on": "2026-11-25", "correction": "停用該帳號並重新教育訓練"})
    task = open_task(session, app_id)
    assert (task.step, task.role) == ("report", "agency_manager")
    with pytest.raises(Invalid):  # a report says why it happened and what prevents it again
        complete_task(session, task_id=task.id, actor=person("manager"), decision="approve", now=reported_on,
                      data={"cause": "未先登記", "review": " "})
    complete_task(session, task_id=task.id, actor=person("manager"), decision="approve", now=reported_on,
                  data={"cause": "未先登記即查詢", "review": "查詢前由科長確認登記表"})
    task = open_task(session, app_id)
    assert (task.step, task.role) == ("authority_file", "authority_clerk")
    with pytest.raises(Forbidden):
        complete_task(session, task_id=task.id, actor=person("manager"), decision="approve", now=reported_on)
    return complete_task(session, task_id=task.id, actor=person("labor_clerk"), decision="approve",
                         now=reported_on)


def test_a_flag_raised_as_a_violation_opens_its_case_walked_to_the_report_on_time(session, person):
    log = import_rows(session, person)[0]
    flag = flag_names(log.flags)[0]

    answer_flag(session, log_id=log.id, flag=flag, action="violation", reason="未登記即查詢", actor=person("manager"),
                now=NOW)

    case = session.scalar(select(ViolationCase).where(ViolationCase.log_id == log.id))
    assert (case.source, case.flag, case.description) == ("flag", flag, "未登記即查詢")
    assert case.report_due == date(2026, 11, 25) + timedelta(days=10)  # 003 §8: 十日內
    app = session.get(Application, case.application_id)
    assert (app.form_key, app.agency_id, app.applicant_id) == ("violation", log.agency_id, None)
    assert app.data["query_log_id"] == log.id
    opened = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "violation_case_opened",
                                                     AuditEvent.subject_id == app.id))
    assert opened.actor_id == person("manager").id and opened.payload["query_log"] == log.id

    done = walk(session, person, app.id, reported_on=NOW + timedelta(days=10))

    assert done.state.value == "completed"
    [row] = case_rows(session, person("labor_clerk"), NOW + timedelta(days=11), log_id=log.id)
    assert (row.late, row.reported_at is not None, row.state) == (False, True, "completed")


def test_a_report_filed_after_the_deadline_is_late_and_an_unfiled_one_late_once_the_day_passes(session, person):
    log = import_rows(session, person)[1]
    answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="violation", reason="查詢同事資料",
                actor=person("manager"), now=NOW)
    case = session.scalar(select(ViolationCase).where(ViolationCase.log_id == log.id))
    [row] = case_rows(session, person("manager"), NOW + timedelta(days=10), log_id=log.id)
    assert (row.late, row.reported_at) == (False, None)
    [row] = case_rows(session, person("manager"), NOW + timedelta(days=11), log_id=log.id)
    assert (row.late, row.reported_at) == (True, None)

    walk(session, person, case.application_id, reported_on=NOW + timedelta(days=12))

    [row] = case_rows(session, person("manager"), NOW + timedelta(days=12), log_id=log.id)
    assert row.late and row.reported_at is not None


def test_the_deadline_is_the_agencys_own_when_set(session, person, monkeypatch):
    monkeypatch.setattr(SETTINGS, "violation_report_days_by_agency", {"KHH-SW": 3})
    log = import_rows(session, person)[0]
    answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="violation", reason="x",
                actor=person("manager"), now=NOW)
    assert session.scalar(select(ViolationCase.report_due).where(ViolationCase.log_id == log.id)) == \
        date(2026, 11, 28)


def test_an_explained_flag_opens_nothing(session, person):
    log = import_rows(session, person)[0]
    answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="explained", reason="已補登記",
                actor=person("manager"), now=NOW)
    assert session.scalar(select(ViolationCase.id).where(ViolationCase.log_id == log.id)) is None


def test_cases_are_seen_as_the_agencys_logs(session, person):
    log = import_rows(session, person)[0]
    answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="violation", reason="x",
                actor=person("manager"), now=NOW)
    for who in ("manager", "sw_auditor", "sw_head", "labor_clerk", "it_clerk", "admin"):
        assert [r.log_id for r in case_rows(session, person(who), NOW)] == [log.id], who
    assert case_rows(session, person("ep_manager"), NOW) == []  # 環保局: another agency
    for who in ("applicant", "sw_unit_head"):
        with pytest.raises(Forbidden):
            case_rows(session, person(who), NOW)


def test_a_sampled_problem_is_raised_as_a_violation_once_by_the_checker(session, person):
    logs = import_rows(session, person, 3)
    sw = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))
    draw = draw_sample(session, agency=sw, month=date(2026, 11, 1), actor=person("sw_auditor"), now=NOW, seed=1)
    ok, problem = draw.log_ids[0], draw.log_ids[1]
    assert set(draw.log_ids) == {log.id for log in logs}
    check_sample_row(session, draw_id=draw.id, log_id=ok, verdict="ok", note="", actor=person("sw_auditor"), now=NOW)
    check_sample_row(session, draw_id=draw.id, log_id=problem, verdict="problem", note="事由與案號不符",
                     actor=person("sw_auditor"), now=NOW)

    with pytest.raises(Invalid):
        raise_sampling_violation(session, draw_id=draw.id, log_id=ok, actor=person("sw_auditor"), now=NOW)
    with pytest.raises(Forbidden):
        raise_sampling_violation(session, draw_id=draw.id, log_id=problem, actor=person("ep_manager"), now=NOW)
    case = raise_sampling_violation(session, draw_id=draw.id, log_id=problem, actor=person("sw_auditor"), now=NOW)
    with pytest.raises(Conflict):
        raise_sampling_violation(session, draw_id=draw.id, log_id=problem, actor=person("sw_auditor"), now=NOW)

    assert (case.source, case.draw_id, case.log_id, case.description) == \
        ("sampling", draw.id, problem, "事由與案號不符")
    assert open_task(session, case.application_id).step == "correct"


def test_a_major_anomaly_starts_the_joint_audit_walked_to_its_report(session, person):
    log = import_rows(session, person)[0]
    with pytest.raises(Invalid):  # only a violation can be major
        answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="explained", reason="x",
                    actor=person("manager"), now=NOW, major=True)

    answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="violation", reason="大量查詢非案件對象",
                actor=person("manager"), now=NOW, major=True)

    case = session.scalar(select(ViolationCase).where(ViolationCase.log_id == log.id))
    audit_app = session.get(Application, case.joint_audit_id)
    assert (audit_app.form_key, audit_app.agency_id, audit_app.data["violation_case"]) == \
        ("joint_audit", log.agency_id, case.id)
    task = open_task(session, audit_app.id)
    assert (task.step, task.role) == ("auditor_audit", "auditor")
    with pytest.raises(Forbidden):
        complete_task(session, task_id=task.id, actor=person("manager"), decision="approve", now=NOW)
    complete_task(session, task_id=task.id, actor=person("sw_auditor"), decision="approve", now=NOW, data={
        "audit_date": "2026-11-26", "ethics_unit": "周志豪（政風室）", "findings": "該帳號一週內查詢 40 筆無案號"})
    task = open_task(session, audit_app.id)
    assert (task.step, task.role) == ("it_review", "it_unit")
    # The IT unit sees the audit it has a step in, not the agency's other applications (the case among them).
    it_staff = person("sw_it_staff")
    assert may_view(session, audit_app.id, it_staff, NOW.date())
    assert not may_view(session, case.application_id, it_staff, NOW.date())
    complete_task(session, task_id=task.id, actor=person("sw_it_staff"), decision="approve", now=NOW,
                  data={"it_findings": "連線 IP 為機關內部；帳號已停用"})
    task = open_task(session, audit_app.id)
    complete_task(session, task_id=task.id, actor=person("sw_auditor"), decision="approve", now=NOW, data={
        "violations_found": True, "conclusion": "違反 001 第九點", "improvements": "每月抽查比例提高至 10%"})
    task = open_task(session, audit_app.id)
    assert (task.step, task.role) == ("agency_head_ack", "agency_head")
    done = complete_task(session, task_id=task.id, actor=person("sw_head"), decision="approve", now=NOW)

    assert done.state.value == "completed"
    report = {h.step: h.data for h in session.get(Application, audit_app.id).history}
    assert report["auditor_report"]["conclusion"] == "違反 001 第九點"
    assert report["it_review"]["it_findings"] == "連線 IP 為機關內部；帳號已停用"
    started = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "joint_audit_started"))
    assert started.actor_id == person("manager").id and started.payload["case"] == case.id


def test_the_manager_or_auditor_may_start_a_joint_audit_later_once(session, person):
    log = import_rows(session, person)[0]
    answer_flag(session, log_id=log.id, flag=flag_names(log.flags)[0], action="violation", reason="x",
                actor=person("manager"), now=NOW)
    case = session.scalar(select(ViolationCase).where(ViolationCase.log_id == log.id))
    assert case.joint_audit_id is None
    with pytest.raises(Forbidden):
        start_joint_audit(session, case_id=case.id, reason="重大", actor=person("ep_manager"), now=NOW)
    with pytest.raises(Invalid):
        start_joint_audit(session, case_id=case.id, reason=" ", actor=person("sw_auditor"), now=NOW)

    app = start_joint_audit(session, case_id=case.id, reason="同一帳號多次違規", actor=person("sw_auditor"), now=NOW)

    with pytest.raises(Conflict):
        start_joint_audit(session, case_id=case.id, reason="again", actor=person("manager"), now=NOW)
    assert open_task(session, app.id).step == "auditor_audit"
    [row] = case_rows(session, person("manager"), NOW, log_id=log.id)
    assert row.joint_audit_id == app.id
