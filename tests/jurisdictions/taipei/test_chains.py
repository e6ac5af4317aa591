"""Every form the Taipei demo people can file walks to its end through the JSON API, as its real people (002).

Each walk names, step by step, who holds the step: the chain is right only if exactly those people get it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AccountKind, AccountStatus, Agency, AgencyQueryItem, WebirAccount
from tests.files import pdf

QUERIER_ADD = {
    "request_type": "add", "name": "張書豪", "job_title": "科員", "national_id": "A123456789",
    "phone": "02-27208001", "email": "sw_staff@demo.gov.taipei", "egov_account": "shuhao.chang",
    "has_egov_account": True, "has_citizen_certificate": True, "purpose": "辦理低收入戶資格審核",
    "legal_basis": "社會救助法第十條", "items": ["C0101", "B0101"], "reason": "新任社會救助業務承辦",
}
MANAGER_ADD = {
    "request_type": "add", "name": "李承恩", "phone": "02-27208017", "email": "da_staff@demo.gov.taipei",
    "egov_account": "chengen.li", "has_egov_account": True, "has_citizen_certificate": True,
    "purpose": "受社會局委託辦理社會救助業務，管理本所使用者", "legal_basis": "社會救助法第十條",
    "reason": "本所設置使用機關管理者",
}
REGISTRATION = {
    "case_number": "115-社救-0101", "query_date": "2026-11-25", "query_time": "10:30", "subject_name": "陳小明",
    "subject_national_id": "A123456789", "item": "C0101", "reason": "低收入戶資格審查",
    "legal_basis": "社會救助法第十條",
}
PROXY = {
    "authoriser": "sw_querier2", "case_number": "115-社救-0102", "query_date": "2026-11-25", "query_time": "14:00",
    "subject_name": "王大同", "subject_national_id": "A123456789", "item": "B0101", "reason": "中低收入戶資格審查",
    "legal_basis": "社會救助法第十條", "urgency": "授權人公出，案件須於今日函復",
}
ITEMS_CHANGE = {
    "name": "蔡明哲", "phone": "02-27208007", "email": "manager@demo.gov.taipei", "client_ip": "10.20.30.40",
    "add_items": ["C0201", "P0101"], "remove_items": ["N0101"], "legal_basis": "社會救助法第十條；老人福利法第十二條",
}
ROLE_TRANSFER = {
    "person": "applicant", "kind": "querier", "effective_date": "2026-12-01", "new_position": "調任社會福利科",
    "reason": "業務異動，已無查詢需求",
}
CENTRAL_AUDIT = {
    "audited_agency": "TPE-SW", "audit_date": "2026-11-20", "auditors": "蘇建宏（資訊室）、方雅琪（政風室）",
    "findings": "抽查 30 筆查詢紀錄", "deficiencies": "2 筆登記簿未載查詢目的", "improve_by": "2026-12-31",
}
SET = {"effective_date": "2026-11-25"}

# form, filer, data, [(step, holders, data)]: the holders are the step's candidates, the first of them decides.
WALKS = {
    "querier_account": ("sw_staff", QUERIER_ADD, [
        ("unit_head_review", ["sw_unit_head"], {}),
        ("agency_manager_setup", ["manager"], SET)]),
    "manager_account": ("da_staff", MANAGER_ADD, [
        ("unit_head_review", ["da_unit_head"], {}),
        ("agency_head_review", ["da_head"], {}),
        ("commissioning_consent", ["sw_head", "sw_deputy"], {}),  # 社會局 consents for 大安區公所 (002 §5(2))
        ("central_clerk_review", ["lab_clerk"], {}),
        ("central_section_head_review", ["lab_chief"], {}),
        ("central_director_review", ["lab_director"], {}),
        ("central_clerk_setup", ["lab_clerk"], SET)]),
    "query_items_change": ("manager", ITEMS_CHANGE, [
        ("unit_head_review", ["sw_it_head"], {}),
        ("agency_head_review", ["sw_head", "sw_deputy"], {}),
        ("central_clerk_review", ["lab_clerk"], {"approved_items": ["C0201", "P0101", "N0101"]}),
        ("central_section_head_review", ["lab_chief"], {}),
        ("central_director_review", ["lab_director"], {}),
        ("bureau_answer", ["bli_liaison"], {"bureau_approved_items": ["C0201", "N0101"],
                                            "bureau_letter_no": "保費資字第1150001號", "answered_on": "2026-11-24"}),
        ("central_clerk_apply", ["lab_clerk"], {"applied_on": "2026-11-25"})]),
    "query_registration": ("applicant", REGISTRATION, [
        ("unit_manager_check", ["sw_unit_manager"], {})]),
    "proxy_authorisation": ("applicant", PROXY, [
        ("unit_head_review", ["sw_unit_head"], {"authorisation_checked": True}),
        ("unit_manager_file", ["sw_unit_manager"], {})]),
    "role_transfer": ("sw_head", ROLE_TRANSFER, [
        ("transfer_account", ["manager"], {"account_decision": "delete"})]),
    "central_audit": ("lab_it_auditor", CENTRAL_AUDIT, [
        ("central_section_head_review", ["lab_chief"], {}),
        ("central_director_review", ["lab_director"], {}),
        ("central_clerk_follow_up", ["lab_clerk"], {"improved_on": "2026-12-20",
                                                    "improvements": "登記簿已補正並加強教育訓練"})]),
}


def signed_authorisation(api, username: str = "applicant") -> list[int]:
    """The signed 代查授權書 (002 附件3) as its filer uploads it: a real one-page PDF."""
    user = api.as_(username)
    upload = user.client.post("/api/v1/attachments?name=proxy-authorisation.pdf", data=pdf("signed authorisation"),
                              headers={**user.headers, "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.get_json()
    return [upload.get_json()["id"]]


def walk(api, form: str) -> dict:
    filer, data, steps = WALKS[form]
    if form == "proxy_authorisation":
        data = {**data, "signed_authorisation": signed_authorisation(api, filer)}
    filed = api.as_(filer).post("/api/v1/applications", json={"form": form, "data": data})
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    admin = api.as_("admin")
    for step, holders, fields in steps:
        view = admin.get(f"/api/v1/applications/{app_id}").get_json()
        assert [t["step"] for t in view["current_tasks"]] == [step], (form, view["current_tasks"])
        task = view["current_tasks"][0]
        assert task["candidates"] == holders, (form, step)
        done = api.as_(holders[0]).post(f"/api/v1/tasks/{task['id']}/complete",
                                        json={"decision": "approve", "opinion": "同意", "data": fields})
        assert done.status_code == 200, (form, step, done.get_json())
    return admin.get(f"/api/v1/applications/{app_id}").get_json()


@pytest.mark.parametrize("form", sorted(WALKS))
def test_each_form_walks_to_its_end_as_its_people(api, form):
    view = walk(api, form)
    assert view["state"] == "completed"
    assert view["current_tasks"] == []


def test_the_walks_cover_every_form_a_demo_person_can_file(api, taipei_pack):
    people = [p.username for p in taipei_pack.demo.people]
    fileable = {f["key"] for u in people for f in api.as_(u).get("/api/v1/forms").get_json()}
    assert fileable == set(WALKS)


def test_an_approved_querier_account_is_set_with_its_items(api, session):
    walk(api, "querier_account")
    account = session.scalar(select(WebirAccount).join(WebirAccount.person).where(
        WebirAccount.kind == AccountKind.QUERIER, WebirAccount.person.has(username="sw_staff")))
    assert account.status == AccountStatus.ACTIVE
    assert sorted(account.item_codes) == ["B0101", "C0101"]


def test_the_commissioned_agencys_manager_account_is_set_after_the_commissioning_agencys_consent(api, session):
    view = walk(api, "manager_account")
    assert view["data"]["commissioning_agency"] == "TPE-SW"
    consent = next(h for h in view["history"] if h["step"] == "commissioning_consent")
    assert consent["actor"] == "sw_head"
    account = session.scalar(select(WebirAccount).where(WebirAccount.kind == AccountKind.MANAGER,
                                                        WebirAccount.person.has(username="da_staff")))
    assert account is not None and account.status == AccountStatus.ACTIVE


def test_an_agency_that_works_for_nobody_goes_straight_to_the_labour_department(api):
    data = {**MANAGER_ADD, "name": "張書豪", "email": "sw_staff@demo.gov.taipei", "egov_account": "shuhao.chang",
            "commissioning_agency": "TPE-DA"}  # typed in, yet the records say 社會局 works for nobody
    filed = api.as_("sw_staff").post("/api/v1/applications", json={"form": "manager_account", "data": data})
    assert filed.status_code == 201
    admin = api.as_("admin")
    app_id = filed.get_json()["id"]
    assert admin.get(f"/api/v1/applications/{app_id}").get_json()["data"]["commissioning_agency"] is None
    for holder in ("sw_unit_head", "sw_head"):
        task = admin.get(f"/api/v1/applications/{app_id}").get_json()["current_tasks"][0]
        api.as_(holder).post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve", "opinion": "可"})
    assert admin.get(f"/api/v1/applications/{app_id}").get_json()["current_tasks"][0]["step"] == \
        "central_clerk_review"


def test_the_commissioning_agency_sees_its_commissioned_agencys_applications(api):
    filed = api.as_("da_querier").post("/api/v1/applications", json={"form": "query_registration", "data": {
        **REGISTRATION, "item": "C0101"}})
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    assert api.as_("sw_ethics_auditor").get(f"/api/v1/applications/{app_id}").status_code == 200
    assert api.as_("sw_head").get(f"/api/v1/applications/{app_id}").status_code == 200
    assert api.as_("sw_querier2").get(f"/api/v1/applications/{app_id}").status_code == 404
    # and the other way round, nothing: 大安區公所 does not audit 社會局
    own = api.as_("applicant").post("/api/v1/applications", json={"form": "query_registration",
                                                                  "data": REGISTRATION}).get_json()["id"]
    assert api.as_("da_auditor").get(f"/api/v1/applications/{own}").status_code == 404


def test_an_items_change_grants_what_both_the_labour_department_and_the_bureau_agreed(api, session):
    walk(api, "query_items_change")
    sw = session.scalar(select(Agency).where(Agency.code == "TPE-SW"))
    items = set(session.scalars(select(AgencyQueryItem.item_code).where(AgencyQueryItem.agency_id == sw.id)))
    assert "C0201" in items and "P0101" not in items and "N0101" not in items


def test_a_registration_goes_to_the_unit_manager_of_the_queriers_own_unit(api):
    filed = api.as_("da_querier").post("/api/v1/applications", json={"form": "query_registration",
                                                                      "data": REGISTRATION})
    view = api.as_("admin").get(f"/api/v1/applications/{filed.get_json()['id']}").get_json()
    assert view["current_tasks"][0]["candidates"] == ["da_unit_manager"]


def test_the_inbox_shows_the_unit_manager_in_taipeis_words(api):
    api.as_("applicant").post("/api/v1/applications", json={"form": "query_registration", "data": REGISTRATION})
    rows = api.as_("sw_unit_manager").get("/api/v1/tasks").get_json()
    assert [r["step"] for r in rows] == ["unit_manager_check"]
