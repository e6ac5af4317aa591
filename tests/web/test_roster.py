"""The WebIR account roster (001 §12(5)): who holds which items since when, through which application."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import select

from models import AuditEvent
from tests.conftest import QUERIER_ADD, granted
from tests.web.test_account_loop import decide_next, file
from web.extensions import db

FILED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 09:00 in Taipei


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def roster(api, username: str, agency: str | None = None):
    return api.as_(username).get("/api/v1/accounts" + (f"?agency={agency}" if agency else ""))


def by_user(body: dict) -> dict[str, dict]:
    return {a["username"]: a for a in body["accounts"]}


def approve_querier(api, data: dict, effective: str) -> int:
    app_id = file(api, "sw_staff", "querier_account", data).get_json()["id"]
    decide_next(api, "sw_unit_head", app_id)
    decide_next(api, "manager", app_id, granted(data["items"], effective))
    decide_next(api, "sw_it_head", app_id)  # the manager's unit head seals (000 附表三)
    return app_id


def test_who_sees_which_roster(api, clock):
    own = roster(api, "manager")
    assert own.status_code == 200
    assert own.get_json()["agency"] == {"code": "KHH-SW", "name": "高雄市政府社會局"}
    assert {"applicant", "manager"} <= set(by_user(own.get_json()))
    assert roster(api, "manager", "KHH-EP").status_code == 403  # another agency's
    assert roster(api, "labor_clerk", "KHH-EP").status_code == 200  # 勞工局: the whole city
    assert set(by_user(roster(api, "it_clerk", "KHH-EP").get_json())) == {"ep_querier", "ep_manager"}  # 資訊處
    assert roster(api, "applicant").status_code == 403
    assert roster(api, "sw_head").status_code == 403
    assert roster(api, "admin", "NOPE").status_code == 404


def test_the_roster_shows_items_since_when_through_which_application_and_disabled_accounts(api, clock):
    added = approve_querier(api, QUERIER_ADD, "2026-12-01")
    deleted = approve_querier(api, {**QUERIER_ADD, "request_type": "delete"}, "2026-12-01")

    account = by_user(roster(api, "manager").get_json())["sw_staff"]
    assert (account["kind"], account["egov_account"], account["status"]) == ("querier", "peishan.wu", "disabled")
    assert (account["effective_on"], account["disabled_on"], account["application"]) == (
        "2026-12-01", "2026-12-01", deleted)
    assert account["items"] == [
        {"code": "B0101", "name": "給付簡要資料", "since": "2026-12-01", "application": added},
        {"code": "C0101", "name": "被保險人投保資料", "since": "2026-12-01", "application": added}]
    applicant = by_user(roster(api, "manager").get_json())["applicant"]
    assert applicant["status"] == "active" and [i["code"] for i in applicant["items"]] == ["B0101", "B0201", "C0101"]


def test_the_roster_page_and_its_spreadsheet_for_the_bureau(app, api, clock):
    added = approve_querier(api, QUERIER_ADD, "2026-12-01")
    browser = app.test_client()
    browser.post("/login", data={"username": "it_clerk", "password": "demo"})
    page = browser.get("/accounts/?agency=KHH-SW").get_data(as_text=True)
    assert "WebIR 帳號清冊" in page and "吳佩珊" in page and f'href="/applications/{added}"' in page
    assert 'href="/accounts/"' in browser.get("/inbox/").get_data(as_text=True)  # the header link

    response = browser.get("/accounts/roster.xlsx?agency=KHH-SW")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["帳號使用者", "姓名", "單位"]
    assert ["sw_staff", "吳佩珊", "社會救助科", "資料查詢者", "peishan.wu", "使用中", "115年12月01日", None,
            "C0101 被保險人投保資料", "115年12月01日", added] in rows
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(
            AuditEvent.event_type == "account_roster_exported")).all()
        assert event.payload == {"agency": "KHH-SW", "accounts": 3}  # applicant, manager, sw_staff: a row per item
        db.session.remove()

    other = app.test_client()
    other.post("/login", data={"username": "applicant", "password": "demo"})
    assert other.get("/accounts/").status_code == 403
    assert other.get("/accounts/roster.xlsx").status_code == 403
