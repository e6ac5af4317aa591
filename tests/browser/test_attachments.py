"""A signed paper attached at filing, as a person does it: choose the file with the form, send, find it on the
application page and download it back unchanged."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests import files
from tests.browser.test_inbox_flow import FORM_TITLE, fill_querier_form, log_in, open_querier_form

pytestmark = pytest.mark.browser


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


def test_a_file_chosen_with_the_form_is_filed_and_downloads_unchanged(page: Page, tmp_path):
    consent = tmp_path / "授權書.pdf"
    consent.write_bytes(files.pdf("authorisation"))
    program = tmp_path / "setup.pdf"
    program.write_bytes(files.exe())
    log_in(page, "sw_staff", "吳佩珊")
    open_querier_form(page)
    fill_querier_form(page, "A123456789")
    chooser = page.get_by_label("其他附件（選填）")
    chooser.set_input_files(str(program))
    page.get_by_role("button", name="送出申請").click()
    # A program renamed .pdf is refused beside its input, the form kept as filled.
    expect(page.get_by_role("alert").filter(has_text="只接受 PDF、JPEG 或 PNG")).to_be_visible()
    expect(chooser).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("姓名", exact=True)).to_have_value("吳佩珊")
    chooser.set_input_files(str(consent))
    page.get_by_label("已於「我的e政府」平台完成公務帳號申請").check()
    page.get_by_label("已於「我的e政府」綁定並上傳自然人憑證").check()
    page.get_by_label("已詳讀並熟悉個人資料保護法規定").check()
    page.get_by_role("button", name="送出申請").click()
    expect(page).to_have_url(re.compile(r"/applications/\d+$"))
    expect(page.get_by_role("heading", name=re.compile(FORM_TITLE))).to_be_visible()
    attachments = page.get_by_role("table", name="附件")
    expect(attachments).to_contain_text("授權書.pdf")
    with page.expect_download() as download:
        attachments.get_by_role("link", name="授權書.pdf").click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == consent.read_bytes()
    assert download.value.suggested_filename == "授權書.pdf"
