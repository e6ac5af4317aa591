"""New chains for new forms: a new process key naming a known form deploys; an administrator switches a form's live
chain; new filings start on the chosen process while running applications finish on theirs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from models import Application, AuditEvent, FormChain
from tests.conftest import QUERIER_ADD

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung" / "querier_account.bpmn"
SHIPPED = BPMN.read_text(encoding="utf-8")
PROCESS = '<bpmn:process id="querier_account" name="資料查詢者帳號申請（附表三）" isExecutable="true">'


def new_chain(key: str, form: str, name: str = "資料查詢者帳號申請（試行：單位主管核准即結案）") -> bytes:
    """The querier chain under another process key, naming the form it starts."""
    assert SHIPPED.count(PROCESS) == 1
    xml = SHIPPED.replace(PROCESS, f'<bpmn:process id="{key}" name="{name}" isExecutable="true">'
                                   '<bpmn:extensionElements><spiffworkflow:properties>'
                                   f'<spiffworkflow:property name="form" value="{form}" />'
                                   '</spiffworkflow:properties></bpmn:extensionElements>')
    return xml.replace('processRef="querier_account"', f'processRef="{key}"').encode()


def deploy(api, key: str, xml: bytes, note: str = "試行新流程"):
    return api.client.post(f"/api/v1/process-definitions/{key}/versions?note={note}", data=xml,
                           headers={**api.headers, "Content-Type": "application/xml"})


def file_querier(api) -> int:
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    assert filed.status_code == 201, filed.get_json()
    return filed.get_json()["id"]


def process_of(session, app_id: int) -> str:
    session.expire_all()
    return session.get(Application, app_id).definition_version.definition.key


def test_a_new_process_key_naming_a_known_form_deploys_and_waits_beside_the_live_one(api, session):
    admin = api.as_("admin")
    created = deploy(admin, "querier_account_trial", new_chain("querier_account_trial", "querier_account"))
    assert created.status_code == 201, created.get_json()
    assert (created.get_json()["key"], created.get_json()["version"]) == ("querier_account_trial", 1)
    listed = {d["key"]: d["form"] for d in admin.get("/api/v1/process-definitions").get_json()}
    assert listed["querier_account_trial"] == "querier_account" and listed["querier_account"] == "querier_account"
    [chain] = [c for c in admin.get("/api/v1/form-chains").get_json() if c["form"] == "querier_account"]
    assert (chain["live"], chain["chosen"]) == ("querier_account", False)
    assert [p["key"] for p in chain["processes"]] == ["querier_account", "querier_account_trial"]
    assert process_of(session, file_querier(api)) == "querier_account"  # deploying alone switches nothing


def test_a_new_process_key_naming_an_unknown_form_is_refused_with_the_reason(api, session):
    refused = deploy(api.as_("admin"), "leave_request", new_chain("leave_request", "leave_request"))
    assert refused.status_code == 422
    [problem] = [p for p in refused.get_json()["problems"] if p["element"] == "leave_request"]
    assert "「leave_request」不是已知的表單代碼" in problem["message"] and "querier_account" in problem["message"]
    listed = [d["key"] for d in api.as_("admin").get("/api/v1/process-definitions").get_json()]
    assert "leave_request" not in listed


def test_a_process_keeps_the_form_it_starts(api):
    admin = api.as_("admin")
    assert deploy(admin, "querier_account_trial", new_chain("querier_account_trial", "querier_account")).status_code \
        == 201
    moved = deploy(admin, "querier_account_trial", new_chain("querier_account_trial", "manager_account", name="改表單"))
    assert moved.status_code == 422
    assert "不能改為「manager_account」" in moved.get_json()["problems"][0]["message"]


def test_switching_the_live_chain_moves_new_filings_only(api, session):
    admin = api.as_("admin")
    before = file_querier(api)
    deploy(admin, "querier_account_trial", new_chain("querier_account_trial", "querier_account"))

    switched = admin.post("/api/v1/form-chains/querier_account",
                          {"process": "querier_account_trial", "note": "依新規定試行"})
    assert switched.status_code == 200 and (switched.get_json()["live"], switched.get_json()["chosen"]) == (
        "querier_account_trial", True)
    after = file_querier(api)
    assert process_of(session, after) == "querier_account_trial" and process_of(session, before) == "querier_account"
    event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "form_chain_switched")).one()
    assert (event.payload["from_process"], event.payload["to_process"], event.payload["note"]) == (
        "querier_account", "querier_account_trial", "依新規定試行")

    # The running application still finishes on its own chain: its unit head decides it as before.
    head = api.as_("sw_unit_head")
    [old_task] = [t for t in head.get("/api/v1/tasks").get_json() if t["application"] == before]
    assert head.post(f"/api/v1/tasks/{old_task['id']}/complete", {"decision": "approve"}).status_code == 200
    assert process_of(session, before) == "querier_account"

    back = admin.post("/api/v1/form-chains/querier_account", {"process": "querier_account", "note": "試行結束"})
    assert back.status_code == 200 and back.get_json()["live"] == "querier_account"
    assert process_of(session, file_querier(api)) == "querier_account"


def test_switching_is_refused_with_the_reason(api, session):
    admin = api.as_("admin")
    deploy(admin, "querier_account_trial", new_chain("querier_account_trial", "querier_account"))
    assert admin.post("/api/v1/form-chains/querier_account",
                      {"process": "querier_account", "note": "x"}).status_code == 409  # already live
    wrong = admin.post("/api/v1/form-chains/manager_account", {"process": "querier_account_trial", "note": "x"})
    assert wrong.status_code == 422 and "啟動的是表單「querier_account」" in wrong.get_json()["errors"]["process"]
    blank = admin.post("/api/v1/form-chains/querier_account", {"process": "querier_account_trial", "note": " "})
    assert blank.get_json()["errors"] == {"note": "請填寫切換原因"}
    assert admin.post("/api/v1/form-chains/nope", {"process": "querier_account", "note": "x"}).status_code == 404
    assert api.as_("manager").post("/api/v1/form-chains/querier_account",
                                   {"process": "querier_account_trial", "note": "x"}).status_code == 403
    assert api.as_("manager").get("/api/v1/form-chains").status_code == 403
    assert session.scalars(select(FormChain)).all() == []


def test_the_admin_page_switches_a_chain(client, api, session):
    deploy(api.as_("admin"), "querier_account_trial", new_chain("querier_account_trial", "querier_account"))
    client.post("/login", data={"username": "admin", "password": "demo"})
    page = client.get("/admin/chains").text
    assert 'data-form="querier_account"' in page and '<label for="process-querier_account">' in page
    assert '<option value="querier_account_trial">' in page
    done = client.post("/admin/chains/querier_account", data={"process": "querier_account_trial", "note": "試行"},
                       follow_redirects=True).text
    assert "今後由流程「querier_account_trial」辦理" in done
    assert process_of(session, file_querier(api)) == "querier_account_trial"
    refused = client.post("/admin/chains/querier_account", data={"process": "querier_account_trial", "note": "再一次"},
                          follow_redirects=True).text
    assert "目前已由流程「querier_account_trial」辦理" in refused
