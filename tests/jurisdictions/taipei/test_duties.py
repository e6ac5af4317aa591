"""Taipei's recurring duties (002 §3, §7, §8): their rhythms as the API lists them, and each run through its chain."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from models import Application, Role
from tests.conftest import NOW
from tests.jurisdictions.taipei.test_chains import REGISTRATION
from tests.workflows.oversight.logfiles import csv_bytes
from workflows.calendar import TAIPEI
from workflows.demo import valid_national_id
from workflows.oversight.imports import import_query_logs
from workflows.timers import duties

RHYTHMS = {  # name: (every, day, month, due_day)
    "usage_check": ("quarter", 5, None, None),  # 002 §8(1)1: records downloaded at least every 3 months
    "registration_comparison": ("month", 5, None, None),  # §3 ¶2, §8(1)2: the unit managers, monthly
    "internal_audit": ("half_year", 10, None, None),  # §8(1)3: at least every 6 months
    "audit_report": ("year", 1, 3, 31),  # §8(1)6: last year's audit to 勞動局 by the end of March
    "destruction": ("year", 1, 12, None),  # §7(4): a yearly destruction
}


def test_the_duties_are_listed_with_their_rhythms(api):
    listed = {s["name"]: s for s in api.as_("admin").get("/api/v1/schedules").get_json()}
    assert {name: (s["every"], s["day"], s["month"], s["due_day"]) for name, s in listed.items()} == RHYTHMS
    assert listed["internal_audit"]["source"].startswith("002 第八點第一款第三目")
    # half-yearly: January and July; the next after 25 November 2026 is in January
    assert listed["internal_audit"]["next_run_at"].startswith("2027-01-10T09:00:00+08:00")
    assert listed["audit_report"]["next_run_at"].startswith("2027-03-01T09:00:00+08:00")


def test_a_half_yearly_duty_runs_once_in_each_half(session):
    schedule = duties.find_schedule("internal_audit")
    assert schedule.period(datetime(2027, 3, 1, 2, tzinfo=UTC)) == schedule.period(datetime(2027, 6, 30, 2, tzinfo=UTC))
    assert schedule.period(datetime(2027, 6, 30, 2, tzinfo=UTC)) != schedule.period(datetime(2027, 7, 1, 2, tzinfo=UTC))


def run(session, name: str, now: datetime) -> list[int]:
    result = duties.run_schedule(session, duties.find_schedule(name), now)
    assert result is not None and result.result == "ok", result and result.detail
    return result.detail["applications"]


def step_of(api, app_id: int) -> dict:
    view = api.as_("admin").get(f"/api/v1/applications/{app_id}").get_json()
    return view["current_tasks"][0] if view["current_tasks"] else {}


def decide(api, app_id: int, username: str, data: dict | None = None) -> None:
    task = step_of(api, app_id)
    assert username in task["candidates"], task
    done = api.as_(username).post(f"/api/v1/tasks/{task['id']}/complete",
                                  json={"decision": "approve", "opinion": "已辦理", "data": data or {}})
    assert done.status_code == 200, done.get_json()


def agency_of(api, app_id: int) -> str:
    return api.as_("admin").get(f"/api/v1/applications/{app_id}").get_json()["agency"]


def test_each_unit_manager_compares_the_book_monthly_and_reports_to_the_agency_manager(api, session, person):
    # November: one approved registration of 社會救助科's querier, and two logged queries of the account
    filed = api.as_("applicant").post("/api/v1/applications", json={"form": "query_registration",
                                                                    "data": REGISTRATION}).get_json()["id"]
    decide(api, filed, "sw_unit_manager")
    rows = [["applicant.egov", f"115/11/{day}", "10:00:00", "C0101", valid_national_id("F", f"2{day:07d}"),
             f"c-{day}", "審查", "成功"] for day in (24, 25)]
    import_query_logs(session, agency_code="TPE-SW", stream=io.BytesIO(csv_bytes(rows)), file_name="c.csv",
                      actor=person("manager"), now=NOW, dry_run=False)

    started = run(session, "registration_comparison", datetime(2026, 12, 5, 1, tzinfo=UTC))

    holders = sorted(tuple(step_of(api, a)["candidates"]) for a in started)
    assert holders == [("da_unit_manager",), ("sw_unit_manager",)]
    sw = next(a for a in started if step_of(api, a)["candidates"] == ["sw_unit_manager"])
    data = api.as_("admin").get(f"/api/v1/applications/{sw}").get_json()["data"]
    assert (data["compared_from"], data["compared_to"]) == ("2026-11-01", "2026-11-30")
    assert (data["registered_count"], data["system_count"]) == (1, 2)
    task = step_of(api, sw)["id"]
    unexplained = api.as_("sw_unit_manager").post(f"/api/v1/tasks/{task}/complete", json={
        "decision": "approve", "opinion": "不符", "data": {"result": "differ"}})
    assert unexplained.status_code == 422 and "explanation" in unexplained.get_json()["errors"]
    decide(api, sw, "sw_unit_manager", {"result": "differ", "explanation": "1 筆為同案重查，使用者已說明"})
    decide(api, sw, "manager")
    assert step_of(api, sw) == {}
    assert api.as_("admin").get(f"/api/v1/applications/{sw}").get_json()["state"] == "completed"


def test_the_comparison_goes_to_the_unit_managers_of_the_runs_day_not_todays(session, person):
    # da_unit_manager's holding ends on 31 December 2040: a run in January 2041 (a catch-up, or a test on its own
    # date) leaves that unit out, whatever the wall clock says
    da_manager = person("da_unit_manager")
    [holding] = [h for h in da_manager.roles if h.role == Role.UNIT_MANAGER]
    holding.valid_until = date(2040, 12, 31)
    session.commit()

    before = run(session, "registration_comparison", datetime(2040, 12, 5, 1, tzinfo=UTC))
    after = run(session, "registration_comparison", datetime(2041, 1, 5, 1, tzinfo=UTC))

    units = {a: session.get(Application, a).unit_id for a in before + after}
    assert holding.unit_id in {units[a] for a in before}
    assert len(after) == len(before) - 1 and holding.unit_id not in {units[a] for a in after}


def test_the_audit_team_audits_with_the_checklist_and_the_agency_head_approves(api, session):
    started = run(session, "internal_audit", datetime(2027, 1, 10, 1, tzinfo=UTC))
    sw = next(a for a in started if step_of(api, a)["candidates"] == ["sw_it_auditor", "sw_ethics_auditor"])
    decide(api, sw, "sw_ethics_auditor", {
        "audit_date": "2027-01-12", "auditors": "楊子儀、謝宗霖", "check_own_use": True, "check_office_hours": True,
        "check_register": True, "check_proxy": True, "check_no_contractor": True, "check_downloads": True,
        "check_data_custody": True, "findings": "未發現缺失", "archived_on_disc": True})
    assert step_of(api, sw)["step"] == "agency_head_approval"
    decide(api, sw, "sw_head")
    assert api.as_("admin").get(f"/api/v1/applications/{sw}").get_json()["state"] == "completed"


def test_last_years_audit_reaches_the_labour_department_due_by_the_end_of_march(api, session):
    started = run(session, "audit_report", datetime(2027, 3, 1, 1, tzinfo=UTC))
    assert len(started) == len({agency_of(api, a) for a in started})  # one per using agency
    da = next(a for a in started if step_of(api, a)["candidates"] == ["da_auditor"])
    rows = api.as_("da_auditor").get("/api/v1/tasks").get_json()
    due = [datetime.fromisoformat(r["due_at"]).astimezone(TAIPEI).date() for r in rows if r["application"] == da]
    assert due == [date(2027, 3, 31)]
    decide(api, da, "da_auditor", {"audit_year": 2026, "letter_no": "北市安區政字第1160001號", "audits_held": 2,
                                   "summary": "上下半年各稽核一次，未發現缺失（含稽核項目表）"})
    assert step_of(api, da)["candidates"] == ["lab_clerk"]
    decide(api, da, "lab_clerk")
    assert api.as_("admin").get(f"/api/v1/applications/{da}").get_json()["state"] == "completed"


def test_the_agency_manager_downloads_the_records_every_quarter(api, session):
    started = run(session, "usage_check", datetime(2027, 1, 5, 1, tzinfo=UTC))
    sw = next(a for a in started if step_of(api, a)["candidates"] == ["manager"])
    decide(api, sw, "manager", {"period_from": "2026-10-01", "period_to": "2026-12-31", "findings": "無異常"})
    assert api.as_("admin").get(f"/api/v1/applications/{sw}").get_json()["state"] == "completed"


@pytest.mark.parametrize("name", sorted(RHYTHMS))
def test_a_second_run_in_the_same_period_starts_nothing(session, name):
    first = duties.run_schedule(session, duties.find_schedule(name), NOW)
    assert first is not None
    assert duties.run_schedule(session, duties.find_schedule(name), NOW) is None
