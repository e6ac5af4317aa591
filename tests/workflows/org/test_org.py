"""Organisation administration: agencies of several kinds, the unit tree, people and their roles, deactivation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from models import (
    AgencyKind,
    Application,
    AuditEvent,
    HistoryEntry,
    HumanTask,
    Role,
    TaskState,
)
from tests.conftest import NOW, QUERIER_ADD
from workflows.errors import Forbidden, Invalid
from workflows.filing.applications import submit_application
from workflows.identity.sessions import find_signed_in
from workflows.org import agencies, people, roles
from workflows.org.reads import list_agencies
from workflows.runtime.candidates import resolve_candidates


def events(session, event_type):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)).all()


def test_an_agency_of_two_kinds_resolves_both_kinds_city_roles(session, person):
    """Taipei's 勞動局 is both central manager and authority: its people are candidates for both kinds' steps."""
    admin = person("admin")
    agencies.create_agency(session, code="KHH-LD", name="高雄市政府勞動局", kinds=["central", "權責管理機關"],
                           city="kaohsiung", actor=admin, now=NOW)
    unit = agencies.create_unit(session, agency_code="KHH-LD", name="勞動檢查科", parent_id=None, actor=admin, now=NOW)
    for username, role in (("ld_clerk", Role.AUTHORITY_CLERK), ("ld_central", Role.CENTRAL_CLERK)):
        people.create_person(session, values={"username": username, "name": username}, agency_code="KHH-LD",
                             unit_id=unit.id, password=None, actor=admin, now=NOW)
        roles.grant_role(session, username, role=role, actor=admin, now=NOW)
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    today = date(2026, 11, 25)
    authority = [p.username for p in resolve_candidates(session, Role.AUTHORITY_CLERK, app, today)]
    central = [p.username for p in resolve_candidates(session, Role.CENTRAL_CLERK, app, today)]
    assert "ld_clerk" in authority and "labor_clerk" in authority
    assert "ld_central" in central and "it_clerk" in central
    [row] = [a for a in list_agencies(session, actor=admin) if a.code == "KHH-LD"]
    assert row.kinds == ("authority", "central") and row.units[0].name == "勞動檢查科"
    assert [e.payload["kinds"] for e in events(session, "agency_created")] == [["authority", "central"]]


def test_a_city_role_needs_an_agency_of_its_kind(session, person):
    with pytest.raises(Invalid) as refused:
        roles.grant_role(session, "sw_staff", role="central_clerk", actor=person("admin"), now=NOW)
    assert "總管理機關" in refused.value.errors["role"]


def test_only_administrators_keep_the_organisation(session, person):
    with pytest.raises(Forbidden):
        agencies.create_unit(session, agency_code="KHH-SW", name="新科", parent_id=None, actor=person("manager"),
                             now=NOW)


def test_units_form_a_tree_without_loops(session, person):
    admin = person("admin")
    top = agencies.create_unit(session, agency_code="KHH-SW", name="社會福利處", parent_id=None, actor=admin, now=NOW)
    child = agencies.create_unit(session, agency_code="KHH-SW", name="兒少福利科", parent_id=top.id, actor=admin,
                                 now=NOW)
    with pytest.raises(Invalid) as refused:
        agencies.move_unit(session, top.id, name=None, parent_id=child.id, actor=admin, now=NOW)
    assert "下層" in refused.value.errors["parent"]
    [sw] = [a for a in list_agencies(session, actor=admin) if a.code == "KHH-SW"]
    assert [(u.path, u.depth) for u in sw.units if u.id in (top.id, child.id)] == [
        ("社會福利處", 0), ("社會福利處/兒少福利科", 1)]


def test_a_staff_number_belongs_to_one_person(session, person):
    admin = person("admin")
    people.update_person(session, "sw_staff", values={"staff_number": "KS-0042"}, actor=admin, now=NOW)
    with pytest.raises(Invalid) as refused:
        people.create_person(session, values={"username": "twin", "name": "雙胞胎", "staff_number": "KS-0042"},
                             agency_code="KHH-SW", unit_id=None, password=None, actor=admin, now=NOW)
    assert "已有人使用" in refused.value.errors["staff_number"]


def test_a_retired_head_hands_open_steps_to_the_new_holder_and_loses_their_sessions(session, person):
    admin = person("admin")
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    old = person("sw_unit_head")
    generation = old.session_generation
    unit_id = old.unit_id
    people.create_person(session, values={"username": "sw_new_head", "name": "何建宏", "title": "科長"},
                         agency_code="KHH-SW", unit_id=unit_id, password=None, actor=admin, now=NOW)
    roles.grant_role(session, "sw_new_head", role="unit_head", actor=admin, now=NOW)

    moved = people.set_status(session, "sw_unit_head", status="退休", on=date(2026, 11, 30), actor=admin, now=NOW)

    assert moved == [task.id]
    session.expire_all()
    task = session.get(HumanTask, task.id)
    assert [c.person.username for c in task.candidates] == ["sw_new_head"]
    old = person("sw_unit_head")
    assert (old.active, old.status.value, old.status_on) == (False, "retired", date(2026, 11, 30))
    assert find_signed_in(session, old.id, generation) is None
    note = session.scalars(select(HistoryEntry).where(HistoryEntry.application_id == app.id,
                                                      HistoryEntry.decision == "reassign")).one()
    assert "陳志明已退休" in note.opinion and "何建宏" in note.opinion
    assert events(session, "person_deactivated")[0].payload["tasks_moved"] == [task.id]
    assert session.get(Application, app.id).is_open


def test_a_delegate_signs_for_a_head_of_the_same_agency(session, person):
    admin = person("admin")
    with pytest.raises(Invalid):
        roles.add_delegate(session, "sw_unit_head", delegate="labor_clerk", role="unit_head", actor=admin, now=NOW)
    delegation = roles.add_delegate(session, "sw_unit_head", delegate="applicant", role="unit_head", actor=admin,
                                    now=NOW)
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    today = date(2026, 11, 25)
    assert [p.username for p in resolve_candidates(session, Role.UNIT_HEAD, app, today)] == [
        "sw_unit_head", "applicant"]
    roles.end_delegate(session, delegation.id, actor=admin, now=NOW)
    assert [p.username for p in resolve_candidates(session, Role.UNIT_HEAD, app, today)] == ["sw_unit_head"]


def test_agency_kinds_can_change(session, person):
    agency = agencies.update_agency(session, "KHH-LAB", kinds=["authority", "central"], actor=person("admin"),
                                    now=NOW)
    assert agency.kinds == {AgencyKind.AUTHORITY, AgencyKind.CENTRAL}
    with pytest.raises(Invalid):
        agencies.update_agency(session, "KHH-LAB", kinds=[], actor=person("admin"), now=NOW)
