"""The city's 查調資料登記表 as people fill it: rows found by their labels, reached with the keyboard, shown masked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_inbox_flow import log_in
from workflows.demo import valid_national_id

pytestmark = pytest.mark.browser

FIRST, SECOND = valid_national_id("E", "17777777"), valid_national_id("E", "18888888")


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def fill_row(page: Page, line: int, name: str, number: str, item: str) -> None:
    page.get_by_label(f"第 {line} 筆 申請日期", exact=True).fill("2026-11-25")
    page.get_by_label(f"第 {line} 筆 被查詢人姓名", exact=True).fill(name)
    page.get_by_label(f"第 {line} 筆 被查詢人身分證字號", exact=True).fill(number)
    page.get_by_label(f"第 {line} 筆 查調類別", exact=True).select_option(item)
    page.get_by_label(f"第 {line} 筆 查調事由", exact=False).fill("低收入戶資格審查")


def test_a_querier_fills_two_rows_by_their_labels_and_the_sheet_shows_them_masked(page: Page):
    log_in(page, "applicant", "林怡君")
    page.goto("/applications/new/query_registration")
    rows = page.get_by_role("group", name="查調資料")
    expect(rows.get_by_role("group", name=re.compile(r"^第 \d+ 筆$"))).to_have_count(10)
    page.get_by_label("案號", exact=True).fill("115-社救-0500")
    page.get_by_label("法令依據", exact=True).fill("社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項")
    fill_row(page, 1, "王一", FIRST, "C0101")
    # From row 1's last column the Tab key goes on to row 2's first: the rows are in reading order.
    page.get_by_label("第 1 筆 查調事由", exact=False).focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("第 2 筆 申請日期", exact=True)).to_be_focused()
    fill_row(page, 2, "李二", SECOND, "B0101")
    page.get_by_role("button", name="送出申請").click()

    expect(page).to_have_url(re.compile(r"/applications/\d+$"))
    table = page.get_by_role("table", name="查調資料")
    expect(table.get_by_role("row")).to_have_count(3)  # the header and the two rows filled; eight blank ones dropped
    expect(table).to_contain_text(f"{FIRST[:3]}****{FIRST[-3:]}")
    expect(table).to_contain_text("李二")
    assert FIRST not in page.content() and SECOND not in page.content()
