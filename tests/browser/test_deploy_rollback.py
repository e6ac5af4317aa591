"""A deploy you can trust, in chromium: a harmful change is refused on the diagram with the simulated paths, the
fixed one deploys as a new version, and 回復此版 makes the earlier content current again."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import DefinitionVersion, ProcessDefinition
from tests.browser.test_editor import (
    deployed_xml,
    fill_and_commit,
    has_class,
    log_in_as_admin,
    open_editor,
    select_element,
)
from tests.conftest import QUERIER_ADD
from workflows.filing.applications import submit_application

pytestmark = pytest.mark.browser

APPROVE_FLOW = "flow_unit_head_review_approve"
HARMFUL = 'decision in ("approve", "reject")'  # a 不同意 at the unit head goes on to approval
FIXED = 'decision in ("approve",)'


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(15_000)
    return page


def versions(session) -> list[int]:
    session.expire_all()
    return list(session.scalars(select(DefinitionVersion.version).join(ProcessDefinition)
                                .where(ProcessDefinition.key == "querier_account").order_by(DefinitionVersion.version)))


def test_a_harmful_deploy_is_refused_on_the_diagram_then_fixed_deployed_and_rolled_back(page: Page, session, person,
                                                                                       artifacts):
    log_in_as_admin(page)
    open_editor(page)
    select_element(page, APPROVE_FLOW)
    fill_and_commit(page, "#bio-properties-panel-conditionExpression", HARMFUL)
    page.get_by_label("變更說明").fill("不同意也送機關管理者")
    page.get_by_role("button", name="部署為新版本").click()

    # Refused: the step is marked on the diagram, its problem names the path, the simulated paths are a table.
    expect(page.get_by_role("status")).to_contain_text("項錯誤")
    problem = page.locator('.problem-list li.error[data-element="unit_head_review"]')
    expect(problem).to_contain_text("決定「不同意」後，案件仍繼續並核准結案")
    expect(problem).to_contain_text("提出申請 → 單位主管核准：不同意 → 機關管理者設定帳號：同意 → "
                                    "權限管理單位主管核章：同意 → 核准結案")
    expect(page.locator('[data-element-id="unit_head_review"]')).to_have_class(has_class("has-problem"))
    expect(page.locator('.problem-badge[data-element="unit_head_review"]')).to_be_visible()
    table = page.locator("table.path-table")
    expect(table.locator("caption")).to_contain_text("模擬走過的路徑")
    harmful_row = table.locator("tr.path-approved", has_text="單位主管核准：不同意 → 機關管理者設定帳號：同意")
    expect(harmful_row.first).to_contain_text("核准結案")
    page.screenshot(path=str(artifacts / "deploy-refused.png"), full_page=True)
    assert versions(session) == [1]

    # Fixed: only 同意 goes on; the check passes and the deploy makes version 2.
    select_element(page, APPROVE_FLOW)
    fill_and_commit(page, "#bio-properties-panel-conditionExpression", FIXED)
    page.get_by_role("button", name="檢查").click()
    expect(page.get_by_role("status")).to_have_text("檢查通過")
    expect(page.locator(".problem-list li.error")).to_have_count(0)
    page.get_by_label("變更說明").fill("核准條件改寫")
    page.get_by_role("button", name="部署為新版本").click()
    expect(page).to_have_url(re.compile(r"/editor/#process-querier_account$"))
    expect(page.get_by_role("status").first).to_have_text("已部署為第 2 版")
    section = page.locator("#process-querier_account")
    expect(section.locator("tr[data-version='2'] .note")).to_have_text("核准條件改寫")
    assert versions(session) == [1, 2] and FIXED in deployed_xml(session, 2)

    # Rolled back: version 1's content comes back as version 3, and new filings run on it.
    first = section.locator("tr[data-version='1']")
    first.get_by_label("回復原因").fill("新條件待法制確認")
    first.get_by_role("button", name="回復此版").click()
    expect(page.get_by_role("status").first).to_have_text("已回復第 1 版，成為第 3 版")
    newest = page.locator("#process-querier_account tr[data-version='3']")
    expect(newest.locator(".note")).to_have_text("回復第 1 版：新條件待法制確認")
    expect(page.locator("#process-querier_account tr[data-version='3'] form.rollback")).to_have_count(0)
    page.screenshot(path=str(artifacts / "deploy-rolled-back.png"), full_page=True)
    assert versions(session) == [1, 2, 3] and deployed_xml(session, 3) == deployed_xml(session, 1)

    page.locator("#process-querier_account").get_by_role("link", name="編輯最新版（第 3 版）").click()
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")
    select_element(page, APPROVE_FLOW)
    expect(page.locator("#bio-properties-panel-conditionExpression")).to_have_value(
        'decision == "approve" and request_type != "remove_departed"')
    filed = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                               actor=person("sw_staff"), now=datetime.now(UTC))
    assert filed.definition_version.version == 3


def simulate_one_token(page: Page) -> None:
    page.get_by_role("button", name=re.compile("模擬流程|Simulate")).click()
    page.locator('.djs-overlays[data-container-id="start"] .bts-context-pad').first.click()


def test_the_token_simulation_speaks_the_pages_language(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    simulate_one_token(page)
    expect(page.locator('[title="重設模擬"]').first).to_be_attached()
    expect(page.locator('[title="Reset Simulation"]')).to_have_count(0)
    expect(page.locator('[title="觸發事件"]').first).to_be_attached()
    expect(page.locator(".bts-log .bts-header")).to_contain_text("模擬紀錄")

    page.goto("/lang/en?next=/editor/querier_account/edit")
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")
    simulate_one_token(page)
    expect(page.locator('[title="Reset Simulation"]').first).to_be_attached()
    expect(page.locator('[title="重設模擬"]')).to_have_count(0)
    expect(page.locator(".bts-log .bts-header")).to_contain_text("Simulation Log")
