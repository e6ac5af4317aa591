"""組織管理 as an administrator clicks it: a unit, a person and a role; that person logs in to their first task.
The import page shows its upload's progress and previews a real .xlsx before anything changes."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect
from sqlalchemy import select

from models import Person, Unit
from tests.conftest import NOW, QUERIER_ADD, make_person
from workflows.filing.applications import submit_application

pytestmark = pytest.mark.browser
FORM_TITLE = "勞保 WebIR 資料查詢者帳號申請表"


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def log_in(page: Page, username: str, password: str, name: str) -> None:
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill(username)
    page.get_by_label("密碼", exact=True).fill(password)
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header .me")).to_contain_text(name)


def test_a_new_unit_head_added_by_the_administrator_finds_their_first_task(page: Page, session, artifacts):
    log_in(page, "admin", "demo", "系統管理者")
    page.get_by_role("link", name="組織管理").click()
    page.get_by_role("link", name="高雄市政府社會局").click()
    page.get_by_label("單位名稱").fill("老人福利科")
    page.get_by_role("button", name="新增單位").click()
    expect(page.get_by_role("status")).to_have_text("已新增單位 老人福利科")
    expect(page.locator("ul.unit-tree")).to_contain_text("老人福利科")

    form = page.get_by_role("form", name="新增人員")
    form.get_by_label("帳號", exact=True).fill("sw_elder_head")
    form.get_by_label("姓名", exact=True).fill("蘇麗華")
    form.get_by_label("職稱", exact=True).fill("科長")
    form.get_by_label("員工編號", exact=True).fill("S-9001")
    form.get_by_label("單位", exact=True).select_option(label="老人福利科")
    form.get_by_label(re.compile("^初始密碼")).fill("elder-head-1")
    form.get_by_role("button", name="新增人員").click()
    expect(page).to_have_url(re.compile(r"/org/people/sw_elder_head$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("蘇麗華")

    grant = page.get_by_role("form", name="授予角色")
    grant.get_by_label("角色", exact=True).select_option(label="單位主管")
    grant.get_by_role("button", name="授予角色").click()
    expect(page.get_by_role("status")).to_have_text("已授予角色")
    expect(page.locator("table.org-roles tbody tr[data-role='unit_head']")).to_contain_text("老人福利科")
    page.screenshot(path=artifacts / "org_person.png", full_page=True)
    page.get_by_role("button", name="登出").click()

    # Someone of the new unit files a form (through the core); the new head finds it in the inbox.
    session.expire_all()
    unit = session.scalar(select(Unit).where(Unit.name == "老人福利科"))
    clerk = make_person(session, "sw_elder_clerk", unit="老人福利科", name="施文雄")
    assert clerk.unit_id == unit.id
    session.commit()
    filed = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=clerk, now=NOW)

    log_in(page, "sw_elder_head", "elder-head-1", "蘇麗華")
    row = page.locator("table.inbox tbody tr").filter(has=page.get_by_role("cell", name=str(filed.id), exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(FORM_TITLE)
    expect(row).to_contain_text("施文雄")
    row.get_by_role("link", name="單位主管核准").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"案號 {filed.id}")
    assert session.scalar(select(Person.staff_number).where(Person.username == "sw_elder_head")) == "S-9001"


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_import_page_uploads_with_progress_previews_then_applies(page: Page, session, artifacts):
    rows = [["帳號", "姓名", "員工編號", "機關代碼", "單位", "角色"]] + [
        [f"yb_staff{n:03d}", f"青年局人員{n}", f"Y-{n:04d}", "KHH-YB", "青年發展科/青創輔導股", "資料查詢者"]
        for n in range(1, 301)]
    log_in(page, "admin", "demo", "系統管理者")
    page.goto("/org/import")
    page.get_by_label("人事資料檔").set_input_files(files=[{
        "name": "青年局人事.xlsx", "buffer": xlsx(rows),
        "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}])
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/org/import")) as sent:
        page.get_by_role("button", name="上傳並預覽").click()
    # The page's script sent the file itself (showing its progress) and was told where the preview is.
    assert sent.value.request.headers["accept"] == "application/json"
    assert sent.value.headers["content-type"] == "application/json"
    # The server checks every row before the preview shows: a loaded machine may take a while.
    expect(page).to_have_url(re.compile(r"/org/import/[\w-]+$"), timeout=60_000)
    expect(page.get_by_role("status")).to_have_text("預覽：共 300 列。以下變更尚未套用。")
    expect(page.locator("table.import-changes tbody tr")).to_have_count(301)  # 300 people and one new unit
    assert session.scalar(select(Person.id).where(Person.username == "yb_staff001")) is None
    page.screenshot(path=artifacts / "org_import_preview.png", full_page=True)
    page.get_by_role("button", name="套用匯入").click()
    expect(page.locator("p.flash.success")).to_have_text("已匯入：新增 300 人、更新 0 人、停用 0 人。",
                                                         timeout=60_000)
    session.expire_all()
    assert session.scalar(select(Person.staff_number).where(Person.username == "yb_staff300")) == "Y-0300"
