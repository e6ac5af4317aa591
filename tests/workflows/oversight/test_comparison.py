"""The manager's comparison of the query logs with the registrations, reported to the agency head (000 §6(1)).

Walked as the demo people: 社會局's manager imports a month of WebIR logs, answers two flags and files the
report; its figures come from the records (a typed figure is dropped), and 社會局's head reads it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Application, FlagAction, QueryLog
from tests.conftest import NOW
from workflows.filing import reads
from workflows.filing.tasks import complete_task
from workflows.oversight.flags import answer_flag

from .logfiles import csv_bytes
from .test_imports import city, load, rows  # noqa: F401 - city is a fixture

PERIOD = {"period_from": "2026-11-01", "period_to": "2026-11-30"}
CONCLUSION = "無查調登記 5 筆中 1 筆已補正說明，1 筆列為違規並已開立違規案件，其餘持續追蹤。"


def test_the_manager_reports_the_months_comparison_with_figures_from_the_records_and_the_head_reads_it(
        api, session, person, city):  # noqa: F811
    load(session, person, csv_bytes(list(rows(city).values())))
    logs = {log.line: log for log in session.scalars(select(QueryLog))}
    later = NOW + timedelta(days=6)
    answer_flag(session, log_id=logs[5].id, flag="no_registration", action=FlagAction.EXPLAINED,
                reason="登記表已於事後補正", actor=person("manager"), now=later)
    answer_flag(session, log_id=logs[9].id, flag="self_query", action=FlagAction.VIOLATION,
                reason="查詢本人資料", actor=person("manager"), now=later)

    response = api.as_("manager").post("/api/v1/applications", {"form": "log_comparison", "data": {
        **PERIOD, "conclusion": CONCLUSION, "logged_queries": 999, "flags_unanswered": 0}})

    assert response.status_code == 201, response.get_json()
    app = session.get(Application, response.get_json()["id"])
    # Ten rows, nine flagged; thirteen flags in all (five rows lack a registration), two answered.
    assert {k: app.data[k] for k in ("logged_queries", "flagged_queries", "flags_explained", "flags_violation",
                                     "flags_unanswered")} == {
        "logged_queries": 10, "flagged_queries": 9, "flags_explained": 1, "flags_violation": 1,
        "flags_unanswered": 11}
    assert "無查調登記：5 筆" in app.data["flag_counts"] and "查詢本人資料：1 筆" in app.data["flag_counts"]
    assert app.data["conclusion"] == CONCLUSION
    # Before the agency head (or the delegate): the manager's own inbox holds nothing of it.
    assert not [r for r in reads.list_inbox(session, person("manager")) if r.application_id == app.id]
    head = person("sw_head")
    task = next(r for r in reads.list_inbox(session, head) if r.application_id == app.id)
    done = complete_task(session, task_id=task.task_id, actor=head, decision="approve", opinion="已閱，請持續追蹤",
                         data={}, now=later + timedelta(days=1))
    assert done.state == "completed"


def test_a_period_ending_before_it_starts_is_refused_and_only_a_manager_files_the_report(api):
    bad = api.as_("manager").post("/api/v1/applications", {"form": "log_comparison", "data": {
        "period_from": "2026-11-30", "period_to": "2026-11-01", "conclusion": CONCLUSION}})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"period_to"}
    querier = api.as_("applicant").post("/api/v1/applications", {"form": "log_comparison", "data": {
        **PERIOD, "conclusion": CONCLUSION}})
    assert querier.status_code == 403
