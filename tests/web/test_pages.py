"""Server-rendered pages through the Flask test client."""

import re

import pytest

from models import Delegation, Role
from tests.conftest import NOW, QUERIER_ADD, page_registration
from web import create_app
from web.extensions import db


def login(client, username):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302, response.text
    return client


def form_data(data):
    """Data as a page posts it: booleans as checkboxes, a sheet's rows as their numbered inputs."""
    return {k: ("y" if v is True else v) for k, v in page_registration(data).items() if v is not False}


def errors_in(html):
    return re.findall(r'class="error" role="alert">([^<]*)<', html)


def test_pages_need_a_login_and_never_redirect_off_site(client):
    assert client.get("/").status_code == 302
    assert "/login" in client.get("/applications/mine").location
    response = client.post("/login?next=//evil.example/", data={"username": "applicant", "password": "demo"})
    assert response.location == "/"
    bad = client.post("/login", data={"username": "applicant", "password": "wrong"})
    assert "帳號或密碼錯誤" in bad.text


def test_forms_without_a_csrf_token_are_refused(app):
    strict = create_app({**app.config, "WTF_CSRF_ENABLED": True}, instance_path=app.instance_path)
    client = strict.test_client()
    try:
        response = client.post("/login", data={"username": "applicant", "password": "demo"})
        assert response.status_code == 400
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)[1]
        ok = client.post("/login", data={"username": "applicant", "password": "demo", "csrf_token": token})
        assert ok.status_code == 302
    finally:
        with strict.app_context():
            db.engine.dispose()  # its own pool: close it, or PostgreSQL connections leak into the next test


def test_a_form_error_names_the_field(client):
    login(client, "sw_staff")
    page = client.get("/applications/new/querier_account").text
    assert 'value="吳佩珊"' in page  # prefilled from the person record
    response = client.post("/applications/new/querier_account",
                           data=form_data({**QUERIER_ADD, "national_id": "A123456788", "has_egov_account": False}))
    assert response.status_code == 200
    assert set(errors_in(response.text)) == {"「身分證字號」檢查碼不正確",
                                             "「已於「我的e政府」平台完成公務帳號申請」須勾選確認"}


def test_file_decide_and_follow_in_the_browser_pages(app):
    staff, head, manager = (app.test_client() for _ in range(3))
    login(staff, "sw_staff")
    filed = staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD))
    assert filed.status_code == 302
    detail = staff.get(filed.location).text
    assert "審核中" in detail and "陳志明" in detail and "A12****789" in detail
    assert re.search(r"申請日期 1\d\d年\d\d月\d\d日", detail)  # ROC calendar, as the forms print it
    assert "A123456789" not in detail

    login(head, "sw_unit_head")
    inbox = head.get("/").text
    task_url = re.search(r'href="(/tasks/\d+)" class="task-link">單位主管核准<', inbox)[1]
    task_page = head.get(task_url).text
    assert "A12****789" in task_page and "A123456789" not in task_page
    assert "退回補正" in task_page
    decided = head.post(task_url, data={"decision": "approve", "opinion": "同意"})
    assert decided.status_code == 302
    assert 'id="inbox-count">0<' in head.get("/").text
    assert head.post(task_url, data={"decision": "approve"}).status_code == 302  # conflict: flashed, not crashed

    login(manager, "manager")
    assert "機關管理者設定帳號" in manager.get("/").text
    assert "機關管理者設定帳號（王美玲）" in staff.get("/applications/mine").text


def test_a_stranger_cannot_open_an_application_or_task(app):
    staff, stranger = app.test_client(), app.test_client()
    login(staff, "sw_staff")
    location = staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD)).location
    login(stranger, "ep_unit_head")
    assert stranger.get(location).status_code == 404
    head = login(app.test_client(), "sw_unit_head")
    task_url = re.search(r'href="(/tasks/\d+)"', head.get("/").text)[1]
    assert stranger.get(task_url).status_code == 403
    assert stranger.post(task_url, data={"decision": "approve"}).status_code == 403
    assert stranger.get("/tasks/999999").status_code == 404


@pytest.mark.parametrize("username", ["applicant", "manager", "sw_unit_head", "labor_clerk", "admin"])
def test_every_main_page_renders_for_each_role(client, username):
    login(client, username)
    for url in ("/", "/applications/new", "/applications/mine"):
        assert client.get(url).status_code == 200


def test_a_holder_claims_and_reassigns_from_the_task_page(app, session, person):
    staff, head = app.test_client(), app.test_client()
    login(staff, "sw_staff")
    staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD))
    session.add(Delegation(principal=person("sw_unit_head"), delegate=person("sw_it_head"), role=Role.UNIT_HEAD,
                           created_at=NOW))
    session.commit()
    login(head, "sw_unit_head")
    task_url = re.search(r'href="(/tasks/\d+)"', head.get("/").text)[1]
    assert "認領此案件" in head.get(task_url).text
    assert head.post(f"{task_url}/claim").status_code == 302
    assert "釋出給其他承辦人" in head.get(task_url).text
    refused = head.post(f"{task_url}/reassign", data={"to": "sw_staff", "reason": "x"}, follow_redirects=True)
    assert "不可交由申請人審核自己的申請" in refused.text
    outsider = head.post(f"{task_url}/reassign", data={"to": "ep_querier", "reason": "x"}, follow_redirects=True)
    assert "「洪俊傑」不是此案件的單位主管或其授權人員，不可改派" in outsider.text
    head.post(f"{task_url}/reassign", data={"to": "sw_it_head", "reason": "業務調整"})
    assert 'id="inbox-count">0<' in head.get("/").text
    it_head = login(app.test_client(), "sw_it_head")
    assert task_url in it_head.get("/").text


def test_the_amend_page_shows_the_number_masked_and_keeps_it_when_left_alone(app, session):
    from models import Application

    staff, head = login(app.test_client(), "sw_staff"), login(app.test_client(), "sw_unit_head")
    location = staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD)).location
    task_url = re.search(r'href="(/tasks/\d+)"', head.get("/").text)[1]
    head.post(task_url, data={"decision": "return", "opinion": "請補正電話"})
    page = staff.get(f"{location}/amend").text
    assert 'value="A12****789"' in page and "A123456789" not in page
    resent = staff.post(f"{location}/amend", data=form_data({**QUERIER_ADD, "national_id": "A12****789",
                                                            "phone": "07-3368334"}))
    assert resent.status_code == 302
    stored = session.get(Application, int(location.rsplit("/", 1)[1])).data
    assert (stored["national_id"], stored["phone"]) == ("A123456789", "07-3368334")
