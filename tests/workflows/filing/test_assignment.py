"""Claim, release and reassign a step, through the API as the people would."""

from sqlalchemy import select

from models import AuditEvent, Notification
from tests.conftest import ITEMS_CHANGE


def file_items_change(api):
    response = api.as_("manager").post("/api/v1/applications", {"form": "query_items_change", "data": ITEMS_CHANGE})
    assert response.status_code == 201
    return response.get_json()["id"]


def walk_to_authority(api):
    """The 勞工局 clerk's step: shared by every authority clerk."""
    app_id = file_items_change(api)
    for username in ("sw_it_head", "sw_head"):
        [task] = api.as_(username).get("/api/v1/tasks").get_json()
        decided = api.as_(username).post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"})
        assert decided.status_code == 200
    return app_id


def test_a_claimed_step_leaves_the_other_holders_inbox_until_released(api, session, person):
    from models import Person, Role, RoleHolding

    clerk2 = Person(username="labor_clerk2", name="林志偉", agency_id=person("labor_clerk").agency_id,
                    unit_id=person("labor_clerk").unit_id, password_hash=person("labor_clerk").password_hash)
    clerk2.roles = [RoleHolding(role=Role.AUTHORITY_CLERK, agency_id=clerk2.agency_id, unit_id=clerk2.unit_id)]
    session.add(clerk2)
    session.commit()
    walk_to_authority(api)
    first, second = api.as_("labor_clerk"), api.as_("labor_clerk2")
    [task] = first.get("/api/v1/tasks").get_json()
    assert [t["id"] for t in second.get("/api/v1/tasks").get_json()] == [task["id"]]

    assert first.post(f"/api/v1/tasks/{task['id']}/claim").get_json()["claimed_by"] == "labor_clerk"
    assert second.get("/api/v1/tasks").get_json() == []
    assert second.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 409
    assert second.post(f"/api/v1/tasks/{task['id']}/complete",
                       {"decision": "approve", "data": {"approved_items": ["C0201"]}}).status_code == 409
    assert second.post(f"/api/v1/tasks/{task['id']}/release").status_code == 409  # only the claimer

    assert first.post(f"/api/v1/tasks/{task['id']}/release").status_code == 200
    assert [t["id"] for t in second.get("/api/v1/tasks").get_json()] == [task["id"]]
    events = session.scalars(select(AuditEvent.event_type).where(AuditEvent.subject_id == task["id"],
                                                                 AuditEvent.subject_type == "human_task")).all()
    assert events == ["task_claimed", "task_released"]


def test_reassign_hands_the_step_over_with_a_reason_and_tells_the_new_holder(api, session):
    app_id = file_items_change(api)
    head = api.as_("sw_it_head")
    [task] = head.get("/api/v1/tasks").get_json()
    assert head.post(f"/api/v1/tasks/{task['id']}/reassign", {"to": "sw_unit_head"}).status_code == 422
    assert head.post(f"/api/v1/tasks/{task['id']}/reassign",
                     {"to": "manager", "reason": "x"}).get_json()["errors"] == {"to": "不可交由申請人審核自己的申請"}
    assert head.post(f"/api/v1/tasks/{task['id']}/reassign", {"to": "nobody", "reason": "x"}).status_code == 422
    assert api.as_("ep_head").post(f"/api/v1/tasks/{task['id']}/reassign",
                                   {"to": "sw_unit_head", "reason": "休假"}).status_code == 403

    moved = head.post(f"/api/v1/tasks/{task['id']}/reassign", {"to": "sw_unit_head", "reason": "休假代理"})
    assert moved.status_code == 200 and moved.get_json()["candidates"] == ["sw_unit_head"]
    assert head.get("/api/v1/tasks").get_json() == []
    assert [t["id"] for t in api.as_("sw_unit_head").get("/api/v1/tasks").get_json()] == [task["id"]]
    note = session.scalars(select(Notification).where(Notification.kind == "reassigned")).one()
    assert note.person.username == "sw_unit_head" and "休假代理" in note.body
    audit = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "task_reassigned")).one()
    assert audit.payload == {"before": ["sw_it_head"], "after": ["sw_unit_head"], "reason": "休假代理"}
    detail = api.as_("manager").get(f"/api/v1/applications/{app_id}").get_json()
    assert detail["current_tasks"][0]["candidates"] == ["sw_unit_head"]


def test_an_administrator_may_reassign_and_auditors_read_the_audit_trail(api):
    file_items_change(api)
    [task] = api.as_("sw_it_head").get("/api/v1/tasks").get_json()
    assert api.as_("admin").post(f"/api/v1/tasks/{task['id']}/reassign",
                                 {"to": "sw_unit_head", "reason": "人員異動"}).status_code == 200
    assert api.as_("manager").get("/api/v1/audit-events").status_code == 403
    page = api.as_("sw_auditor").get("/api/v1/audit-events?event_type=task_reassigned").get_json()
    assert page["total"] == 1 and page["items"][0]["actor"] == "admin"
    assert api.as_("admin").get("/api/v1/audit-events?page=99999999999").status_code == 422
