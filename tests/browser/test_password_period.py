"""A password past the city's period (Taoyuan 004 §7): the person logs in, is sent to change it, and goes on."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from workflows import settings

pytestmark = pytest.mark.browser


def test_a_stale_password_is_changed_before_the_inbox_opens(page: Page, session, person):
    settings.configure(password_change_months=3)  # the live server runs in this process: Taoyuan's period
    person("applicant").password_changed_at = datetime.now(UTC) - timedelta(days=100)
    session.commit()

    page.goto("/login")
    page.get_by_label("帳號", exact=True).fill("applicant")
    page.get_by_label("密碼", exact=True).fill("demo")
    page.get_by_role("button", name="登入").click()
    expect(page).to_have_url(re.compile(r"/password$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("變更密碼")
    expect(page.get_by_role("alert").filter(has_text="逾變更期限").first).to_be_visible()

    page.goto("/")  # nothing else opens meanwhile
    expect(page).to_have_url(re.compile(r"/password$"))

    page.get_by_label("目前密碼").fill("demo")
    page.get_by_label("新密碼（至少 8 個字元）").fill("applicant-2026")
    page.get_by_label("再次輸入新密碼").fill("applicant-2026")
    page.get_by_role("button", name="變更密碼").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header .me")).to_contain_text("林怡君")
