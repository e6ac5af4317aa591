"""The query-log API: a download posted as the body, dry run and store, rows listed with flags, masked, scoped."""

from __future__ import annotations

import io

from tests.conftest import SUBJECT
from tests.workflows.oversight.logfiles import csv_bytes, xlsx_bytes
from workflows.demo import valid_national_id

OTHER = valid_national_id("F", "12345678")
ROWS = [
    ["applicant.egov", "115/11/26", "10:00:00", "C0101", SUBJECT, "115-社救-0001", "低收入戶資格審查", "成功"],
    ["ghost.egov", "1151126", "10:07", "C0101", OTHER, "", "", "成功"],
]


def post_file(client, data: bytes, query: str, content_type: str = "text/csv"):
    return client.client.post(f"/api/v1/query-logs?{query}", data=data, content_type=content_type,
                              headers=client.headers)


def test_a_dry_run_answers_the_counts_and_stores_nothing_then_the_import_stores(api):
    manager = api.as_("manager")

    dry = post_file(manager, csv_bytes(ROWS), "agency=KHH-SW&dry_run=1&name=webir.csv")
    assert dry.status_code == 200
    assert {k: dry.json[k] for k in ("rows", "new", "duplicates", "errors", "stored")} == \
        {"rows": 2, "new": 2, "duplicates": 0, "errors": [], "stored": False}
    assert manager.get("/api/v1/query-logs").json["total"] == 0

    stored = post_file(manager, csv_bytes(ROWS), "agency=KHH-SW")
    assert stored.status_code == 201 and stored.json["new"] == 2
    again = post_file(manager, xlsx_bytes(ROWS), "agency=KHH-SW",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert (again.status_code, again.json["new"], again.json["duplicates"]) == (201, 0, 2)


def test_rows_are_listed_with_flags_and_masked_numbers_within_the_agency_and_the_city(api):
    post_file(api.as_("manager"), csv_bytes(ROWS), "agency=KHH-SW")

    listed = api.as_("manager").get("/api/v1/query-logs?flag=account_unknown").json
    assert listed["total"] == 1
    row = listed["items"][0]
    assert row["account"] == "ghost.egov" and row["flags"] == ["account_unknown"]
    assert row["subject"] == OTHER[:3] + "****" + OTHER[-3:] and OTHER not in str(listed)
    assert row["queried_at"] == "2026-11-26T02:07:00+00:00"
    assert api.as_("labor_clerk").get("/api/v1/query-logs").json["total"] == 2  # 勞工局: city-wide
    assert api.as_("sw_auditor").get("/api/v1/query-logs?from=115/11/26&to=2026-11-26").json["total"] == 2
    assert api.as_("ep_manager").get("/api/v1/query-logs").json["total"] == 0  # another agency's manager
    assert api.as_("applicant").get("/api/v1/query-logs").status_code == 403  # a querier reads no logs


def test_a_bad_row_is_a_422_naming_row_and_column_and_nothing_is_stored(api):
    manager = api.as_("manager")
    bad = [*ROWS, ["applicant.egov", "115/02/30", "10:00", "C0101", SUBJECT, "", "", ""]]

    response = post_file(manager, csv_bytes(bad), "agency=KHH-SW")

    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json["errors"]] == [(5, "查詢日期")]
    assert "115/02/30" in response.json["errors"][0]["message"]
    assert manager.get("/api/v1/query-logs").json["total"] == 0


def test_an_unreadable_file_and_a_stranger_are_refused(api):
    refused = post_file(api.as_("manager"), b"\xff\xfe\x00garbage" * 100, "agency=KHH-SW")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert post_file(api.as_("ep_manager"), csv_bytes(ROWS), "agency=KHH-SW").status_code == 403
    assert post_file(api.as_("manager"), csv_bytes(ROWS), "agency=NOPE").status_code == 404


def test_a_multipart_upload_with_a_corrected_column_and_a_flag_explained(api):
    manager = api.as_("manager")
    header = ["帳號", "查詢日期", "查詢時間", "作業代號", "備註", "查詢條件"]
    data = csv_bytes([["ghost.egov", "2026-11-26", "10:00", "C0101", OTHER, "x"]], header=header, encoding="utf-8")
    preview = manager.client.post("/api/v1/query-logs/preview", data={"file": (io.BytesIO(data), "a.csv")},
                                  headers=manager.headers)
    assert preview.json["mapping"]["subject"] == "查詢條件"

    stored = manager.client.post("/api/v1/query-logs?agency=KHH-SW&map_subject=備註",
                                 data={"file": (io.BytesIO(data), "a.csv")}, headers=manager.headers)
    assert stored.status_code == 201, stored.json
    log_id = manager.get("/api/v1/query-logs").json["items"][0]["id"]

    answer = manager.post(f"/api/v1/query-logs/{log_id}/flags/account_unknown",
                          {"action": "explained", "reason": "WebIR 測試帳號，已向勞保局確認"})
    assert answer.status_code == 201
    assert manager.post(f"/api/v1/query-logs/{log_id}/flags/account_unknown",
                        {"action": "violation", "reason": "再次"}).status_code == 409
    assert manager.post(f"/api/v1/query-logs/{log_id}/flags/self_query",
                        {"action": "explained", "reason": "x"}).status_code == 422
    row = manager.get("/api/v1/query-logs").json["items"][0]
    assert row["notes"] == {"account_unknown": {"action": "explained", "reason": "WebIR 測試帳號，已向勞保局確認"}}
    assert manager.get("/api/v1/query-logs?unexplained=1").json["total"] == 0


def test_a_month_is_sampled_printed_and_ticked_through_the_api(api):
    post_file(api.as_("manager"), csv_bytes(ROWS), "agency=KHH-SW")
    auditor = api.as_("sw_auditor")

    drawn = auditor.post("/api/v1/sampling", {"agency": "KHH-SW", "month": "2026-11", "seed": 7})
    assert drawn.status_code == 201 and (drawn.json["population"], drawn.json["drawn"]) == (2, 2)
    assert auditor.post("/api/v1/sampling", {"agency": "KHH-SW", "month": "2026-11"}).status_code == 409
    sheet = auditor.get(f"/api/v1/sampling/{drawn.json['id']}").json
    log_id = sheet["rows"][0]["log"]
    ticked = auditor.post(f"/api/v1/sampling/{drawn.json['id']}/rows/{log_id}", {"verdict": "ok"})
    assert ticked.status_code == 200
    assert api.as_("ep_manager").get(f"/api/v1/sampling/{drawn.json['id']}").status_code == 404


def test_the_legal_basis_table_is_read_by_all_and_kept_by_administrators(api):
    assert len(api.as_("applicant").get("/api/v1/legal-bases?agency=KHH-SW").json) == 8
    assert api.as_("manager").post("/api/v1/legal-bases", {"agency": "KHH-SW", "statute": "公益勸募條例第六條",
                                                           "purpose": "x"}).status_code == 403
    added = api.as_("admin").post("/api/v1/legal-bases", {"agency": "KHH-SW", "statute": "公益勸募條例第六條",
                                                          "purpose": "勸募案件查核"})
    assert added.status_code == 201
    assert api.as_("admin").post(f"/api/v1/legal-bases/{added.json['id']}/retire").json["active"] is False


def test_the_imports_and_answers_are_in_the_agencys_audit_trail(api):
    manager = api.as_("manager")
    post_file(manager, csv_bytes(ROWS), "agency=KHH-SW")
    log_id = manager.get("/api/v1/query-logs?flag=account_unknown").json["items"][0]["id"]
    manager.post(f"/api/v1/query-logs/{log_id}/flags/account_unknown", {"action": "violation", "reason": "非本機關"})

    def events(username):
        return {e["event_type"] for e in api.as_(username).get("/api/v1/audit-events?per_page=200").json["items"]}

    assert {"query_logs_imported", "query_log_violation_raised"} <= events("sw_auditor")  # 社會局's auditor
    assert {"query_logs_imported", "query_log_violation_raised"} <= events("labor_clerk")  # 勞工局: the city


def test_a_large_upload_is_a_job_answered_with_202_and_its_address(app, api, monkeypatch):
    from tests.workflows.oversight.test_import_jobs import log_rows
    from web.oversight import jobs

    monkeypatch.setitem(app.config, "QUERY_LOG_BACKGROUND_BYTES", 1000)
    manager = api.as_("manager")
    data = csv_bytes(log_rows(40))

    queued = manager.client.post("/api/v1/query-logs?agency=KHH-SW&name=big.csv", data=data, content_type="text/csv",
                                 headers=manager.headers)

    assert queued.status_code == 202, queued.get_json()
    address = queued.headers["Location"]
    job_id = queued.get_json()["id"]
    assert address.endswith(f"/api/v1/query-logs/imports/{job_id}")
    jobs.wait(job_id, timeout=60)
    done = manager.get(f"/api/v1/query-logs/imports/{job_id}")
    assert done.status_code == 200
    assert {k: done.json[k] for k in ("state", "rows", "new", "duplicates", "error_count", "file")} == {
        "state": "done", "rows": 40, "new": 40, "duplicates": 0, "error_count": 0, "file": "big.csv"}
    assert done.json["progress"] == {"done": len(data), "total": len(data), "percent": 100}
    assert api.as_("sw_unit_head").get(f"/api/v1/query-logs/imports/{job_id}").status_code == 404
    # background=0 keeps even a large file in the request
    again = manager.client.post("/api/v1/query-logs?agency=KHH-SW&background=0", data=data, content_type="text/csv",
                                headers=manager.headers)
    assert again.status_code == 201 and again.get_json()["duplicates"] == 40


def test_a_job_with_a_bad_row_reports_it_and_stores_nothing(api):
    from tests.workflows.oversight.test_import_jobs import log_rows
    from web.oversight import jobs

    manager = api.as_("manager")
    rows = log_rows(5)
    rows[3][3] = "X9999"
    queued = manager.client.post("/api/v1/query-logs?agency=KHH-SW&background=1", data=csv_bytes(rows),
                                 content_type="text/csv", headers=manager.headers)
    assert queued.status_code == 202
    jobs.wait(queued.get_json()["id"], timeout=60)
    failed = manager.get(f"/api/v1/query-logs/imports/{queued.get_json()['id']}").json
    assert failed["state"] == "failed"
    assert (failed["errors"][0]["row"], failed["errors"][0]["column"]) == (6, "作業代號")
    assert manager.get("/api/v1/query-logs").json["total"] == 0


def test_a_job_whose_process_died_is_failed_by_the_scheduler_and_its_upload_removed(app, api, monkeypatch):
    from datetime import timedelta
    from pathlib import Path

    from apscheduler.schedulers.background import BackgroundScheduler

    from tests.workflows.oversight.test_import_jobs import log_rows
    from web import clock
    from web.oversight import jobs
    from web.scheduler import TAIPEI, build

    monkeypatch.setattr(jobs, "start", lambda app, job_id, path: None)  # the process died before its thread ran
    manager = api.as_("manager")
    queued = manager.client.post("/api/v1/query-logs?agency=KHH-SW&background=1", data=csv_bytes(log_rows(5)),
                                 content_type="text/csv", headers=manager.headers)
    assert queued.status_code == 202
    job_id = queued.get_json()["id"]
    upload = Path(app.instance_path) / "uploads" / f"import-{job_id}.upload"
    assert upload.exists()  # the body kept under its job's name
    assert manager.get(f"/api/v1/query-logs/imports/{job_id}").json["state"] == "queued"

    later = clock.now() + timedelta(minutes=app.config["QUERY_LOG_IMPORT_STALE_MINUTES"] + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    sweep = build(app, BackgroundScheduler(timezone=TAIPEI)).get_job("dead_imports")
    assert sweep.func(*sweep.args) == [job_id]

    failed = manager.get(f"/api/v1/query-logs/imports/{job_id}").json
    assert failed["state"] == "failed" and "匯入程序已中斷" in failed["message"]
    assert failed["finished_at"] == later.isoformat()
    assert not upload.exists()
    assert manager.get("/api/v1/query-logs").json["total"] == 0
