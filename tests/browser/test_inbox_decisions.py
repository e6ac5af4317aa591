"""An approver's day in a real browser: three registrations decided at once by keyboard, a case sent back
to an earlier step and coming back, a decision recalled before the next step acts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Application, HistoryEntry, HumanTask, TaskState
from tests.browser.test_inbox_flow import log_in, log_out
from tests.conftest import MANAGER_ADD, registration
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

pytestmark = pytest.mark.browser

TO_DIRECTOR = ["sw_unit_head", "sw_head", "labor_clerk", "labor_chief"]


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def now() -> datetime:
    return datetime.now(UTC)


def approve(session, person, app: Application, username: str) -> Application:
    session.expire_all()  # the browser may have moved the application on since
    actor = person(username)
    task = next(r.task_id for r in reads.list_inbox(session, actor) if r.application_id == app.id)
    return complete_task(session, task_id=task, actor=actor, decision="approve", opinion="同意",
                         now=now() - timedelta(minutes=5))


def open_steps(session, app: Application) -> list[str]:
    session.expire_all()
    return [t.step for t in session.scalars(select(HumanTask).where(
        HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN))]


def test_a_unit_head_decides_three_registrations_at_once_by_keyboard(page: Page, session, person, artifacts):
    apps = [submit_application(session, form_key="query_registration", actor=person("applicant"),
                               data=registration(case_number=f"115-社救-{n:04d}"),
                               now=now() - timedelta(hours=3 - n)) for n in (1, 2, 3)]
    log_in(page, "sw_unit_head", "陳志明")
    page.locator("nav.filters a[data-form=query_registration]").click()
    rows = page.locator("#inbox-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("E12****783")  # the subject's number, masked, in the row itself
    expect(rows.first).to_contain_text("115-社救-0001")
    page.locator("body").click(position={"x": 5, "y": 5})
    for _ in apps:
        page.keyboard.press("j")
        page.keyboard.press("x")
    expect(page.locator("input[name=task_ids]:checked")).to_have_count(3)
    page.keyboard.press("r")  # 不同意 and the opinion field ...
    expect(page.get_by_label("意見（每件都記上同一意見；不同意時必填）")).to_be_focused()
    page.keyboard.type("jkx")  # ... where letters are text, not shortcuts
    expect(page.locator("input[name=task_ids]:checked")).to_have_count(3)
    page.get_by_label("意見（每件都記上同一意見；不同意時必填）").fill("查調事由明確，同意")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("a")
    expect(page.get_by_role("button", name="送出批次決定")).to_be_focused()
    page.screenshot(path=artifacts / "inbox-bulk.png", full_page=True)
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text("已批次決定 3 件")
    expect(page.locator("#inbox-table")).to_have_count(0)
    session.expire_all()
    assert [session.get(Application, a.id).state for a in apps] == ["completed"] * 3
    entries = session.scalars(select(HistoryEntry).where(HistoryEntry.decision == "approve")).all()
    assert sorted(h.application_id for h in entries) == sorted(a.id for a in apps)
    assert {h.opinion for h in entries} == {"查調事由明確，同意"}


def test_a_director_sends_a_case_back_to_the_clerk_and_it_comes_back(page: Page, session, person, artifacts):
    app = submit_application(session, form_key="manager_account", data=MANAGER_ADD, actor=person("sw_staff"),
                             now=now() - timedelta(hours=1))
    for username in TO_DIRECTOR:
        app = approve(session, person, app, username)
    log_in(page, "labor_director", "")
    page.locator(f"#inbox-table tr[data-application='{app.id}'] a.task-link").click()
    page.get_by_text("退回前關", exact=True).first.click()  # the summary opens the form
    page.get_by_label("退回到").select_option(label="勞工局承辦人審核")
    page.get_by_label("退回理由").fill("請補附機關 OID 佐證")
    page.get_by_role("button", name="退回前關").click()
    expect(page.locator(".flash.success")).to_contain_text("已退回前關")
    assert open_steps(session, app) == ["authority_clerk_review"]
    page.goto(f"/applications/{app.id}")
    expect(page.locator("table.history")).to_contain_text("退回至「勞工局承辦人審核」（第 1 輪）")
    expect(page.locator(".rewind-note[data-kind=send_back]")).to_have_count(1)  # on the diagram's trail
    page.screenshot(path=artifacts / "sent-back.png", full_page=True)
    log_out(page)

    log_in(page, "labor_clerk", "")
    page.locator(f"#inbox-table tr[data-application='{app.id}'] a.task-link").click()
    page.get_by_role("button", name="送出").click()
    expect(page.locator(".flash.success")).to_contain_text("勞工局承辦人審核")
    approve(session, person, app, "labor_chief")
    log_out(page)

    log_in(page, "labor_director", "")
    expect(page.locator(f"#inbox-table tr[data-application='{app.id}']")).to_contain_text("勞工局機關首長核章")
    assert open_steps(session, app) == ["authority_director_review"]


def test_a_decision_is_recalled_before_the_next_step_acts(page: Page, session, person, artifacts):
    app = submit_application(session, form_key="manager_account", data=MANAGER_ADD, actor=person("sw_staff"),
                             now=now() - timedelta(hours=1))
    log_in(page, "sw_unit_head", "陳志明")
    page.locator(f"#inbox-table tr[data-application='{app.id}'] a.task-link").click()
    page.get_by_role("button", name="送出").click()
    expect(page.locator(".flash.success")).to_be_visible()
    assert open_steps(session, app) == ["agency_head_review"]
    page.goto(f"/applications/{app.id}")
    page.get_by_label("取回理由（選填）").fill("漏看附件")
    page.get_by_role("button", name="取回我的決定").click()
    expect(page.locator(".flash.success")).to_contain_text("已取回")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator(f"#inbox-table tr[data-application='{app.id}']")).to_contain_text("單位主管核章")
    assert open_steps(session, app) == ["unit_head_review"]
    page.goto(f"/applications/{app.id}")
    expect(page.locator("table.history")).to_contain_text("取回")
    expect(page.get_by_role("button", name="取回我的決定")).to_have_count(0)
