"""Monthly sampling on the imported rows (001 §12(1)): the count rule, reproducible draws, ticks, the duty."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from models import Agency, Application
from tests.conftest import NOW
from workflows.demo import valid_national_id
from workflows.errors import Conflict, Forbidden, Invalid
from workflows.oversight.imports import import_query_logs
from workflows.oversight.sampling import (
    check_sample_row,
    draw_ids,
    draw_sample,
    get_sample_sheet,
    sample_size,
)
from workflows.timers.duties import find_schedule, run_schedule

from .logfiles import csv_bytes


@pytest.mark.parametrize("rows, drawn", [(0, 0), (9, 9), (10, 10), (333, 10), (334, 11), (1000, 30), (1001, 31)])
def test_at_least_3_percent_and_at_least_10_all_when_fewer(rows, drawn):
    assert sample_size(rows) == drawn
    assert len(draw_ids(list(range(1, rows + 1)), seed=7)) == drawn


def test_the_same_seed_draws_the_same_rows_another_seed_others():
    ids = list(range(1, 501))
    assert draw_ids(ids, 42) == draw_ids(list(reversed(ids)), 42)
    assert draw_ids(ids, 42) != draw_ids(ids, 43)


def import_month(session, person, count: int, month: int = 11) -> None:
    rows = [["applicant.egov", f"115/{month:02d}/{1 + n % 28:02d}", f"10:{n % 60:02d}:00", "C0101",
             valid_national_id("F", f"{1 + n % 2}{n:07d}"), f"case-{n}", "審查", "成功"] for n in range(count)]
    result = import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(csv_bytes(rows)), file_name="m.csv",
                               actor=person("manager"), now=NOW, dry_run=False)
    assert result.new == count


def test_a_month_is_drawn_once_with_its_seed_and_its_rows_are_ticked(session, person):
    import_month(session, person, 334)
    import_month(session, person, 5, month=10)  # another month: not in November's population
    sw = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))

    draw = draw_sample(session, agency=sw, month=date(2026, 11, 1), actor=person("sw_auditor"), now=NOW, seed=2026)

    assert (draw.population, len(draw.log_ids), draw.seed) == (334, 11, 2026)
    with pytest.raises(Conflict):
        draw_sample(session, agency=sw, month=date(2026, 11, 1), actor=person("sw_auditor"), now=NOW)
    with pytest.raises(Forbidden):
        check_sample_row(session, draw_id=draw.id, log_id=draw.log_ids[0], verdict="ok", note="",
                         actor=person("ep_manager"), now=NOW)
    with pytest.raises(Invalid):
        check_sample_row(session, draw_id=draw.id, log_id=draw.log_ids[0], verdict="problem", note=" ",
                         actor=person("sw_auditor"), now=NOW)
    check_sample_row(session, draw_id=draw.id, log_id=draw.log_ids[0], verdict="problem", note="登記表案號不符",
                     actor=person("sw_auditor"), now=NOW)
    sheet = get_sample_sheet(session, draw.id, person("manager"), NOW)
    assert [r.log_id for r in sheet.rows] != [] and sorted(r.log_id for r in sheet.rows) == draw.log_ids
    assert [(r.verdict, r.note) for r in sheet.rows if r.log_id == draw.log_ids[0]] == [("problem", "登記表案號不符")]
    assert all("****" in r.subject for r in sheet.rows)


def test_the_monthly_duty_starts_with_last_months_draw(session, person):
    import_month(session, person, 12)
    december_3rd = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)

    run = run_schedule(session, find_schedule("monthly_sampling"), december_3rd)

    sw = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))
    app = session.scalar(select(Application).where(Application.id.in_(run.detail["applications"]),
                                                   Application.agency_id == sw.id))
    assert {k: app.data[k] for k in ("sampling_month", "total_queries", "sampled_records")} == \
        {"sampling_month": "2026-11", "total_queries": 12, "sampled_records": 10}


def test_the_quarterly_usage_check_starts_with_last_quarters_logged_queries(session, person):
    import_month(session, person, 12)  # November 2026: the fourth quarter
    january_5th = datetime(2027, 1, 5, 1, 0, tzinfo=UTC)

    run = run_schedule(session, find_schedule("usage_check"), january_5th)

    sw = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))
    app = session.scalar(select(Application).where(Application.id.in_(run.detail["applications"]),
                                                   Application.agency_id == sw.id))
    assert {k: app.data[k] for k in ("usage_from", "usage_to", "logged_queries", "flagged_queries")} == \
        {"usage_from": "2026-10-01", "usage_to": "2026-12-31", "logged_queries": 12, "flagged_queries": 12}


def test_every_quarter_the_sampling_records_go_to_the_authority_for_acknowledgement(session, person):
    from models import HumanTask, TaskState
    from workflows.filing.tasks import complete_task

    import_month(session, person, 12)  # November 2026
    sw = session.scalar(select(Agency).where(Agency.code == "KHH-SW"))
    draw = draw_sample(session, agency=sw, month=date(2026, 11, 1), actor=person("sw_auditor"), now=NOW, seed=5)
    check_sample_row(session, draw_id=draw.id, log_id=draw.log_ids[0], verdict="problem", note="無案號",
                     actor=person("sw_auditor"), now=NOW)
    check_sample_row(session, draw_id=draw.id, log_id=draw.log_ids[1], verdict="ok", note="",
                     actor=person("sw_auditor"), now=NOW)
    january_10th = datetime(2027, 1, 10, 1, 0, tzinfo=UTC)

    run = run_schedule(session, find_schedule("sampling_report"), january_10th)

    app = session.scalar(select(Application).where(Application.id.in_(run.detail["applications"]),
                                                   Application.agency_id == sw.id))
    assert app.data["sampling_quarter"] == "2026-Q4"
    assert app.data["sampling_months"] == [
        {"month": "2026-10", "draw": None, "population": None, "drawn": None, "checked": 0, "problems": 0},
        {"month": "2026-11", "draw": draw.id, "population": 12, "drawn": 10, "checked": 2, "problems": 1},
        {"month": "2026-12", "draw": None, "population": None, "drawn": None, "checked": 0, "problems": 0}]

    def open_step():
        session.expire_all()
        return session.scalar(select(HumanTask).where(HumanTask.application_id == app.id,
                                                      HumanTask.state == TaskState.OPEN))
    assert (open_step().step, open_step().role) == ("manager_send", "agency_manager")
    complete_task(session, task_id=open_step().id, actor=person("manager"), decision="approve", now=january_10th,
                  data={"anomalies_found": True, "findings": "11 月抽查 10 筆，1 筆無案號，已列違規案件"})
    assert (open_step().step, open_step().role) == ("authority_file", "authority_clerk")
    done = complete_task(session, task_id=open_step().id, actor=person("labor_clerk"), decision="approve",
                         now=january_10th)
    assert done.state.value == "completed"
