"""The recurring duties walked to their end as their real people, each started by its schedule.

usage check (000 §3(4)3, 003 §7): 社會局's manager checks, 勞工局's clerk files it · monthly sampling (001 §12(1)):
社會局's auditor samples at least 3 % and 10 records · yearly audit (001 §12(3), 000 §6(2)): 勞工局's clerk audits,
the section head acknowledges. (The items review, the account review and the role transfer have their own tests.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from models import Application
from workflows.errors import Invalid
from workflows.filing import reads
from workflows.filing.tasks import complete_task
from workflows.timers import duties


def start(session, name, when):
    with time_machine.travel(when, tick=False):
        run = duties.run_schedule(session, duties.find_schedule(name), when)
    return {app.agency.code: app for app in (session.get(Application, i) for i in run.detail["applications"])}


@pytest.fixture
def decide(session, person):
    def _decide(username, app, step, when, **data):
        actor = person(username)
        row = next(r for r in reads.list_inbox(session, actor) if r.application_id == app.id)
        assert row.step == step
        with time_machine.travel(when + timedelta(hours=1), tick=False):
            return complete_task(session, task_id=row.task_id, actor=actor, decision="approve", opinion="",
                                 data=data, now=when + timedelta(hours=1))
    return _decide


def test_the_quarterly_usage_check_goes_from_the_manager_to_the_labour_bureau(session, decide):
    when = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)
    checks = start(session, "usage_check", when)
    assert set(checks) == {"KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}
    sw = decide("manager", checks["KHH-SW"], "manager_check", when, period_from="2026-10-01",
                period_to="2026-12-31", anomalies_found=False, findings="使用紀錄與登記表相符")
    sw = decide("labor_clerk", sw, "authority_file", when)
    assert sw.state == "completed"
    assert [h.step for h in sw.history] == ["manager_check", "authority_file"]
    assert sw.history[0].data["findings"] == "使用紀錄與登記表相符"


def test_the_monthly_sampling_holds_the_auditor_to_three_percent_and_ten_records(session, decide):
    when = datetime(2027, 2, 3, 1, 0, tzinfo=UTC)
    sw = start(session, "monthly_sampling", when)["KHH-SW"]
    with pytest.raises(Invalid) as refused:
        decide("sw_auditor", sw, "auditor_sample", when, total_queries=400, sampled_records=11, findings="x")
    assert refused.value.errors["sampled_records"].startswith("本月應至少抽查 12 筆")
    sw = decide("sw_auditor", sw, "auditor_sample", when, total_queries=400, sampled_records=12,
                anomalies_found=False, findings="抽查 12 筆，均有登記表")
    assert sw.state == "completed"


def test_the_yearly_audit_is_done_by_the_labour_bureau_and_acknowledged(session, decide):
    when = datetime(2027, 3, 1, 1, 0, tzinfo=UTC)
    audits = start(session, "agency_audit", when)
    ep = decide("labor_clerk", audits["KHH-EP"], "authority_audit", when, audit_date="2027-03-02",
                violations_found=False, findings="查核帳號清冊、登記表及抽查紀錄，無缺失", recommendation="")
    ep = decide("labor_chief", ep, "authority_section_head_ack", when)
    assert ep.state == "completed"
    assert ep.history[0].data["audit_date"] == "2027-03-02"
