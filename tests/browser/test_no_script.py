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

from workflows.editor.deploy import deploy_version

pytestmark = pytest.mark.browser

QUERIER = (Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung" / "querier_account.bpmn").read_text()


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


def deploy(session, person, xml: str) -> None:
    deploy_version(session, xml.encode(), key="querier_account", actor=person("admin"), now=datetime.now(UTC),
                   note="x", jurisdiction="kaohsiung")


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
