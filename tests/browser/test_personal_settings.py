"""個人設定 as people use it: a unit head names a leave substitute, who finds and decides the waiting step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_inbox_flow import inbox_row, log_in, log_out
from tests.conftest import REGISTRATION
from workflows.calendar import local_date
from workflows.filing.applications import submit_application

pytestmark = pytest.mark.browser


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def test_a_unit_head_names_a_substitute_who_decides_the_waiting_step(page: Page, session, person, artifacts):
    now = datetime.now(UTC)  # the live server reads the real clock
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                             actor=person("applicant"), now=now)
    today = local_date(now)

    log_in(page, "sw_unit_head", "陳志明")
    page.get_by_role("link", name="個人設定").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("個人設定")
    page.get_by_role("group", name="電子郵件通知").get_by_label("每日摘要（工作日 08:30）").check()
    page.get_by_role("button", name="儲存設定").click()
    expect(page.get_by_role("status")).to_have_text("設定已儲存")
    expect(page.get_by_role("group", name="電子郵件通知").get_by_label("每日摘要（工作日 08:30）")).to_be_checked()

    page.get_by_label("代理人帳號").fill("sw_it_head")
    page.get_by_label("代理起日").fill(today.isoformat())
    page.get_by_label("代理迄日").fill((today + timedelta(days=3)).isoformat())
    page.get_by_role("button", name="設定代理人").click()
    expect(page.get_by_role("status")).to_have_text("代理人已設定")
    expect(page.locator("#current-substitute")).to_contain_text("張國華（sw_it_head）")
    page.screenshot(path=artifacts / "personal_settings.png", full_page=True)
    log_out(page)

    log_in(page, "sw_it_head", "張國華")
    row = inbox_row(page, app.id)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="單位主管核可").click()
    page.get_by_role("radio", name="同意", exact=True).check()
    page.get_by_label("意見", exact=True).fill("代理科長核可")
    page.get_by_role("button", name="送出", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已送出：單位主管核可")

    page.goto(f"/applications/{app.id}")
    signed = page.locator("table.history tbody tr").filter(has_text="代理科長核可")
    expect(signed).to_contain_text("張國華 代 陳志明")
