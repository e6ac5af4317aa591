"""The recurring duties walked to their end as their real people, each started by its schedule.

usage check (000 §3(4)3, 003 §7): 社會局's manager checks, 勞工局's clerk files it · monthly sampling (001 §12(1)):
社會局's auditor samples at least 3 % and 10 records · yearly audit (001 §12(3), 000 §6(2)): 勞工局's clerk audits
with 資訊處, the section head acknowledges, the audited agency corrects every finding · security self-audit (001
§12(3)a): each agency's manager, its head approves; 資訊處's own, its clerk, its director approves · account review
(001 §6(6)): the manager decides each account, the head acknowledges · sampling report (001 §12(1)): every three
months to 勞工局 · usage check with an anomaly (000 §3(4)3, 001 §12(2)): the manager raises the flagged query as a
major anomaly, its violation case and joint audit are walked, and the check with the anomaly goes to the agency's
head, then to 勞工局 (without one, straight to 勞工局).

Walked from their start elsewhere: the items review (tests/workflows/accounts/test_items_review.py, from
``run_schedule`` to 勞保局's termination and 資訊處's setting), the role transfer on its date
(tests/workflows/accounts/test_transfers.py, the timer sweep on the date), the deletion confirmation a month
after use (tests/workflows/timers/test_deletions.py, ``start_due_deletions`` as the sweep runs it, the querier's
proof) and the yearly destruction (tests/workflows/retention/test_destruction.py, ``run_schedule`` on
1 December, the manager and the head).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import Application, QueryLog, ViolationCase, flag_names
from tests.duties import approve, started
from tests.workflows.oversight.test_violations import import_rows, walk
from workflows.errors import Invalid
from workflows.filing import reads
from workflows.filing.tasks import step_fields
from workflows.oversight.flags import answer_flag


@pytest.fixture
def decide(session, person):
    def _decide(username, app, step, when, **data):
        return approve(session, person(username), app, step, when, **data)
    return _decide


def test_the_quarterly_usage_check_goes_from_the_manager_to_the_labour_bureau(session, decide):
    when = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
    checks = started(session, "usage_check", when)
    assert set(checks) == {"KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}
    sw = decide("manager", checks["KHH-SW"], "manager_check", when, period_from="2026-10-01",
                period_to="2026-12-31", anomalies_found=False, findings="使用紀錄與登記表相符")
    sw = decide("labor_clerk", sw, "authority_file", when)
    assert sw.state == "completed"
    assert [h.step for h in sw.history] == ["manager_check", "authority_file"]
    assert sw.history[0].data["findings"] == "使用紀錄與登記表相符"


def test_the_monthly_sampling_holds_the_auditor_to_three_percent_and_ten_records(session, decide):
    when = datetime(2027, 2, 3, 1, 0, tzinfo=UTC)
    sw = started(session, "monthly_sampling", when)["KHH-SW"]
    with pytest.raises(Invalid) as refused:
        decide("sw_auditor", sw, "auditor_sample", when, total_queries=400, sampled_records=11, findings="x")
    assert refused.value.errors["sampled_records"].startswith("本月應至少抽查 12 筆")
    sw = decide("sw_auditor", sw, "auditor_sample", when, total_queries=400, sampled_records=12,
                anomalies_found=False, findings="抽查 12 筆，均有登記表")
    assert sw.state == "completed"


AUDIT = dict(audit_date="2027-03-02", accuracy="ok", legitimacy="ok", usage="ok", confidentiality="ok",
             findings="查核帳號清冊、登記表及抽查紀錄", proposal="none")


def test_the_yearly_audit_with_no_finding_ends_after_the_section_head(session, decide):
    when = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    audits = started(session, "agency_audit", when)
    assert set(audits) == {"KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}  # 勞工局 and each requesting agency
    ep = decide("labor_clerk", audits["KHH-EP"], "authority_audit", when, **AUDIT)
    ep = decide("it_clerk", ep, "central_audit", when, central_findings="資訊安全設定符合規定")
    ep = decide("labor_chief", ep, "authority_section_head_ack", when)
    assert ep.state == "completed"
    assert [h.step for h in ep.history] == ["authority_audit", "central_audit", "authority_section_head_ack"]
    assert ep.history[0].data["findings_open"] is False and "open_findings" not in ep.history[0].data


def test_the_yearly_audit_is_held_with_the_information_department_and_its_findings_are_closed_one_by_one(
        session, decide, person):
    when = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    ep = started(session, "agency_audit", when)["KHH-EP"]
    with pytest.raises(Invalid) as refused:  # 待改善 needs its note; a proposal of punishment its content
        decide("labor_clerk", ep, "authority_audit", when, **{**AUDIT, "accuracy": "improve",
                                                              "proposal": "punishment"})
    assert set(refused.value.errors) == {"accuracy_note", "proposal_detail"}
    typed = {**AUDIT, "accuracy": "improve", "accuracy_note": "登記表查詢日期與紀錄不符",
             "confidentiality": "improve", "confidentiality_note": "影印資料未上鎖",
             "proposal": "punishment", "proposal_detail": "承辦人申誡一次"}
    with pytest.raises(Invalid) as refused:  # whether findings are open is the record's, never typed
        decide("labor_clerk", ep, "authority_audit", when, **typed, findings_open=False)
    assert set(refused.value.errors) == {"findings_open"}
    ep = decide("labor_clerk", ep, "authority_audit", when, **typed)
    assert ep.history[0].data["open_findings"] == ["accuracy", "confidentiality"]
    assert ep.history[0].data["proposal_detail"] == "承辦人申誡一次"
    ep = decide("it_clerk", ep, "central_audit", when, central_findings="帳號權限設定無誤")
    ep = decide("labor_chief", ep, "authority_section_head_ack", when)
    assert ep.state == "running"

    # The audited agency's manager records each correction; the chain waits while one is open.
    manager = person("ep_manager")
    row = next(r for r in reads.list_inbox(session, manager) if r.application_id == ep.id)
    assert row.step == "agency_correction"
    assert not [r for r in reads.list_inbox(session, person("manager")) if r.application_id == ep.id]
    with pytest.raises(Invalid) as refused:
        decide("ep_manager", ep, "agency_correction", when, closed_findings=["usage"], corrected_on="2027-03-20",
               correction="x")
    assert "closed_findings" in refused.value.errors  # only an open finding can be closed
    ep = decide("ep_manager", ep, "agency_correction", when, closed_findings=["accuracy"],
                corrected_on="2027-03-20", correction="登記表逐筆補正查詢日期")
    assert ep.state == "running" and ep.history[-1].data["open_findings"] == ["confidentiality"]
    with pytest.raises(Invalid):  # a finding closed is closed
        decide("ep_manager", ep, "agency_correction", when, closed_findings=["accuracy"],
               corrected_on="2027-03-25", correction="x")
    ep = decide("ep_manager", ep, "agency_correction", when, closed_findings=["confidentiality"],
                corrected_on="2027-03-25", correction="影印資料改存上鎖櫃")
    assert ep.state == "completed"
    assert [h.step for h in ep.history] == ["authority_audit", "central_audit", "authority_section_head_ack",
                                            "agency_correction", "agency_correction"]
    assert [h.data["closed_findings"] for h in ep.history[3:]] == [["accuracy"], ["confidentiality"]]


def test_each_agency_audits_its_own_security_yearly_and_its_head_approves(session, decide):
    when = datetime(2027, 10, 1, 1, 0, tzinfo=UTC)
    audits = started(session, "security_self_audit", when)
    assert set(audits) == {"KHH-IT", "KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}  # 資訊處 too: below
    with pytest.raises(Invalid) as refused:
        decide("ep_manager", audits["KHH-EP"], "manager_self_audit", when, audit_date="2027-10-05",
               webir_included=False, findings="x")
    assert "webir_included" in refused.value.errors  # the audit must include WebIR (001 §12(3)a)
    ep = decide("ep_manager", audits["KHH-EP"], "manager_self_audit", when, audit_date="2027-10-05",
                webir_included=True, findings="資訊安全稽核含勞保 WebIR，無缺失", improvements="")
    ep = decide("ep_head", ep, "head_approval", when)
    assert ep.state == "completed"
    assert [(h.step, h.actor.username) for h in ep.history] == [("manager_self_audit", "ep_manager"),
                                                                 ("head_approval", "ep_head")]


def test_the_information_department_audits_its_own_security_too_its_clerk_records_and_its_director_approves(
        session, decide, person):
    """001 §12(3)a names 總管理機關 first: 資訊處 has no agency manager, so its instance goes to the lane
    ``central_clerk`` (資訊處's 承辦人, it_clerk) and then ``agency_head`` as resolved in 資訊處 (its 處長,
    it_director)."""
    when = datetime(2027, 10, 1, 1, 0, tzinfo=UTC)
    audits = started(session, "security_self_audit", when)
    assert set(audits) == {"KHH-IT", "KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}
    it = audits["KHH-IT"]
    assert it.data["central_agency"] is True and audits["KHH-EP"].data["central_agency"] is False
    assert not [r for r in reads.list_inbox(session, person("ep_manager")) if r.application_id == it.id]
    with pytest.raises(Invalid) as refused:
        decide("it_clerk", it, "central_self_audit", when, audit_date="2027-10-04", webir_included=False,
               findings="x")
    assert "webir_included" in refused.value.errors
    it = decide("it_clerk", it, "central_self_audit", when, audit_date="2027-10-04", webir_included=True,
                findings="機房及勞保 WebIR 連線電腦之資訊安全稽核，無缺失")
    assert not [r for r in reads.list_inbox(session, person("it_chief")) if r.application_id == it.id]
    it = decide("it_director", it, "head_approval", when)
    assert it.state == "completed"
    assert [(h.step, h.actor.username) for h in it.history] == [("central_self_audit", "it_clerk"),
                                                                 ("head_approval", "it_director")]


def test_the_yearly_account_review_is_decided_per_account_by_the_manager_and_acknowledged_by_the_head(
        session, decide, person):
    when = datetime(2027, 1, 15, 1, 0, tzinfo=UTC)
    reviews = started(session, "account_review", when)
    assert set(reviews) == {"KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}
    sw = reviews["KHH-SW"]
    manager = person("manager")
    row = next(r for r in reads.list_inbox(session, manager) if r.application_id == sw.id)
    fields = step_fields(session, sw, next(t for t in sw.tasks if t.id == row.task_id), when).fields
    keep = {f.name: "keep" for f in fields if f.name.endswith("_decision")}
    assert keep  # one decision per querier account of 社會局
    sw = decide("manager", sw, "manager_review", when, findings="帳號均屬業務必要", **keep)
    sw = decide("sw_head", sw, "agency_head_ack", when)
    assert sw.state == "completed"
    assert [(h.step, h.actor.username) for h in sw.history] == [("manager_review", "manager"),
                                                                 ("agency_head_ack", "sw_head")]


def test_the_quarterly_sampling_report_goes_from_the_manager_to_the_labour_bureau(session, decide):
    when = datetime(2027, 4, 10, 1, 0, tzinfo=UTC)
    reports = started(session, "sampling_report", when)
    assert set(reports) == {"KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}
    ep = decide("ep_manager", reports["KHH-EP"], "manager_send", when, anomalies_found=False,
                findings="一至三月每月抽查均達 3% 且不少於 10 筆，無異常")
    ep = decide("labor_clerk", ep, "authority_file", when)
    assert ep.state == "completed"
    assert [(h.step, h.actor.username) for h in ep.history] == [("manager_send", "ep_manager"),
                                                                 ("authority_file", "labor_clerk")]


def test_a_usage_check_with_an_anomaly_raises_it_as_a_major_one_walked_to_its_joint_audit_and_to_the_labour_bureau(
        session, decide, person):
    [log, _] = import_rows(session, person)  # last quarter's downloaded log of 社會局, each row flagged
    when = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
    sw = started(session, "usage_check", when)["KHH-SW"]
    assert (sw.data["logged_queries"], sw.data["flagged_queries"]) == (2, 2)
    # The manager finds a query without its registration and raises it as a major anomaly (001 §12(2)).
    answer_flag(session, log_id=log.id, flag=flag_names(session.get(QueryLog, log.id).flags)[0],
                action="violation", reason="未登記即查詢", actor=person("manager"), now=when, major=True)
    case = session.scalar(select(ViolationCase).where(ViolationCase.log_id == log.id))
    joint = session.scalar(select(Application).where(Application.form_key == "joint_audit",
                                                     Application.agency_id == sw.agency_id))
    joint = decide("sw_auditor", joint, "auditor_audit", when, audit_date="2027-01-06", ethics_unit="政風室周志豪",
                   findings="承辦人未先登記即查詢一筆")
    joint = decide("sw_it_staff", joint, "it_review", when, it_findings="帳號權限與連線 IP 無異常")
    joint = decide("sw_auditor", joint, "auditor_report", when, violations_found=True, conclusion="違反第九點",
                   improvements="查詢前由科長確認登記表")
    joint = decide("sw_head", joint, "agency_head_ack", when)
    assert joint.state == "completed"
    assert walk(session, person, case.application_id, reported_on=when).state.value == "completed"

    sw = decide("manager", sw, "manager_check", when, period_from="2026-10-01", period_to="2026-12-31",
                anomalies_found=True, findings="2 筆註記：1 筆列為重大異常，已會同政風稽核並提出檢討報告")
    # 000 §3(4)3: an anomaly is reported to the agency's head before the result goes to 勞工局.
    sw = decide("sw_head", sw, "head_review", when)
    sw = decide("labor_clerk", sw, "authority_file", when)
    assert sw.state == "completed"
    assert [(h.step, h.actor.username) for h in sw.history] == [
        ("manager_check", "manager"), ("head_review", "sw_head"), ("authority_file", "labor_clerk")]
    assert sw.history[0].data["anomalies_found"] is True
