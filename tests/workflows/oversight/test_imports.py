"""Importing WebIR query logs and reconciling them with the approved registrations, through the real database."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from models import AccountStatus, QueryLog, QueryLogImport
from tests.conftest import NOW, REGISTRATION, SUBJECT, make_account, make_person, registration
from workflows import settings
from workflows.demo import valid_national_id
from workflows.errors import Forbidden, Invalid
from workflows.filing.applications import submit_application
from workflows.filing.reads import list_inbox
from workflows.filing.tasks import complete_task
from workflows.oversight.imports import import_query_logs, preview_query_logs
from workflows.oversight.reconcile import reconcile_rows

from .logfiles import csv_bytes, xlsx_bytes

OK_SUBJECT = SUBJECT
OTHER = valid_national_id("F", "12345678")
BASIS_SUBJECT = valid_national_id("H", "22345678")
LISTED = REGISTRATION["legal_basis"]


def register(session, person, subject: str, basis: str = LISTED, item: str = "C0101", now=NOW, reason=None):
    """A 查調資料登記表 filed by the applicant and approved by her unit head at ``now``; a basis outside 社會局's
    table goes with a reason."""
    app = submit_application(session, form_key="query_registration", actor=person("applicant"), now=now,
                             data=registration(subject_national_id=subject, legal_basis=basis, item=item,
                                               legal_basis_reason=reason))
    head = person("sw_unit_head")
    task = next(r for r in list_inbox(session, head) if r.application_id == app.id)
    complete_task(session, task_id=task.task_id, actor=head, decision="approve", opinion="", data={}, now=now)
    return app


@pytest.fixture
def city(session, person, monkeypatch):
    """Two approved registrations, a disabled account, office hours enforced (社會局's legal-basis table: demo)."""
    monkeypatch.setattr(settings.SETTINGS, "office_hours_only", True)
    register(session, person, OK_SUBJECT)
    register(session, person, BASIS_SUBJECT, basis="其他不在附表的法規", reason="主管機關函示得依此查調")
    gone = make_person(session, "sw_gone", unit="社會救助科")
    account = make_account(session, gone, items=("C0101",))
    account.status, account.disabled_at = AccountStatus.DISABLED, NOW
    session.commit()
    return {"self": person("applicant").national_id, "colleague": person("sw_unit_head").national_id}


def rows(city) -> dict[str, list[str]]:
    """One row per flag (and one without), keyed by what reconciliation should find."""
    q = "applicant.egov"
    return {
        "clean": [q, "115/11/26", "10:00:00", "C0101", OK_SUBJECT, "115-社救-0001", "低收入戶資格審查", "成功"],
        "registered_after_query": [q, "115/11/25", "09:00:00", "C0101", OK_SUBJECT, "115-社救-0001", "審查", "成功"],
        "no_registration": [q, "115/11/26", "10:05:00", "B0101", OTHER, "115-社救-0002", "審查", "成功"],
        "item_not_granted": [q, "115/11/26", "10:06:00", "N0101", OTHER, "115-社救-0003", "審查", "成功"],
        "account_unknown": ["ghost.egov", "115/11/26", "10:07:00", "C0101", OTHER, "", "", "成功"],
        "account_disabled": ["sw_gone.egov", "115/11/26", "10:08:00", "C0101", OTHER, "", "", "成功"],
        "self_query": [q, "115/11/26", "10:09:00", "C0101", city["self"], "", "", "成功"],
        "colleague_query": [q, "115/11/26", "10:10:00", "C0101", city["colleague"], "", "", "成功"],
        "outside_office_hours": [q, "115/11/29", "23:30:00", "C0101", OK_SUBJECT, "115-社救-0001", "審查", "成功"],
        "basis_not_listed": [q, "115/11/26", "10:11:00", "C0101", BASIS_SUBJECT, "115-社救-0004", "審查", "成功"],
    }


EXPECTED = {
    "clean": set(),
    "registered_after_query": {"registered_after_query"},
    "no_registration": {"no_registration"},
    "item_not_granted": {"item_not_granted", "no_registration"},
    "account_unknown": {"account_unknown"},
    "account_disabled": {"account_disabled", "no_registration"},
    "self_query": {"self_query", "no_registration"},
    "colleague_query": {"colleague_query", "no_registration"},
    "outside_office_hours": {"outside_office_hours"},
    "basis_not_listed": {"basis_not_listed"},
}


def load(session, person, data: bytes, name: str = "webir.csv", *, dry_run=False, mapping=None, who="manager"):
    return import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(data), file_name=name,
                             actor=person(who), now=NOW + timedelta(days=5), dry_run=dry_run, mapping=mapping)


def stored_flags(session) -> dict[int, set[str]]:
    from models import flag_names
    return {line: set(flag_names(bits)) for line, bits in session.execute(select(QueryLog.line, QueryLog.flags))}


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(QueryLog))


def test_a_big5_csv_with_roc_dates_gets_one_flag_of_each_kind_and_its_duplicate_counted(session, person, city):
    by_kind = rows(city)
    data = csv_bytes([*by_kind.values(), by_kind["clean"]])  # the last line repeats the first row

    result = load(session, person, data)

    assert (result.rows, result.new, result.duplicates, result.errors) == (11, 10, 1, [])
    assert result.stored
    flags = stored_flags(session)
    # line 1 is the download's title, line 2 the header: data starts on line 3.
    assert {kind: flags[n] for n, kind in enumerate(by_kind, start=3)} == EXPECTED
    clean = session.scalar(select(QueryLog).where(QueryLog.line == 3))
    assert clean.registration_id is not None and clean.person_id == person("applicant").id
    raw = session.execute(text("SELECT subject_id_sealed FROM query_log")).scalars().all()
    assert all(v.startswith("enc1:") for v in raw) and OK_SUBJECT not in "".join(raw)


def test_the_same_rows_as_xlsx_with_other_headers_add_nothing(session, person, city):
    by_kind = rows(city)
    first = load(session, person, csv_bytes(list(by_kind.values()), encoding="utf-8-sig"))
    assert first.new == 10

    again = load(session, person, xlsx_bytes(list(by_kind.values())), "webir.xlsx")

    assert (again.rows, again.new, again.duplicates) == (10, 0, 10)
    assert again.mapping == {"account": "使用者代號", "date": "日期", "time": "時間", "item": "作業代碼",
                             "subject": "查詢對象", "case_number": "案件編號", "reason": "事由", "result": "查詢結果"}
    assert count(session) == 10
    assert session.scalar(select(func.count()).select_from(QueryLogImport)) == 2


def test_a_bad_row_is_named_by_line_and_column_and_nothing_is_stored(session, person, city):
    by_kind = rows(city)
    bad_date = ["applicant.egov", "115/13/40", "10:00", "C0101", OK_SUBJECT, "", "", ""]
    bad_item = ["applicant.egov", "1151126", "10:00", "X9999", OTHER, "", "", ""]
    data = csv_bytes([by_kind["clean"], bad_date, by_kind["no_registration"], bad_item])

    result = load(session, person, data)

    assert not result.stored
    assert [(e.row, e.column) for e in result.errors] == [(4, "查詢日期"), (6, "作業代號")]
    assert "115/13/40" in result.errors[0].message
    assert count(session) == 0
    assert session.scalar(select(func.count()).select_from(QueryLogImport)) == 0


@pytest.mark.parametrize("data, reason", [
    (b"\x00\x01\x02binary\xff\xfe\xfd" * 50, "編碼"),
    ("姓名,電話\n王小明,123\n".encode(), "標題列"),
    (b"PK\x03\x04 not really a zip", ".xlsx"),
    (b"", "空"),
])
def test_an_unreadable_file_is_refused_with_the_reason_and_nothing_stored(session, person, city, data, reason):
    with pytest.raises(Invalid) as refused:
        load(session, person, data)

    assert reason in " ".join(refused.value.errors.values())
    assert count(session) == 0


def test_a_dry_run_counts_what_would_be_new_and_stores_nothing(session, person, city):
    result = load(session, person, csv_bytes(list(rows(city).values())), dry_run=True)

    assert (result.rows, result.new, result.duplicates, result.stored) == (10, 10, 0, False)
    assert count(session) == 0


def test_the_mapping_is_shown_and_a_correction_is_followed(session, person, city):
    header = ["帳號", "查詢日期", "查詢時間", "作業代號", "備註", "查詢條件"]
    data = csv_bytes([["applicant.egov", "2026-11-26", "10:00", "C0101", OK_SUBJECT, "A223456781"]],
                     header=header, encoding="utf-8")
    # "備註" holds the number WebIR queried here; "查詢條件" something else: the manager corrects the guess.
    preview = preview_query_logs(io.BytesIO(data))
    assert preview.mapping["subject"] == "查詢條件" and preview.sample[0]["subject"] == "A22****781"

    result = load(session, person, data, mapping={"subject": "備註"})

    assert result.mapping["subject"] == "備註" and result.new == 1
    assert session.scalar(select(QueryLog)).subject_id == OK_SUBJECT


def test_only_the_agencys_own_manager_imports(session, person, city):
    with pytest.raises(Forbidden):
        load(session, person, csv_bytes(list(rows(city).values())), who="ep_manager")


def test_reconciling_again_clears_a_flag_once_the_registration_is_approved(session, person, city):
    late = ["applicant.egov", "115/11/26", "10:00:00", "B0101", OTHER, "", "", ""]
    load(session, person, csv_bytes([late]))
    assert stored_flags(session)[3] == {"no_registration"}

    register(session, person, OTHER, item="B0101", now=NOW + timedelta(days=2))
    changed = reconcile_rows(session, person("applicant").agency)

    assert changed == 1
    assert stored_flags(session)[3] == {"registered_after_query"}


def test_the_yearly_reviews_last_use_is_the_last_logged_query(session, person, city):
    from workflows.accounts.review import list_reviewed_accounts

    late = ["applicant.egov", "115/11/28", "16:30:00", "B0101", OTHER, "", "", ""]
    load(session, person, csv_bytes([rows(city)["clean"], late]))

    listed = {a.username: a for a in list_reviewed_accounts(session, person("applicant").agency_id,
                                                            NOW + timedelta(days=10))}

    assert listed["applicant"].last_used.isoformat() == "2026-11-28"  # not the registrations' 2026-11-25
