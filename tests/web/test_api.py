"""The minimal JSON API contract (issue 2), through real HTTP on the Flask test client."""

from tests.conftest import ITEMS_CHANGE, QUERIER_ADD, granted
from workflows.forms import FIELD_TYPES


def file_querier(api, username="sw_staff", data=QUERIER_ADD):
    return api.as_(username).post("/api/v1/applications", {"form": "querier_account", "data": data})


def test_login_gives_a_token_and_wrong_password_is_401(api):
    assert api.client.post("/api/v1/login", json={"username": "applicant", "password": "nope"}).status_code == 401
    assert api.client.get("/api/v1/tasks").status_code == 401
    assert api.client.get("/api/v1/tasks", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert api.as_("applicant").get("/api/v1/tasks").status_code == 200


def test_forms_listed_are_the_ones_a_person_may_file(api):
    applicant = {f["key"] for f in api.as_("applicant").get("/api/v1/forms").get_json()}
    manager = {f["key"] for f in api.as_("manager").get("/api/v1/forms").get_json()}
    assert applicant == {"manager_account", "querier_account", "query_registration", "data_incident"}
    assert "query_items_change" in manager and "query_registration" not in manager
    assert api.as_("applicant").get("/api/v1/forms/query_items_change").status_code == 403
    assert api.as_("applicant").get("/api/v1/forms/nope").status_code == 404


def test_form_fields_have_the_documented_shape(api):
    body = api.as_("manager").get("/api/v1/forms/query_items_change").get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["client_ip"] == {"name": "client_ip", "label": "連線勞保查詢系統之電腦合法 IP", "type": "ipv4",
                                   "required": True}
    assert [c["value"] for c in fields["add_items"]["choices"]][:2] == ["C0101", "C0201"]
    assert len(fields["add_items"]["choices"]) == 20
    for key in ("manager_account", "querier_account", "query_registration"):
        for f in api.as_("applicant").get(f"/api/v1/forms/{key}").get_json()["fields"]:
            assert f["type"] in FIELD_TYPES and isinstance(f["required"], bool)


def test_filing_returns_201_and_the_application_reads_back(api):
    response = file_querier(api)
    assert response.status_code == 201
    created = response.get_json()
    assert created["state"] == "running"
    body = api.as_("sw_staff").get(f"/api/v1/applications/{created['id']}").get_json()
    assert body["state"] == "running"
    assert body["definition"] == {"key": "querier_account", "version": 1}
    [task] = body["current_tasks"]
    assert (task["step"], task["role"], task["candidates"]) == ("unit_head_review", "unit_head", ["sw_unit_head"])
    assert task["since"].startswith("20")
    assert [h["decision"] for h in body["history"]] == ["submit"]


def test_bad_fields_are_each_named_in_a_422(api):
    data = {**QUERIER_ADD, "national_id": "A123456788", "email": "not-mail", "phone": "12", "items": ["X9999"],
            "has_citizen_certificate": False}
    response = file_querier(api, data=data)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]
    assert set(errors) == {"national_id", "email", "phone", "items", "has_citizen_certificate"}
    bad_ip = api.as_("manager").post("/api/v1/applications",
                                     {"form": "query_items_change", "data": {**ITEMS_CHANGE, "client_ip": "10.0.0"}})
    assert set(bad_ip.get_json()["errors"]) == {"client_ip"}
    assert api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account"}).status_code == 422
    assert api.as_("sw_staff").post("/api/v1/applications", {"form": "nope", "data": {}}).status_code == 404


def test_an_approver_sees_decides_and_the_next_one_gets_it(api):
    app_id = file_querier(api).get_json()["id"]
    head = api.as_("sw_unit_head")
    [task] = head.get("/api/v1/tasks").get_json()
    assert task["application"] == app_id and task["step"] == "unit_head_review"
    detail = head.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert detail["decisions"] == ["approve", "reject", "return"] and detail["fields"] == []
    assert detail["application"]["data"]["items"] == ["C0101", "B0101"]
    approved = head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "opinion": "同意"})
    assert approved.status_code == 200
    assert head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}).status_code == 409
    [next_task] = api.as_("manager").get("/api/v1/tasks").get_json()
    fields = api.as_("manager").get(f"/api/v1/tasks/{next_task['id']}").get_json()["fields"]
    assert [f["name"] for f in fields] == ["item_C0101", "item_C0101_reason", "item_B0101", "item_B0101_reason",
                                           "effective_date"]  # 000 附表三's item sheet: 審核結果 per item
    done = api.as_("manager").post(f"/api/v1/tasks/{next_task['id']}/complete",
                                   {"decision": "approve", "data": granted(["C0101", "B0101"])})
    assert done.status_code == 200 and done.get_json()["state"] == "running"
    [seal] = api.as_("sw_it_head").get("/api/v1/tasks").get_json()
    sealed = api.as_("sw_it_head").post(f"/api/v1/tasks/{seal['id']}/complete", {"decision": "approve"})
    assert sealed.status_code == 200 and sealed.get_json()["state"] == "completed"
    history = api.as_("sw_staff").get(f"/api/v1/applications/{app_id}").get_json()["history"]
    assert [(h["actor"], h["decision"]) for h in history] == [
        ("sw_staff", "submit"), ("sw_unit_head", "approve"), ("manager", "approve"), ("sw_it_head", "approve")]


def test_someone_elses_task_is_403_and_a_missing_one_404(api):
    app_id = file_querier(api).get_json()["id"]
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    for intruder in ("manager", "ep_unit_head", "sw_staff"):
        other = api.as_(intruder)
        assert other.get(f"/api/v1/tasks/{task['id']}").status_code == 403
        assert other.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}).status_code == 403
    assert api.as_("sw_unit_head").get("/api/v1/tasks/999999").status_code == 404
    assert api.as_("ep_unit_head").get(f"/api/v1/applications/{app_id}").status_code == 404
    assert api.as_("sw_unit_head").get(f"/api/v1/applications/{app_id}").status_code == 200


def test_an_applicant_never_approves_their_own_application(api):
    # The unit head files for themself: they are not a candidate for their own step.
    response = file_querier(api, "sw_unit_head", {**QUERIER_ADD, "name": "陳志明"})
    assert response.status_code == 201
    body = api.as_("sw_unit_head").get(f"/api/v1/applications/{response.get_json()['id']}").get_json()
    [task] = body["current_tasks"]
    assert task["candidates"] == []
    assert api.as_("sw_unit_head").get("/api/v1/tasks").get_json() == []
    complete = api.as_("sw_unit_head").post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"})
    assert complete.status_code == 403


def test_return_amend_and_withdraw_through_the_api(api):
    app_id = file_querier(api).get_json()["id"]
    head = api.as_("sw_unit_head")
    [task] = head.get("/api/v1/tasks").get_json()
    assert head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "return"}).status_code == 422
    assert head.post(f"/api/v1/tasks/{task['id']}/complete",
                     {"decision": "return", "opinion": "請補附事由"}).status_code == 200
    staff = api.as_("sw_staff")
    assert staff.get(f"/api/v1/applications/{app_id}").get_json()["state"] == "returned"
    amended = staff.post(f"/api/v1/applications/{app_id}/amend", {"data": {**QUERIER_ADD, "reason": "補充事由"}})
    assert amended.status_code == 200 and amended.get_json()["state"] == "running"
    assert staff.get(f"/api/v1/applications/{app_id}").get_json()["data"]["reason"] == "補充事由"
    withdrawn = staff.post(f"/api/v1/applications/{app_id}/withdraw", {"reason": "不需要了"})
    assert withdrawn.get_json()["state"] == "withdrawn"
    assert head.get("/api/v1/tasks").get_json() == []
    assert staff.post(f"/api/v1/applications/{app_id}/withdraw", {}).status_code == 409
