"""Claim, release and reassign a step, through the API as the people would."""

from datetime import timedelta

from sqlalchemy import func, select

from models import AuditEvent, Delegation, Notification, Role
from tests.conftest import ITEMS_CHANGE, NOW, REGISTRATION, make_person


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


def stand_in_for_it_head(session, person):
    """sw_unit_head signs for the head of 秘書室資訊小組 (授權人員), so may take that unit's steps."""
    session.add(Delegation(principal=person("sw_it_head"), delegate=person("sw_unit_head"), role=Role.UNIT_HEAD,
                           created_at=NOW))
    session.commit()


def test_reassign_hands_the_step_over_with_a_reason_and_tells_the_new_holder(api, session, person):
    app_id = file_items_change(api)
    stand_in_for_it_head(session, person)  # named after the step opened: not yet one of its people
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


def test_an_administrator_may_reassign_and_auditors_read_the_audit_trail(api, session, person):
    file_items_change(api)
    stand_in_for_it_head(session, person)
    [task] = api.as_("sw_it_head").get("/api/v1/tasks").get_json()
    assert api.as_("admin").post(f"/api/v1/tasks/{task['id']}/reassign",
                                 {"to": "sw_unit_head", "reason": "人員異動"}).status_code == 200
    assert api.as_("manager").get("/api/v1/audit-events").status_code == 403
    page = api.as_("sw_auditor").get("/api/v1/audit-events?event_type=task_reassigned").get_json()
    assert page["total"] == 1 and page["items"][0]["actor"] == "admin"
    assert api.as_("admin").get("/api/v1/audit-events?page=99999999999").status_code == 422


# ---------------------------------------------------------------- only to someone who could hold the step

def file_registration(api):
    filed = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration", "data": REGISTRATION})
    assert filed.status_code == 201
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    return filed.get_json()["id"], task["id"]


def test_a_step_cannot_be_handed_to_someone_without_the_lanes_role(api, session):
    """The probe's path: a 環保局 querier got a 社會局 unit-head step, read the ID number and approved it."""
    app_id, task_id = file_registration(api)
    for to in ("ep_querier", "ep_unit_head", "sw_it_head"):  # no role; another agency's head; another unit's head
        refused = api.as_("sw_unit_head").post(f"/api/v1/tasks/{task_id}/reassign", {"to": to, "reason": "代理"})
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"to"}
    assert api.as_("admin").post(f"/api/v1/tasks/{task_id}/reassign",
                                 {"to": "ep_querier", "reason": "代理"}).status_code == 422
    querier = api.as_("ep_querier")
    assert querier.get("/api/v1/tasks").get_json() == []
    assert querier.get(f"/api/v1/tasks/{task_id}").status_code == 403
    assert querier.get(f"/api/v1/applications/{app_id}").status_code == 404
    assert querier.post(f"/api/v1/tasks/{task_id}/complete", {"decision": "approve"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.event_type == "task_reassigned")) == 0


def test_a_step_may_go_to_another_holder_of_the_role_in_scope_or_a_holders_delegate(api, session, person):
    make_person(session, "sw_unit_head2", unit="社會救助科", roles=(Role.UNIT_HEAD,))
    session.add(Delegation(principal=person("sw_unit_head"), delegate=person("sw_staff"), role=Role.UNIT_HEAD,
                           created_at=NOW))
    session.commit()
    _, task_id = file_registration(api)
    moved = api.as_("sw_unit_head").post(f"/api/v1/tasks/{task_id}/reassign", {"to": "sw_unit_head2", "reason": "休假"})
    assert moved.status_code == 200 and moved.get_json()["candidates"] == ["sw_unit_head2"]
    back = api.as_("admin").post(f"/api/v1/tasks/{task_id}/reassign", {"to": "sw_staff", "reason": "代理"})
    assert back.status_code == 200 and back.get_json()["candidates"] == ["sw_staff"]


def test_a_candidate_who_no_longer_holds_the_role_cannot_claim_or_decide(api, session, person):
    _, task_id = file_registration(api)
    [holding] = person("sw_unit_head").roles
    holding.valid_until = NOW.date() - timedelta(days=1)  # moved to another post after the step reached them
    session.commit()
    head = api.as_("sw_unit_head")
    assert head.post(f"/api/v1/tasks/{task_id}/claim").status_code == 403
    assert head.post(f"/api/v1/tasks/{task_id}/complete", {"decision": "approve"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.event_type.in_(("task_claimed", "task_completed")))) == 0


def test_the_applicant_cannot_hand_their_amend_step_to_someone_else(api, session):
    _, task_id = file_registration(api)
    returned = api.as_("sw_unit_head").post(f"/api/v1/tasks/{task_id}/complete",
                                            {"decision": "return", "opinion": "請補正案號"})
    assert returned.status_code == 200
    [amend] = api.as_("applicant").get("/api/v1/tasks").get_json()
    for to in ("sw_staff", "sw_unit_head"):
        refused = api.as_("applicant").post(f"/api/v1/tasks/{amend['id']}/reassign", {"to": to, "reason": "請代為補正"})
        assert refused.status_code == 403
    assert [t["id"] for t in api.as_("applicant").get("/api/v1/tasks").get_json()] == [amend["id"]]
    assert api.as_("sw_staff").get("/api/v1/tasks").get_json() == []
