"""Taoyuan's rules (004_aebe890fd6038f28.txt) walked to their end through the JSON API, as Taoyuan's own people.

Each form a Taoyuan demo person can file goes from its filer along its chain to its end, every step decided by
the person the rules name; the approved ones change the account records as the rules say.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import Agency
from tests.files import pdf
from workflows.timers import deletions  # a real one-page PDF (the attachments tests' own)

# Tuesday 1 December 2026, 09:00 in Taipei.
FILED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

MANAGER_ADD = {
    "request_type": "add", "name": "黃冠廷", "agency_oid": "2.16.886.101.30002", "phone": "03-3322203",
    "email": "sw_staff@demo.tycg.gov.tw", "egov_account": "kuanting.huang", "has_egov_account": True,
    "has_citizen_certificate": True, "reason": "社會局增設機關管理者",
}
QUERIER_ADD = {
    "request_type": "add", "name": "黃冠廷", "job_title": "科員", "national_id": "H123456786",
    "phone": "03-3322203", "email": "sw_staff@demo.tycg.gov.tw", "egov_account": "kuanting.huang",
    "has_egov_account": True, "has_citizen_certificate": True, "items": ["C0101", "B0101"],
    "reason": "辦理低收入戶資格審核",
}
REGISTRATION = {
    "case_number": "115-社救-0101", "query_date": "2026-12-01", "subject_name": "陳小明",
    "subject_national_id": "H223456788", "item": "C0101", "reason": "低收入戶資格審核",
}


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def file(api, username: str, form: str, data: dict) -> int:
    response = api.as_(username).post("/api/v1/applications", json={"form": form, "data": data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def decide(api, username: str, application: int, step: str, decision: str = "approve", **data) -> dict:
    """``username`` finds the application's step in their own inbox and decides it."""
    person = api.as_(username)
    mine = [t for t in person.get("/api/v1/tasks").get_json() if t["application"] == application]
    assert [t["step"] for t in mine] == [step], (username, mine)
    response = person.post(f"/api/v1/tasks/{mine[0]['id']}/complete",
                           json={"decision": decision, "opinion": "依 004 辦理", "data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def application(api, application: int, as_: str = "admin") -> dict:
    return api.as_(as_).get(f"/api/v1/applications/{application}").get_json()


def roster(api, agency: str) -> dict[str, list[dict]]:
    rows = api.as_("admin").get(f"/api/v1/accounts?agency={agency}").get_json()["accounts"]
    out: dict[str, list[dict]] = {}
    for row in rows:
        out.setdefault(row["username"], []).append(row)
    return out


def steps(api, app_id: int) -> list[tuple[str, str]]:
    return [(h["step"], h["actor"]) for h in application(api, app_id)["history"]]


# ---------------------------------------------------------------- 004 §5(1): 機關管理者帳號

def test_a_manager_account_goes_from_the_agency_head_through_the_labour_bureau_to_the_it_centre(api):
    app = file(api, "sw_staff", "manager_account", MANAGER_ADD)
    decide(api, "sw_head", app, "agency_head_review")
    decide(api, "labor_clerk", app, "authority_clerk_review")
    decide(api, "labor_chief", app, "authority_section_head_review")
    decide(api, "labor_director", app, "authority_director_review")
    decide(api, "it_clerk", app, "central_clerk_setup", effective_date="2026-12-02")
    assert application(api, app)["state"] == "completed"
    [account] = roster(api, "TY-SW")["sw_staff"]
    assert account["kind"] == "manager" and account["egov_account"] == "kuanting.huang"
    assert account["effective_on"] == "2026-12-02"


def test_the_manager_account_asks_for_the_e_government_account_and_the_citizen_certificate(api):
    response = api.as_("sw_staff").post("/api/v1/applications", json={"form": "manager_account", "data": {
        **MANAGER_ADD, "has_egov_account": False, "has_citizen_certificate": False}})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"has_egov_account", "has_citizen_certificate"}


def test_a_manager_changes_their_account_along_the_same_chain(api):
    app = file(api, "manager", "manager_account", {**MANAGER_ADD, "request_type": "change", "name": "張淑娟",
                                                   "egov_account": "shujuan.chang.new"})
    decide(api, "sw_deputy", app, "agency_head_review")  # the head's delegate (授權人員)
    decide(api, "labor_clerk", app, "authority_clerk_review")
    decide(api, "labor_chief", app, "authority_section_head_review")
    decide(api, "labor_director", app, "authority_director_review")
    decide(api, "it_clerk", app, "central_clerk_setup", effective_date="2026-12-03")
    [account] = roster(api, "TY-SW")["manager"]
    assert account["egov_account"] == "shujuan.chang.new" and account["status"] == "active"


def test_a_district_office_manager_account_is_deleted_and_the_role_ends(api):
    app = file(api, "fx_manager", "manager_account", {**MANAGER_ADD, "request_type": "delete", "name": "林佩君",
                                                      "egov_account": "fx_manager.egov"})
    decide(api, "fx_head", app, "agency_head_review")
    decide(api, "labor_clerk", app, "authority_clerk_review")
    decide(api, "labor_chief", app, "authority_section_head_review")
    decide(api, "labor_director", app, "authority_director_review")
    decide(api, "it_clerk", app, "central_clerk_setup", effective_date="2026-12-01")
    [account] = roster(api, "TY-FX")["fx_manager"]
    assert account["status"] == "disabled"


def test_the_labour_bureau_refuses_and_the_chain_ends_rejected(api):
    app = file(api, "sw_staff", "manager_account", MANAGER_ADD)
    decide(api, "sw_head", app, "agency_head_review")
    decide(api, "labor_clerk", app, "authority_clerk_review", decision="reject")
    assert application(api, app)["state"] == "rejected"
    assert "sw_staff" not in roster(api, "TY-SW")


# ---------------------------------------------------------------- 004 §5(2), §6(1): 業務承辦者帳號

def test_a_querier_account_needs_the_agency_heads_seal_then_the_manager_sets_it(api):
    app = file(api, "sw_staff", "querier_account", QUERIER_ADD)
    assert [t["role"] for t in application(api, app)["current_tasks"]] == ["agency_head"]  # not the unit head
    decide(api, "sw_head", app, "agency_head_review")
    decide(api, "manager", app, "agency_manager_setup", effective_date="2026-12-01")
    [account] = roster(api, "TY-SW")["sw_staff"]
    assert sorted(i["code"] for i in account["items"]) == ["B0101", "C0101"]
    # The loop closes: the new querier registers a query at once.
    registration = file(api, "sw_staff", "query_registration",
                        {**REGISTRATION, "basis": "statute", "legal_basis": "社會救助法第十八條"})
    decide(api, "sw_unit_head", registration, "unit_head_review")
    assert application(api, registration)["state"] == "completed"


def test_a_queriers_item_change_goes_the_same_way(api):
    app = file(api, "applicant", "querier_account", {**QUERIER_ADD, "request_type": "change_items",
                                                     "name": "陳雅雯", "egov_account": "applicant.egov",
                                                     "items": ["C0101", "P0301"]})
    decide(api, "sw_deputy", app, "agency_head_review")
    decide(api, "manager", app, "agency_manager_setup", effective_date="2026-12-01")
    [account] = roster(api, "TY-SW")["applicant"]
    assert sorted(i["code"] for i in account["items"]) == ["C0101", "P0301"]


# ---------------------------------------------------------------- 004 §6(2): 查調項目增減（附表三）

def test_an_agencys_item_change_goes_to_the_labour_bureau_the_it_centre_and_the_bli_then_is_applied(api):
    app = file(api, "manager", "query_items_change", {
        "name": "張淑娟", "phone": "03-3322204", "email": "manager@demo.tycg.gov.tw", "client_ip": "10.30.1.20",
        "add_items": ["C0201", "F0101"], "remove_items": ["N0101"], "legal_basis": "社會救助法第四十四條之三"})
    decide(api, "labor_clerk", app, "authority_clerk_review", approved_items=["C0201", "F0101", "N0101"])
    decide(api, "labor_director", app, "authority_director_review")
    decide(api, "it_clerk", app, "central_clerk_filing")
    decide(api, "bli_liaison", app, "bureau_answer", bureau_approved_items=["C0201", "N0101"],
           bureau_letter_no="保資字第1150001號", answered_on="2026-12-20")
    decide(api, "it_clerk", app, "central_clerk_apply", applied_on="2026-12-21")
    assert application(api, app)["state"] == "completed"
    assert steps(api, app) == [("start", "manager"), ("authority_clerk_review", "labor_clerk"),
                               ("authority_director_review", "labor_director"), ("central_clerk_filing", "it_clerk"),
                               ("bureau_answer", "bli_liaison"), ("central_clerk_apply", "it_clerk")]
    # Only what both 勞動局 and 勞保局 agreed to: C0201 added, N0101 removed (also from the applicant's account).
    [account] = roster(api, "TY-SW")["applicant"]
    assert "N0101" not in [i["code"] for i in account["items"]]
    registration = file(api, "applicant", "querier_account", {
        **QUERIER_ADD, "request_type": "change_items", "name": "陳雅雯", "items": ["C0201"]})
    assert registration  # C0201 is now the agency's to grant


def test_the_item_change_needs_its_legal_bases(api):
    response = api.as_("manager").post("/api/v1/applications", json={"form": "query_items_change", "data": {
        "name": "張淑娟", "phone": "03-3322204", "email": "manager@demo.tycg.gov.tw", "client_ip": "10.30.1.20",
        "add_items": ["C0201"]}})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"legal_basis"}


# ---------------------------------------------------------------- 004 §4(5)2: 法令依據或民眾簽署同意

def test_a_registration_on_a_statute_is_confirmed_by_the_unit_head(api):
    app = file(api, "applicant", "query_registration",
               {**REGISTRATION, "basis": "statute", "legal_basis": "社會救助法第十八條"})
    decide(api, "sw_unit_head", app, "unit_head_review")
    assert application(api, app)["state"] == "completed"


def test_a_registration_on_the_citizens_consent_carries_the_signed_consent(api):
    missing = api.as_("applicant").post("/api/v1/applications", json={"form": "query_registration", "data": {
        **REGISTRATION, "basis": "consent"}})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"consent_form", "consent_confirmed"}
    applicant = api.as_("applicant")
    upload = applicant.client.post("/api/v1/attachments?name=consent.pdf", data=pdf("signed consent"),
                                   headers={**applicant.headers, "Content-Type": "application/pdf"})
    assert upload.status_code == 201, upload.get_json()
    app = file(api, "applicant", "query_registration", {**REGISTRATION, "basis": "consent",
                                                        "consent_form": [upload.get_json()["id"]],
                                                        "consent_confirmed": True})
    decide(api, "sw_unit_head", app, "unit_head_review")
    assert application(api, app)["state"] == "completed"


def test_the_cores_deletion_confirmation_runs_a_month_after_the_query(api, session):
    """Every pack carries the core's own chains (h-pack): 001 §11's deletion confirmation runs in Taoyuan too."""
    app = file(api, "applicant", "query_registration",
               {**REGISTRATION, "basis": "statute", "legal_basis": "社會救助法第十八條"})
    decide(api, "sw_unit_head", app, "unit_head_review")
    with time_machine.travel(later(32), tick=False):
        [deletion] = deletions.start_due_deletions(session, later(32))
        decide(api, "applicant", deletion, "confirm_deletion", deleted_items="查詢結果畫面截圖",
               deletion_method="erase", deleted_on=later(32).date().isoformat())
        assert application(api, deletion)["state"] == "completed"


def test_a_district_office_querier_registers_with_their_unit_head_then_the_commissioning_agency(api):
    """004 §9: 社會局 commissions 復興區公所, so its commissioner reviews the office's query after the unit head."""
    app = file(api, "fx_querier", "query_registration",
               {**REGISTRATION, "basis": "statute", "legal_basis": "社會救助法第十八條", "commissioning_agency": ""})
    assert application(api, app)["data"]["commissioning_agency"] == "TY-SW"  # the records', not the blank typed
    decide(api, "fx_unit_head", app, "unit_head_review")
    assert application(api, app)["state"] != "completed"
    assert not [t for t in api.as_("sw_unit_head").get("/api/v1/tasks").get_json() if t["application"] == app]
    decide(api, "sw_district", app, "commissioner_review")
    assert application(api, app)["state"] == "completed"
    assert steps(api, app)[-2:] == [("unit_head_review", "fx_unit_head"), ("commissioner_review", "sw_district")]


def test_the_commissioning_agency_returns_a_district_office_query_and_then_refuses_it(api):
    app = file(api, "fx_querier", "query_registration",
               {**REGISTRATION, "basis": "statute", "legal_basis": "社會救助法第十八條"})
    decide(api, "fx_unit_head", app, "unit_head_review")
    decide(api, "sw_district", app, "commissioner_review", "return")
    decide(api, "fx_querier", app, "amend", "resubmit")
    decide(api, "fx_unit_head", app, "unit_head_review")
    decide(api, "sw_district", app, "commissioner_review", "reject")
    assert application(api, app)["state"] == "rejected"


def test_an_uncommissioned_agencys_registration_cannot_claim_a_commissioning_agency(api):
    """A querier of 社會局 (commissioned by nobody) typing a commissioning agency still ends with the unit head."""
    app = file(api, "applicant", "query_registration",
               {**REGISTRATION, "basis": "statute", "legal_basis": "社會救助法第十八條",
                "commissioning_agency": "TY-LAB"})
    assert application(api, app)["data"]["commissioning_agency"] is None
    decide(api, "sw_unit_head", app, "unit_head_review")
    assert application(api, app)["state"] == "completed"
    assert not [t for t in api.as_("sw_district").get("/api/v1/tasks").get_json() if t["application"] == app]


# ---------------------------------------------------------------- 004 §8(2)1: 勞保局及最高管理機關不定期稽核

AUDIT = {
    "audited_agency": "TY-FX", "audit_date": "2026-12-01", "auditors": "資訊中心 蔡承恩", "accuracy": "ok",
    "legitimacy": "ok", "usage_verified": "improve", "copies_kept_confidential": "improve",
    "findings": "抽查查調紀錄十筆，二筆未附登記表；列印資料未上鎖存放",
}


def test_the_it_centres_unscheduled_audit_tracks_the_agencys_correction_to_closure(api):
    missing = api.as_("it_clerk").post("/api/v1/applications", json={"form": "unscheduled_audit", "data": {
        **AUDIT, "result": "improve"}})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"deficiencies", "improve_by"}
    app = file(api, "it_clerk", "unscheduled_audit", {**AUDIT, "result": "improve", "improve_by": "2026-12-31",
                                                      "deficiencies": "登記表缺漏；列印資料存放"})
    decide(api, "it_chief", app, "unit_head_sign")
    assert application(api, app)["state"] != "completed"
    decide(api, "it_clerk", app, "follow_up", improved_on="2026-12-20", improvements="補登記表；列印資料改存上鎖櫃")
    assert application(api, app)["state"] == "completed"
    assert [s for s, _ in steps(api, app)][-1] == "follow_up"


def test_the_bureaus_unscheduled_audit_without_deficiencies_closes_at_once(api):
    app = file(api, "bli_liaison", "unscheduled_audit", {**AUDIT, "audited_agency": "TY-SW", "result": "ok"})
    decide(api, "bli_chief", app, "unit_head_sign")
    assert application(api, app)["state"] == "completed"


def test_only_the_it_centre_and_the_bureau_audit_unscheduled_and_only_using_agencies(api):
    for username in ("manager", "labor_clerk", "it_director"):
        response = api.as_(username).post("/api/v1/applications", json={"form": "unscheduled_audit",
                                                                         "data": {**AUDIT, "result": "ok"}})
        assert response.status_code == 403, (username, response.get_json())
        assert "unscheduled_audit" not in {f["key"] for f in api.as_(username).get("/api/v1/forms").get_json()}
    response = api.as_("it_clerk").post("/api/v1/applications", json={"form": "unscheduled_audit", "data": {
        **AUDIT, "audited_agency": "TY-LAB", "result": "ok"}})
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"audited_agency"}


# ---------------------------------------------------------------- 004 §2, §4(1)1: 使用機關之核准與開設

def test_an_agency_is_admitted_by_the_labour_bureau_and_opened_by_the_it_centre(api, session):
    fx = session.scalar(select(Agency).where(Agency.code == "TY-FX"))
    fx.admitted_on = None
    session.commit()
    app = file(api, "fx_head", "agency_admission", {
        "request_type": "admit", "legal_bases": "社會救助法第十八條", "purposes": "受社會局委辦辦理社會救助初審"})
    decide(api, "labor_clerk", app, "authority_clerk_review")
    decide(api, "labor_director", app, "authority_director_review")
    decide(api, "it_clerk", app, "central_clerk_open")
    assert application(api, app)["state"] == "completed"
    session.expire_all()
    assert session.scalar(select(Agency).where(Agency.code == "TY-FX")).admitted_on is not None


def test_every_form_a_taoyuan_person_can_file_is_walked_here(api):
    """The forms offered to the demo people: each one has its walk above (a new form needs one)."""
    offered = set()
    for username in ("applicant", "sw_staff", "manager", "sw_head", "fx_head", "fx_querier", "fx_manager",
                     "labor_clerk", "it_clerk", "bli_liaison", "admin"):
        offered |= {f["key"] for f in api.as_(username).get("/api/v1/forms").get_json()}
    assert offered == {"manager_account", "querier_account", "query_items_change", "query_registration",
                       "agency_admission", "unscheduled_audit"}


def later(days: int) -> datetime:
    return FILED + timedelta(days=days)
