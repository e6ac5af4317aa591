"""The browser's own print of an application page: no menu, the whole diagram on the page, a readable table.

The page is laid out as print media at the width of an A4 page's printable area (print.css), as chromium's
print does; the diagram must be refitted into its page-wide box, and chromium's own PDF of the page is kept
under artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import HumanTask, TaskState
from tests.conftest import MANAGER_ADD
from tests.web.test_sheets import flat, pdf_text
from tests.workflows.filing.test_chains import MANAGER_CHAIN
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

pytestmark = pytest.mark.browser
A4_PRINTABLE = 718  # CSS pixels: 210 mm less print.css's 2 × 12 mm margins, at 96 px per inch


@pytest.fixture
def long_chain(session, person) -> int:
    """A 機關管理者帳號申請表 (the widest diagram) four steps along, decided over the last days."""
    base = datetime.now(UTC) - timedelta(days=5)
    app = submit_application(session, form_key="manager_account", data=dict(MANAGER_ADD), actor=person("sw_staff"),
                             now=base)
    for n, (username, step, data) in enumerate(MANAGER_CHAIN[:4], start=1):
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app.id,
                                                            HumanTask.step == step, HumanTask.state == TaskState.OPEN))
        complete_task(session, task_id=task_id, actor=person(username), decision="approve",
                      opinion="核章，請續辦", data=dict(data), now=base + timedelta(days=n))
    return app.id


def drawing_inside_box(page: Page) -> dict:
    return page.evaluate("""() => {
        const box = document.querySelector('#diagram').getBoundingClientRect();
        const drawing = document.querySelector('#diagram svg g.viewport').getBoundingClientRect();
        return {box: [box.left, box.right, box.width], drawing: [drawing.left, drawing.right, drawing.width]};
    }""")


def test_printing_the_application_page(page: Page, long_chain, artifacts):
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill("sw_staff")
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto(f"/applications/{long_chain}")
    expect(page.locator('#diagram[data-ready="true"]')).to_have_count(1)
    expect(page.locator("header.top nav").first).to_be_visible()

    page.set_viewport_size({"width": A4_PRINTABLE, "height": 1000})
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()  # no menu, let alone one character per line
    expect(page.locator("#sheet-pdf")).to_be_hidden()
    # The whole drawing fits in the page-wide box (refitted when print media began).
    page.wait_for_function("""() => {
        const box = document.querySelector('#diagram').getBoundingClientRect();
        const drawing = document.querySelector('#diagram svg g.viewport').getBoundingClientRect();
        return drawing.left >= box.left - 1 && drawing.right <= box.right + 1;
    }""")
    sizes = drawing_inside_box(page)
    assert sizes["box"][2] <= A4_PRINTABLE and sizes["drawing"][2] > 0.5 * sizes["box"][2], sizes

    # The sign-off table: every column wide enough for a name, each signer's name on one line.
    headers = page.locator("table.history thead th")
    widths = [headers.nth(i).bounding_box()["width"] for i in range(headers.count())]
    assert min(widths) >= 40, widths
    signers = page.locator("table.history tbody td:nth-child(3)")
    line = float(page.evaluate("getComputedStyle(document.querySelector('table.history td')).lineHeight"
                               ".replace('px', '')"))
    for i in range(signers.count()):
        assert signers.nth(i).bounding_box()["height"] < 2.5 * line + 12, signers.nth(i).inner_text()
    expect(page.locator("table.history tbody tr")).to_have_count(5)

    page.pdf(path=str(artifacts / "print-application-page.pdf"), format="A4", print_background=True)
    page.screenshot(path=str(artifacts / "print-application-page.png"), full_page=True)


def test_ticked_applications_download_as_one_pdf(page: Page, long_chain, session, person, tmp_path):
    others = [submit_application(session, form_key="manager_account", data=dict(MANAGER_ADD),
                                 actor=person("sw_staff"), now=datetime.now(UTC) - timedelta(hours=h)).id
              for h in (1, 2)]
    page.set_default_timeout(15_000)
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill("sw_head")
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    page.goto("/applications/")
    for app_id in (long_chain, others[1]):
        page.get_by_label(f"勾選案號 {app_id} 列印").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="下載勾選案件的申請表 PDF").click()
    path = tmp_path / "download.pdf"
    download.value.save_as(path)
    text = flat(pdf_text(path.read_bytes(), tmp_path, "selection"))
    numbers = re.findall(r"表單編號（案號）：(\d+)", text)
    assert sorted(numbers) == sorted([str(long_chain), str(others[1])])

