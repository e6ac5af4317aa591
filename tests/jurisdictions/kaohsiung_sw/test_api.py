"""社會局's 附表1 through the JSON API: its own form, the per-item step, a 422 naming each missing answer."""

from __future__ import annotations

from tests.jurisdictions.kaohsiung_sw.test_chains import QUERY_REQUEST, SW_QUERIER_ADD


def _task(client, application: int) -> dict:
    [row] = [t for t in client.get("/api/v1/tasks").get_json() if t["application"] == application]
    return client.get(f"/api/v1/tasks/{row['id']}").get_json()


def test_附表1_through_the_api_item_by_item(sw_rules, api):
    staff = api.as_("sw_staff")
    form = staff.get("/api/v1/forms/querier_account").get_json()
    assert form["title"] == "高雄市政府社會局應用勞動部勞工保險局資訊中介服務系統資料查詢者權限申請表"
    names = [f["name"] for f in form["fields"]]
    assert {"has_card_reader", "meets_system_requirements"} <= set(names) and "has_egov_account" not in names
    filed = staff.post("/api/v1/applications", {"form": "querier_account", "data": SW_QUERIER_ADD})
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    head = api.as_("sw_unit_head")
    task = _task(head, app_id)
    assert head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}).status_code == 200
    manager = api.as_("manager")
    task = _task(manager, app_id)
    per_item = [f for f in task["fields"] if f["name"].startswith("item_")]
    assert [f["name"] for f in per_item] == ["item_C0101", "item_C0101_reason", "item_B0101", "item_B0101_reason",
                                             "item_B0201", "item_B0201_reason"]
    assert per_item[0]["choices"] == [{"value": "grant", "label": "准予"}, {"value": "refuse", "label": "不同意"}]
    missing = manager.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "data": {
        "effective_date": "115/12/01", "item_C0101": "grant", "item_B0101": "refuse"}})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"item_B0101_reason", "item_B0201"}
    done = manager.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "data": {
        "effective_date": "115/12/01", "item_C0101": "grant", "item_B0101": "refuse",
        "item_B0101_reason": "本科不辦理給付業務", "item_B0201": "grant"}})
    assert done.status_code == 200, done.get_json()
    seal = api.as_("sw_it_head")
    task = _task(seal, app_id)
    assert (task["step"], task["decisions"]) == ("permission_seal", ["approve", "reject"])
    assert seal.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"}).get_json()["state"] == "completed"
    shown = staff.get(f"/api/v1/applications/{app_id}").get_json()
    setting = next(h for h in shown["history"] if h["step"] == "permission_setting")
    assert setting["data"]["granted_items"] == ["C0101", "B0201"]


def test_a_district_office_files_附表3_and_its_numbers_stay_masked(api):
    filed = api.as_("fs_staff").post("/api/v1/applications", {"form": "query_request", "data": QUERY_REQUEST})
    assert filed.status_code == 201, filed.get_json()
    shown = api.as_("fs_staff").get(f"/api/v1/applications/{filed.get_json()['id']}").get_json()
    assert shown["data"]["subject_2_national_id"] == "A12****789"
    assert api.as_("sw_staff").post("/api/v1/applications", {"form": "query_request",
                                                              "data": QUERY_REQUEST}).status_code == 403
