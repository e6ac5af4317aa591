"""An engine failure while filing or deciding is an incident, never a 500: rolled back, recorded, retried after a fix.

The diagrams fail at run time only, in ways the deploy's simulation would have refused: they are stored as a
release before the simulation stored them (``store_unchecked``), with a name no form provides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Application, ApplicationState, AuditEvent, HistoryEntry, HumanTask, Incident, Notification, TaskState
from tests.conftest import QUERIER_ADD
from tests.workflows.timers.test_incidents import store_unchecked
from web import clock
from web.errors import INCIDENT_TYPE
from workflows.editor.deploy import rollback_version
from workflows.editor.migration import migrate_application
from workflows.errors import Conflict

BPMN = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung" / "querier_account.bpmn"
SHIPPED = BPMN.read_text(encoding="utf-8")
# The unit head's step gets a due date from a name no form provides: the filing fails as the step opens.
REVIEW_PROPS = '<spiffworkflow:property name="form" value="review" /><spiffworkflow:property name="due_working_days"'
FAILS_AT_FILING = SHIPPED.replace(REVIEW_PROPS, '<spiffworkflow:property name="form" value="review" />'
                                  '<spiffworkflow:property name="due_date" value="review_deadline" />'
                                  '<spiffworkflow:property name="due_working_days"', 1).encode()
# The unit head's 同意 is routed on a name no step provides: approving fails, a return goes through.
APPROVE = ('<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "approve" and '
           'request_type != "remove_departed"</bpmn:conditionExpression>')
FAILS_ON_APPROVE = SHIPPED.replace(
    APPROVE, APPROVE.replace('decision == "approve"', 'decision == "approve" and approval_code == "A"'), 1).encode()


@pytest.fixture
def broken(session):
    """Store a broken version of the querier chain as its latest; returns a function for the fix (a rollback)."""
    def store(xml: bytes):
        assert xml != SHIPPED.encode()
        version = store_unchecked(session, xml, now=_now())
        session.commit()
        return version
    return store


def _now():
    return clock.now()


def fix(session, person):
    """The administrators' fix: version 1's content made current again."""
    return rollback_version(session, key="querier_account", version=1, actor=person("admin"), now=_now(),
                            note="修正無法執行的版本")


def count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_filing_the_engine_fails_on_is_kept_with_an_incident_and_started_by_the_retry(api, session, person, broken):
    broken(FAILS_AT_FILING)
    before = count(session, Application)
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    assert filed.status_code == 409 and filed.mimetype == "application/problem+json"
    body = filed.get_json()
    assert body["type"] == INCIDENT_TYPE and "已記錄為流程異常" in body["detail"] and "通知系統管理者" in body["detail"]
    assert "review_deadline" not in body["detail"]  # the person is told what happens, not the engine's words

    session.expire_all()
    app = session.get(Application, body["application"])
    assert count(session, Application) == before + 1 and app.state == ApplicationState.RUNNING
    assert app.workflow_state == "" and count(session, HumanTask, HumanTask.application_id == app.id) == 0
    assert [h.decision for h in app.history] == ["submit"] and app.data["national_id"] == "A123456789"
    incident = session.get(Incident, body["incident"])
    assert (incident.kind, incident.step, incident.resolved_at) == ("filing", "unit_head_review", None)
    assert "EngineError" in incident.error_type and "due_date" in incident.message
    told = session.scalars(select(Notification).where(Notification.kind == "incident")).all()
    assert {n.person.username for n in told} == {"admin"} and told[0].application_id == app.id

    admin = api.as_("admin")
    [listed] = admin.get("/api/v1/incidents").get_json()
    assert (listed["id"], listed["kind"], listed["application"]) == (incident.id, "filing", app.id)
    again = admin.post(f"/api/v1/incidents/{incident.id}/retry").get_json()
    assert again["resolved_at"] is None and again["attempts"] == 2  # still the broken version: still failing

    fixed = fix(session, person)
    retried = admin.post(f"/api/v1/incidents/{incident.id}/retry")
    assert retried.status_code == 200 and retried.get_json()["resolved_at"] is not None
    session.expire_all()
    app = session.get(Application, app.id)
    assert app.definition_version_id == fixed.id and app.state == ApplicationState.RUNNING
    [step] = [t for t in app.tasks if t.state == TaskState.OPEN]
    assert step.step == "unit_head_review" and [c.person.username for c in step.candidates] == ["sw_unit_head"]
    assert api.as_("sw_unit_head").get("/api/v1/tasks").get_json()[0]["application"] == app.id
    events = session.scalars(select(AuditEvent.event_type).where(AuditEvent.subject_type == "incident")
                             .order_by(AuditEvent.id)).all()
    assert events == ["incident_opened", "incident_retried", "incident_retried", "incident_resolved"]


def test_the_filing_page_shows_the_kept_application_with_the_message(client, session, broken):
    broken(FAILS_AT_FILING)
    client.post("/login", data={"username": "sw_staff", "password": "demo"})
    form = {k: ("y" if v is True else v) for k, v in QUERIER_ADD.items() if k != "items"}
    response = client.post("/applications/new/querier_account", data={**form, "items": QUERIER_ADD["items"]})
    assert response.status_code == 302, response.text
    app_id = session.scalar(select(func.max(Application.id)))
    assert response.headers["Location"].endswith(f"/applications/{app_id}")
    page = client.get(response.headers["Location"]).text
    assert f"您的申請已收到（案號 {app_id}）" in page and "您不需要重新申請" in page


def test_a_decision_the_engine_fails_on_is_rolled_back_and_applied_again_by_the_retry(api, session, person, broken):
    broken(FAILS_ON_APPROVE)
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    assert filed.status_code == 201
    app_id = filed.get_json()["id"]
    head = api.as_("sw_unit_head")
    [task] = head.get("/api/v1/tasks").get_json()
    history_before = count(session, HistoryEntry, HistoryEntry.application_id == app_id)

    decided = head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "opinion": "符合規定"})
    assert decided.status_code == 409 and decided.get_json()["type"] == INCIDENT_TYPE
    assert "您的決定尚未生效" in decided.get_json()["detail"] and "單位主管核准" in decided.get_json()["detail"]
    session.expire_all()
    row = session.get(HumanTask, task["id"])
    assert row.state == TaskState.OPEN and row.completed_by_id is None  # nothing of the decision was kept
    assert count(session, HistoryEntry, HistoryEntry.application_id == app_id) == history_before
    assert count(session, AuditEvent, AuditEvent.event_type == "task_completed") == 0
    incident = session.get(Incident, decided.get_json()["incident"])
    assert (incident.kind, incident.human_task_id, incident.decided_by.username) == ("decision", row.id,
                                                                                     "sw_unit_head")
    assert incident.decision == {"decision": "approve", "opinion": "符合規定", "data": {}}
    assert "approval_code" in incident.message and incident.step == "gw_unit_head_review"
    [listed] = api.as_("admin").get("/api/v1/incidents").get_json()
    assert (listed["kind"], listed["decision"], listed["decided_by"]) == ("decision", "approve", "sw_unit_head")

    # Bad input on the same step is still the person's 422, not an incident.
    bad = head.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "reject", "opinion": ""})
    assert bad.status_code == 422 and bad.get_json()["type"] == "about:blank"

    fixed = fix(session, person)
    migrate_application(session, application_id=app_id, to_version=fixed.version, actor=person("admin"), now=_now())
    assert api.as_("admin").post(f"/api/v1/incidents/{incident.id}/retry").get_json()["resolved_at"] is not None
    session.expire_all()
    row = session.get(HumanTask, task["id"])
    assert row.state == TaskState.COMPLETED and row.completed_by.username == "sw_unit_head"
    [entry] = [h for h in session.get(Application, app_id).history if h.step == "unit_head_review"]
    assert (entry.decision, entry.opinion, entry.actor.username) == ("approve", "符合規定", "sw_unit_head")
    [now_open] = [t for t in session.get(Application, app_id).tasks if t.state == TaskState.OPEN]
    assert now_open.step == "agency_manager_setup"
    completed = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "task_completed")).one()
    assert completed.actor_id == person("sw_unit_head").id and completed.payload["incident"] == incident.id


def test_the_person_may_decide_otherwise_meanwhile_and_the_incident_closes(app, api, session, client, broken):
    broken(FAILS_ON_APPROVE)
    app_id = api.as_("sw_staff").post("/api/v1/applications",
                                      {"form": "querier_account", "data": QUERIER_ADD}).get_json()["id"]
    client.post("/login", data={"username": "sw_unit_head", "password": "demo"})
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id))
    page = client.post(f"/tasks/{task_id}", data={"decision": "approve", "opinion": "同意"},
                       follow_redirects=True)
    assert page.status_code == 200 and "您的決定尚未生效" in page.text and "通知系統管理者" in page.text
    admin = app.test_client()
    admin.post("/login", data={"username": "admin", "password": "demo"})
    listed = admin.get("/admin/incidents").text
    assert "簽核決定" in listed and "待重試的決定：同意（sw_unit_head）" in listed
    returned = client.post(f"/tasks/{task_id}", data={"decision": "return", "opinion": "請補附件"})
    assert returned.status_code == 302
    session.expire_all()
    incident = session.scalars(select(Incident)).one()
    assert incident.resolved_at is not None and incident.resolved_by.username == "sw_unit_head"
    assert session.get(Application, app_id).state == ApplicationState.RETURNED


def test_a_kept_filing_may_be_withdrawn_and_the_retry_then_only_resolves(api, session, person, broken):
    broken(FAILS_AT_FILING)
    body = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD}).get_json()
    app_id, incident_id = body["application"], body["incident"]
    fixed = fix(session, person)
    with pytest.raises(Conflict, match="流程尚未啟動"):
        migrate_application(session, application_id=app_id, to_version=fixed.version, actor=person("admin"),
                            now=_now())
    withdrawn = api.as_("sw_staff").post(f"/api/v1/applications/{app_id}/withdraw", {"reason": "改日再申請"})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert api.as_("admin").post(f"/api/v1/incidents/{incident_id}/retry").get_json()["resolved_at"] is not None
    session.expire_all()
    app = session.get(Application, app_id)
    assert app.state == ApplicationState.WITHDRAWN and app.workflow_state == "" and app.tasks == []
    retried = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "incident_retried")).one()
    assert retried.payload["outcome"] == "closed"
