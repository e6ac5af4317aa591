"""The text version of a diagram: the steps of the real deployed BPMN in order, and one application's state on each.

Applications are filed and decided through the service layer on the demo city's querier_account chain
(unit head → agency manager; a return goes to the applicant's amend step).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import HumanTask, TaskState
from tests.conftest import NOW, QUERIER_ADD
from workflows.errors import NotFound
from workflows.filing.applications import amend_application, submit_application
from workflows.filing.tasks import complete_task
from workflows.runtime.diagrams import latest_version
from workflows.tracking.outline import StepState, application_steps, list_version_steps

CHAIN = ["unit_head_review", "amend", "agency_manager_setup", "manager_unit_head_seal"]


def open_task(session, application_id: int) -> int:
    return session.scalar(select(HumanTask.id).where(HumanTask.application_id == application_id,
                                                     HumanTask.state == TaskState.OPEN))


@pytest.fixture
def filed(session, person) -> int:
    return submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                              now=NOW - timedelta(days=2)).id


def states(steps) -> list[tuple[str, StepState]]:
    return [(s.step, s.state) for s in steps]


def test_a_version_lists_its_steps_in_the_order_of_its_flows(session):
    version = latest_version(session, "querier_account").version
    steps = list_version_steps(session, "querier_account", version)
    assert [s.step for s in steps] == CHAIN
    assert [(s.name, s.role, s.role_label) for s in steps] == [
        ("單位主管核准", "unit_head", "單位主管"), ("申請人補正或撤回", "applicant", "申請人"),
        ("機關管理者設定帳號", "agency_manager", "機關管理者"),
        ("權限管理單位主管核章", "manager_unit_head", "權限管理單位主管")]


def test_a_long_chain_keeps_the_order_people_sign_in(session):
    version = latest_version(session, "manager_account").version
    assert [s.step for s in list_version_steps(session, "manager_account", version)] == [
        "unit_head_review", "amend", "agency_head_review", "authority_clerk_review", "authority_section_head_review",
        "authority_director_review", "central_clerk_setup", "central_section_head_review", "central_director_review"]


def test_an_unknown_version_is_not_found(session):
    with pytest.raises(NotFound):
        list_version_steps(session, "querier_account", 99)


def test_a_new_application_waits_at_the_unit_head_with_the_rest_not_reached(session, person, filed):
    steps = application_steps(session, filed, person("sw_staff"), now=NOW)
    assert states(steps) == [("unit_head_review", StepState.CURRENT), ("amend", StepState.NOT_REACHED),
                             ("agency_manager_setup", StepState.NOT_REACHED),
                             ("manager_unit_head_seal", StepState.NOT_REACHED)]
    assert steps[0].holders == ["陳志明"]
    assert steps[0].since == NOW - timedelta(days=2)
    assert steps[0].decided_by is None and steps[1].holders == []


def test_a_decided_step_is_done_with_who_decided_and_the_next_is_current(session, person, filed):
    complete_task(session, task_id=open_task(session, filed), actor=person("sw_unit_head"), decision="approve",
                  opinion="同意", now=NOW - timedelta(days=1))
    steps = application_steps(session, filed, person("sw_staff"), now=NOW)
    assert states(steps) == [("unit_head_review", StepState.DONE), ("amend", StepState.NOT_REACHED),
                             ("agency_manager_setup", StepState.CURRENT),
                             ("manager_unit_head_seal", StepState.NOT_REACHED)]
    assert (steps[0].decided_by, steps[0].decided_at) == ("陳志明", NOW - timedelta(days=1))
    assert steps[2].holders == ["王美玲"]


def test_a_returned_and_resubmitted_application_is_current_again_where_it_was_returned(session, person, filed):
    complete_task(session, task_id=open_task(session, filed), actor=person("sw_unit_head"), decision="return",
                  opinion="請補附事由", now=NOW - timedelta(days=1))
    assert states(application_steps(session, filed, person("sw_staff"), now=NOW))[:2] == [
        ("unit_head_review", StepState.DONE), ("amend", StepState.CURRENT)]
    amend_application(session, application_id=filed, data=dict(QUERIER_ADD), actor=person("sw_staff"), now=NOW)
    steps = application_steps(session, filed, person("sw_staff"), now=NOW)
    assert states(steps) == [("unit_head_review", StepState.CURRENT), ("amend", StepState.DONE),
                             ("agency_manager_setup", StepState.NOT_REACHED),
                             ("manager_unit_head_seal", StepState.NOT_REACHED)]
    assert steps[0].since == NOW


def test_someone_who_may_not_see_the_application_is_told_it_does_not_exist(session, person, filed):
    with pytest.raises(NotFound):
        application_steps(session, filed, person("applicant"), now=NOW)  # a colleague, not the applicant nor a head
