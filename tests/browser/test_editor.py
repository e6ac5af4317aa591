"""An administrator redraws a chain in chromium: edit in the panel, check, deploy, see the history and the diff."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Application, DefinitionVersion, HumanTask, ProcessDefinition, TaskState
from tests.conftest import QUERIER_ADD, granted, make_person
from workflows.editor.deploy import deploy_version
from workflows.editor.drafts import save_draft
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

pytestmark = pytest.mark.browser

NEW_NAME = "單位主管審核"
NEW_CONDITION = 'decision in ("approve",)'


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(15_000)
    return page


def has_class(name: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def log_in_as_admin(page: Page) -> None:
    log_in_as(page, "admin")


def log_in_as(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill(username)
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))


def open_editor(page: Page) -> None:
    page.get_by_role("link", name="流程圖管理").click()
    section = page.locator("#process-querier_account")
    expect(section.locator("tr[data-version='1'] .version")).to_have_text("第 1 版")
    section.get_by_role("link", name="編輯最新版（第 1 版）").click()
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")


def select_element(page: Page, element_id: str) -> None:
    """Select through diagram-js (a thin, bent connection has no reliable point to click), then wait for the panel."""
    page.evaluate("""id => { const ed = document.getElementById('editor').editor;
                             ed.get('selection').select(ed.get('elementRegistry').get(id)); }""", element_id)
    expect(page.locator("#bio-properties-panel-id")).to_have_value(element_id)


def fill_and_commit(page: Page, selector: str, value: str) -> None:
    # The panel debounces input; Tab commits it before the next selection (bpmnjs.md §6).
    field = page.locator(selector)
    field.fill(value)
    field.press("Tab")


def deployed_xml(session, version: int) -> str:
    session.expire_all()
    return session.scalar(select(DefinitionVersion.bpmn_xml).join(ProcessDefinition).where(
        ProcessDefinition.key == "querier_account", DefinitionVersion.version == version)).decode()


def decide(session, person, app_id: int, username: str, **data) -> Application:
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id,
                                                        HumanTask.state == TaskState.OPEN))
    return complete_task(session, task_id=task_id, actor=person(username), decision="approve", data=data,
                         now=datetime.now(UTC))


def test_admin_renames_a_task_changes_a_condition_deploys_and_sees_the_diff(page: Page, session, person, artifacts):
    before = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                actor=person("sw_staff"), now=datetime.now(UTC)).id
    log_in_as_admin(page)
    open_editor(page)

    page.locator('[data-element-id="unit_head_review"]').click(position={"x": 50, "y": 12})
    expect(page.locator("#bio-properties-panel-id")).to_have_value("unit_head_review")
    expect(page.locator("#bio-properties-panel-approvalForm")).to_have_value("review")
    fill_and_commit(page, "#bio-properties-panel-name", NEW_NAME)
    fill_and_commit(page, "#bio-properties-panel-approvalDueDays", "5")
    select_element(page, "flow_unit_head_review_approve")
    expect(page.locator("#bio-properties-panel-conditionExpression")).to_have_value(
        'decision == "approve" and request_type != "remove_departed"')
    fill_and_commit(page, "#bio-properties-panel-conditionExpression", NEW_CONDITION)
    expect(page.locator('[data-element-id="unit_head_review"]')).to_contain_text(NEW_NAME)

    page.get_by_role("button", name="檢查").click()
    expect(page.get_by_role("status")).to_have_text("檢查通過")
    page.screenshot(path=str(artifacts / "editor-edited.png"), full_page=True)

    page.get_by_label("變更說明").fill("單位主管步驟改名，核准條件改寫")
    page.get_by_role("button", name="部署為新版本").click()
    expect(page).to_have_url(re.compile(r"/editor/#process-querier_account$"))
    expect(page.get_by_role("status").first).to_have_text("已部署為第 2 版")
    row = page.locator("#process-querier_account tr[data-version='2']")
    expect(row.locator(".version")).to_have_text("第 2 版")
    expect(row.locator(".author")).to_have_text("系統管理者")
    expect(row.locator(".note")).to_have_text("單位主管步驟改名，核准條件改寫")
    page.screenshot(path=str(artifacts / "editor-history.png"), full_page=True)

    xml = deployed_xml(session, 2)
    assert f'name="{NEW_NAME}"' in xml and NEW_CONDITION in xml, xml
    assert re.search(r'id="unit_head_review".*?name="due_working_days" value="5"', xml, re.S)

    section = page.locator("#process-querier_account")
    section.get_by_label("舊版本").select_option("1")
    section.get_by_label("新版本").select_option("2")
    section.get_by_role("button", name="比較版本").click()
    expect(page.locator("#diff")).to_have_attribute("data-ready", "true")
    expect(page.locator('#diagram-b [data-element-id="unit_head_review"]')).to_have_class(has_class("diff-changed"))
    expect(page.locator('#diagram-b [data-element-id="flow_unit_head_review_approve"]')).to_have_class(
        has_class("diff-changed"))
    expect(page.locator('.changes li.changed[data-element="unit_head_review"]')).to_contain_text(
        f"名稱：單位主管核准 → {NEW_NAME}；辦理期限（工作天）：3 → 5")
    expect(page.locator('.changes li.changed[data-element="flow_unit_head_review_approve"]')).to_contain_text(
        f'條件：decision == "approve" and request_type != "remove_departed" → {NEW_CONDITION}')
    page.screenshot(path=str(artifacts / "editor-diff.png"), full_page=True)

    # One filed now runs on what the editor saved, under the new name, and the one filed before the
    # deploy still runs, and finishes, on version 1.
    after = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                               now=datetime.now(UTC))
    assert (after.definition_version.version, after.tasks[0].name) == (2, NEW_NAME)
    decide(session, person, before, "sw_unit_head")
    decide(session, person, before, "manager", **granted(QUERIER_ADD["items"]))
    app = decide(session, person, before, "sw_it_head")  # the manager's unit head seals (000 附表三)
    assert (app.state.value, app.definition_version.version) == ("completed", 1)
    decide(session, person, after.id, "sw_unit_head")
    assert session.get(Application, after.id).tasks[-1].step == "agency_manager_setup"


def test_problems_show_on_the_diagram_and_block_the_deploy(page: Page, session, artifacts):
    log_in_as_admin(page)
    open_editor(page)
    select_element(page, "lane_unit_head")
    expect(page.locator("#bio-properties-panel-laneRole")).to_have_value("unit_head")
    fill_and_commit(page, "#bio-properties-panel-name", "boss")

    page.get_by_label("變更說明").fill("錯誤的泳道")
    page.get_by_role("button", name="部署為新版本").click()
    expect(page.get_by_role("status")).to_contain_text("項錯誤")
    problem = page.locator('.problem-list li.error[data-element="unit_head_review"]')
    expect(problem).to_contain_text("boss")
    expect(page.locator('.problem-badge[data-element="unit_head_review"]')).to_be_visible()
    expect(page.locator('[data-element-id="unit_head_review"]')).to_have_class(has_class("has-problem"))
    page.screenshot(path=str(artifacts / "editor-problems.png"), full_page=True)
    session.expire_all()
    assert session.scalar(select(DefinitionVersion.version).order_by(DefinitionVersion.version.desc())
                          .join(ProcessDefinition).where(ProcessDefinition.key == "querier_account")) == 1


def test_save_a_draft_upload_and_download(page: Page, tmp_path):
    log_in_as_admin(page)
    open_editor(page)
    select_element(page, "agency_manager_setup")
    fill_and_commit(page, "#bio-properties-panel-name", "機關管理者開通帳號")
    page.get_by_role("button", name="儲存草稿").click()
    expect(page.get_by_role("status")).to_contain_text("草稿已儲存")
    expect(page).to_have_url(re.compile(r"/editor/querier_account/edit\?draft=\d+$"))

    page.get_by_role("link", name="流程圖管理").click()
    page.get_by_role("link", name="繼續編輯").click()
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")
    expect(page.locator('[data-element-id="agency_manager_setup"]')).to_contain_text("機關管理者開通帳號")

    with page.expect_download() as download:
        page.get_by_role("button", name="下載 .bpmn").click()
    saved = tmp_path / "querier_account.bpmn"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert "機關管理者開通帳號" in text and 'name="form" value="account_setup"' in text

    upload = tmp_path / "upload.bpmn"
    upload.write_text(text.replace("機關管理者開通帳號", "上傳的名稱"), encoding="utf-8")
    page.locator('input[type=file][data-action="upload"]').set_input_files(str(upload))
    expect(page.get_by_role("status")).to_contain_text("已開啟 upload.bpmn")
    expect(page.locator('[data-element-id="agency_manager_setup"]')).to_contain_text("上傳的名稱")


def test_another_administrators_draft_opens_read_only(page: Page, session, person):
    draft_xml = deployed_xml(session, 1).replace('name="單位主管核准"', f'name="{NEW_NAME}"').encode()
    save_draft(session, key="querier_account", xml=draft_xml, base_version=1, note="改名", actor=person("admin"),
               now=datetime.now(UTC))
    other = make_person(session, "admin_b", agency="KHH-IT", unit="資訊服務科", name="蘇怡如")
    other.is_admin = True
    other.set_password("demo")
    session.commit()
    log_in_as(page, "admin_b")
    page.get_by_role("link", name="流程圖管理").click()
    expect(page.get_by_role("button", name="刪除草稿")).to_have_count(0)
    page.get_by_role("link", name="檢視（唯讀）").click()
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("note")).to_contain_text("唯讀：這是 系統管理者 的草稿")
    expect(page.locator('[data-element-id="unit_head_review"]')).to_contain_text(NEW_NAME)
    for name in ("儲存草稿", "部署為新版本"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)
    page.get_by_role("button", name="檢查").click()
    expect(page.get_by_role("status")).to_contain_text("檢查通過")


def test_admin_moves_a_waiting_application_to_the_new_version(page: Page, session, person, artifacts):
    app_id = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                                now=datetime.now(UTC)).id
    xml = deployed_xml(session, 1).replace('name="單位主管核准"', f'name="{NEW_NAME}"').encode()
    deploy_version(session, xml, key="querier_account", actor=person("admin"), now=datetime.now(UTC), note="改名",
                   jurisdiction="kaohsiung")
    log_in_as_admin(page)
    page.goto("/editor/querier_account/migrate?from=1&to=2")
    row = page.locator(f"tr[data-application='{app_id}']")
    expect(row).to_contain_text("單位主管核准")
    expect(row.get_by_role("checkbox")).to_be_checked()
    page.get_by_role("button", name="移轉勾選的案件到第 2 版").click()
    expect(page.get_by_role("status").first).to_have_text(f"已移轉到第 2 版：案號 {app_id}")
    page.screenshot(path=str(artifacts / "editor-migrate.png"), full_page=True)
    session.expire_all()
    app = session.get(Application, app_id)
    assert (app.definition_version.version, app.tasks[0].name) == (2, NEW_NAME)
