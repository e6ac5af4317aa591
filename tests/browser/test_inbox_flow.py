"""The inbox flow as people click it: file a form, approve it, see it reach the next approver."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from models import Application, HumanTask, NationalIdReveal, TaskState
from tests.conftest import REGISTRATION
from workflows.filing.applications import submit_application

pytestmark = pytest.mark.browser

FORM_TITLE = "勞保 WebIR 資料查詢者帳號申請表"
OPINION = "業務需要，同意申請"


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def log_in(page: Page, username: str, name: str) -> None:
    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill(username)
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header .me")).to_contain_text(name)


def log_out(page: Page) -> None:
    page.get_by_role("button", name="登出").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="登入")).to_be_visible()


def open_querier_form(page: Page) -> None:
    page.get_by_role("link", name="新增申請").click()
    page.get_by_role("link", name=FORM_TITLE).click()
    expect(page.get_by_role("heading", name=FORM_TITLE)).to_be_visible()


def fill_querier_form(page: Page, national_id: str) -> None:
    page.get_by_role("radio", name="新增資料查詢者").check()
    page.get_by_label("姓名", exact=True).fill("吳佩珊")
    page.get_by_label("職稱", exact=True).fill("科員")
    page.get_by_label("身分證字號", exact=True).fill(national_id)
    page.get_by_label("公務電話", exact=True).fill("07-3368333#1234")
    page.get_by_label("E-mail", exact=True).fill("peishan@demo.kcg.gov.tw")
    page.get_by_label("「我的e政府」公務帳號", exact=True).fill("peishan.wu")
    page.get_by_label("已於「我的e政府」平台完成公務帳號申請").check()
    page.get_by_label("已於「我的e政府」綁定並上傳自然人憑證").check()
    page.get_by_label("已詳讀並熟悉個人資料保護法規定").check()
    page.get_by_label("C0101 被保險人投保資料").check()
    page.get_by_label("B0101 給付簡要資料").check()
    page.get_by_label("連線勞保查詢系統之電腦合法 IP").fill("10.20.30.40")
    page.get_by_label("申請事由", exact=True).fill("辦理低收入戶審核需查詢投保資料")


def inbox_row(page: Page, application_id: int):
    return page.locator("table.inbox tbody tr").filter(
        has=page.get_by_role("cell", name=str(application_id), exact=True))


def test_filed_form_travels_from_unit_head_to_agency_manager(page: Page, session, artifacts):
    # sw_staff files the form through the HTML page.
    log_in(page, "sw_staff", "吳佩珊")
    open_querier_form(page)
    fill_querier_form(page, "A123456789")
    page.get_by_role("button", name="送出申請").click()
    expect(page).to_have_url(re.compile(r"/applications/\d+$"))
    application_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("status")).to_have_text(f"已送出申請（案號 {application_id}）")
    expect(page.locator("#state")).to_have_text("審核中")
    expect(page.locator("p.current")).to_contain_text("單位主管核准")
    expect(page.locator("p.current")).to_contain_text("陳志明")
    log_out(page)

    # The unit head finds it in the inbox and approves it with an opinion.
    log_in(page, "sw_unit_head", "陳志明")
    row = inbox_row(page, application_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(FORM_TITLE)
    expect(row).to_contain_text("吳佩珊")
    expect(page.locator("#inbox-count")).to_have_text("1")
    page.screenshot(path=artifacts / "inbox.png", full_page=True)
    row.get_by_role("link", name="單位主管核准").click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("單位主管核准")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"案號 {application_id}")
    expect(page.locator("dl.data")).to_contain_text("辦理低收入戶審核需查詢投保資料")
    expect(page.locator("dl.data")).to_contain_text("A12****789")  # the ID is masked for the approver
    expect(page.locator("dl.data")).not_to_contain_text("A123456789")
    page.get_by_role("radio", name="同意", exact=True).check()
    page.get_by_label("意見", exact=True).fill(OPINION)
    page.screenshot(path=artifacts / "task.png", full_page=True)
    page.get_by_role("button", name="送出", exact=True).click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("status")).to_have_text("已送出：單位主管核准（同意）")
    expect(inbox_row(page, application_id)).to_have_count(0)
    expect(page.get_by_text("目前沒有待辦事項。")).to_be_visible()
    log_out(page)

    # The agency manager now has the next step, with the unit head's sign-off on record.
    log_in(page, "manager", "王美玲")
    row = inbox_row(page, application_id)
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="機關管理者設定帳號")).to_be_visible()
    page.screenshot(path=artifacts / "inbox_manager.png", full_page=True)
    row.get_by_role("link", name="機關管理者設定帳號").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("機關管理者設定帳號")
    signed = page.locator("table.history tbody tr").filter(has_text="單位主管核准")
    expect(signed).to_have_count(1)
    expect(signed).to_contain_text("陳志明")
    expect(signed).to_contain_text("同意")
    expect(signed).to_contain_text(OPINION)
    expect(page.get_by_label("帳號設定完成日期")).to_be_visible()
    expect(page.get_by_label("C0101：不同意原因")).to_be_visible()  # each requested item decided (000 附表三)

    # What the pages showed is what the database holds.
    session.expire_all()
    app = session.get(Application, application_id)
    assert app.data["national_id"] == "A123456789"
    assert app.data["items"] == ["C0101", "B0101"]
    assert [(h.step, h.decision, h.opinion) for h in app.history] == [
        ("start", "submit", None), ("unit_head_review", "approve", OPINION)]
    assert [(t.step, t.state) for t in app.tasks] == [("unit_head_review", TaskState.COMPLETED),
                                                     ("agency_manager_setup", TaskState.OPEN)]


def test_bad_national_id_is_reported_next_to_its_field(page: Page, session, artifacts):
    log_in(page, "sw_staff", "吳佩珊")
    open_querier_form(page)
    fill_querier_form(page, "A123456788")  # wrong check digit
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="送出申請").click()
    assert posted.value.status == 200  # the form comes back with its errors: not a redirect, not a 500
    page.wait_for_load_state()

    expect(page).to_have_url(re.compile(r"/applications/new/querier_account$"))
    id_field = page.locator("div.field").filter(has=page.get_by_label("身分證字號", exact=True))
    expect(id_field.get_by_role("alert")).to_have_text("「身分證字號」檢查碼不正確")
    expect(page.get_by_label("身分證字號", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_have_count(1)  # no other field is blamed
    page.screenshot(path=artifacts / "form_error.png", full_page=True)
    # What was typed survives the round trip.
    expect(page.get_by_label("身分證字號", exact=True)).to_have_value("A123456788")
    expect(page.get_by_label("申請事由", exact=True)).to_have_value("辦理低收入戶審核需查詢投保資料")
    expect(page.get_by_label("C0101 被保險人投保資料")).to_be_checked()
    expect(page.get_by_label("已詳讀並熟悉個人資料保護法規定")).to_be_checked()
    assert session.scalar(select(func.count()).select_from(Application)) == 0

    # Correcting the one field is enough to file it.
    page.get_by_label("身分證字號", exact=True).fill("A123456789")
    page.get_by_role("button", name="送出申請").click()
    expect(page).to_have_url(re.compile(r"/applications/\d+$"))
    expect(page.get_by_role("status")).to_contain_text("已送出申請")
    assert session.scalar(select(func.count()).select_from(Application)) == 1
    assert session.scalar(select(HumanTask.step).where(HumanTask.state == TaskState.OPEN)) == "unit_head_review"


def test_live_server_enforces_csrf(page: Page):
    """The browser tests run with CSRF on: a form post without the token is refused."""
    response = page.request.post("/login", form={"username": "sw_staff", "password": "demo"})
    assert response.status == 400
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))


def test_the_unit_head_reveals_the_subjects_number_with_a_reason(page: Page, session, person, artifacts):
    app = submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                             actor=person("applicant"), now=datetime.now(UTC))
    log_in(page, "sw_unit_head", "陳志明")
    inbox_row(page, app.id).get_by_role("link", name="單位主管核可").click()
    subject = page.locator("dl.data dd").filter(has_text="E12****783")
    expect(subject).to_have_count(1)
    subject.get_by_text("顯示完整號碼").click()
    page.get_by_role("button", name="顯示", exact=True).click()  # no reason: the browser keeps the form
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    page.get_by_label("調閱理由").fill("核對被查詢人身分")
    page.get_by_role("button", name="顯示", exact=True).click()
    expect(page.locator("#revealed-value")).to_have_text("E123456783")
    page.screenshot(path=artifacts / "revealed.png", full_page=True)
    page.get_by_role("link", name="返回").click()
    expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
    expect(page.locator("dl.data")).not_to_contain_text("E123456783")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(NationalIdReveal)) == 1
