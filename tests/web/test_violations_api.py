"""Violation cases through the JSON API: a flag answered as a violation opens the chain, the manager corrects and
reports, 勞工局 acknowledges; a report after the deadline reads late; cases are seen as the agency's logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.workflows.oversight.logfiles import csv_bytes
from workflows.demo import valid_national_id

OPENED = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ROWS = [["ghost.egov", "115/11/26", "10:00:00", "C0101", valid_national_id("F", "22345678"), "", "", "成功"],
        ["ghost.egov", "115/11/27", "10:00:00", "C0101", valid_national_id("F", "22345679"), "", "", "成功"]]


@pytest.fixture
def clock():
    with time_machine.travel(OPENED, tick=False) as traveller:
        yield traveller


def import_rows(api) -> list[int]:
    manager = api.as_("manager")
    stored = manager.client.post("/api/v1/query-logs?agency=KHH-SW", data=csv_bytes(ROWS), content_type="text/csv",
                                 headers=manager.headers)
    assert stored.status_code == 201, stored.json
    return sorted(r["id"] for r in manager.get("/api/v1/query-logs?account=ghost.egov").json["items"])


def task_of(api, username: str, application_id: int) -> dict | None:
    return next((t for t in api.as_(username).get("/api/v1/tasks").json if t["application"] == application_id), None)


def decide(api, username: str, application_id: int, data: dict | None = None):
    task = task_of(api, username, application_id)
    assert task is not None, (username, application_id)
    return api.as_(username).post(f"/api/v1/tasks/{task['id']}/complete",
                                  {"decision": "approve", "opinion": "", "data": data or {}})


def test_a_flag_answered_as_a_violation_runs_to_a_late_review_report(api, clock):
    log_id = import_rows(api)[0]
    manager = api.as_("manager")

    answer = manager.post(f"/api/v1/query-logs/{log_id}/flags/account_unknown",
                          {"action": "violation", "reason": "非本機關帳號查詢"})

    assert answer.status_code == 201 and answer.json["case"]
    case = answer.json["case"]
    [row] = manager.get(f"/api/v1/violations?log={log_id}").json
    assert (row["application"], row["source"], row["flag"], row["report_due"], row["late"]) == \
        (case, "flag", "account_unknown", "2026-12-10", False)
    assert task_of(api, "manager", case)["step"] == "correct"
    assert task_of(api, "labor_clerk", case) is None  # 勞工局 waits for the report

    assert decide(api, "manager", case, {"corrected_on": "2026-11-30", "correction": "停用帳號"}).status_code == 200
    clock.move_to(OPENED + timedelta(days=11))  # past the 10 days of 003 §8
    manager = api.as_("manager")  # a new log-in: the first one's token has expired meanwhile
    assert manager.get(f"/api/v1/violations?log={log_id}").json[0]["late"] is True
    assert decide(api, "manager", case, {"cause": "帳號外借", "review": "帳號專人專用並每月清查"}).status_code == 200
    done = decide(api, "labor_clerk", case)

    assert done.json["state"] == "completed"
    [row] = api.as_("labor_clerk").get(f"/api/v1/violations?log={log_id}").json
    assert row["late"] is True and row["reported_at"].startswith("2026-12-11")
    history = api.as_("admin").get(f"/api/v1/applications/{case}").json["history"]
    assert [h["step"] for h in history] == ["correct", "report", "authority_file"]


def test_cases_are_seen_within_the_agency_and_the_city_only(api, clock):
    log_id = import_rows(api)[0]
    api.as_("manager").post(f"/api/v1/query-logs/{log_id}/flags/account_unknown",
                            {"action": "violation", "reason": "x"})
    for who in ("manager", "sw_auditor", "labor_clerk", "admin"):
        assert [r["log"] for r in api.as_(who).get("/api/v1/violations").json] == [log_id], who
    assert api.as_("ep_manager").get("/api/v1/violations").json == []
    assert api.as_("applicant").get("/api/v1/violations").status_code == 403


def test_a_sampled_problem_is_raised_through_the_api(api, clock):
    import_rows(api)
    auditor = api.as_("sw_auditor")
    draw = auditor.post("/api/v1/sampling", {"agency": "KHH-SW", "month": "2026-11", "seed": 3}).json["id"]
    ghost = [r["log"] for r in auditor.get(f"/api/v1/sampling/{draw}").json["rows"] if r["account"] == "ghost.egov"]
    assert auditor.post(f"/api/v1/sampling/{draw}/rows/{ghost[0]}/violation", {}).status_code == 422  # unticked
    auditor.post(f"/api/v1/sampling/{draw}/rows/{ghost[0]}", {"verdict": "problem", "note": "查無此帳號"})

    opened = auditor.post(f"/api/v1/sampling/{draw}/rows/{ghost[0]}/violation", {})

    assert opened.status_code == 201 and opened.json["report_due"] == "2026-12-10"
    assert auditor.post(f"/api/v1/sampling/{draw}/rows/{ghost[0]}/violation", {}).status_code == 409
    assert api.as_("ep_manager").post(f"/api/v1/sampling/{draw}/rows/{ghost[0]}/violation", {}).status_code == 403
    assert task_of(api, "manager", opened.json["application"])["step"] == "correct"


def test_a_major_violation_starts_its_joint_audit_and_a_case_can_be_judged_major_later(api, clock):
    first, second = import_rows(api)
    manager = api.as_("manager")
    major = manager.post(f"/api/v1/query-logs/{first}/flags/account_unknown",
                         {"action": "violation", "reason": "大量查詢", "major": True})
    [row] = manager.get(f"/api/v1/violations?log={first}").json
    assert major.status_code == 201 and row["joint_audit"]
    assert task_of(api, "sw_auditor", row["joint_audit"])["step"] == "auditor_audit"

    manager.post(f"/api/v1/query-logs/{second}/flags/account_unknown", {"action": "violation", "reason": "x"})
    [row] = manager.get(f"/api/v1/violations?log={second}").json
    assert row["joint_audit"] is None
    assert manager.post(f"/api/v1/violations/{row['id']}/joint-audit", {}).status_code == 422
    assert api.as_("applicant").post(f"/api/v1/violations/{row['id']}/joint-audit",
                                     {"reason": "x"}).status_code == 403
    started = manager.post(f"/api/v1/violations/{row['id']}/joint-audit", {"reason": "同一帳號再犯"})
    assert started.status_code == 201
    assert manager.post(f"/api/v1/violations/{row['id']}/joint-audit", {"reason": "again"}).status_code == 409
    assert manager.get(f"/api/v1/violations?log={second}").json[0]["joint_audit"] == started.json["application"]
