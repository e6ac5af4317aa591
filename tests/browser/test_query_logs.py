"""The query-log import as a manager clicks it: upload, correct a column in the preview, import, answer a flag."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_inbox_flow import log_in
from tests.workflows.oversight.logfiles import csv_bytes
from tests.workflows.oversight.test_import_jobs import log_rows
from web.oversight import jobs
from workflows.demo import valid_national_id

pytestmark = pytest.mark.browser

OTHER = valid_national_id("F", "12345678")


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def test_a_manager_imports_a_big5_download_and_explains_its_flag(page: Page):
    log_in(page, "manager", "王美玲")
    page.get_by_role("link", name="查詢紀錄勾稽").click()
    page.get_by_role("link", name="匯入查詢紀錄").click()

    data = csv_bytes([["ghost.egov", "115/11/26", "10:00", "C0101", OTHER, "x"]],
                     header=["帳號", "查詢日期", "查詢時間", "作業代號", "備註", "查詢條件"])
    page.get_by_label("查詢紀錄檔").set_input_files({"name": "webir.csv", "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="預覽").click()
    subject = page.get_by_label("查詢條件", exact=True)
    expect(subject).to_have_value("查詢條件")
    subject.select_option("備註")
    page.get_by_role("button", name="匯入", exact=True).click()

    expect(page.get_by_role("status")).to_contain_text("新增 1 筆")
    page.get_by_role("link", name="查看勾稽結果").click()
    row = page.locator("table.query-logs tbody tr").first
    expect(row).to_contain_text("帳號不明")
    expect(row).to_contain_text(OTHER[:3] + "****" + OTHER[-3:])
    row.get_by_label("理由").fill("勞保局測試帳號")
    row.get_by_role("button", name="說明").click()
    expect(page.locator("table.query-logs")).to_contain_text("已說明：勞保局測試帳號")


def test_a_large_download_is_imported_by_a_job_whose_page_follows_it_to_the_end(page: Page, live_server,
                                                                                   monkeypatch):
    monkeypatch.setitem(live_server.app.config, "QUERY_LOG_BACKGROUND_BYTES", 1000)
    gate, run = threading.Event(), jobs.run_import_job

    def held(*args, **kwargs):  # the job waits until the test has seen its page while it is queued
        gate.wait(30)
        return run(*args, **kwargs)
    monkeypatch.setattr(jobs, "run_import_job", held)
    log_in(page, "manager", "王美玲")
    page.goto("/query-logs/import")
    data = csv_bytes(log_rows(300))
    page.get_by_label("查詢紀錄檔").set_input_files({"name": "big.csv", "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="預覽").click()
    page.get_by_role("button", name="匯入", exact=True).click()

    expect(page).to_have_url(re.compile(r"/query-logs/imports/\d+$"))
    expect(page.get_by_role("heading", name="匯入進度")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("等待開始匯入…")
    expect(page.locator("#import-job-bar")).to_have_attribute("value", "0")
    gate.set()
    # The script polls the job and loads the page again when it has ended: the bar full, the sentence final.
    expect(page.get_by_role("status")).to_contain_text("匯入完成：共 300 列：新增 300 筆", timeout=30_000)
    expect(page.locator("#import-job-bar")).to_have_attribute("value", "100")
    expect(page.get_by_label("進度")).to_be_visible()
    page.get_by_role("link", name="查看勾稽結果").click()
    expect(page.locator("table.query-logs")).to_contain_text("115-社救-00299")
