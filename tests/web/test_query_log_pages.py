"""The query-log pages: import with a preview and a corrected column, the reconciliation list, the sample sheet."""

from __future__ import annotations

import io
import re

from tests.conftest import SUBJECT
from tests.workflows.oversight.logfiles import csv_bytes
from workflows.demo import valid_national_id

OTHER = valid_national_id("F", "12345678")


def login(client, username):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302
    return client


def test_a_manager_previews_corrects_and_imports_then_answers_a_flag(app):
    manager = login(app.test_client(), "manager")
    header = ["帳號", "查詢日期", "查詢時間", "作業代號", "備註", "查詢條件"]
    data = csv_bytes([["ghost.egov", "115/11/26", "10:00", "C0101", OTHER, "x"]], header=header)

    preview = manager.post("/query-logs/import", data={"agency": "KHH-SW", "file": (io.BytesIO(data), "webir.csv")},
                           content_type="multipart/form-data")
    assert preview.status_code == 200
    assert re.search(r'name="map_subject">.*?<option value="查詢條件" selected', preview.text, re.S)
    assert 'for="map_subject"' in preview.text  # each select has its label

    imported = manager.post("/query-logs/import", data={"do": "import", "map_subject": "備註",
                                                        **{f"map_{k}": v for k, v in (
                                                            ("account", "帳號"), ("date", "查詢日期"),
                                                            ("time", "查詢時間"), ("item", "作業代號"))}})
    assert "新增 1 筆" in imported.text and "匯入完成" in imported.text

    listed = manager.get("/query-logs/?flag=account_unknown").text
    assert "ghost.egov" in listed and "帳號不明" in listed
    assert OTHER not in listed and OTHER[:3] + "****" + OTHER[-3:] in listed
    log_id = re.search(r'/query-logs/(\d+)/flags/account_unknown', listed)[1]
    answered = manager.post(f"/query-logs/{log_id}/flags/account_unknown",
                            data={"action": "violation", "reason": "非本機關帳號"})
    assert answered.status_code == 302
    assert "已列為違規" in manager.get("/query-logs/").text
    assert "ghost.egov" not in manager.get("/query-logs/?unexplained=1").text


def test_a_flag_raised_as_a_major_violation_on_the_page_opens_the_case_and_its_joint_audit(app, api):
    manager = login(app.test_client(), "manager")
    data = csv_bytes([["ghost.egov", "115/11/26", "10:00:00", "C0101", OTHER, "", "", "成功"]])
    api_manager = api.as_("manager")
    assert api_manager.client.post("/api/v1/query-logs?agency=KHH-SW", data=data, content_type="text/csv",
                                   headers=api_manager.headers).status_code == 201
    listed = manager.get("/query-logs/?flag=account_unknown").text
    assert 'name="major"' in listed and "重大異常" in listed
    log_id = re.search(r'/query-logs/(\d+)/flags/account_unknown', listed)[1]

    answered = manager.post(f"/query-logs/{log_id}/flags/account_unknown",
                            data={"action": "violation", "reason": "大量查詢", "major": "1"}, follow_redirects=True)

    assert "已記錄處理結果，並開啟違規案件" in answered.text
    [case] = api_manager.get(f"/api/v1/violations?log={log_id}").json
    assert case["application"] and case["joint_audit"]


def test_a_bad_file_names_its_rows_and_stores_nothing(app):
    manager = login(app.test_client(), "manager")
    bad = csv_bytes([["applicant.egov", "115/13/01", "10:00", "C0101", SUBJECT, "", "", ""]])
    manager.post("/query-logs/import", data={"agency": "KHH-SW", "file": (io.BytesIO(bad), "bad.csv")},
                 content_type="multipart/form-data")

    page = manager.post("/query-logs/import", data={"do": "import"}).text

    assert "未匯入" in page and "115/13/01" in page and "錯誤 1 列" in page
    assert "沒有查詢紀錄" in manager.get("/query-logs/").text


def test_who_reaches_the_pages(app):
    assert login(app.test_client(), "applicant").get("/query-logs/").status_code == 403
    assert login(app.test_client(), "labor_clerk").get("/query-logs/import").status_code == 403
    clerk = login(app.test_client(), "labor_clerk")
    assert clerk.get("/query-logs/").status_code == 200 and "查詢紀錄勾稽" in clerk.get("/").text
    bases = clerk.get("/query-logs/legal-bases").text
    assert "社會救助法第十八條" in bases and "長期照顧服務法" in bases


def test_the_sample_sheet_is_ticked(app, api):
    api.as_("manager").client.post("/api/v1/query-logs?agency=KHH-SW", data=csv_bytes([
        ["applicant.egov", "115/11/26", "10:00:00", "C0101", SUBJECT, "115-社救-0001", "審查", "成功"]]),
        content_type="text/csv", headers=api.as_("manager").headers)
    draw = api.as_("sw_auditor").post("/api/v1/sampling", {"agency": "KHH-SW", "month": "2026-11"}).json
    auditor = login(app.test_client(), "sw_auditor")
    sheet = auditor.get(f"/query-logs/sampling/{draw['id']}").text
    log_id = re.search(r'/sampling/\d+/rows/(\d+)', sheet)[1]

    auditor.post(f"/query-logs/sampling/{draw['id']}/rows/{log_id}", data={"verdict": "problem", "note": "案號不符"})

    assert "有問題：案號不符" in auditor.get(f"/query-logs/sampling/{draw['id']}").text


def test_a_large_file_is_imported_by_a_job_whose_page_shows_its_progress(app, monkeypatch):
    from tests.workflows.oversight.test_import_jobs import log_rows
    from web.oversight import jobs

    monkeypatch.setitem(app.config, "QUERY_LOG_BACKGROUND_BYTES", 1000)
    manager = login(app.test_client(), "manager")
    data = csv_bytes(log_rows(60))
    manager.post("/query-logs/import", data={"agency": "KHH-SW", "file": (io.BytesIO(data), "big.csv")},
                 content_type="multipart/form-data")

    queued = manager.post("/query-logs/import", data={"do": "import"})

    assert queued.status_code == 302
    job_id = int(re.fullmatch(r"/query-logs/imports/(\d+)", queued.headers["Location"])[1])
    jobs.wait(job_id, timeout=60)
    page = manager.get(f"/query-logs/imports/{job_id}")
    assert page.status_code == 200
    assert re.search(r'<progress id="import-job-bar" max="100" value="100">', page.text)
    assert re.search(r'role="status" aria-live="polite">匯入完成：共 60 列：新增 60 筆', page.text)
    assert 'http-equiv="refresh"' not in page.text  # ended: no more refreshing
    polled = manager.get(f"/query-logs/imports/{job_id}", headers={"Accept": "application/json"}).get_json()
    assert (polled["state"], polled["new"], polled["progress"]["percent"]) == ("done", 60, 100)
    assert polled["text"].startswith("匯入完成")
    assert "115-社救-00059" in manager.get("/query-logs/").text
    assert login(app.test_client(), "applicant").get(f"/query-logs/imports/{job_id}").status_code == 404


def test_a_running_job_refreshes_its_page_without_scripts(app, session):
    from sqlalchemy import select

    from models import ImportState, Person, QueryLogImport

    manager = session.scalar(select(Person).where(Person.username == "manager"))
    job = QueryLogImport(agency_id=manager.agency_id, actor_id=manager.id, file_name="big.csv", mapping={},
                         state=ImportState.RUNNING, rows=1234, progress_done=250, progress_total=1000)
    session.add(job)
    session.commit()
    page = login(app.test_client(), "manager").get(f"/query-logs/imports/{job.id}").text
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert 'value="25"' in page and "已讀取 1,234 列（25%）" in page
    assert "js/query-log-import.js" in page
