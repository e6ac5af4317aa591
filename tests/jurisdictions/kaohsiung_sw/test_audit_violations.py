"""社會局's 稽核紀錄表 that finds a violation opens the querier's violation case when the 局長 approves it
(003 §8 ¶2: 資料查詢者應立即改正，並於十日內提具檢討報告): the same case and chain a flagged log row opens."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from models import Application, AuditEvent, ViolationCase
from tests.conftest import NOW
from tests.jurisdictions.kaohsiung_sw.test_chains import AUDIT_RECORD
from workflows.oversight.violations import case_rows

FOUND = {**AUDIT_RECORD, "violation_found": True,
         "details": "抽核 12 件查調紀錄，其中 2 件未先填查調資料登記表即行查詢",
         "opinion": "2 件未經登記即查詢，請立即改正"}


def seal_all(app, decide):
    app = decide(app, "sw_auditor", "auditor_seal")
    app = decide(app, "applicant", "querier_seal", minutes=1)
    app = decide(app, "sw_unit_head", "querier_unit_head_seal", minutes=2)
    return decide(app, "sw_it_head", "audit_unit_head_seal", minutes=3)


def cases_of(session, record_id: int) -> list[ViolationCase]:
    session.expire_all()
    return list(session.scalars(select(ViolationCase).where(ViolationCase.audit_record_id == record_id)))


def test_a_record_that_found_a_violation_opens_the_querier_s_case_when_the_director_general_approves(
        session, person, submit, decide):
    record = seal_all(submit("manager", "audit_record", FOUND), decide)
    assert cases_of(session, record.id) == []  # not before the 局長 has read it

    record = decide(record, "sw_head", "director_review", minutes=4)

    assert record.state == "completed"
    [case] = cases_of(session, record.id)
    assert (case.source, case.log_id, case.agency_id) == ("audit_record", None, record.agency_id)
    assert case.report_due == date(2026, 11, 25) + timedelta(days=10)  # the layer's ten days (003 §8 ¶2)
    assert "未經登記即查詢" in case.description
    opened = session.get(Application, case.application_id)
    assert (opened.form_key, opened.applicant_id) == ("violation", None)
    assert (opened.data["source"], opened.data["audit_record"], opened.data["querier"]) == \
        ("audit_record", record.id, "applicant")
    assert opened.data["account"] == "applicant.egov"  # the audited querier's WebIR account
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "violation_case_opened",
                                                    AuditEvent.subject_id == opened.id))
    assert event.actor_id == person("sw_head").id and event.payload["audit_record"] == record.id

    # The case runs the violation chain to its review report and 勞工局's filing.
    case_app = decide(opened, "manager", "correct", minutes=5, corrected_on="2026-11-26",
                      correction="停止該查詢者權限並補辦登記、重新教育訓練")
    case_app = decide(case_app, "manager", "report", minutes=6, cause="未先填查調資料登記表即查詢",
                      review="查詢前由科長核可登記表，每月由資訊小組比對")
    case_app = decide(case_app, "labor_clerk", "authority_file", minutes=7)
    assert case_app.state == "completed"
    [row] = [r for r in case_rows(session, person("manager"), NOW + timedelta(days=1)) if r.id == case.id]
    assert (row.source, row.log_id, row.audit_record_id, row.late, row.state) == \
        ("audit_record", None, record.id, False, "completed")
    assert row.reported_at is not None


def test_a_record_without_a_violation_opens_no_case(session, submit, decide):
    record = decide(seal_all(submit("manager", "audit_record", AUDIT_RECORD), decide), "sw_head", "director_review",
                    minutes=4)
    assert record.state == "completed"
    assert cases_of(session, record.id) == []


def test_a_record_sent_back_by_the_director_general_opens_no_case_yet(session, submit, decide):
    record = decide(seal_all(submit("manager", "audit_record", FOUND), decide), "sw_head", "director_review",
                    "return", "請補附稽核文件", minutes=4)
    assert record.state != "completed"
    assert cases_of(session, record.id) == []
