"""Where is it stuck, as people see it: the application's diagram and the bottleneck dashboard in chromium.

The applications are filed and decided through the service layer at known offsets before the real now (the
live server reads the wall clock); the pages are then read through bpmn-js as drawn in the browser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import HumanTask, TaskState
from tests.conftest import QUERIER_ADD
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

pytestmark = pytest.mark.browser


def has_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def seed(session, person):
    """file(days_ago) → id of a querier_account filed by sw_staff; approve(id, days_ago) moves it on."""
    base = datetime.now(UTC)

    def file(days: float) -> int:
        return submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                  actor=person("sw_staff"), now=base - timedelta(days=days)).id

    def approve(app_id: int, days: float) -> None:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id,
                                                            HumanTask.state == TaskState.OPEN))
        complete_task(session, task_id=task_id, actor=person("sw_unit_head"), decision="approve", opinion="同意",
                      now=base - timedelta(days=days))

    return file, approve


def log_in(page: Page, username: str, name: str) -> None:
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill(username)
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header .me")).to_contain_text(name)


def wait_for_diagram(page: Page):
    diagram = page.locator('#diagram[data-ready="true"]')
    expect(diagram).to_have_count(1)
    return diagram


def shape(page: Page, element_id: str):
    return page.locator(f'#diagram g.djs-element[data-element-id="{element_id}"]')


def test_application_diagram_marks_the_trail_and_who_holds_it(page: Page, seed, artifacts):
    file, approve = seed
    app_id = file(days=3)
    approve(app_id, days=1)  # unit_head_review done; agency_manager_setup waits on 王美玲 for 1 day

    log_in(page, "sw_staff", "吳佩珊")
    page.goto(f"/applications/{app_id}")
    wait_for_diagram(page)

    current, finished = shape(page, "agency_manager_setup"), shape(page, "unit_head_review")
    expect(current).to_have_count(1)
    expect(current).to_have_class(has_class("current-step"))
    expect(current).not_to_have_class(has_class("done"))
    expect(finished).to_have_class(has_class("done"))
    expect(finished).not_to_have_class(has_class("current-step"))
    expect(shape(page, "start")).to_have_class(has_class("done"))
    expect(shape(page, "end_completed")).not_to_have_class(has_class("done"))
    expect(page.locator("#diagram g.djs-connection.done")).not_to_have_count(0)
    expect(page.locator("#diagram .current-step")).to_have_count(1)

    note = page.locator('#diagram .djs-overlays[data-container-id="agency_manager_setup"] .holder-note')
    expect(note).to_have_count(1)
    expect(note).to_contain_text("王美玲")
    expect(note).to_contain_text("（1 天）")
    expect(note.locator(".late")).to_have_count(0)  # one day into a three-working-day step
    expect(page.locator("#diagram .holder-note")).to_have_count(1)
    page.screenshot(path=artifacts / "application_diagram.png", full_page=True)


def test_application_diagram_of_a_returned_form_points_at_the_applicant(page: Page, seed, session, person):
    file, _approve = seed
    app_id = file(days=2)
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id))
    complete_task(session, task_id=task_id, actor=person("sw_unit_head"), decision="return", opinion="請補附事由",
                  now=datetime.now(UTC) - timedelta(days=1))

    log_in(page, "sw_unit_head", "陳志明")
    page.goto(f"/applications/{app_id}")
    wait_for_diagram(page)
    expect(shape(page, "amend")).to_have_class(has_class("current-step"))
    expect(shape(page, "unit_head_review")).to_have_class(has_class("done"))
    expect(page.locator("#diagram .holder-note")).to_contain_text("吳佩珊")


def test_dashboard_badges_count_the_waiting_per_step(page: Page, seed, artifacts):
    file, approve = seed
    for days in (1, 2, 4):
        file(days)  # three wait at unit_head_review: 1, 2 and 4 days
    moved = file(12)
    approve(moved, days=10)  # one waits at agency_manager_setup: 10 days

    log_in(page, "sw_head", "李文彬")
    page.goto("/dashboard?form=querier_account")
    wait_for_diagram(page)
    expect(page.get_by_role("heading", level=2).first).to_contain_text("勞保 WebIR 資料查詢者帳號申請表 · 第 1 版")

    badges = page.locator("#diagram .count-badge")
    expect(badges).to_have_count(2)
    expect(page.locator('#diagram .count-badge[data-step="unit_head_review"]')).to_have_text("3")
    expect(page.locator('#diagram .count-badge[data-step="agency_manager_setup"]')).to_have_text("1")
    expect(page.locator('#diagram .count-badge[data-step="unit_head_review"]')).to_have_attribute(
        "title", re.compile(r"^中位數 2(\.0)? 天$"))  # median of 1, 2, 4
    # Each badge sits on its own step's overlay.
    expect(page.locator('#diagram .djs-overlays[data-container-id="unit_head_review"] .count-badge')
           ).to_have_text("3")
    expect(shape(page, "unit_head_review")).to_have_class(has_class("heat-4"))  # the busiest step
    expect(shape(page, "agency_manager_setup")).to_have_class(has_class("heat-2"))  # ceil(4 × 1 / 3)

    # The figures table and the ageing bars say the same.
    rows = page.locator('table.figures tbody tr[data-process="querier_account"]')
    expect(rows).to_have_count(2)
    expect(rows.filter(has=page.locator("td", has_text="單位主管核准")).locator("td.waiting")).to_have_text("3")
    expect(page.locator('table.figures tr[data-step="agency_manager_setup"] td.waiting')).to_have_text("1")
    for bucket, count in (("<3", "2"), ("3-7", "1"), ("7-30", "1"), (">30", "0")):
        expect(page.locator(f'.bar-count[data-bucket="{bucket}"]')).to_have_text(count)
    expect(page.locator("ol.stuck li").first).to_contain_text(f"案號 {moved}")
    page.screenshot(path=artifacts / "dashboard.png", full_page=True)


def test_dashboard_of_another_agency_shows_no_badges(page: Page, seed):
    file, _approve = seed
    file(1)
    log_in(page, "ep_head", "羅志強")
    page.goto("/dashboard?form=querier_account")
    wait_for_diagram(page)
    expect(page.locator("#diagram .count-badge")).to_have_count(0)
    expect(page.get_by_text("目前沒有等待中的步驟。")).to_be_visible()
    expect(page.locator('.bar-count[data-bucket="<3"]')).to_have_text("0")
