"""A large query-log file imported by a background job: chunks committed with their progress, all or nothing."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text

from models import ImportState, QueryLog, QueryLogImport, QueryLogStage
from tests.conftest import NOW, REGISTRATION
from workflows.demo import valid_national_id
from workflows.errors import Conflict, Invalid, NotFound
from workflows.oversight import imports
from workflows.oversight.imports import get_import, queue_import, run_import_job

from .logfiles import csv_bytes, xlsx_bytes

WHEN = NOW + timedelta(days=5)
SUBJECT = REGISTRATION["subject_national_id"]


def log_rows(n: int) -> list[list[str]]:
    """n distinct queries by the demo querier, one a minute from 115/11/26 08:00."""
    return [["applicant.egov", f"115/11/{26 + (480 + m) // 1440:02d}", f"{(480 + m) // 60 % 24:02d}:{m % 60:02d}:00",
             "C0101", valid_national_id("F", f"1{m:07d}"), f"115-社救-{m:05d}", "低收入戶資格審查", "成功"]
            for m in range(n)]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 100)
    monkeypatch.setattr(imports, "BATCH", 40)


def queue(session, person, data: bytes, name="webir.csv", who="manager"):
    return queue_import(session, agency_code="KHH-SW", stream=io.BytesIO(data), file_name=name, size=len(data),
                        actor=person(who), now=WHEN)


def watch_commits(session, engine) -> list[tuple]:
    """After each commit of the job's session, what another connection sees: the job's state and progress,
    the staged rows and the stored ones."""
    seen: list[tuple] = []

    @event.listens_for(session, "after_commit")
    def look(_session):
        with engine.connect() as other:
            seen.append(other.execute(text(
                "SELECT state, rows, progress_done, (SELECT count(*) FROM query_log_stage), "
                "(SELECT count(*) FROM query_log) FROM query_log_import ORDER BY id DESC LIMIT 1")).one())
    return seen


def test_a_queued_file_is_read_in_committed_chunks_then_moved_in_one_transaction(session, person, engine,
                                                                                  small_chunks):
    data = csv_bytes(log_rows(450))
    job = queue(session, person, data)
    assert (job.state, job.rows, job.progress_total) == (ImportState.QUEUED, 0, len(data))
    seen = watch_commits(session, engine)

    result = run_import_job(session, import_id=job.id, stream=io.BytesIO(data), now=WHEN)

    assert (result.rows, result.new, result.duplicates, result.stored) == (450, 450, 0, True)
    # started; four chunks of 100 rows, each staged and visible to others with its progress; then the move.
    assert [(s.state, s.rows) for s in seen] == [("running", 0), ("running", 100), ("running", 200),
                                                ("running", 300), ("running", 400), ("done", 450)]
    staged = [s[3] for s in seen]
    assert staged[1:5] == [100, 200, 300, 400] and staged[-1] == 0
    assert [s[4] for s in seen] == [0, 0, 0, 0, 0, 450]  # nothing in query_log before the last transaction
    progress = [s.progress_done for s in seen[1:5]]
    assert progress == sorted(progress) and 0 < progress[0] and progress[-1] <= len(data)
    view = get_import(session, job.id, person("manager"), WHEN)
    assert (view.state, view.percent, view.new, view.errors) == ("done", 100, 450, [])
    assert view.started_at == WHEN and view.finished_at == WHEN


def test_a_bad_row_late_in_the_file_stores_nothing_and_the_job_names_it(session, person, engine, small_chunks):
    rows = log_rows(350)
    rows[320][1] = "115/13/40"
    data = csv_bytes(rows)
    job = queue(session, person, data)

    result = run_import_job(session, import_id=job.id, stream=io.BytesIO(data), now=WHEN)

    assert not result.stored and result.error_count == 1
    record = session.get(QueryLogImport, job.id)
    session.refresh(record)
    assert (record.state, record.rows, record.error_count) == ("failed", 350, 1)
    assert record.errors == [{"row": 3 + 320, "column": "查詢日期", "message": record.errors[0]["message"]}]
    assert "115/13/40" in record.errors[0]["message"]
    assert session.scalar(select(func.count()).select_from(QueryLogStage)) == 0  # the chunks staged are gone
    assert session.scalar(select(func.count()).select_from(QueryLog)) == 0


def test_a_file_that_breaks_midway_is_refused_with_the_reason(session, person, small_chunks):
    good = csv_bytes(log_rows(2000), encoding="utf-8")
    data = good + "\n".join(["applicant.egov,115/11/30,10:00,C0101,F123456789"] * 10).encode("utf-8")[:-3] + \
        b"\xff\xfe\xfa"  # past the first 64 KB the text stops being UTF-8
    job = queue(session, person, data)

    run_import_job(session, import_id=job.id, stream=io.BytesIO(data), now=WHEN)

    record = session.get(QueryLogImport, job.id)
    session.refresh(record)
    assert record.state == "failed" and "utf-8" in record.message
    assert session.scalar(select(func.count()).select_from(QueryLogStage)) == 0
    assert session.scalar(select(func.count()).select_from(QueryLog)) == 0


def test_the_same_rows_again_as_xlsx_add_nothing_and_a_job_runs_once(session, person, small_chunks):
    rows = log_rows(150)
    first = queue(session, person, csv_bytes(rows))
    run_import_job(session, import_id=first.id, stream=io.BytesIO(csv_bytes(rows)), now=WHEN)
    with pytest.raises(Conflict):
        run_import_job(session, import_id=first.id, stream=io.BytesIO(csv_bytes(rows)), now=WHEN)

    again = queue(session, person, xlsx_bytes(rows), "webir.xlsx")
    assert again.progress_total == 151  # the sheet's rows, header included
    result = run_import_job(session, import_id=again.id, stream=io.BytesIO(xlsx_bytes(rows)), now=WHEN)

    assert (result.rows, result.new, result.duplicates) == (150, 0, 150)
    assert session.scalar(select(func.count()).select_from(QueryLog)) == 150


def test_queueing_checks_the_importer_and_the_file_at_once(session, person):
    with pytest.raises(Invalid):
        queue(session, person, "姓名,電話\n王小明,123\n".encode())
    with pytest.raises(Exception) as refused:
        queue(session, person, csv_bytes(log_rows(3)), who="applicant")
    assert refused.type.__name__ == "Forbidden"
    assert session.scalar(select(func.count()).select_from(QueryLogImport)) == 0


def test_an_import_is_seen_by_its_importer_and_the_agencys_managers_only(session, person):
    job = queue(session, person, csv_bytes(log_rows(3)))
    assert get_import(session, job.id, person("admin"), WHEN).state == "queued"
    for stranger in ("applicant", "sw_unit_head", "labor_clerk"):
        with pytest.raises(NotFound):
            get_import(session, job.id, person(stranger), WHEN)
