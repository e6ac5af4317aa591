"""Kaohsiung's 附表三 as the rule book has it (000 附表三 and its item sheet; 001 §5(2)), through the JSON API and the
pages, by the demo people: the agency manager decides each requested item (審核結果, 備註 (2)), the head of the
manager's unit seals the setting (設定結果: 單位主管核章), the computer's IP is asked, and an agency manager deletes the
account of a querier of the agency who left (000 第四點末段)."""

from __future__ import annotations

import re
from pathlib import Path

from models import AccountKind, AccountStatus, WebirAccount
from tests.conftest import QUERIER_ADD, granted
from workflows.accounts.records import active_account

ROOT = Path(__file__).resolve().parents[2]
THREE = {**QUERIER_ADD, "items": ["C0101", "B0101", "B0301"]}  # 社會局 holds all three
REFUSAL = "失業給付資格非本科業務所需"
VERSIONS = "/api/v1/process-definitions/querier_account/versions"


def file(api, username: str, data: dict):
    return api.as_(username).post("/api/v1/applications", {"form": "querier_account", "data": data})


def task_of(api, username: str, app_id: int) -> dict | None:
    person = api.as_(username)
    rows = [t for t in person.get("/api/v1/tasks").get_json() if t["application"] == app_id]
    return person.get(f"/api/v1/tasks/{rows[0]['id']}").get_json() if rows else None


def decide(api, username: str, app_id: int, decision: str = "approve", opinion: str = "", **data):
    task = task_of(api, username, app_id)
    assert task, f"{username} has no step of application {app_id}"
    return api.as_(username).post(f"/api/v1/tasks/{task['id']}/complete",
                                  {"decision": decision, "opinion": opinion, "data": data})


def test_the_manager_grants_two_items_refuses_one_and_the_managers_unit_head_seals(api, session, person, client):
    filed = file(api, "sw_staff", THREE)
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    assert decide(api, "sw_unit_head", app_id).status_code == 200

    setting = task_of(api, "manager", app_id)
    assert setting["step"] == "agency_manager_setup"
    asked = [f["name"] for f in setting["fields"]]
    assert asked == ["item_C0101", "item_C0101_reason", "item_B0101", "item_B0101_reason", "item_B0301",
                     "item_B0301_reason", "effective_date"]
    missing = decide(api, "manager", app_id, effective_date="2026-12-01", item_C0101="grant", item_B0101="grant",
                     item_B0301="refuse")
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"item_B0301_reason"}
    done = decide(api, "manager", app_id, opinion="准予兩項", effective_date="2026-12-01", item_C0101="grant",
                  item_B0101="grant", item_B0301="refuse", item_B0301_reason=REFUSAL)
    assert done.status_code == 200 and done.get_json()["state"] == "running"
    # Not set yet: the seal of the manager's unit head (秘書室資訊小組's 張國華), not the applicant's (陳志明).
    assert active_account(session, person("sw_staff").id, AccountKind.QUERIER) is None
    assert task_of(api, "sw_unit_head", app_id) is None
    seal = task_of(api, "sw_it_head", app_id)
    assert (seal["step"], seal["decisions"]) == ("manager_unit_head_seal", ["approve", "reject"])
    assert decide(api, "sw_it_head", app_id, opinion="核章").get_json()["state"] == "completed"

    session.expire_all()
    account = active_account(session, person("sw_staff").id, AccountKind.QUERIER)
    assert sorted(account.item_codes) == ["B0101", "C0101"]  # exactly the two granted
    assert str(account.effective_on) == "2026-12-01" and account.client_ip == "10.20.30.40"
    history = api.as_("sw_staff").get(f"/api/v1/applications/{app_id}").get_json()["history"]
    assert [(h["step"], h["actor"]) for h in history] == [
        ("start", "sw_staff"), ("unit_head_review", "sw_unit_head"), ("agency_manager_setup", "manager"),
        ("manager_unit_head_seal", "sw_it_head")]
    assert history[2]["data"]["granted_items"] == ["C0101", "B0101"]
    assert history[2]["data"]["refused_items"] == f"B0301 失業給付資格：{REFUSAL}"

    # The application page shows the results item by item, then who sealed and when, in the form's order.
    client.post("/login", data={"username": "sw_staff", "password": "demo"})
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", client.get(f"/applications/{app_id}").text))
    page = page[page.index("簽核紀錄 步驟"):]  # the sign-off table
    granted_at = page.index("准予之項目：C0101 被保險人投保資料、B0101 給付簡要資料")
    refused_at = page.index(f"不同意之項目及原因：B0301 失業給付資格：{REFUSAL}")
    sealed_at = page.index("權限管理單位主管核章")
    assert page.index("機關管理者設定帳號") < granted_at < refused_at < sealed_at
    assert "張國華" in page[sealed_at:]


def test_refusing_every_item_is_a_不同意_with_the_reasons(api, session, person):
    app_id = file(api, "sw_staff", QUERIER_ADD).get_json()["id"]
    decide(api, "sw_unit_head", app_id)
    refused = {"item_C0101": "refuse", "item_C0101_reason": "已有同仁查調", "item_B0101": "refuse",
               "item_B0101_reason": "非本科業務"}
    as_approval = decide(api, "manager", app_id, effective_date="2026-12-01", **refused)
    assert as_approval.status_code == 422
    assert as_approval.get_json()["errors"] == {"item_C0101": "未准予任何項目時，請選擇「不同意」並填寫原因"}
    rejected = decide(api, "manager", app_id, "reject", "所申請項目均不同意", **refused)
    assert rejected.get_json()["state"] == "rejected"
    shown = api.as_("sw_staff").get(f"/api/v1/applications/{app_id}").get_json()
    assert shown["history"][-1]["data"]["refused_items"] == ("C0101 被保險人投保資料：已有同仁查調；"
                                                             "B0101 給付簡要資料：非本科業務")
    assert not shown["history"][-1]["data"].get("granted_items")
    assert task_of(api, "sw_it_head", app_id) is None  # nothing to seal
    assert active_account(session, person("sw_staff").id, AccountKind.QUERIER) is None


def test_the_computers_ip_is_asked_when_items_are_added_or_changed(api):
    without = {k: v for k, v in QUERIER_ADD.items() if k != "client_ip"}
    assert set(file(api, "sw_staff", without).get_json()["errors"]) == {"client_ip"}
    for bad in ("10.20.30", "10.20.30.400", "localhost"):
        assert set(file(api, "sw_staff", {**QUERIER_ADD, "client_ip": bad}).get_json()["errors"]) == {"client_ip"}
    change = {**without, "request_type": "change_items", "name": "林怡君", "egov_account": "applicant.egov"}
    assert set(file(api, "applicant", change).get_json()["errors"]) == {"client_ip"}
    deletion = {**without, "request_type": "delete", "name": "林怡君", "egov_account": "applicant.egov", "items": []}
    assert file(api, "applicant", deletion).status_code == 201  # a deletion names no computer


DEPARTED = {**{k: v for k, v in QUERIER_ADD.items() if k not in ("client_ip", "items")},
            "request_type": "remove_departed", "departed_querier": "applicant", "name": "林怡君",
            "egov_account": "applicant.egov", "reason": "林怡君已調離社會救助科"}


def test_a_manager_deletes_the_account_of_a_querier_who_left_and_another_agencys_manager_may_not(api, session,
                                                                                                 person):
    account_id = active_account(session, person("applicant").id, AccountKind.QUERIER).id
    # 環保局's manager, and 社會局's own staff who is no manager, are refused with the clause.
    other = file(api, "ep_manager", DEPARTED)
    assert other.status_code == 422
    assert "000 第四點末段；001 第六點第五款" in other.get_json()["errors"]["departed_querier"]
    staff = file(api, "sw_staff", DEPARTED)
    assert staff.status_code == 422 and "僅機關管理者" in staff.get_json()["errors"]["request_type"]
    assert set(file(api, "manager", {**DEPARTED, "departed_querier": "nobody"}).get_json()["errors"]) == {
        "departed_querier"}
    assert set(file(api, "manager", {**DEPARTED, "departed_querier": None}).get_json()["errors"]) == {
        "departed_querier"}

    filed = file(api, "manager", DEPARTED)
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    # The manager's own unit head approves, then seals; the manager never decides their own filing.
    assert task_of(api, "manager", app_id) is None
    assert decide(api, "sw_it_head", app_id).get_json()["state"] == "running"
    assert task_of(api, "manager", app_id) is None
    assert decide(api, "sw_it_head", app_id).get_json()["state"] == "completed"

    session.expire_all()
    account = session.get(WebirAccount, account_id)
    assert account.status == AccountStatus.DISABLED and account.last_application_id == app_id
    assert active_account(session, person("manager").id, AccountKind.MANAGER) is not None  # not the filer's own
    steps = [h["step"] for h in api.as_("manager").get(f"/api/v1/applications/{app_id}").get_json()["history"]]
    assert steps == ["start", "unit_head_review", "manager_unit_head_seal"]


def test_an_application_on_the_diagram_before_the_seal_finishes_there(api):
    admin = api.as_("admin")

    def deploy(xml: bytes, note: str) -> int:
        response = admin.client.post(f"{VERSIONS}?note={note}", data=xml,
                                     headers={**admin.headers, "Content-Type": "application/xml"})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["version"]

    before = (ROOT / "tests" / "fixtures" / "bpmn" / "querier_account-before-seal.bpmn").read_bytes()
    old_version = deploy(before, "before")
    old = file(api, "ep_querier", {**QUERIER_ADD, "request_type": "change_items", "name": "洪俊傑",
                                   "egov_account": "ep_querier.egov", "items": ["C0101", "C0401"]}).get_json()
    current = (ROOT / "bpmn" / "kaohsiung" / "querier_account.bpmn").read_bytes()
    new_version = deploy(current.replace("申請人 → 單位主管".encode(), "申請人 → 單位主管（新版）".encode()), "after")
    new = file(api, "yb_querier", {**QUERIER_ADD, "request_type": "change_items", "name": "潘冠宇",
                                   "egov_account": "yb_querier.egov", "items": ["C0101"]}).get_json()
    assert [api.as_("admin").get(f"/api/v1/applications/{a['id']}").get_json()["definition"]["version"]
            for a in (old, new)] == [old_version, new_version]

    decide(api, "ep_unit_head", old["id"])
    finished = decide(api, "ep_manager", old["id"], **granted(["C0101", "C0401"]))
    assert finished.get_json()["state"] == "completed"  # its version has no seal
    decide(api, "yb_unit_head", new["id"])
    assert decide(api, "yb_manager", new["id"], **granted(["C0101"])).get_json()["state"] == "running"
    assert decide(api, "yb_unit_head", new["id"]).get_json()["state"] == "completed"  # sealed
