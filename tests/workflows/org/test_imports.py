"""A personnel office's spreadsheet: Big5 CSV and .xlsx, previewed, applied in one transaction, re-imported."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy import func, select

from models import AuditEvent, HistoryEntry, HumanTask, Person, RoleHolding, TaskState, Unit
from tests.conftest import NOW, QUERIER_ADD
from workflows.filing.applications import submit_application
from workflows.org.imports import import_people
from workflows.org.sheets import decode_csv

HEADER = ["帳號", "姓名", "職稱", "電子郵件", "員工編號", "機關代碼", "單位", "角色", "生效日", "迄日", "狀態"]
ROWS = [
    ["ld_chen", "陳建志", "科長", "chen@kcg.gov.tw", "P1001", "KHH-SW", "社會福利處/兒少福利科", "單位主管",
     "115/12/01", "", "在職"],
    ["ld_lin", "林秀英", "社工員", "lin@kcg.gov.tw", "P1002", "KHH-SW", "社會福利處/兒少福利科", "資料查詢者",
     "2026-12-01", "2027-12-31", "在職"],
    ["sw_staff", "吳佩珊", "科員", "sw_staff@demo.kcg.gov.tw", "P1003", "KHH-SW", "社會救助科", "", "", "", "在職"],
]


def big5_csv(rows, header=HEADER) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows([header, *rows])
    return text.getvalue().encode("cp950")


def xlsx(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [header, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_a_big5_csv_is_previewed_then_applied_and_a_second_import_changes_nothing(session, person):
    data = big5_csv(ROWS)
    assert data.decode("cp950") == decode_csv(data) and b"\xb3\xaf" in data  # 陳 in Big5, really not UTF-8
    people_before = count(session, Person)

    preview = import_people(session, data, dry_run=True, deactivate_missing=False, actor=person("admin"), now=NOW)
    assert preview.errors == [] and not preview.applied
    assert [c["username"] for c in preview.creates] == ["ld_chen", "ld_lin"]
    assert [(u["username"], u["changes"]) for u in preview.updates] == [("sw_staff", ["staff_number"])]
    assert [c["roles"] for c in preview.creates] == [["unit_head"], ["querier"]]
    assert count(session, Person) == people_before  # the preview changed nothing

    applied = import_people(session, data, dry_run=False, deactivate_missing=False, actor=person("admin"), now=NOW)
    assert applied.as_dict() == {**preview.as_dict(), "applied": True}
    session.expire_all()
    chen = person("ld_chen")
    assert (chen.name, chen.staff_number, chen.unit.name, chen.unit.parent.name) == (
        "陳建志", "P1001", "兒少福利科", "社會福利處")
    [holding] = chen.roles
    assert (holding.role, holding.unit_id, str(holding.valid_from)) == ("unit_head", chen.unit_id, "2026-12-01")
    assert str(person("ld_lin").roles[0].valid_until) == "2027-12-31"
    assert person("sw_staff").staff_number == "P1003"

    again = import_people(session, data, dry_run=False, deactivate_missing=False, actor=person("admin"), now=NOW)
    assert (again.creates, again.updates, again.deactivations, again.units, again.errors) == ([], [], [], [], [])
    assert count(session, Person) == people_before + 2


def test_an_xlsx_matches_people_by_staff_number_and_never_duplicates(session, person):
    admin = person("admin")
    import_people(session, xlsx(ROWS), dry_run=False, deactivate_missing=False, actor=admin, now=NOW)
    units = count(session, Unit)
    renamed = [["", "陳建志", "股長", "chen@kcg.gov.tw", "P1001", "高雄市政府社會局", "社會福利處/兒少福利科",
                "單位主管", "115/12/01", "", "在職"]]
    report = import_people(session, xlsx(renamed), dry_run=False, deactivate_missing=False, actor=admin, now=NOW)
    assert report.errors == [] and report.creates == []
    assert [(u["username"], u["changes"]) for u in report.updates] == [("ld_chen", ["title"])]
    assert session.scalar(select(func.count()).where(Person.staff_number == "P1001")) == 1
    assert count(session, Unit) == units
    assert import_people(session, xlsx(renamed), dry_run=False, deactivate_missing=False, actor=admin,
                         now=NOW).updates == []


def test_a_bad_row_applies_nothing_and_names_its_line_and_column(session, person):
    rows = [*ROWS, ["ld_wang", "王大明", "科員", "not-an-address", "P1004", "KHH-SW", "社會救助科", "資料查詢者", "",
                    "", "在職"],
            ["ld_huang", "黃小華", "科員", "", "P1005", "KHH-NOPE", "", "", "", "", ""]]
    people_before, events_before = count(session, Person), count(session, AuditEvent)
    report = import_people(session, big5_csv(rows), dry_run=False, deactivate_missing=False, actor=person("admin"),
                           now=NOW)
    assert [(e.row, e.column) for e in report.errors] == [(5, "電子郵件"), (6, "機關代碼")]
    assert "KHH-NOPE" in report.errors[1].message and not report.applied
    assert (count(session, Person), count(session, AuditEvent)) == (people_before, events_before)
    assert count(session, Unit) == len(session.scalars(select(Unit.id)).all())
    assert person("ld_chen") is None


def test_a_formula_cell_is_refused_never_computed(session, person):
    rows = [["ld_eve", "=HYPERLINK(\"http://evil\",\"x\")", "", "", "", "KHH-SW", "", "", "", "", ""]]
    report = import_people(session, xlsx(rows), dry_run=True, deactivate_missing=False, actor=person("admin"),
                           now=NOW)
    assert [(e.row, e.column) for e in report.errors] == [(2, "姓名")] and "公式" in report.errors[0].message


def test_people_missing_from_the_file_leave_and_their_open_steps_move(session, person):
    """Only within the agencies the file covers; the leaver's step goes to the new unit head of the file."""
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    sw = session.scalars(select(Person).where(Person.agency.has(code="KHH-SW"), Person.active.is_(True),
                                              Person.is_admin.is_(False))).all()
    keep = [p for p in sw if p.username not in ("sw_unit_head", "sw_auditor")]
    rows = [[p.username, p.name, p.title or "", p.email or "", "", "KHH-SW", p.unit.name,
             "、".join(h.role for h in p.roles), "", "", ""] for p in keep]
    rows.append(["sw_new_head", "何建宏", "科長", "", "P2001", "KHH-SW", "社會救助科", "unit_head", "", "", ""])
    report = import_people(session, big5_csv(rows), dry_run=False, deactivate_missing=True, actor=person("admin"),
                           now=NOW)
    assert report.errors == [] and [c["username"] for c in report.creates] == ["sw_new_head"]
    assert sorted(d["username"] for d in report.deactivations) == ["sw_auditor", "sw_unit_head"]
    assert report.updates == []
    session.expire_all()
    assert person("ep_querier").active  # another agency, not in the file
    task = session.scalars(select(HumanTask).where(HumanTask.application_id == app.id,
                                                   HumanTask.state == TaskState.OPEN)).one()
    assert [c.person.username for c in task.candidates] == ["sw_new_head"]
    assert session.scalars(select(HistoryEntry.opinion).where(HistoryEntry.application_id == app.id,
                                                              HistoryEntry.decision == "reassign")).one() \
        == "陳志明已離職：由 陳志明 改由 何建宏 辦理"
    assert session.scalar(select(RoleHolding.valid_until).where(
        RoleHolding.person_id == person("sw_unit_head").id)) == NOW.date()


def test_a_head_retiring_in_the_file_hands_steps_to_the_successor_named_further_down(session, person):
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    header = ["帳號", "姓名", "機關代碼", "單位", "角色", "狀態", "離職日"]
    rows = [["sw_unit_head", "陳志明", "KHH-SW", "社會救助科", "單位主管", "退休", "115/11/30"],
            ["sw_new_head", "何建宏", "KHH-SW", "社會救助科", "單位主管", "在職", ""]]
    report = import_people(session, big5_csv(rows, header), dry_run=False, deactivate_missing=False,
                           actor=person("admin"), now=NOW)
    assert report.errors == []
    assert [(d["username"], d["status"], len(d["tasks_moved"])) for d in report.deactivations] == [
        ("sw_unit_head", "retired", 1)]
    session.expire_all()
    task = session.scalars(select(HumanTask).where(HumanTask.application_id == app.id,
                                                   HumanTask.state == TaskState.OPEN)).one()
    assert [c.person.username for c in task.candidates] == ["sw_new_head"]
    retired = person("sw_unit_head")
    assert (retired.active, str(retired.status_on)) == (False, "2026-11-30")
    again = import_people(session, big5_csv(rows, header), dry_run=True, deactivate_missing=False,
                          actor=person("admin"), now=NOW)
    assert (again.creates, again.updates, again.deactivations) == ([], [], [])
