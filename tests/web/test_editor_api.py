"""Process definitions over the JSON API and the editor's own endpoints, through real HTTP on the test client."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from models import Application, AuditEvent, DefinitionVersion, DiagramDraft
from tests.conftest import QUERIER_ADD, make_person

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung"
QUERIER = (BPMN_DIR / "querier_account.bpmn").read_bytes()
RENAMED = QUERIER.replace("單位主管核准".encode(), "單位主管審核".encode())
UNKNOWN_LANE = QUERIER.replace(b'name="unit_head">', b'name="boss">')
VERSIONS = "/api/v1/process-definitions/querier_account/versions"


def post_xml(api, url: str, body: bytes, **headers):
    return api.client.post(url, data=body, headers={**api.headers, "Content-Type": "application/xml", **headers})


def login(client, username: str):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


# ---------------------------------------------------------------- JSON API

def test_definitions_are_listed_with_their_versions(api):
    assert api.client.get("/api/v1/process-definitions").status_code == 401
    body = api.as_("applicant").get("/api/v1/process-definitions").get_json()
    querier = next(d for d in body if d["key"] == "querier_account")
    assert querier["name"] == "資料查詢者帳號申請（附表三）"
    [version] = querier["versions"]
    assert (version["version"], version["author"], version["waiting_applications"]) == (1, None, 0)
    assert version["note"] == "現行規定：querier_account.bpmn" and len(version["sha256"]) == 64
    assert version["xml"] == "/api/v1/process-definitions/querier_account/versions/1/xml"


def test_a_version_xml_is_served_as_deployed(api):
    response = api.as_("applicant").get("/api/v1/process-definitions/querier_account/versions/1/xml")
    assert response.status_code == 200 and response.mimetype == "application/octet-stream"
    assert response.data == QUERIER
    missing = api.as_("applicant").get("/api/v1/process-definitions/querier_account/versions/9/xml")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert api.client.get("/api/v1/process-definitions/querier_account/versions/1/xml").status_code == 401


def test_only_administrators_deploy(api):
    assert post_xml(api, VERSIONS + "?note=x", RENAMED).status_code == 401
    response = post_xml(api.as_("manager"), VERSIONS + "?note=x", RENAMED)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


def test_an_administrator_deploys_a_new_version_and_the_same_content_again_is_not_a_new_one(api, session):
    admin = api.as_("admin")
    response = post_xml(admin, VERSIONS + "?note=單位主管步驟改名", RENAMED)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["key"], body["version"], body["created"]) == ("querier_account", 2, True)
    assert (body["note"], body["author"]) == ("單位主管步驟改名", "系統管理者")
    assert response.headers["Location"].endswith("/api/v1/process-definitions/querier_account/versions/2/xml")
    again = post_xml(admin, VERSIONS + "?note=再一次", RENAMED)
    assert (again.status_code, again.get_json()["version"], again.get_json()["created"]) == (200, 2, False)
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.event_type == "definition_deployed", AuditEvent.actor_id.is_not(None))) == 1


def test_a_refused_diagram_is_a_422_naming_each_element(api):
    response = post_xml(api.as_("admin"), VERSIONS + "?note=x", UNKNOWN_LANE)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problems = response.get_json()["problems"]
    assert {"element", "message"} == set(problems[0])
    assert {p["element"] for p in problems} == {"unit_head_review"}
    assert all("boss" in p["message"] for p in problems)


def test_a_missing_note_and_a_wrong_key_are_422(api):
    admin = api.as_("admin")
    response = post_xml(admin, VERSIONS, RENAMED)
    assert response.status_code == 422 and "note" in response.get_json()["errors"]
    wrong = post_xml(admin, "/api/v1/process-definitions/manager_account/versions?note=x", RENAMED)
    assert wrong.status_code == 422
    assert wrong.get_json()["problems"][0]["element"] == "querier_account"


def test_hostile_bodies_get_a_4xx_with_a_reason(api, session, tmp_path):
    admin = api.as_("admin")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = QUERIER.replace(b'<?xml version="1.0" encoding="UTF-8"?>',
                          f'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
                          .encode()).replace(b"<bpmn:documentation>", b"<bpmn:documentation>&x;", 1)
    response = post_xml(admin, VERSIONS + "?note=x", xxe)
    assert response.status_code == 422 and b"TOP-SECRET" not in response.data
    assert "DOCTYPE" in response.get_json()["problems"][0]["message"]

    laughs = b'<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">' + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9)) + b"]><d>&j;</d>"
    assert post_xml(admin, VERSIONS + "?note=x", laughs).status_code == 422

    huge = post_xml(admin, VERSIONS + "?note=x", QUERIER + b" " * (50 * 1024 * 1024))
    assert huge.status_code == 413 and huge.mimetype == "application/problem+json"

    for expression in (b'__import__("os").getpid() &gt; 0', b"().__class__ == 1"):
        body = QUERIER.replace(b'decision == "approve"', expression, 1)
        response = post_xml(admin, VERSIONS + "?note=x", body)
        assert response.status_code == 422
        assert "不被允許" in response.get_json()["problems"][0]["message"]
    for garbage in (b"", b"not xml", b"\xff\xfe<a/>"):
        assert post_xml(admin, VERSIONS + "?note=x", garbage).status_code == 422
    assert session.scalar(select(func.max(DefinitionVersion.version))) == 1


# ---------------------------------------------------------------- editor pages and their JSON endpoints

def test_the_editor_is_for_administrators_only(client):
    assert "/login" in client.get("/editor/").location
    login(client, "manager")
    assert client.get("/editor/").status_code == 403
    assert client.get("/editor/querier_account/edit").status_code == 403
    assert client.post("/editor/querier_account/deploy", json={"xml": "x", "note": "x"}).status_code == 403


def test_the_editor_lists_processes_with_their_history(client):
    login(client, "admin")
    html = client.get("/editor/").get_data(as_text=True)
    assert 'id="process-querier_account"' in html and "第 1 版" in html and "現行規定：querier_account.bpmn" in html
    assert "流程圖管理" in client.get("/").get_data(as_text=True)  # the admin's nav link
    edit = client.get("/editor/querier_account/edit").get_data(as_text=True)
    assert 'data-xml-url="/definitions/querier_account/versions/1.bpmn"' in edit and "modeler.bundle.js" in edit
    assert client.get("/editor/nope/edit").status_code == 404


def test_the_check_endpoint_reports_problems_without_deploying(client):
    login(client, "admin")
    ok = client.post("/editor/querier_account/check", json={"xml": QUERIER.decode()}).get_json()
    assert (ok["ok"], ok["problems"]) == (True, []) and ok["paths"]
    bad = client.post("/editor/querier_account/check", json={"xml": UNKNOWN_LANE.decode()}).get_json()
    assert not bad["ok"] and bad["problems"][0]["element"] == "unit_head_review"
    hostile = client.post("/editor/querier_account/check", json={"xml": '<!DOCTYPE d [<!ENTITY x "y">]><d/>'})
    assert hostile.status_code == 200 and hostile.get_json()["problems"][0]["element"] is None
    assert client.post("/editor/querier_account/check", json={"nothing": 1}).status_code == 422
    huge = client.post("/editor/querier_account/check", data=b'{"xml": "' + b" " * (50 * 1024 * 1024) + b'"}',
                       content_type="application/json")
    assert huge.status_code == 413


def test_drafts_are_saved_reopened_and_discarded(client, session):
    login(client, "admin")
    saved = client.post("/editor/querier_account/drafts",
                        json={"xml": RENAMED.decode(), "note": "改名", "base_version": 1}).get_json()
    assert client.get(f"/editor/drafts/{saved['id']}.bpmn").data == RENAMED
    assert "繼續編輯" in client.get("/editor/").get_data(as_text=True)
    assert f"/editor/drafts/{saved['id']}.bpmn" in client.get(saved["url"]).get_data(as_text=True)
    again = client.post("/editor/querier_account/drafts", json={"xml": QUERIER.decode(), "base_version": 1})
    assert again.get_json()["id"] == saved["id"]  # one draft per process and author
    assert client.post(f"/editor/drafts/{saved['id']}/discard").status_code == 302
    assert session.scalar(select(func.count()).select_from(DiagramDraft)) == 0


def second_admin(session):
    other = make_person(session, "admin_b", agency="KHH-IT", unit="資訊服務科", name="蘇怡如")
    other.is_admin = True
    other.set_password("demo")
    session.commit()
    return other


def test_a_draft_belongs_to_its_author_and_other_administrators_only_view_it(app, session):
    second_admin(session)
    author, other = login(app.test_client(), "admin"), login(app.test_client(), "admin_b")
    draft = author.post("/editor/querier_account/drafts",
                        json={"xml": RENAMED.decode(), "note": "改名", "base_version": 1}).get_json()

    assert other.get(f"/editor/drafts/{draft['id']}.bpmn").data == RENAMED  # viewing is allowed
    page = other.get(draft["url"]).get_data(as_text=True)
    assert "系統管理者 的草稿" in page and 'data-action="deploy"' not in page and 'data-action="save-draft"' not in page
    index = other.get("/editor/").get_data(as_text=True)
    assert f"/editor/drafts/{draft['id']}/discard" not in index
    assert 'data-action="deploy"' in author.get(draft["url"]).get_data(as_text=True)

    assert other.post(f"/editor/drafts/{draft['id']}/discard").status_code in (302, 403)
    saved = other.post("/editor/querier_account/drafts", json={"xml": QUERIER.decode(), "draft": draft["id"]})
    deployed = other.post("/editor/querier_account/deploy",
                          json={"xml": RENAMED.decode(), "note": "改名", "draft": draft["id"]})
    assert saved.status_code == deployed.status_code == 403
    kept = session.scalars(select(DiagramDraft)).all()
    assert [(d.id, d.bpmn_xml) for d in kept] == [(draft["id"], RENAMED)]
    assert session.scalar(select(func.count()).select_from(DefinitionVersion)
                          .where(DefinitionVersion.created_by_id.is_not(None))) == 0

    mine = author.post("/editor/querier_account/deploy", json={"xml": RENAMED.decode(), "note": "改名",
                                                               "draft": draft["id"]})
    assert mine.status_code == 201 and session.scalar(select(func.count()).select_from(DiagramDraft)) == 0


def test_deploy_from_the_editor_then_compare_and_migrate(client, api, session):
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    application_id = filed.get_json()["id"]
    login(client, "admin")
    refused = client.post("/editor/querier_account/deploy", json={"xml": UNKNOWN_LANE.decode(), "note": "x"})
    assert refused.status_code == 422 and refused.get_json()["problems"][0]["element"] == "unit_head_review"
    deployed = client.post("/editor/querier_account/deploy", json={"xml": RENAMED.decode(), "note": "改名"})
    assert deployed.status_code == 201 and deployed.get_json()["version"] == 2
    assert "已部署為第 2 版" in client.get("/editor/").get_data(as_text=True)

    diff = client.get("/editor/querier_account/diff?a=1&b=2").get_data(as_text=True)
    assert 'data-b="/definitions/querier_account/versions/2.bpmn"' in diff
    assert client.get("/editor/querier_account/diff?a=1&b=7").status_code == 404

    page = client.get("/editor/querier_account/migrate?from=1&to=2").get_data(as_text=True)
    assert f'data-application="{application_id}"' in page and "可以" in page
    moved = client.post("/editor/querier_account/migrate", data={"from": 1, "to": 2, "application": application_id})
    assert moved.status_code == 302
    assert session.get(Application, application_id).definition_version.version == 2
    again = client.post("/editor/querier_account/migrate", data={"from": 1, "to": 2, "application": application_id},
                        follow_redirects=True).get_data(as_text=True)
    assert f"案件 {application_id} 已在第 2 版" in again


# ---------------------------------------------------------------- simulation and rollback

def test_a_refused_deploy_lists_each_problem_with_its_path_and_the_path_table(api):
    harmful = QUERIER.replace(b'decision == "approve"', b"test == 1", 1)
    response = post_xml(api.as_("admin"), VERSIONS + "?note=x", harmful)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    body = response.get_json()
    [message] = [p["message"] for p in body["problems"] if p["element"] == "gw_unit_head_review"]
    assert "「test」" in message and "路徑：[request_type=add] 提出申請 → 單位主管核准：同意" in message
    assert "Error" not in message and "NameError" not in message
    assert body["paths"] and all(p["text"].startswith(f"[{p['variant']}] 提出申請") for p in body["paths"])


def test_the_editor_check_returns_the_path_table(client):
    login(client, "admin")
    body = client.post("/editor/querier_account/check", json={"xml": QUERIER.decode()}).get_json()
    assert body["ok"] is True and body["problems"] == []
    ends = {p["end_label"] for p in body["paths"]}
    assert {"核准結案", "不同意結案", "撤回結案"} <= ends
    refused = client.post("/editor/querier_account/check",
                          json={"xml": QUERIER.replace(b'decision == "approve"', b"test == 1", 1).decode()}).get_json()
    assert refused["ok"] is False and refused["paths"]
    assert [p for p in refused["problems"] if p["element"] == "gw_unit_head_review"]


def test_rollback_makes_an_earlier_version_current_and_running_applications_stay(api, session):
    admin = api.as_("admin")
    assert post_xml(admin, VERSIONS + "?note=改名", RENAMED).status_code == 201
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    running = session.get(Application, filed.get_json()["id"])
    assert running.definition_version.version == 2

    again = post_xml(admin, VERSIONS + "?note=x", QUERIER)
    body = again.get_json()
    assert again.status_code == 200 and (body["created"], body["equals_version"], body["latest_version"]) == (
        False, 1, 2)
    assert "回復" in body["hint"] and body["rollback"] == VERSIONS + "/1/rollback"

    assert api.as_("manager").post(VERSIONS + "/1/rollback", {"note": "x"}).status_code == 403
    assert admin.post(VERSIONS + "/1/rollback", {}).status_code == 422
    assert admin.post(VERSIONS + "/2/rollback", {"note": "x"}).status_code == 409
    assert admin.post(VERSIONS + "/9/rollback", {"note": "x"}).status_code == 404
    response = admin.post(VERSIONS + "/1/rollback", {"note": "改名造成誤會"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["version"], body["restores_version"]) == (3, 1) and "改名造成誤會" in body["note"]
    assert admin.get(body["xml"]).data == QUERIER

    event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "definition_rolled_back")).one()
    assert (event.payload["version"], event.payload["restores_version"], event.payload["replaced_version"]) == (3, 1, 2)
    session.expire_all()
    assert session.get(Application, running.id).definition_version.version == 2
    newer = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    assert session.get(Application, newer.get_json()["id"]).definition_version.version == 3
