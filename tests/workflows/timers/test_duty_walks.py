"""The recurring duties walked to their end as their real people, each started by its schedule.

usage check (000 §3(4)3, 003 §7): 社會局's manager checks, 勞工局's clerk files it · monthly sampling (001 §12(1)):
社會局's auditor samples at least 3 % and 10 records · yearly audit (001 §12(3), 000 §6(2)): 勞工局's clerk audits
with 資訊處, the section head acknowledges, the audited agency corrects every finding · security self-audit (001
§12(3)a): each agency's manager, its head approves. (The items review, the account review and the role transfer
have their own tests.)
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.duties import approve, started
from workflows.errors import Invalid
from workflows.filing import reads


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
    ``central_clerk`` (資訊處's 承辦人, it_clerk) and then ``agency_head`` as resolved in 資訊處 (its 處長, it_director)."""
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
