"""One error model: the core's errors (the engine's among them) and HTTP errors map to one status each,
problem+json for the API and the editor's scripts, a page or a flash for people; never a 500."""

from __future__ import annotations

import re

from tests.conftest import NOW, QUERIER_ADD
from tests.web.test_editor_api import QUERIER, UNKNOWN_LANE
from tests.web.test_pages import form_data, login
from tests.workflows.timers.test_incidents import store_unchecked

# A condition that deploys (names are data) but cannot be evaluated on an approval of this application's data.
BROKEN = re.sub(rb'(<bpmn:sequenceFlow id="flow_unit_head_review_approve"[^>]*>\s*<bpmn:conditionExpression[^>]*>)'
                rb'[^<]*', rb'\1decision == "approve" and no_such_field == 1', QUERIER)


def deploy_broken_condition(session) -> None:
    """A version stored by a release before deploys simulated every path: today's deploy refuses it."""
    assert BROKEN != QUERIER
    store_unchecked(session, BROKEN, now=NOW)
    session.commit()


def test_an_engine_error_on_a_step_is_an_incident_problem_not_a_500(api, session):
    deploy_broken_condition(session)
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    assert filed.status_code == 201
    head = api.as_("sw_unit_head")
    [task] = head.get("/api/v1/tasks").get_json()
    response = head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"})
    assert response.status_code == 409, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:webir:problem:incident" and "流程異常" in response.get_json()["detail"]
    [incident] = api.as_("admin").get("/api/v1/incidents").get_json()
    assert incident["kind"] == "decision" and "no_such_field" in incident["message"]
    # Nothing was written: the step still waits, and another decision goes through.
    assert [t["id"] for t in head.get("/api/v1/tasks").get_json()] == [task["id"]]
    assert head.post(f"/api/v1/tasks/{task['id']}/complete",
                     {"decision": "reject", "opinion": "不符"}).status_code == 200


def test_an_engine_error_on_the_task_page_is_told_in_the_inbox(app, api, session):
    deploy_broken_condition(session)
    staff = login(app.test_client(), "sw_staff")
    assert staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD)).status_code == 302
    head = login(app.test_client(), "sw_unit_head")
    task_url = re.search(r'href="(/tasks/\d+)"', head.get("/").text)[1]
    response = head.post(task_url, data={"decision": "approve", "opinion": "同意"}, follow_redirects=True)
    assert response.status_code == 200 and response.request.path == "/"
    assert "您的決定尚未生效" in response.text and "通知系統管理者" in response.text
    assert task_url in response.text  # still waiting in the inbox


def test_an_unknown_api_url_is_a_problem_and_an_unknown_page_is_a_page(api, client):
    missing = api.as_("applicant").get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["status"] == 404
    login(client, "applicant")
    page = client.get("/applications/999999")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<h1>找不到這個頁面</h1>" in page.text and "回到待辦事項" in page.text


def test_a_forbidden_page_is_a_403_page(app):
    staff = login(app.test_client(), "sw_staff")
    location = staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD)).location
    head = login(app.test_client(), "sw_unit_head")  # may see it, may not amend it
    response = head.get(f"{location}/amend")
    assert response.status_code == 403 and "<h1>沒有權限</h1>" in response.text
    assert "只有申請人可以補正自己的申請" in response.text


def test_a_refused_post_is_flashed_where_the_page_sends_it(app):
    staff = login(app.test_client(), "sw_staff")
    location = staff.post("/applications/new/querier_account", data=form_data(QUERIER_ADD)).location
    assert staff.post(f"{location}/withdraw", data={"reason": "不需要了"}).status_code == 302
    again = staff.post(f"{location}/withdraw", data={})
    assert (again.status_code, again.location) == (302, location)
    assert "此申請已結案，無法撤回" in staff.get(location).text
    amend = staff.get(f"{location}/amend")  # not returned: back to the application, told why
    assert (amend.status_code, amend.location) == (302, location)
    assert "此申請目前不需補正" in staff.get(location).text


def test_the_editor_scripts_get_problems_too(app):
    admin = login(app.test_client(), "admin")
    refused = admin.post("/editor/querier_account/deploy", json={"xml": UNKNOWN_LANE.decode(), "note": "x"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    body = refused.get_json()
    assert body["detail"] == "流程圖未通過檢查，無法部署" and body["problems"][0]["element"] == "unit_head_review"
    missing = admin.post("/editor/querier_account/drafts", json={"xml": QUERIER.decode(), "base_version": 99})
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_errors_are_mapped_once_for_the_whole_app(app):
    """No blueprint keeps a mapper of its own: one registration in the app factory."""
    registered = {blueprint for blueprint, by_code in app.error_handler_spec.items()
                  if any(handlers for handlers in by_code.values())}
    assert registered == {None}
