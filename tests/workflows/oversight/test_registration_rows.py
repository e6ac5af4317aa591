"""A 查調資料登記表 of several rows (000 附表一): each logged query is matched to the row it was registered on."""

from __future__ import annotations

import io
from datetime import timedelta

from sqlalchemy import select, text

from models import Application, QueryLog, RegistrationRow, flag_names, sealing
from tests.conftest import NOW, registration
from workflows.demo import valid_national_id
from workflows.filing.applications import amend_application, submit_application
from workflows.filing.reads import list_inbox
from workflows.filing.tasks import complete_task
from workflows.forms import REGISTRATION, mask_id, masked
from workflows.oversight.imports import import_query_logs
from workflows.oversight.reconcile import reconcile_rows
from workflows.tracking.search import Filters, search_applications

from .logfiles import csv_bytes

FIRST, SECOND, THIRD = (valid_national_id("E", f"1{n:07d}") for n in (1111, 2222, 3333))
STRANGER = valid_national_id("F", "23456789")
SHEET = registration(  # three subjects on one sheet, each with its own item and date
    {"subject_name": "王一", "subject_national_id": FIRST, "item": "C0101", "query_date": "2026-11-24"},
    {"subject_name": "李二", "subject_national_id": SECOND, "item": "B0101", "query_date": "2026-11-25"},
    {"subject_name": "張三", "subject_national_id": THIRD, "item": "B0201", "query_date": "2026-11-25",
     "reason": "中低收入戶資格複查"},
    case_number="115-社救-0300")


def approve(session, person, app: Application) -> None:
    head = person("sw_unit_head")
    task = next(r for r in list_inbox(session, head) if r.application_id == app.id)
    complete_task(session, task_id=task.task_id, actor=head, decision="approve", opinion="", data={}, now=NOW)


def test_each_row_of_a_sheet_is_a_line_with_its_own_subject_item_and_date(session, person):
    app = submit_application(session, form_key="query_registration", data=SHEET, actor=person("applicant"), now=NOW)
    lines = session.scalars(select(RegistrationRow).where(RegistrationRow.application_id == app.id)
                            .order_by(RegistrationRow.line)).all()
    assert [(r.line, r.item, r.query_date.isoformat(), r.subject_hash, r.subject_id) for r in lines] == [
        (1, "C0101", "2026-11-24", sealing.digest(FIRST), FIRST),
        (2, "B0101", "2026-11-25", sealing.digest(SECOND), SECOND),
        (3, "B0201", "2026-11-25", sealing.digest(THIRD), THIRD)]
    raw = session.connection().exec_driver_sql("SELECT subject_id_sealed FROM registration_row").scalars().all()
    assert all(v.startswith("enc1:") for v in raw) and FIRST not in "".join(raw)  # sealed at rest
    stored = session.execute(text("SELECT data FROM application WHERE id = :id"), {"id": app.id}).scalar()
    assert not any(n in str(stored) for n in (FIRST, SECOND, THIRD))  # the rows' numbers sealed in the data too
    # Search by a subject's number finds the sheet through any of its rows, not only the first.
    for number in (FIRST, THIRD):
        found = search_applications(session, person("sw_unit_head"), Filters(national_id=number), now=NOW)
        assert [a.id for a in found.items] == [app.id]


def test_a_logged_query_is_matched_to_the_row_it_was_registered_on(session, person):
    app = submit_application(session, form_key="query_registration", data=SHEET, actor=person("applicant"), now=NOW)
    approve(session, person, app)
    q, day = "applicant.egov", "115/11/26"
    log = csv_bytes([
        [q, day, "10:00:00", "C0101", FIRST, "115-社救-0300", "低收入戶資格審查", "成功"],  # row 1
        [q, day, "10:01:00", "B0201", THIRD, "115-社救-0300", "中低收入戶資格複查", "成功"],  # row 3
        [q, day, "10:02:00", "C0101", STRANGER, "115-社救-0300", "審查", "成功"],  # not on the sheet
        [q, day, "10:03:00", "C0101", SECOND, "115-社救-0300", "審查", "成功"],  # on the sheet for B0101 only
    ])
    result = import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(log), file_name="webir.csv",
                               actor=person("manager"), now=NOW + timedelta(days=5))
    assert (result.new, result.errors) == (4, [])
    found = {line: (registration_id, registration_line, set(flag_names(flags)))
             for line, registration_id, registration_line, flags in session.execute(select(
                 QueryLog.line, QueryLog.registration_id, QueryLog.registration_line, QueryLog.flags))}
    assert found == {3: (app.id, 1, set()), 4: (app.id, 3, set()),
                     5: (None, None, {"no_registration"}), 6: (None, None, {"no_registration"})}


def test_a_corrected_sheet_changes_its_lines_and_reconciliation_follows(session, person):
    app = submit_application(session, form_key="query_registration", data=SHEET, actor=person("applicant"), now=NOW)
    head = person("sw_unit_head")
    task = next(r for r in list_inbox(session, head) if r.application_id == app.id)
    complete_task(session, task_id=task.task_id, actor=head, decision="return", opinion="第 2 筆不需查調", data={},
                  now=NOW)
    amend_application(session, application_id=app.id, data={**SHEET, "rows": [SHEET["rows"][0], SHEET["rows"][2]]},
                      actor=person("applicant"), now=NOW)
    session.expire_all()
    lines = session.scalars(select(RegistrationRow).where(RegistrationRow.application_id == app.id)
                            .order_by(RegistrationRow.line)).all()
    assert [(r.line, r.subject_hash) for r in lines] == [(1, sealing.digest(FIRST)), (2, sealing.digest(THIRD))]
    approve(session, person, session.get(Application, app.id))
    log = csv_bytes([["applicant.egov", "115/11/26", "10:01:00", "B0201", THIRD, "", "", "成功"]])
    import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(log), file_name="webir.csv",
                      actor=person("manager"), now=NOW + timedelta(days=5))
    session.execute(QueryLog.__table__.update().values(registration_line=None, registration_id=None))
    assert reconcile_rows(session, app.agency) == 1  # judged again: the line it now stands on
    assert session.execute(select(QueryLog.registration_id, QueryLog.registration_line)).one() == (app.id, 2)


def test_a_registration_filed_before_the_sheet_had_rows_reads_as_its_one_row():
    old = {"case_number": "115-社救-0001", "query_date": "2026-11-25", "subject_name": "陳小明",
           "subject_national_id": FIRST, "item": "C0101", "reason": "低收入戶資格審查", "legal_basis": "社會救助法"}
    shown = masked(REGISTRATION, old)
    assert shown["rows"] == [{"query_date": "2026-11-25", "subject_name": "陳小明",
                              "subject_national_id": mask_id(FIRST), "item": "C0101", "reason": "低收入戶資格審查"}]
    assert shown["subject_national_id"] == mask_id(FIRST) and FIRST not in str(shown)
