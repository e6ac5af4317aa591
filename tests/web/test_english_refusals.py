"""Deploy refusals, simulated paths and engine errors in English for a person who chose English: the ``lang`` cookie
(pages, the editor's scripts) or, for the JSON API, Accept-Language. Chinese stays the default."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import QUERIER_ADD
from tests.web.test_step_incidents import FAILS_ON_APPROVE
from tests.workflows.timers.test_incidents import store_unchecked
from web import clock

SHIPPED = (Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung" / "querier_account.bpmn").read_text("utf-8")
APPROVE = '>decision == "approve" and request_type != "remove_departed"</bpmn:conditionExpression>'
# A 不同意 at the unit head goes on to approval.
HARMFUL = SHIPPED.replace(APPROVE, '>decision in ("approve", "reject") and request_type != "remove_departed"'
                                   '</bpmn:conditionExpression>', 1).encode()
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = {"Accept-Language": "en-US,en;q=0.9,zh-TW;q=0.5"}


def deploy(api, headers=None):
    return api.client.post("/api/v1/process-definitions/querier_account/versions?note=x", data=HARMFUL,
                           headers={**api.headers, "Content-Type": "application/xml", **(headers or {})})


def test_the_api_refuses_a_deploy_in_english_when_asked(api):
    admin = api.as_("admin")
    body = deploy(admin, ENGLISH).get_json()
    assert body["detail"] == "The diagram did not pass the checks and cannot be deployed"
    messages = {p["element"]: p["message"] for p in body["problems"]}
    rejected = messages["unit_head_review"]
    assert rejected == ("After a “Reject” at the step “單位主管核准” the application goes on and closes as approved; "
                        "add a decision gateway after this step. Path: [request_type=add] Application filed → "
                        "單位主管核准: Reject → 機關管理者設定帳號: Approve → 權限管理單位主管核章: Approve → "
                        "closed as approved")
    path = next(p for p in body["paths"] if p["steps"] and p["steps"][0]["decision"] == "reject"
                and p["end"] == "approved")
    assert path["steps"][0]["label"] == "單位主管核准: Reject" and path["end_label"] == "closed as approved"
    assert path["text"] == ("[request_type=add] Application filed → 單位主管核准: Reject → "
                            "機關管理者設定帳號: Approve → 權限管理單位主管核章: Approve → closed as approved")


def test_chinese_stays_the_default_for_the_api(api):
    body = deploy(api.as_("admin")).get_json()
    assert body["detail"] == "流程圖未通過檢查，無法部署"
    assert any(p["message"].startswith("步驟「單位主管核准」決定「不同意」後") for p in body["problems"])
    chinese_first = deploy(api.as_("admin"), {"Accept-Language": "zh-TW,en;q=0.8"}).get_json()
    assert chinese_first["detail"] == "流程圖未通過檢查，無法部署"


def test_the_editors_check_speaks_the_pages_language(client):
    client.post("/login", data={"username": "admin", "password": "demo"})
    client.get("/lang/en?next=/")
    body = client.post("/editor/querier_account/check", json={"xml": HARMFUL.decode()}).get_json()
    assert body["ok"] is False
    messages = [p["message"] for p in body["problems"]]
    assert any(m.startswith("After a “Reject” at the step “單位主管核准”") for m in messages)
    assert {p["end_label"] for p in body["paths"]} >= {"closed as approved", "closed as rejected"}
    client.get("/lang/zh_Hant_TW?next=/")
    body = client.post("/editor/querier_account/check", json={"xml": HARMFUL.decode()}).get_json()
    assert any(p["message"].startswith("步驟「單位主管核准」") for p in body["problems"])
    assert {p["end_label"] for p in body["paths"]} >= {"核准結案", "不同意結案"}


def test_an_engine_error_reaches_an_english_reader_in_english(api, session):
    store_unchecked(session, FAILS_ON_APPROVE, now=clock.now())
    session.commit()
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    head = api.as_("sw_unit_head")
    [task] = [t for t in head.get("/api/v1/tasks").get_json() if t["application"] == filed.get_json()["id"]]
    decided = head.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"},
                               headers={**head.headers, **ENGLISH})
    assert decided.status_code == 409
    assert decided.get_json()["detail"].startswith("The chain cannot go on at “單位主管核准”, so your decision has not "
                                                   "taken effect; it was recorded as incident ")
    admin = api.as_("admin")
    [incident] = admin.client.get("/api/v1/incidents", headers={**admin.headers, **ENGLISH}).get_json()
    assert incident["message"] == ("At “決定？”, the expression “decision == \"approve\" and approval_code == "
                                   "\"A\" and request_type != \"remove_departed\"” uses “approval_code”, but no form "
                                   "or step provides it")
    assert CJK.search(admin.get("/api/v1/incidents").get_json()[0]["message"])  # Chinese without the header
