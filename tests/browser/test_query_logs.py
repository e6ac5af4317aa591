"""The query-log import as a manager clicks it: upload, correct a column in the preview, import, answer a flag."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.workflows.oversight.logfiles import csv_bytes
from workflows.demo import valid_national_id

pytestmark = pytest.mark.browser

OTHER = valid_national_id("F", "12345678")


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def test_a_manager_imports_a_big5_download_and_explains_its_flag(page: Page):
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill("manager")
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))
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
