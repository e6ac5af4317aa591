"""A large query-log file imported by a background job: chunks committed with their progress, all or nothing."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from models import ImportState, QueryLog, QueryLogImport, QueryLogStage
from tests.conftest import NOW
from workflows.demo import valid_national_id
from workflows.errors import Conflict, Invalid, NotFound
from workflows.oversight import imports
from workflows.oversight.imports import get_import, queue_import, run_import_job

from .logfiles import csv_bytes, xlsx_bytes

WHEN = NOW + timedelta(days=5)



def log_rows(n: int) -> list[list[str]]:
    """n distinct queries by the demo querier, one a minute from 115/11/26 08:00."""
    return [["applicant.egov", f"115/11/{26 + (480 + m) // 1440:02d}", f"{(480 + m) // 60 % 24:02d}:{m % 60:02d}:00",
             "C0101", valid_national_id("F", f"1{m:07d}"), f"115-社救-{m:05d}", "低收入戶資格審查", "成功"]
            for m in range(n)]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 100)
    monkeypatch.setattr(imports, "BATCH", 40)
    monkeypatch.setattr(imports, "COPY_BATCH", 40)


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


class ProcessDied(BaseException):
    """The web process ending mid-import (a restart, a killed worker): no handler of the job's runs."""


class DyingStream(io.BytesIO):
    """The upload, read until ``at`` bytes; then the process dies."""

    def __init__(self, data: bytes, at: int):
        super().__init__(data)
        self.at = at

    def read(self, *args):
        if self.tell() >= self.at:
            raise ProcessDied
        return super().read(*args)

    def readinto(self, buffer):
        if self.tell() >= self.at:
            raise ProcessDied
        return super().readinto(buffer)


def staged(session, import_id: int) -> int:
    return session.scalar(select(func.count()).select_from(QueryLogStage).where(QueryLogStage.import_id == import_id))


def die_midway(engine, job_id: int, data: bytes, beats: list) -> None:
    """Run the job in a session of its own that dies after a few committed chunks, the clock a minute a chunk."""
    with Session(engine, expire_on_commit=False) as dying, pytest.raises(ProcessDied):
        run_import_job(dying, import_id=job_id, stream=DyingStream(data, len(data) // 2), now=WHEN,
                       clock=lambda: beats.append(WHEN + timedelta(minutes=len(beats) + 1)) or beats[-1])


def test_a_job_whose_process_died_is_ended_by_the_sweep_and_its_staged_rows_removed(session, person, engine,
                                                                                    small_chunks):
    data = csv_bytes(log_rows(2000))
    job = queue(session, person, data)
    beats: list = []
    die_midway(engine, job.id, data, beats)

    record = session.get(QueryLogImport, job.id)
    session.refresh(record)
    assert record.state == "running" and record.rows > 0 and staged(session, job.id) == record.rows
    assert record.heartbeat_at == beats[-1]  # written with the last committed chunk
    stale = imports.STALE_MINUTES

    assert imports.fail_dead_imports(session, beats[-1] + timedelta(minutes=stale - 1)) == []  # not yet
    assert staged(session, job.id) == record.rows

    later = beats[-1] + timedelta(minutes=stale + 1)
    assert imports.fail_dead_imports(session, later) == [job.id]
    session.refresh(record)
    assert (record.state, record.finished_at) == ("failed", later)
    assert "匯入程序已中斷" in record.message and "請重新匯入" in record.message
    assert staged(session, job.id) == 0 and session.scalar(select(func.count()).select_from(QueryLog)) == 0
    event = session.execute(text("SELECT actor_id, subject_id, payload FROM audit_event "
                                 "WHERE event_type = 'query_log_import_abandoned'")).one()
    payload = event.payload if isinstance(event.payload, dict) else json.loads(event.payload)
    assert event.actor_id is None and event.subject_id == record.agency_id
    assert (payload["import_id"], payload["was"], payload["staged_rows_removed"]) == (job.id, "running", record.rows)
    view = get_import(session, job.id, person("manager"), later)
    assert not view.running and view.state == "failed"
    assert imports.fail_dead_imports(session, later + timedelta(hours=1)) == []  # ended once

    # The manager brings the same file again: all of it is stored, once.
    again = queue(session, person, data)
    result = run_import_job(session, import_id=again.id, stream=io.BytesIO(data), now=later)
    assert (result.stored, result.new) == (True, 2000)


def test_a_queued_job_never_started_is_ended_too_and_a_live_one_is_left_alone(session, person, engine,
                                                                             small_chunks):
    lost = queue(session, person, csv_bytes(log_rows(5)))  # its process died before its thread began
    data = csv_bytes(log_rows(300))
    live = queue(session, person, data)
    run_import_job(session, import_id=live.id, stream=io.BytesIO(data), now=WHEN + timedelta(minutes=30))

    assert imports.fail_dead_imports(session, WHEN + timedelta(minutes=31)) == [lost.id]
    assert session.get(QueryLogImport, live.id).state == "done"
    assert session.scalar(select(func.count()).select_from(QueryLog)) == 300


def test_a_job_ended_by_a_sweep_while_still_reading_stops_and_stores_nothing(session, person, engine,
                                                                           small_chunks):
    """A job thought dead but only slow: at its next chunk it finds itself ended and stops; the sweep's
    record stays, and the rows it staged afterwards are not left behind."""
    data = csv_bytes(log_rows(450))
    job = queue(session, person, data)
    swept: list = []

    @event.listens_for(session, "after_commit")
    def sweep_once(_session):
        with Session(engine) as other:
            if not swept and staged(other, job.id) == 200:
                swept.append(imports.fail_dead_imports(other, WHEN + timedelta(hours=1)))

    result = run_import_job(session, import_id=job.id, stream=io.BytesIO(data), now=WHEN)

    assert swept == [[job.id]] and not result.stored
    record = session.get(QueryLogImport, job.id)
    session.refresh(record)
    assert record.state == "failed" and "匯入程序已中斷" in record.message
    assert staged(session, job.id) == 0 and session.scalar(select(func.count()).select_from(QueryLog)) == 0


def test_where_rows_are_staged_on_each_database(session, person, engine, monkeypatch, small_chunks):
    """In a request's one transaction PostgreSQL stages privately (a temporary table, gone with the
    transaction); a job stages in query_log_stage, which PostgreSQL keeps UNLOGGED. SQLite uses the shared
    stage for both. Either way the rows arrive, once, and no staged row stays."""
    written: list[str] = []
    real = imports.write_rows
    monkeypatch.setattr(imports, "write_rows", lambda conn, table, columns, rows: (
        written.append(table), real(conn, table, columns, rows))[1])
    postgres = engine.dialect.name == "postgresql"
    rows = log_rows(130)

    dry = imports.import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(csv_bytes(rows)),
                                    file_name="webir.csv", actor=person("manager"), now=WHEN, dry_run=True)
    stored = imports.import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(csv_bytes(rows[:100])),
                                       file_name="webir.csv", actor=person("manager"), now=WHEN)
    assert (dry.new, stored.new, stored.stored) == (130, 100, True)
    assert set(written) == {"query_log_stage_private" if postgres else "query_log_stage"}

    written.clear()
    job = queue(session, person, csv_bytes(rows))
    result = run_import_job(session, import_id=job.id, stream=io.BytesIO(csv_bytes(rows)), now=WHEN)
    assert (result.new, result.duplicates) == (30, 100) and set(written) == {"query_log_stage"}
    assert session.scalar(select(func.count()).select_from(QueryLogStage)) == 0
    assert session.scalar(select(func.count()).select_from(QueryLog)) == 130
    if postgres:
        assert session.scalar(text("SELECT relpersistence FROM pg_class WHERE relname = 'query_log_stage'")) == "u"
        assert session.scalar(text("SELECT count(*) FROM pg_class WHERE relname = 'query_log_stage_private'")) == 0
