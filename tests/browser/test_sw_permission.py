"""社會局's 權限管理者 decides 附表1 item by item on the task page (003 §2), as people click it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import HistoryEntry
from tests.browser.test_inbox_flow import log_in
from tests.conftest import NOW
from tests.jurisdictions.kaohsiung_sw.test_chains import SW_QUERIER_ADD
from workflows.editor.deploy import map_layer_chains
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

pytestmark = pytest.mark.browser


def test_the_manager_grants_one_item_and_refuses_another_with_its_reason(page: Page, session, person):
    page.set_default_timeout(10_000)
    map_layer_chains(session, "KHH-SW")
    session.commit()
    app = submit_application(session, form_key="querier_account", data={**SW_QUERIER_ADD, "items": ["C0101", "B0101"]},
                             actor=person("sw_staff"), now=NOW)
    head = person("sw_unit_head")
    [row] = [r for r in reads.list_inbox(session, head) if r.application_id == app.id]
    complete_task(session, task_id=row.task_id, actor=head, decision="approve", opinion="同意", now=NOW)
    [task] = [r for r in reads.list_inbox(session, person("manager")) if r.application_id == app.id]
    log_in(page, "manager", "王美玲")
    page.goto(f"/tasks/{task.task_id}")
    page.get_by_role("group", name="C0101 被保險人投保資料").get_by_label("准予").check()
    page.get_by_role("group", name="B0101 給付簡要資料").get_by_label("不同意").check()
    page.get_by_label("B0101：不同意原因").fill("本科不辦理給付業務")
    page.get_by_label("生效日期").fill("2026-12-01")
    page.get_by_role("radio", name="完成設定").check()
    page.get_by_role("button", name=re.compile("送出")).click()
    expect(page.locator(".flash.success")).to_contain_text("權限管理者逐項准駁並設定")
    session.expire_all()
    seal = [r for r in reads.list_inbox(session, person("sw_it_head")) if r.application_id == app.id]
    assert [r.step for r in seal] == ["permission_seal"]
    # What was clicked is what was recorded: one item granted, the other refused with the reason typed.
    setting = session.scalar(select(HistoryEntry).where(HistoryEntry.application_id == app.id,
                                                        HistoryEntry.step == "permission_setting"))
    assert setting.data["granted_items"] == ["C0101"]
    assert setting.data["refused_items"] == "B0101 給付簡要資料：本科不辦理給付業務"
