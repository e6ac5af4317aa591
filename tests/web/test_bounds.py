"""Numbers and dates have sane bounds, in forms, steps and filters: outside them is a 4xx naming the field."""

from __future__ import annotations

from sqlalchemy import select

from models import DiagramDraft, HumanTask, TaskState
from tests.conftest import NOW, QUERIER_ADD, registration
from tests.web.test_editor_api import QUERIER, post_xml
from tests.web.test_pages import login
from workflows.timers import duties

DATE_RANGE = "須介於 1912-01-01 與 2099-12-31 之間"


def file(api, username, form, data):
    return api.as_(username).post("/api/v1/applications", {"form": form, "data": data})


def test_a_date_field_outside_1912_to_2099_is_a_422_naming_it(api):
    for value in ("9999-12-31", "0001-01-01", "999/01/01", "1911-12-31", "2100-01-01"):
        response = file(api, "applicant", "query_registration", registration(query_date=value))
        assert response.status_code == 422, value
        assert response.get_json()["errors"] == {"rows[1].query_date": f"第 1 筆「申請日期」{DATE_RANGE}"}, value
    assert file(api, "applicant", "query_registration", registration(query_date="115/11/25")).status_code \
        == 201
    # A 職務異動 of 資訊處 staff in year 9999 was a 500: its timers (seven days on) ran past the calendar.
    transfer = {"person": "it_clerk", "kind": "central_staff", "effective_date": "9999-12-31",
                "new_position": "科員", "reason": "調職"}
    response = file(api, "it_director", "role_transfer", transfer)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"effective_date"}


def test_a_count_past_a_billion_is_a_422_naming_it(app, api, session, person):
    run = duties.run_schedule(session, duties.find_schedule("monthly_sampling"), NOW)
    started = run.detail["applications"]
    task = next(t for t in session.scalars(select(HumanTask).where(HumanTask.application_id.in_(started),
                                                                   HumanTask.state == TaskState.OPEN))
                if t.candidates)
    sampler = api.as_(task.candidates[0].person.username)
    findings = {"anomalies_found": False, "findings": "無異常"}
    for total in (10**400, -1, "1" * 400):
        response = sampler.post(f"/api/v1/tasks/{task.id}/complete", {
            "decision": "approve", "data": {"total_queries": total, "sampled_records": 10, **findings}})
        assert response.status_code == 422, total
        assert "total_queries" in response.get_json()["errors"], total
    done = sampler.post(f"/api/v1/tasks/{task.id}/complete", {
        "decision": "approve", "data": {"total_queries": 200, "sampled_records": 10, **findings}})
    assert done.status_code == 200, done.get_json()


def test_search_dates_at_the_calendar_edge_are_field_errors_not_a_500(app, api):
    assert file(api, "sw_staff", "querier_account", QUERIER_ADD).status_code == 201
    client = login(app.test_client(), "sw_unit_head")
    for url in ("/applications/", "/dashboard", "/applications/export.csv"):
        response = client.get(f"{url}?created_from=9999-12-31&created_to=9999-12-31")
        assert response.status_code == 200, url
    page = client.get("/applications/?created_to=9999-12-31&created_from=0000-01-01")
    assert page.status_code == 200 and DATE_RANGE in page.text


def test_a_huge_waiting_filter_is_a_422(api):
    head = api.as_("sw_unit_head")
    for value in ("99999999999999999999", "3651", "P99999999999W", "PT" + "9" * 400 + "H"):
        response = head.get(f"/api/v1/applications?waiting_longer_than={value}")
        assert response.status_code == 422, value
        assert set(response.get_json()["errors"]) == {"waiting_longer_than"}
    assert head.get("/api/v1/applications?waiting_longer_than=3650").status_code == 200


def test_a_draft_names_a_known_process_and_a_whole_base_version(app, session):
    admin = login(app.test_client(), "admin")
    for base in ("abc", 10**30, True, 1.5, -1):
        response = admin.post("/editor/querier_account/drafts", json={"xml": QUERIER.decode(), "base_version": base})
        assert response.status_code == 422, base
        assert set(response.get_json()["errors"]) == {"base_version"}, base
    unknown = admin.post(f"/editor/{'x' * 100}/drafts", json={"xml": QUERIER.decode()})
    assert unknown.status_code == 404
    assert session.scalars(select(DiagramDraft)).all() == []
    assert admin.post("/editor/querier_account/drafts", json={"xml": QUERIER.decode(), "base_version": 1}) \
        .status_code == 200


def test_a_text_longer_than_the_column_that_keeps_it_is_a_422(api):
    """The e-government account becomes a webir_account row (80 characters): PostgreSQL refused it at approval."""
    response = file(api, "sw_staff", "querier_account", {**QUERIER_ADD, "egov_account": "x" * 81})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"egov_account"}
    assert file(api, "sw_staff", "querier_account", {**QUERIER_ADD, "egov_account": "x" * 80}).status_code == 201


def test_a_diagram_with_names_or_days_the_app_cannot_keep_is_refused(api):
    """Step names and ids fill inbox rows and notices; a process name its definition; working days a due date."""
    admin = api.as_("admin")
    step = 'name="單位主管核准"'.encode()
    assert QUERIER.count(step) == 1 and QUERIER.count(b'name="due_working_days" value="3"') >= 1
    for changed, element in (
        (QUERIER.replace(step, f'name="{"長" * 101}"'.encode()), "unit_head_review"),
        (QUERIER.replace('name="資料查詢者帳號申請（附表三）" isExecutable'.encode(),
                         f'name="{"長" * 201}" isExecutable'.encode()), "querier_account"),
        (QUERIER.replace(b'name="due_working_days" value="3"', b'name="due_working_days" value="' + b"9" * 5000 + b'"',
                         1), "unit_head_review"),
        (QUERIER.replace(b'name="due_working_days" value="3"', b'name="due_working_days" value="99999999"', 1),
         "unit_head_review"),
    ):
        assert changed != QUERIER
        response = post_xml(admin, "/api/v1/process-definitions/querier_account/versions?note=x", changed)
        assert response.status_code == 422, response.get_json()
        assert element in {p["element"] for p in response.get_json()["problems"]}
