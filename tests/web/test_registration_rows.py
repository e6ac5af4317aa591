"""The city's 查調資料登記表 as a table of rows (000 附表一): filed through the API and the page, approved whole."""

from __future__ import annotations

import re

import time_machine

from models import QUERY_ITEMS
from tests.conftest import NOW, REGISTRATION_ROW, page_registration, registration
from tests.web.test_pages import login
from tests.web.test_sheets import flat, pdf_text
from tests.workflows.oversight.logfiles import csv_bytes
from workflows.demo import valid_national_id

FIRST, SECOND, THIRD = (valid_national_id("E", f"1{n:07d}") for n in (4444, 5555, 6666))
SHEET = registration(
    {"subject_name": "王一", "subject_national_id": FIRST, "item": "C0101"},
    {"subject_name": "李二", "subject_national_id": SECOND, "item": "B0101", "query_date": "2026-11-26"},
    {"subject_name": "張三", "subject_national_id": THIRD, "item": "B0201", "reason": "中低收入戶資格複查"},
    case_number="115-社救-0400")
MASKED = [f"{n[:3]}****{n[-3:]}" for n in (FIRST, SECOND, THIRD)]


def approve(api, app_id: int) -> dict:
    head = api.as_("sw_unit_head")
    [task] = [t for t in head.get("/api/v1/tasks").get_json() if t["application"] == app_id]
    return head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "opinion": "同意"}).get_json()


def test_a_sheet_of_three_rows_is_filed_through_the_api_and_approved_as_a_whole(api, tmp_path):
    filed = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration", "data": SHEET})
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    [task] = [t for t in api.as_("sw_unit_head").get("/api/v1/tasks").get_json() if t["application"] == app_id]
    key = {k["name"]: k["value"] for k in task["key"]}
    assert key["rows"] == "；".join(f"{name} {masked} {item} {QUERY_ITEMS[item]}" for name, masked, item in zip(
        ("王一", "李二", "張三"), MASKED, ("C0101", "B0101", "B0201"), strict=True))  # the inbox row says what is asked
    assert approve(api, app_id) == {"application": app_id, "state": "completed"}  # one step for the whole sheet

    shown = api.as_("applicant").get(f"/api/v1/applications/{app_id}")
    rows = shown.get_json()["data"]["rows"]
    assert [(r["subject_name"], r["subject_national_id"], r["item"], r["query_date"]) for r in rows] == [
        ("王一", MASKED[0], "C0101", "2026-11-25"), ("李二", MASKED[1], "B0101", "2026-11-26"),
        ("張三", MASKED[2], "B0201", "2026-11-25")]
    assert not any(n in shown.get_data(as_text=True) for n in (FIRST, SECOND, THIRD))

    pdf = api.as_("applicant").get(f"/api/v1/applications/{app_id}/pdf")
    text = flat(pdf_text(pdf.data, tmp_path, "rows"))
    assert "編號" in text and all(flat(m) in text for m in MASKED)  # the printed sheet: every row, masked
    assert flat("張三") in text and flat("中低收入戶資格複查") in text and "115年11月26日" in text
    assert not any(n in text for n in (FIRST, SECOND, THIRD))


def test_a_wrong_row_is_named_by_its_line_and_column_and_blank_trailing_rows_are_dropped(api):
    applicant = api.as_("applicant")
    wrong = registration(REGISTRATION_ROW, REGISTRATION_ROW, {"subject_national_id": "E123456789", "item": ""})
    refused = applicant.post("/api/v1/applications", {"form": "query_registration", "data": wrong})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["errors"] == {
        "rows[3].subject_national_id": "第 3 筆「被查詢人身分證字號」檢查碼不正確",
        "rows[3].item": "第 3 筆「查調類別」為必填"}
    eleven = registration(*[REGISTRATION_ROW] * 11)
    too_many = applicant.post("/api/v1/applications", {"form": "query_registration", "data": eleven})
    assert too_many.status_code == 422 and too_many.get_json()["errors"] == {"rows": "「查調資料」最多 10 筆"}
    not_rows = applicant.post("/api/v1/applications", {"form": "query_registration",
                                                        "data": {**REGISTRATION_ROW, "rows": "陳小明"}})
    assert not_rows.status_code == 422 and "rows" in not_rows.get_json()["errors"]
    none = applicant.post("/api/v1/applications", {"form": "query_registration", "data": {
        **SHEET, "rows": [{k: "" for k in REGISTRATION_ROW}]}})
    assert none.get_json()["errors"] == {"rows": "「查調資料」至少須填 1 筆"}  # a blank row is no row
    blank_after = {**SHEET, "rows": [*SHEET["rows"], {k: "" for k in REGISTRATION_ROW}]}
    filed = applicant.post("/api/v1/applications", {"form": "query_registration", "data": blank_after})
    assert filed.status_code == 201
    assert len(applicant.get(f"/api/v1/applications/{filed.get_json()['id']}").get_json()["data"]["rows"]) == 3


def test_the_filing_page_offers_ten_labelled_rows_and_files_the_ones_filled(app, api):
    client = login(app.test_client(), "applicant")
    page = client.get("/applications/new/query_registration").text
    for line in range(10):  # ten slots, each column labelled with its line for a screen reader
        assert f'<legend>第 {line + 1} 筆</legend>' in page
        assert re.search(rf'<label for="rows-{line}-subject_name">第 {line + 1} 筆 被查詢人姓名</label>', page)
    assert 'id="rows-10-subject_name"' not in page

    wrong = page_registration({**SHEET, "rows": [*SHEET["rows"][:2], {**SHEET["rows"][2], "subject_name": ""}]})
    refused = client.post("/applications/new/query_registration", data=wrong)
    assert refused.status_code == 200
    [field] = re.findall(r'<input[^>]*id="rows-2-subject_name"[^>]*>', refused.text)
    assert 'aria-invalid="true"' in field and 'aria-describedby="rows-2-subject_name-error-0"' in field
    assert 'id="rows-2-subject_name-error-0" class="error" role="alert">第 3 筆「被查詢人姓名」為必填' in refused.text

    sent = client.post("/applications/new/query_registration", data=page_registration(SHEET))
    assert sent.status_code == 302, sent.text
    app_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    assert approve(api, app_id)["state"] == "completed"
    detail = client.get(f"/applications/{app_id}").text
    table = detail.split('<table class="rows">')[1].split("</table>")[0]
    assert "<caption>查調資料</caption>" in table and '<th scope="col">編號</th>' in table
    assert [re.sub(r"<[^>]+>", "", r) for r in re.findall(r'<th scope="row">(\d+)</th>', table)] == ["1", "2", "3"]
    assert all(m in table for m in MASKED) and not any(n in detail for n in (FIRST, SECOND, THIRD))
    assert api.as_("applicant").get(f"/api/v1/applications/{app_id}").get_json()["data"]["rows"][2][
        "reason"] == "中低收入戶資格複查"


def test_the_query_log_api_and_page_name_the_row_a_query_matched(app, api):
    with time_machine.travel(NOW, tick=False):  # filed and approved before the logged queries (115/11/27)
        app_id = _filed_and_approved(api)
    stranger = valid_national_id("F", "23456789")
    log = csv_bytes([["applicant.egov", "115/11/27", "10:00:00", item, number, "115-社救-0400", "審查", "成功"]
                     for item, number in (("C0101", FIRST), ("B0201", THIRD), ("C0101", stranger))])
    manager = api.as_("manager")
    stored = manager.client.post("/api/v1/query-logs?agency=KHH-SW", data=log, content_type="text/csv",
                                 headers=manager.headers)
    assert stored.status_code == 201 and stored.json["new"] == 3
    listed = {r["subject"]: (r["registration"], r["registration_line"], r["flags"])
              for r in manager.get("/api/v1/query-logs").json["items"]}
    assert listed == {MASKED[0]: (app_id, 1, []), MASKED[2]: (app_id, 3, []),
                      f"{stranger[:3]}****{stranger[-3:]}": (None, None, ["no_registration"])}
    page = login(app.test_client(), "manager").get("/query-logs/").text
    assert f">{app_id}</a>（第 3 筆）" in page and f">{app_id}</a>（第 1 筆）" in page


def _filed_and_approved(api) -> int:
    app_id = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration", "data": SHEET}).json["id"]
    approve(api, app_id)
    return app_id
