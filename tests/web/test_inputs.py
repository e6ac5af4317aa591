"""The input edge: text that no database, export or page can hold is a 422 naming its field; bodies are bounded;
JSON is parsed with a depth limit. Before, each of these was a 500 (or, for PostgreSQL, would have been)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from models import Application
from tests.conftest import QUERIER_ADD, REGISTRATION, registration
from tests.web.test_editor_api import QUERIER, VERSIONS, post_xml
from tests.web.test_pages import form_data, login
from web import create_app
from web.extensions import db
from workflows.validators import UNSAFE_TEXT

SURROGATE, NUL = "\ud800", "a\x00b"


def file_registration(api, **changes):
    return api.as_("applicant").post("/api/v1/applications",
                                     {"form": "query_registration", "data": {**REGISTRATION, **changes}})


def test_a_lone_surrogate_in_the_api_is_a_422_naming_the_field(api):
    filed = file_registration(api, reason=SURROGATE)
    assert filed.status_code == 422 and filed.get_json()["errors"] == {"data.reason": f"「data.reason」{UNSAFE_TEXT}"}
    assert set(file_registration(api, reason=f"低收入{NUL}").get_json()["errors"]) == {"data.reason"}

    assert file_registration(api).status_code == 201
    head = api.as_("sw_unit_head")
    [task] = head.get("/api/v1/tasks").get_json()
    refused = head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "return", "opinion": SURROGATE})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"opinion": f"「opinion」{UNSAFE_TEXT}"}
    login_ = api.client.post("/api/v1/login", json={"username": SURROGATE, "password": "x"})
    assert login_.status_code == 422 and set(login_.get_json()["errors"]) == {"username"}
    nested = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration",
                                                                "data": {"items": ["C0101", NUL]}})
    assert set(nested.get_json()["errors"]) == {"data.items.1"}
    assert head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}).status_code == 200


def test_control_characters_in_pages_query_strings_and_paths_are_a_422_naming_them(app, client):
    refused = client.post("/login", data={"username": NUL, "password": "demo"})
    assert refused.status_code == 422 and f"「username」{UNSAFE_TEXT}" in refused.text
    login(client, "applicant")
    assert client.get("/applications/?applicant=" + "%00").status_code == 422
    filed = client.post("/applications/new/query_registration", data=form_data(registration(reason="x\x1by")))
    assert filed.status_code == 422 and f"「rows-0-reason」{UNSAFE_TEXT}" in filed.text
    admin = login(app.test_client(), "admin")
    assert admin.get("/editor/%00/edit").status_code == 422
    assert admin.post("/editor/query_registration/check", json={"xml": SURROGATE}).status_code == 422
    # Tabs, line breaks, right-to-left marks, markup and quotes are text like any other.
    kept = client.post("/applications/new/query_registration",
                       data=form_data(registration(reason="第一行\r\n\t第二行 \u202e<script>x</script> ' OR 1=1 --")))
    assert kept.status_code == 302


def test_deeply_nested_json_is_a_422(api):
    applicant = api.as_("applicant")
    for depth in (50, 100_000):
        body = "[" * depth + "]" * depth
        response = applicant.client.post("/api/v1/applications", data=body, content_type="application/json",
                                         headers=applicant.headers)
        assert response.status_code == 422, depth
        assert set(response.get_json()["errors"]) == {"body"}
    nested = {"form": "query_registration", "data": {}}
    inner = nested["data"]
    for _ in range(40):
        inner["x"] = {}
        inner = inner["x"]
    assert set(applicant.post("/api/v1/applications", nested).get_json()["errors"]) == {"body"}
    for constant in ("NaN", "Infinity", "1" * 5000):
        response = applicant.client.post("/api/v1/tasks/1/complete", data=f'{{"decision": {constant}}}',
                                         content_type="application/json", headers=applicant.headers)
        assert response.status_code == 422, constant


def test_a_surrogate_kept_before_the_edge_still_renders(app, api, session):
    """SQLite's JSON text held such data (PostgreSQL never did): every page of that application still opens."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses a lone surrogate in JSON: there is no such stored data to render")
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    application_id = filed.get_json()["id"]
    session.execute(update(Application).where(Application.id == application_id)
                    .values(data={**QUERIER_ADD, "reason": f"舊資料{SURROGATE}"}))
    session.commit()
    staff, head = login(app.test_client(), "sw_staff"), login(app.test_client(), "sw_unit_head")
    page = staff.get(f"/applications/{application_id}")
    assert page.status_code == 200 and "舊資料?" in page.text
    task_url = re.search(r'href="(/tasks/\d+)"', head.get("/").text)[1]
    assert head.get(task_url).status_code == 200
    assert head.get("/applications/?q=").status_code == 200
    assert api.as_("sw_staff").get(f"/api/v1/applications/{application_id}").status_code == 200


def test_every_body_is_bounded_and_a_diagram_may_be_larger(app, api):
    client = login(app.test_client(), "applicant")
    huge = client.post("/applications/new/query_registration",
                       data=form_data(registration(reason="x" * 10 * 1024 * 1024)))
    assert huge.status_code == 413 and "送出的內容過大" in huge.text
    too_big_json = api.as_("applicant").post("/api/v1/applications",
                                             {"form": "query_registration", "data": {"reason": "x" * 2_000_000}})
    assert too_big_json.status_code == 413 and too_big_json.mimetype == "application/problem+json"

    padded = QUERIER + b"<!--" + b"x" * 1_500_000 + b"-->"  # over the app's 1 MB, under a diagram's 2 MB
    deployed = post_xml(api.as_("admin"), VERSIONS + "?note=padded", padded)
    assert deployed.status_code == 201, deployed.get_json()


def test_the_editor_takes_a_large_diagram_with_csrf_on(app):
    """The CSRF check reads the body before the route: the editor's own limit must hold from the start."""
    strict = create_app({**app.config, "WTF_CSRF_ENABLED": True})
    client = strict.test_client()
    try:
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").text)[1]
        assert client.post("/login", data={"username": "admin", "password": "demo", "csrf_token": token}).status_code \
            == 302
        # The CSRF secret rotates at log-in: the editor's page carries the new token.
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/editor/querier_account/edit").text)[1]
        xml = (QUERIER + b"<!--" + b"x" * 1_500_000 + b"-->").decode()
        response = client.post("/editor/querier_account/deploy", json={"xml": xml, "note": "大圖"},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 201, response.text[:300]
    finally:
        with strict.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("target", ["/\r\nSet-Cookie: x=1", "/%0d%0aSet-Cookie:x=1", "//evil.example/", "/\u2028"])
def test_a_line_break_in_next_never_reaches_a_header(app, target):
    client = app.test_client()
    switched = client.get("/lang/en", query_string={"next": target})
    assert switched.status_code == 302 and "\n" not in switched.headers["Location"]
    logged_in = client.post("/login", query_string={"next": target}, data={"username": "applicant", "password": "demo"})
    assert logged_in.status_code == 302 and "Set-Cookie: x" not in str(logged_in.headers)
    read = client.post("/notifications/read", data={"next": target})
    assert read.status_code == 302 and "\n" not in read.headers["Location"] and "evil" not in read.headers["Location"]


def test_a_number_where_text_is_due_is_a_422_naming_the_field(api):
    data = {**QUERIER_ADD, "phone": 73368333, "email": 1, "national_id": 123456789, "egov_account": 7}
    response = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": data})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"phone", "email", "national_id"}  # an account may be all digits
