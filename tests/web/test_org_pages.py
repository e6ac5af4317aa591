"""組織管理 pages: administrators only; a unit, a person and a role from the forms; the import preview and apply."""

from __future__ import annotations

import csv
import io
import re

from tests.conftest import NOW, QUERIER_ADD


def login(client, username, password=None):
    response = client.post("/login", data={"username": username, "password": password or "demo"})
    assert response.status_code == 302, response.text
    return client


def test_only_administrators_see_the_organisation(app):
    assert login(app.test_client(), "manager").get("/org/").status_code == 403
    page = login(app.test_client(), "admin").get("/org/").text
    assert "高雄市政府社會局" in page and "資料需求機關" in page


def test_a_unit_a_person_and_a_role_from_the_forms(app):
    admin = login(app.test_client(), "admin")
    made = admin.post("/org/agencies/KHH-EP/units", data={"name": "水質保護科", "parent": ""})
    assert made.status_code == 302
    unit_id = re.search(r'<option value="(\d+)">水質保護科</option>', admin.get("/org/agencies/KHH-EP").text)[1]
    person = admin.post("/org/agencies/KHH-EP/people", data={
        "username": "ep_water_head", "name": "馮志遠", "title": "科長", "email": "", "staff_number": "E-77",
        "unit": unit_id, "password": "first-pass-1"})
    assert person.status_code == 302 and person.location.endswith("/org/people/ep_water_head")
    granted = admin.post("/org/people/ep_water_head/roles", data={"role": "unit_head", "unit": "", "valid_from": "",
                                                                 "valid_to": ""}, follow_redirects=True)
    assert "已授予角色" in granted.text and 'data-role="unit_head"' in granted.text
    refused = admin.post("/org/people/ep_water_head/roles", data={"role": "central_clerk"}, follow_redirects=True)
    assert "總管理機關承辦人須屬總管理機關" in refused.text
    assert login(app.test_client(), "ep_water_head", "first-pass-1").get("/").status_code in (200, 302)


def test_a_bad_import_lists_each_problem_and_applies_nothing_then_a_good_one_applies(app):
    admin = login(app.test_client(), "admin")
    text = io.StringIO()
    csv.writer(text).writerows([["帳號", "姓名", "機關代碼", "單位", "角色"],
                                ["hb_new", "范姜明", "KHH-HB", "長期照護科", "資料查詢者"],
                                ["hb_bad", "洪大同", "KHH-HB", "", "魔法師"]])
    uploaded = admin.post("/org/import", data={"file": (io.BytesIO(text.getvalue().encode("cp950")), "people.csv")},
                          content_type="multipart/form-data")
    assert uploaded.status_code == 303
    preview = admin.get(uploaded.location).text
    assert "不明的角色：魔法師" in preview and "<td>3</td><td>角色</td>" in preview
    assert "套用匯入" not in preview
    assert "hb_new" not in admin.get("/org/agencies/KHH-HB").text

    good = "帳號,姓名,機關代碼,單位,角色\nhb_new,范姜明,KHH-HB,長期照護科,資料查詢者\n".encode()
    uploaded = admin.post("/org/import", data={"file": (io.BytesIO(good), "people.csv")},
                          content_type="multipart/form-data", headers={"Accept": "application/json"})
    target = uploaded.get_json()["preview"]
    preview = admin.get(target).text
    assert "套用匯入" in preview and "hb_new" in preview
    applied = admin.post(target, data={"missing": "0"})
    assert applied.status_code == 200 and "已匯入：新增 1 人" in applied.text
    assert "hb_new" in admin.get("/org/agencies/KHH-HB").text
    assert admin.post(target, data={"missing": "0"}, follow_redirects=True).request.path == "/org/import"


def test_leaving_from_the_page_moves_the_step(app, api):
    api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    admin = login(app.test_client(), "admin")
    admin.post("/org/people/sw_it_head/roles", data={"role": "unit_head", "unit": _unit(admin, "sw_unit_head")})
    done = admin.post("/org/people/sw_unit_head/status", data={"status": "retired", "on": "115/11/30"},
                      follow_redirects=True)
    assert "移轉待辦 1 件" in done.text and "退休" in done.text and "115年11月30日" in done.text
    assert [t["name"] for t in api.as_("sw_it_head").get("/api/v1/tasks").get_json()]


def _unit(admin, username) -> str:
    return re.search(r'<option value="(\d+)" selected>', admin.get(f"/org/people/{username}").text)[1]


def test_an_exported_agency_imports_again_unchanged_and_formulas_stay_text(app, session, person):
    from openpyxl import load_workbook

    from workflows.org import people

    people.update_person(session, "sw_staff", values={"title": "=1+1", "staff_number": "S-1"},
                         actor=person("admin"), now=NOW)
    admin = login(app.test_client(), "admin")
    exported = admin.get("/org/agencies/KHH-SW/people.xlsx")
    assert exported.status_code == 200
    rows = list(load_workbook(io.BytesIO(exported.data)).active.values)
    assert rows[0][:3] == ("帳號", "姓名", "職稱")
    assert ("sw_staff", "吳佩珊", "'=1+1") == rows[[r[0] for r in rows].index("sw_staff")][:3]
    assert "applicant" in [r[0] for r in rows] and rows[[r[0] for r in rows].index("applicant")][7] == "querier"
    # Imported again as it came out (the title with its apostrophe aside), nothing changes.
    people.update_person(session, "sw_staff", values={"title": "'=1+1"}, actor=person("admin"), now=NOW)
    again = admin.post("/org/import", data={"file": (io.BytesIO(exported.data), "people.xlsx")},
                       content_type="multipart/form-data", headers={"Accept": "application/json"})
    preview = admin.get(again.get_json()["preview"]).text
    assert "沒有變更。" in preview and "套用匯入" in preview
