"""National ID numbers: masked in every API answer, revealed only to a step's people with a recorded reason."""

from sqlalchemy import select

from models import Application, AuditEvent, NationalIdReveal
from tests.conftest import QUERIER_ADD, REGISTRATION, SUBJECT, registration

FIELD = "rows[1].subject_national_id"  # line 1's subject on the city's sheet (000 附表一)
MASKED = "E12****783"


def file_registration(api, username: str = "applicant") -> int:
    data = REGISTRATION if username == "applicant" else registration(  # a basis of the filer's own agency's
        legal_basis="空氣污染防制法第三十二條及第六十七條")  # table (001 附表), on the city's sheet of rows
    filed = api.as_(username).post("/api/v1/applications", {"form": "query_registration", "data": data})
    assert filed.status_code == 201
    return filed.get_json()["id"]


def test_the_api_masks_id_numbers_for_every_viewer_as_the_pages_do(api):
    app_id = file_registration(api)
    for username in ("labor_clerk", "it_clerk", "sw_auditor", "applicant", "admin"):  # city-wide clerks too
        response = api.as_(username).get(f"/api/v1/applications/{app_id}")
        assert response.status_code == 200
        assert response.get_json()["data"]["rows"][0]["subject_national_id"] == MASKED
        assert SUBJECT not in response.get_data(as_text=True)
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    detail = api.as_("sw_unit_head").get(f"/api/v1/tasks/{task['id']}")
    assert detail.get_json()["application"]["data"]["rows"][0]["subject_national_id"] == MASKED
    assert SUBJECT not in detail.get_data(as_text=True)
    listed = api.as_("labor_clerk").get("/api/v1/applications?per_page=200").get_data(as_text=True)
    assert SUBJECT not in listed


def test_an_amendment_that_leaves_the_masked_number_keeps_the_filed_one(api, session):
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    app_id = filed.get_json()["id"]
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    api.as_("sw_unit_head").post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "return", "opinion": "請補正"})
    data = api.as_("sw_staff").get(f"/api/v1/applications/{app_id}").get_json()["data"]
    assert data["national_id"] == "A12****789"
    amended = api.as_("sw_staff").post(f"/api/v1/applications/{app_id}/amend",
                                       {"data": {**data, "phone": "07-3368334"}})
    assert amended.status_code == 200, amended.get_json()
    stored = session.get(Application, app_id).data
    assert (stored["national_id"], stored["phone"]) == ("A123456789", "07-3368334")


def reveal(api, username: str, app_id: int, **body):
    return api.as_(username).post(f"/api/v1/applications/{app_id}/reveal",
                                  {"field": FIELD, **body})


def test_the_unit_head_reveals_the_subjects_number_with_a_reason_and_it_is_recorded(api, session):
    app_id = file_registration(api)
    shown = reveal(api, "sw_unit_head", app_id, reason="核對被查詢人身分")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert shown.get_json() | {"reveal": 1} == {
        "application": app_id, "field": FIELD, "label": "第 1 筆 被查詢人身分證字號", "value": SUBJECT,
        "reveal": 1, "revealed_at": shown.get_json()["revealed_at"]}

    [row] = session.scalars(select(NationalIdReveal)).all()
    assert (row.application_id, row.field, row.subject_name, row.actor.username, row.reason) == (
        app_id, FIELD, "陳小明", "sw_unit_head", "核對被查詢人身分")
    assert row.human_task_id is not None and row.created_at is not None
    [event] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "national_id_revealed")).all()
    assert (event.actor_id, event.subject_type, event.subject_id) == (row.actor_id, "application", app_id)
    assert event.payload == {"field": FIELD, "step": "unit_head_review", "reason": "核對被查詢人身分",
                             "reveal": row.id}
    assert SUBJECT not in str(event.payload)


def test_a_reveal_needs_a_reason_and_an_open_step_of_ones_own(api, session):
    app_id = file_registration(api)
    assert set(reveal(api, "sw_unit_head", app_id, reason="  ").get_json()["errors"]) == {"reason"}
    assert set(reveal(api, "sw_unit_head", app_id, field="name", reason="x").get_json()["errors"]) == {"field"}
    no_line = reveal(api, "sw_unit_head", app_id, field="rows[2].subject_national_id", reason="x")
    assert set(no_line.get_json()["errors"]) == {"field"}  # the sheet has one line
    for username in ("labor_clerk", "it_clerk", "sw_auditor", "sw_head", "applicant", "admin"):  # see it, hold no step
        refused = reveal(api, username, app_id, reason="想看")
        assert refused.status_code == 403 and SUBJECT not in refused.get_data(as_text=True)
    assert reveal(api, "ep_unit_head", app_id, reason="想看").status_code == 404  # may not even see it
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    api.as_("sw_unit_head").post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"})
    assert reveal(api, "sw_unit_head", app_id, reason="核對").status_code == 403  # the step is decided
    assert session.scalars(select(NationalIdReveal)).all() == []


def test_auditors_list_their_agencys_reveals_and_administrators_all(api, session):
    social, environment = file_registration(api), file_registration(api, "ep_querier")
    assert reveal(api, "sw_unit_head", social, reason="核對被查詢人身分").status_code == 200
    assert reveal(api, "ep_unit_head", environment, reason="確認身分").status_code == 200

    def listed(username):
        page = api.as_(username).get("/api/v1/reveals").get_json()
        return [(r["application"], r["actor"], r["field"], r["subject_name"], r["reason"]) for r in page["items"]]

    assert listed("sw_auditor") == [(social, "sw_unit_head", FIELD, "陳小明", "核對被查詢人身分")]
    assert {r[0] for r in listed("admin")} == {r[0] for r in listed("labor_clerk")} == {social, environment}
    for outsider in ("manager", "sw_unit_head", "ep_querier"):
        assert api.as_(outsider).get("/api/v1/reveals").status_code == 403
    events = api.as_("sw_auditor").get("/api/v1/audit-events?event_type=national_id_revealed").get_json()
    assert [e["subject_id"] for e in events["items"]] == [social]


# ---------------------------------------------------------------- the pages

def login(client, username: str):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def test_on_the_task_page_the_unit_head_reveals_the_number_with_a_reason(app, api):
    app_id = file_registration(api)
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    head = login(app.test_client(), "sw_unit_head")
    page = head.get(f"/tasks/{task['id']}").text
    assert MASKED in page and SUBJECT not in page and "顯示完整號碼" in page
    clerk = login(app.test_client(), "labor_clerk")
    assert "顯示完整號碼" not in clerk.get(f"/applications/{app_id}").text  # sees the case, holds no step

    url = f"/applications/{app_id}/reveal"
    form = {"field": FIELD, "next": f"/tasks/{task['id']}"}
    refused = head.post(url, data={**form, "reason": ""}, follow_redirects=True)
    assert "請說明調閱完整身分證字號的理由" in refused.text and SUBJECT not in refused.text
    shown = head.post(url, data={**form, "reason": "核對被查詢人身分"})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert f'<dd id="revealed-value">{SUBJECT}</dd>' in shown.text and f'href="/tasks/{task["id"]}"' in shown.text
    assert clerk.post(url, data={**form, "reason": "想看"}).status_code == 403

    auditor = login(app.test_client(), "sw_auditor")
    listing = auditor.get("/audit/reveals").text
    assert "調閱紀錄" in auditor.get("/").text
    assert "陳志明" in listing and "核對被查詢人身分" in listing and "陳小明" in listing and SUBJECT not in listing
    manager = login(app.test_client(), "manager")
    assert manager.get("/audit/reveals").status_code == 403 and "調閱紀錄" not in manager.get("/").text
