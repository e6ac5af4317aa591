"""One 權限管理者 per agency where the agency's own rules say one (003 第七點), walked as the demo people.

社會局's rules (003_3c18a90f306508ef.txt 第七點: 資訊小組應設權限管理者一名) allow one agency manager; the
city's rules (000 第二點第四款, 001) set no number, so 環保局 may have two. A successor's account comes before
the old one stops (001 第六點第四款): an add that names the current manager as the one it succeeds goes through.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AccountKind, AccountStatus, Agency, WebirAccount
from tests.conftest import MANAGER_ADD, NOW, make_person
from workflows.errors import Invalid
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

CLAUSE = "社會局應用勞保局資訊作業管理要點第七點"
CHAIN = [("sw_unit_head", {}), ("sw_head", {}), ("labor_clerk", {}), ("labor_chief", {}), ("labor_director", {}),
         ("it_clerk", {"effective_date": "2026-12-01"}), ("it_chief", {}), ("it_director", {})]
NEW_MANAGER = {**MANAGER_ADD, "succeeds": None}


@pytest.fixture
def file(session, person):
    def _file(username, data):
        return submit_application(session, form_key="manager_account", data=dict(data), actor=person(username), now=NOW)
    return _file


@pytest.fixture
def decide(session, person):
    def _decide(username, app, decision="approve", opinion="同意", **data):
        actor = person(username)
        row = next(r for r in reads.list_inbox(session, actor) if r.application_id == app.id)
        return complete_task(session, task_id=row.task_id, actor=actor, decision=decision, opinion=opinion,
                             data=data, now=NOW + timedelta(minutes=1))
    return _decide


def managers(session, code):
    agency = session.scalar(select(Agency).where(Agency.code == code))
    return sorted(a.person.username for a in session.scalars(select(WebirAccount).where(
        WebirAccount.agency_id == agency.id, WebirAccount.kind == AccountKind.MANAGER,
        WebirAccount.status == AccountStatus.ACTIVE)))


def test_a_second_manager_for_social_affairs_is_refused_with_the_clause(file):
    with pytest.raises(Invalid) as refused:
        file("sw_staff", NEW_MANAGER)
    assert set(refused.value.errors) == {"request_type"}
    assert CLAUSE in refused.value.errors["request_type"] and "王美玲" in refused.value.errors["request_type"]


def test_a_successor_must_name_the_manager_there_now(file):
    with pytest.raises(Invalid) as refused:
        file("sw_staff", {**MANAGER_ADD, "succeeds": "sw_unit_head"})
    assert refused.value.errors == {"succeeds": "「sw_unit_head」不是本機關現任的機關管理者"}


def test_an_agency_whose_rules_set_no_number_may_have_a_second_manager(session, file, decide):
    app = file("ep_querier", {**NEW_MANAGER, "name": "洪俊傑", "egov_account": "ep.querier"})
    for username, data in [("ep_unit_head", {}), ("ep_head", {}), *CHAIN[2:]]:
        app = decide(username, app, **data)
    assert app.state == "completed"
    assert managers(session, "KHH-EP") == ["ep_manager", "ep_querier"]


def test_the_successor_is_set_and_a_third_is_refused_while_both_hold_an_account(session, file, decide):
    app = file("sw_staff", MANAGER_ADD)
    for username, data in CHAIN:
        app = decide(username, app, **data)
    assert app.state == "completed" and managers(session, "KHH-SW") == ["manager", "sw_staff"]
    with pytest.raises(Invalid) as refused:
        file("sw_unit_head", {**MANAGER_ADD, "name": "陳志明", "egov_account": "sw.unit.head"})
    assert CLAUSE in refused.value.errors["request_type"] and "吳佩珊" in refused.value.errors["request_type"]


def test_setting_a_second_successor_is_refused_at_the_setting_step_but_may_be_rejected(session, person, file,
                                                                                        decide):
    make_person(session, "sw_clerk", unit="社會救助科", name="趙子龍")
    session.commit()
    first = file("sw_staff", MANAGER_ADD)
    second = file("sw_clerk", {**MANAGER_ADD, "name": "趙子龍", "egov_account": "sw.clerk"})
    for username, data in CHAIN:
        first = decide(username, first, **data)
    for username, data in CHAIN[:5]:
        second = decide(username, second, **data)
    with pytest.raises(Invalid) as refused:
        decide("it_clerk", second, effective_date="2026-12-01")
    assert CLAUSE in refused.value.errors["decision"]
    second = decide("it_clerk", second, "reject", "社會局已有機關管理者及接任者")
    assert second.state == "rejected" and managers(session, "KHH-SW") == ["manager", "sw_staff"]


def test_the_api_refuses_with_the_clause(api):
    response = api.as_("sw_staff").post("/api/v1/applications", {"form": "manager_account", "data": NEW_MANAGER})
    assert response.status_code == 422
    assert CLAUSE in response.get_json()["errors"]["request_type"]
