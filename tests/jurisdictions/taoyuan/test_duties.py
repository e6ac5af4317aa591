"""Taoyuan's recurring duties (004) on their own rhythms, each started by its schedule and walked to its end as
Taoyuan's people through the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from models import Application
from workflows.timers import duties

from .conftest import passwords_changed
from .test_chains import application, decide

TAIPEI_9AM = timedelta(hours=1)  # 09:00 in Taipei is 01:00 UTC


def at(day: str) -> datetime:
    """09:00 in Taipei on an ISO date."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + TAIPEI_9AM


def start(session, name: str, when: datetime) -> dict[str, list[Application]]:
    """Run the schedule at ``when``; its instances by agency code. Everyone's password is fresh then."""
    passwords_changed(session, when - timedelta(days=1))
    with time_machine.travel(when, tick=False):
        run = duties.run_schedule(session, duties.find_schedule(name), when)
    assert run.result == "ok", run.detail
    out: dict[str, list[Application]] = {}
    for app in (session.get(Application, i) for i in run.detail["applications"]):
        out.setdefault(app.agency.code, []).append(app)
    return out


def test_the_schedules_are_taoyuans_with_its_rhythms(api):
    with time_machine.travel(at("2026-12-02"), tick=False):
        rows = {r["name"]: r for r in api.as_("admin").get("/api/v1/schedules").get_json()}
    assert set(rows) == {"usage_report", "onsite_audit", "account_review", "password_reminder", "commissioned_audit"}
    next_run = {name: datetime.fromisoformat(r["next_run_at"]).astimezone(UTC) for name, r in rows.items()}
    assert next_run == {
        "usage_report": at("2027-01-01"),  # monthly, from the 1st (004 §4(5)3: by the 10th)
        "password_reminder": at("2027-01-01"),  # every three months (004 §7)
        "account_review": at("2027-01-15"),  # the agencies' own periodic review (004 §8(1)2)
        "commissioned_audit": at("2027-01-15"),  # 社會局 over the district office it commissioned (004 §9)
        "onsite_audit": at("2027-03-01"),  # 勞動局 at least yearly (004 §8(2)2)
    }
    assert rows["usage_report"]["title"] == "每月使用情形陳報及稽核"


def test_each_querier_reports_last_months_use_by_the_10th_and_the_manager_audits_it_for_the_head(api, session):
    when = at("2027-01-01")
    reports = start(session, "usage_report", when)
    assert {code: [a.applicant.username for a in apps] for code, apps in reports.items()} == {
        "TY-SW": ["applicant"], "TY-FX": ["fx_querier"]}
    [sw] = reports["TY-SW"]
    with time_machine.travel(when + timedelta(hours=2), tick=False):
        [task] = [t for t in api.as_("applicant").get("/api/v1/tasks").get_json() if t["application"] == sw.id]
        assert datetime.fromisoformat(task["due_at"]) == datetime(2027, 1, 10, 16, 0, tzinfo=UTC)  # end of the 10th
        decide(api, "applicant", sw.id, "querier_report", period_from="2026-12-01", period_to="2026-12-31",
               query_count=42, usage_record="查調 42 筆，均有登記表", all_justified=True)
        decide(api, "manager", sw.id, "manager_audit", anomalies_found=False, findings="與登記表相符")
        decide(api, "sw_deputy", sw.id, "head_review")  # the head's delegate (授權人員) reads it
        assert application(api, sw.id)["state"] == "completed"


def test_an_anomaly_found_by_the_manager_goes_to_the_agency_head_to_be_handled(api, session):
    when = at("2027-02-01")
    [fx] = start(session, "usage_report", when)["TY-FX"]
    with time_machine.travel(when + timedelta(hours=2), tick=False):
        decide(api, "fx_querier", fx.id, "querier_report", period_from="2027-01-01", period_to="2027-01-31",
               query_count=3, usage_record="查調 3 筆", all_justified=False)
        decide(api, "fx_manager", fx.id, "manager_audit", anomalies_found=True, findings="1 筆無登記表")
        decide(api, "fx_head", fx.id, "head_anomaly", handling="查明係誤查，已要求補正並加強宣導")
        view = application(api, fx.id)
    assert view["state"] == "completed"
    assert [h["step"] for h in view["history"] if h["step"] != "start"] == [
        "querier_report", "manager_audit", "head_anomaly"]


def test_the_labour_bureaus_yearly_on_site_audit_keeps_its_checklist_and_its_proposal(api, session):
    when = at("2027-03-01")
    audits = start(session, "onsite_audit", when)
    assert set(audits) == {"TY-LAB", "TY-SW", "TY-FX"}
    [sw] = audits["TY-SW"]
    checklist = {"audit_date": "2027-03-10", "accuracy": "ok", "legitimacy": "ok", "usage_verified": "ok",
                 "copies_kept_confidential": "improve", "findings": "影印資料未上鎖存放", "proposal": "punishment"}
    with time_machine.travel(when + timedelta(hours=2), tick=False):
        labor = api.as_("labor_clerk")
        [task] = [t for t in labor.get("/api/v1/tasks").get_json() if t["application"] == sw.id]
        refused = labor.post(f"/api/v1/tasks/{task['id']}/complete",
                             json={"decision": "approve", "opinion": "", "data": checklist})
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"proposal_detail"}
        decide(api, "labor_clerk", sw.id, "authority_audit", **checklist,
               proposal_detail="建議承辦人員申誡一次", to_city_council=False)
        decide(api, "labor_director", sw.id, "authority_director_sign")
        decide(api, "sw_head", sw.id, "agency_head_read")
        view = application(api, sw.id)
    assert view["state"] == "completed"
    audit = next(h for h in view["history"] if h["step"] == "authority_audit")
    assert audit["data"]["copies_kept_confidential"] == "improve" and audit["data"]["proposal"] == "punishment"


def test_the_password_reminder_reaches_managers_and_queriers_alike(api, session):
    when = at("2027-01-01")
    reminders = start(session, "password_reminder", when)
    assert sorted(a.applicant.username for apps in reminders.values() for a in apps) == [
        "applicant", "fx_manager", "fx_querier", "manager"]
    [mine] = [a for a in reminders["TY-SW"] if a.applicant.username == "manager"]
    with time_machine.travel(when + timedelta(hours=2), tick=False):
        decide(api, "manager", mine.id, "change_password")
        assert application(api, mine.id)["state"] == "completed"


def test_the_agencys_own_account_review_keeps_or_ends_each_querier_account(api, session):
    when = at("2027-01-15")
    [sw] = start(session, "account_review", when)["TY-SW"]
    with time_machine.travel(when + timedelta(hours=2), tick=False):
        manager = api.as_("manager")
        [task] = [t for t in manager.get("/api/v1/tasks").get_json() if t["application"] == sw.id]
        fields = manager.get(f"/api/v1/tasks/{task['id']}").get_json()["fields"]
        decisions = {f["name"]: "keep" for f in fields if f["name"].endswith("_decision")}
        assert decisions  # the applicant's querier account, at least
        decide(api, "manager", sw.id, "manager_review", findings="帳號均屬有效", **decisions)
        decide(api, "sw_head", sw.id, "agency_head_ack")
        assert application(api, sw.id)["state"] == "completed"


def test_the_commissioning_agency_reviews_and_audits_the_district_offices_queries(api, session):
    when = at("2027-01-15")
    audits = start(session, "commissioned_audit", when)
    assert set(audits) == {"TY-FX"}  # 復興區公所, commissioned by 社會局; no other agency is
    [fx] = audits["TY-FX"]
    with time_machine.travel(when + timedelta(hours=2), tick=False):
        district = api.as_("sw_district")  # 社會局's reviewer: a step in another agency's (the office's) chain
        assert district.get("/api/v1/query-logs?agency=TY-FX").status_code == 200  # the office's queries
        assert api.as_("sw_staff").get("/api/v1/query-logs?agency=TY-FX").status_code == 403  # the role gives it
        decide(api, "sw_district", fx.id, "commissioner_audit", period_from="2026-10-01", period_to="2026-12-31",
               queries_reviewed=18, registrations_complete="ok", legitimacy="ok", copies_kept_confidential="ok",
               findings="18 筆查調均有登記表及依據")
        decide(api, "fx_head", fx.id, "office_head_read")
        view = application(api, fx.id, as_="sw_district")
    assert view["state"] == "completed" and view["agency"] == "桃園市復興區公所"


@pytest.mark.parametrize("name", ["usage_report", "onsite_audit", "account_review", "password_reminder",
                                  "commissioned_audit"])
def test_a_period_runs_once(session, name):
    when = at("2027-03-01")
    with time_machine.travel(when, tick=False):
        assert duties.run_schedule(session, duties.find_schedule(name), when) is not None
        assert duties.run_schedule(session, duties.find_schedule(name), when + timedelta(hours=1)) is None
