"""No script from diagram data, in chromium: a hostile name is text on every page that draws a diagram,
and a diagram opened by its URL is saved, never rendered."""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from tests.browser.test_editor import fill_and_commit, log_in_as_admin, open_editor, select_element
from tests.conftest import QUERIER_ADD
from workflows.editor.deploy import deploy_version
from workflows.filing.applications import submit_application

pytestmark = pytest.mark.browser

QUERIER = (Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung" / "querier_account.bpmn").read_text()
PAYLOAD = 'x" onmouseover="window.__xss=1" y="'  # breaks out of an attribute value built as a string
TAG_PAYLOAD = '<img src=x onerror="window.__xss=1">'  # becomes an element in text built as a string


def in_xml(text: str) -> str:
    return text.replace('"', "&quot;")


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(15_000)
    return page


def log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill(username)
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))


def assert_nothing_ran(page: Page) -> None:
    assert page.evaluate("window.__xss") is None
    handlers = page.evaluate("""[...document.querySelectorAll('*')]
        .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).map(e => e.outerHTML)""")
    assert handlers == []


def deploy(session, person, xml: str) -> None:
    deploy_version(session, xml.encode(), key="querier_account", actor=person("admin"), now=datetime.now(UTC),
                   note="x", jurisdiction="kaohsiung")


def test_a_hostile_lane_name_stays_text_in_the_editor(page: Page):
    log_in_as_admin(page)
    open_editor(page)
    select_element(page, "lane_unit_head")
    fill_and_commit(page, "#bio-properties-panel-name", PAYLOAD)
    page.get_by_role("button", name="檢查").click()
    problem = page.locator('.problem-list li.error[data-element="unit_head_review"]')
    expect(problem).to_contain_text(PAYLOAD)  # the server names the lane, quotes and all, as plain text
    badge = page.locator('.problem-badge[data-element="unit_head_review"]')
    expect(badge).to_have_attribute("title", re.compile(re.escape(PAYLOAD)))
    badge.hover()
    problem.hover()
    assert_nothing_ran(page)


def test_a_hostile_step_name_and_holder_name_stay_text_on_the_application_page_and_the_dashboard(
        page: Page, session, person):
    deploy(session, person, QUERIER.replace('name="單位主管核准"', f'name="{in_xml(PAYLOAD)}"'))
    person("sw_unit_head").name = TAG_PAYLOAD  # the holder shown on the diagram
    session.commit()
    app_id = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                actor=person("sw_staff"), now=datetime.now(UTC)).id

    log_in(page, "sw_staff")
    page.goto(f"/applications/{app_id}")
    expect(page.locator('#diagram[data-ready="true"]')).to_have_count(1)
    note = page.locator("#diagram .holder-note")
    expect(note).to_contain_text(TAG_PAYLOAD)
    page.locator('#diagram [data-element-id="unit_head_review"]').hover()
    note.hover()
    assert_nothing_ran(page)

    page.goto("/dashboard?form=querier_account&version=2")
    expect(page.locator('#diagram[data-ready="true"]')).to_have_count(1)
    badge = page.locator('#diagram .count-badge[data-step="unit_head_review"]')
    expect(badge).to_have_text("1")
    badge.hover()
    page.locator("table.figures td", has_text=PAYLOAD).hover()
    assert_nothing_ran(page)


def test_a_diagram_opened_by_its_url_is_saved_not_run(page: Page, session, person):
    deploy(session, person, QUERIER.replace(
        "</bpmn:definitions>",
        '<html:script xmlns:html="http://www.w3.org/1999/xhtml">window.__xss = 1</html:script></bpmn:definitions>'))
    log_in(page, "sw_staff")
    with page.expect_download() as download:
        with suppress(PlaywrightError):  # chromium reports the navigation as aborted: it became a download
            page.goto("/definitions/querier_account/versions/2.bpmn")
    assert download.value.suggested_filename == "querier_account-v2.bpmn"
    assert "window.__xss = 1" in Path(download.value.path()).read_text(encoding="utf-8")
    assert page.evaluate("window.__xss") is None


def test_the_api_docs_render_under_the_policy(page: Page):
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui .opblock-summary-path", has_text="/process-definitions").first).to_be_visible()


def test_withdrawing_asks_first_without_an_inline_handler(page: Page, session, person):
    app_id = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                actor=person("sw_staff"), now=datetime.now(UTC)).id
    log_in(page, "sw_staff")
    page.goto(f"/applications/{app_id}")
    questions: list[str] = []

    def answer(accept: bool):
        def handle(dialog):
            questions.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))
    page.get_by_role("button", name="撤回申請").click()
    expect(page.locator("#state")).to_have_text("審核中")
    page.once("dialog", answer(True))
    page.get_by_role("button", name="撤回申請").click()
    expect(page.locator("#state")).to_have_text("已撤回")
    assert questions == ["確定撤回此申請？", "確定撤回此申請？"]
