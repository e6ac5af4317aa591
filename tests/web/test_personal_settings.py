"""個人設定: e-mail, notification choice per channel, leave substitute and language, on one page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEvent
from web.extensions import db

FILED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 09:00 in Taipei


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def login(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


SETTINGS = {"email": "chen.zhiming@demo.kcg.gov.tw", "bell": "every", "email_delivery": "digest", "locale": ""}


def test_the_settings_page_saves_each_choice_and_the_language_follows_the_person(app, clock):
    head = login(app, "sw_unit_head")
    page = head.get("/settings/").text
    assert '<label for="email">電子郵件</label>' in page and "<legend>電子郵件通知</legend>" in page
    assert 'href="/settings/"' in page  # the header link

    saved = head.post("/settings/", data={**SETTINGS, "locale": "en"}, follow_redirects=True)
    assert 'html lang="en"' in saved.text and "Settings saved" in saved.text
    assert 'value="chen.zhiming@demo.kcg.gov.tw"' in saved.text
    assert 'name="email_delivery" value="digest" checked' in saved.text
    elsewhere = login(app, "sw_unit_head")
    assert 'html lang="en"' in elsewhere.get("/inbox/").text  # another browser
    elsewhere.get("/lang/zh_Hant_TW?next=/")  # the switch keeps its choice on the person too
    with app.app_context():
        changes = db.session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "settings_changed")
                                     .order_by(AuditEvent.id)).all()
        assert changes == [{"changed": ["email", "email_delivery", "locale"]}, {"changed": ["locale"]}]
        db.session.remove()
    assert 'html lang="zh-Hant-TW"' in head.get("/inbox/").text

    refused = head.post("/settings/", data={**SETTINGS, "email": "not-an-address"}, follow_redirects=True)
    assert 'class="flash error"' in refused.text
    assert 'value="chen.zhiming@demo.kcg.gov.tw"' in refused.text  # nothing changed


def test_a_person_sets_and_ends_their_own_substitute_on_the_page(app, clock):
    head = login(app, "sw_unit_head")
    assert "目前沒有代理人。" in head.get("/settings/").text
    page = head.post("/settings/substitute", data={"substitute": "sw_it_head", "from": "115/12/01",
                                                    "to": "2026-12-04"}, follow_redirects=True).text
    assert "張國華（sw_it_head）自 115年12月01日 至 115年12月04日 代理您的待辦案件。" in page

    other_agency = head.post("/settings/substitute", data={"substitute": "ep_querier", "from": "2026-12-01",
                                                            "to": "2026-12-04"}, follow_redirects=True).text
    assert "代理人須為同一機關、在職（帳號啟用）的人員" in other_agency

    ended = head.post("/settings/substitute/end", follow_redirects=True).text
    assert "代理已結束" in ended and "目前沒有代理人。" in ended
