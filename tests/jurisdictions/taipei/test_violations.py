"""An improper query in Taipei (002 §6(3)(4)): the log imported flags it outside office hours; raised as a violation,
the agency's audit team cancels the account and pursues responsibility, the manager reports, 勞動局 files it."""

from __future__ import annotations

import io

from sqlalchemy import select

from models import Agency, Application, HumanTask, QueryLog, TaskState, ViolationCase, flag_names
from tests.conftest import NOW
from tests.workflows.oversight.logfiles import csv_bytes
from workflows.demo import valid_national_id
from workflows.filing.tasks import complete_task
from workflows.oversight.flags import answer_flag
from workflows.oversight.imports import import_query_logs


def imported(session, person, time: str) -> QueryLog:
    row = ["applicant.egov", "115/11/24", time, "C0101", valid_national_id("F", "21234567"), "v-1", "審查", "成功"]
    import_query_logs(session, agency_code="TPE-SW", stream=io.BytesIO(csv_bytes([row])), file_name="v.csv",
                      actor=person("manager"), now=NOW, dry_run=False)
    sw = session.scalar(select(Agency).where(Agency.code == "TPE-SW"))
    return session.scalar(select(QueryLog).where(QueryLog.agency_id == sw.id, QueryLog.case_number == "v-1"))


def open_task(session, app_id: int) -> HumanTask:
    session.expire_all()
    return session.scalar(select(HumanTask).where(HumanTask.application_id == app_id,
                                                  HumanTask.state == TaskState.OPEN))


def test_a_query_at_night_is_flagged_and_its_case_runs_taipeis_chain(session, person):
    log = imported(session, person, "22:15:00")
    assert "outside_office_hours" in flag_names(log.flags)

    answer_flag(session, log_id=log.id, flag="outside_office_hours", action="violation", reason="非辦公時間查詢",
                actor=person("manager"), now=NOW)

    case = session.scalar(select(ViolationCase).where(ViolationCase.log_id == log.id))
    steps = [("audit_team_cancel", "auditor", "sw_ethics_auditor",
              {"corrected_on": "2026-11-25", "correction": "註銷該帳號使用權，移請人事室議處"}),
             ("manager_report", "agency_manager", "manager",
              {"cause": "下班後在家查詢", "review": "重申不得於非辦公時間查詢"}),
             ("central_file", "central_clerk", "lab_clerk", {})]
    for step, role, who, data in steps:
        task = open_task(session, case.application_id)
        assert (task.step, task.role) == (step, role)
        complete_task(session, task_id=task.id, actor=person(who), decision="approve", now=NOW, data=data)
    assert session.get(Application, case.application_id).state.value == "completed"


def test_a_query_in_office_hours_is_not_flagged_for_the_hour(session, person):
    assert "outside_office_hours" not in flag_names(imported(session, person, "10:15:00").flags)
