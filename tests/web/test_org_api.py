"""/api/v1/org: administrators keep agencies, units, people and roles, and import a personnel spreadsheet."""

from __future__ import annotations

import io

from openpyxl import Workbook

from tests.conftest import QUERIER_ADD

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post_file(api, data: bytes, content_type: str, query: str = ""):
    return api.client.post(f"/api/v1/org/import{query}", data=data, content_type=content_type, headers=api.headers)


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_administrator_builds_a_unit_a_person_and_a_role_who_then_decides(api):
    admin = api.as_("admin")
    unit = admin.post("/api/v1/org/agencies/KHH-SW/units", {"name": "老人福利科"})
    assert unit.status_code == 201, unit.get_json()
    made = admin.post("/api/v1/org/people", {"username": "sw_elder_head", "name": "蘇麗華", "title": "科長",
                                             "agency": "KHH-SW", "unit": unit.get_json()["id"],
                                             "staff_number": "S-9001", "password": "demo-pass-1"})
    assert made.status_code == 201, made.get_json()
    role = admin.post("/api/v1/org/people/sw_elder_head/roles", {"role": "unit_head", "valid_from": "115/11/01"})
    assert role.status_code == 201 and role.get_json()["valid_from"] == "2026-11-01"
    person = admin.get("/api/v1/org/people/sw_elder_head").get_json()
    assert [(r["role"], r["unit"], r["current"]) for r in person["roles"]] == [("unit_head", "老人福利科", True)]
    # Someone of the new unit files; the new head finds the step in their inbox.
    admin.post("/api/v1/org/people", {"username": "sw_elder_clerk", "name": "施文雄", "agency": "KHH-SW",
                                      "unit": unit.get_json()["id"], "password": "demo-pass-2"})
    clerk = api.client.post("/api/v1/login", json={"username": "sw_elder_clerk", "password": "demo-pass-2"})
    filed = api.client.post("/api/v1/applications", json={"form": "querier_account", "data": QUERIER_ADD},
                            headers={"Authorization": f"Bearer {clerk.get_json()['token']}"})
    assert filed.status_code == 201, filed.get_json()
    head = api.client.post("/api/v1/login", json={"username": "sw_elder_head", "password": "demo-pass-1"})
    tasks = api.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {head.get_json()['token']}"})
    assert [t["application"] for t in tasks.get_json()] == [filed.get_json()["id"]]


def test_only_administrators_reach_the_organisation(api):
    manager = api.as_("manager")
    assert manager.get("/api/v1/org/agencies").status_code == 403
    assert post_file(manager, b"x", "text/csv", "?dry_run=1").status_code == 403


def test_an_agency_of_two_kinds_is_listed_with_both(api):
    admin = api.as_("admin")
    made = admin.post("/api/v1/org/agencies", {"code": "TPE-LD", "name": "臺北市政府勞動局", "city": "taipei",
                                               "kinds": ["central", "authority"]})
    assert made.status_code == 201 and made.get_json()["kinds"] == ["authority", "central"]
    refused = admin.post("/api/v1/org/agencies", {"code": "TPE-X", "name": "x", "city": "taipei", "kinds": ["pope"]})
    assert refused.status_code == 422 and "kinds" in refused.get_json()["errors"]


def test_import_previews_applies_and_refuses_a_file_with_errors(api):
    admin = api.as_("admin")
    header = ["帳號", "姓名", "員工編號", "機關", "單位", "角色"]
    good = [header, ["yb_new", "邱子晴", "Y-1", "高雄市政府青年局", "青年發展科", "資料查詢者"]]
    preview = post_file(admin, xlsx(good), XLSX, "?dry_run=1")
    assert preview.status_code == 200
    body = preview.get_json()
    assert set(body) >= {"creates", "updates", "deactivations", "errors"} and body["applied"] is False
    assert [c["username"] for c in body["creates"]] == ["yb_new"]
    assert admin.get("/api/v1/org/people/yb_new").status_code == 404

    bad = [*good, ["yb_two", "", "Y-2", "KHH-YB", "", "神仙"]]
    refused = post_file(admin, xlsx(bad), XLSX)
    assert refused.status_code == 422
    assert [(e["row"], e["column"]) for e in refused.get_json()["errors"]] == [(3, "姓名"), (3, "角色")]
    assert admin.get("/api/v1/org/people/yb_new").status_code == 404

    applied = post_file(admin, xlsx(good), XLSX)
    assert applied.status_code == 200 and applied.get_json()["applied"] is True
    assert admin.get("/api/v1/org/people/yb_new").get_json()["roles"][0]["role"] == "querier"
    utf8_bom = "\ufeff帳號,姓名,員工編號,機關\nyb_new,邱子晴,Y-1,KHH-YB\n".encode()
    again = post_file(admin, utf8_bom, "text/csv").get_json()
    assert (again["creates"], again["updates"], again["errors"]) == ([], [], [])


def test_an_unreadable_file_is_a_422_on_line_one(api):
    refused = post_file(api.as_("admin"), b"PK\x03\x04 not really a workbook", XLSX, "?dry_run=1")
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["row"] == 1


def test_leaving_through_the_api_ends_tokens_and_moves_steps(api):
    staff = api.as_("sw_staff")
    filed = staff.post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD}).get_json()
    head = api.as_("sw_unit_head")
    admin = api.as_("admin")
    admin.post("/api/v1/org/people/sw_it_head/roles", {"role": "unit_head", "unit": _unit_of(admin, "sw_unit_head")})
    left = admin.post("/api/v1/org/people/sw_unit_head/status", {"status": "left", "on": "2026-11-30"})
    assert left.status_code == 200, left.get_json()
    assert left.get_json()["status"] == "left" and len(left.get_json()["tasks_moved"]) == 1
    assert head.get("/api/v1/tasks").status_code == 401
    history = api.as_("sw_it_head").get(f"/api/v1/applications/{filed['id']}").get_json()["history"]
    assert any("陳志明已離職" in (h["opinion"] or "") for h in history)


def _unit_of(admin, username: str) -> int:
    return admin.get(f"/api/v1/org/people/{username}").get_json()["unit"]


def test_the_plain_deactivation_also_hands_open_steps_on(api):
    """POST /people/<username>/deactivate (identity) hands steps on as leaving does: no step keeps only a ghost."""
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    admin = api.as_("admin")
    admin.post("/api/v1/org/people/sw_it_head/roles", {"role": "unit_head", "unit": _unit_of(admin, "sw_unit_head")})
    assert admin.post("/api/v1/people/sw_unit_head/deactivate").status_code == 200
    [task] = api.as_("sw_it_head").get("/api/v1/tasks").get_json()
    assert task["application"] == filed.get_json()["id"]
    events = admin.get("/api/v1/audit-events?event_type=person_deactivated").get_json()["items"]
    assert events[0]["payload"]["tasks_moved"] == [task["id"]]
