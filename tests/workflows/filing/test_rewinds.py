"""Send-back to an earlier step and recall of one's own decision, through the real engine and database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AuditEvent, HumanTask, Notification, TaskState
from tests.conftest import MANAGER_ADD, NOW, REGISTRATION
from workflows.engine import parse_diagram
from workflows.errors import Conflict, Forbidden, Invalid
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.assignment import claim_task
from workflows.filing.rewinds import recall_decision, send_back, send_back_targets
from workflows.filing.tasks import complete_task

TO_DIRECTOR = [("sw_unit_head", {}), ("sw_head", {}), ("labor_clerk", {}), ("labor_chief", {})]


@pytest.fixture
def at(session, person):
    """The open task row of an application that ``username`` holds."""
    def _at(app, username: str) -> HumanTask:
        rows = [r for r in reads.list_inbox(session, person(username)) if r.application_id == app.id]
        assert rows, f"{username} holds nothing of application {app.id}"
        return session.get(HumanTask, rows[0].task_id)
    return _at


@pytest.fixture
def approve(session, person, at):
    def _approve(app, username: str, minutes: int = 0, **data):
        return complete_task(session, task_id=at(app, username).id, actor=person(username), decision="approve",
                             opinion="同意", data=data, now=NOW + timedelta(minutes=minutes))
    return _approve


@pytest.fixture
def at_director(session, person, approve):
    app = submit_application(session, form_key="manager_account", data=MANAGER_ADD, actor=person("sw_staff"),
                             now=NOW)
    for n, (username, data) in enumerate(TO_DIRECTOR, 1):
        app = approve(app, username, n, **data)
    return app


def holders(session, app) -> dict[str, set[str]]:
    session.refresh(app)
    return {t.step: {c.person.username for c in t.candidates} for t in app.tasks if t.state == TaskState.OPEN}


def test_the_director_sends_a_case_back_to_the_clerk_and_it_comes_back_through_the_chain(
        session, person, at, approve, at_director):
    app = at_director
    task = at(app, "labor_director")
    assert [t.step for t in send_back_targets(session, task)] == [
        "unit_head_review", "agency_head_review", "authority_clerk_review", "authority_section_head_review"]
    send_back(session, task_id=task.id, actor=person("labor_director"), to_step="authority_clerk_review",
              reason="請補附法令依據", now=NOW + timedelta(hours=1))
    assert holders(session, app) == {"authority_clerk_review": {"labor_clerk"}}
    entry = app.history[-1]
    assert (entry.decision, entry.step, entry.opinion) == ("send_back", "authority_director_review", "請補附法令依據")
    assert entry.data == {"to_step": "authority_clerk_review", "to_step_name": "勞工局承辦人審核", "round": 1}
    assert app.trail["rewinds"][0] == {"kind": "send_back", "from": "authority_director_review",
                                       "to": "authority_clerk_review", "at": (NOW + timedelta(hours=1)).isoformat()}
    assert app.next_timer_at is not None  # the clerk's reminder timers are armed again
    told = session.scalar(select(Notification).where(Notification.kind == "sent_back"))
    assert told.person_id == person("labor_clerk").id and "請補附法令依據" in told.body
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "task_sent_back"))
    assert event.payload["to_step"] == "authority_clerk_review" and event.subject_id == task.id

    approve(app, "labor_clerk", 70)
    approve(app, "labor_chief", 71)
    assert holders(session, app) == {"authority_director_review": {"labor_director"}}
    approve(app, "labor_director", 72)
    assert holders(session, app) == {"central_clerk_setup": {"it_clerk"}}
    assert "rewinds" in app.trail  # kept across the later steps


def test_only_a_step_already_passed_and_with_a_reason(session, person, at, at_director):
    task = at(at_director, "labor_director")
    with pytest.raises(Invalid) as refused:
        send_back(session, task_id=task.id, actor=person("labor_director"), to_step="central_clerk_setup",
                  reason="", now=NOW)
    assert set(refused.value.errors) == {"to_step", "reason"}
    with pytest.raises(Forbidden):  # not the holder of this step
        send_back(session, task_id=task.id, actor=person("labor_clerk"), to_step="authority_clerk_review",
                  reason="x", now=NOW)


def test_recall_before_the_next_step_acts_returns_the_step_to_its_decider(session, person, at, approve):
    app = submit_application(session, form_key="manager_account", data=MANAGER_ADD, actor=person("sw_staff"),
                             now=NOW)
    approve(app, "sw_unit_head", 1)
    assert holders(session, app) == {"agency_head_review": {"sw_head", "sw_deputy"}}
    recall_decision(session, application_id=app.id, actor=person("sw_unit_head"), reason="漏看附件",
                    now=NOW + timedelta(minutes=2))
    assert set(holders(session, app)) == {"unit_head_review"}
    row = at(app, "sw_unit_head")
    assert row.claimed_by_id == person("sw_unit_head").id
    assert (app.history[-1].decision, app.history[-1].step) == ("recall", "unit_head_review")
    assert session.scalar(select(AuditEvent).where(AuditEvent.event_type == "task_recalled")) is not None
    approve(app, "sw_unit_head", 3)
    assert set(holders(session, app)) == {"agency_head_review"}


def test_recall_is_refused_once_the_next_person_acted_or_by_anyone_else(session, person, at, approve):
    app = submit_application(session, form_key="manager_account", data=MANAGER_ADD, actor=person("sw_staff"),
                             now=NOW)
    approve(app, "sw_unit_head", 1)
    with pytest.raises(Forbidden):
        recall_decision(session, application_id=app.id, actor=person("sw_head"), now=NOW)
    claim_task(session, task_id=at(app, "sw_head").id, actor=person("sw_head"), now=NOW + timedelta(minutes=2))
    with pytest.raises(Conflict):
        recall_decision(session, application_id=app.id, actor=person("sw_unit_head"), now=NOW)
    approve(app, "sw_head", 3)
    with pytest.raises(Conflict):
        recall_decision(session, application_id=app.id, actor=person("sw_unit_head"), now=NOW)


def test_a_decision_that_ended_the_chain_cannot_be_recalled(session, person, approve):
    app = submit_application(session, form_key="query_registration", data=REGISTRATION,
                             actor=person("applicant"), now=NOW)
    approve(app, "sw_unit_head", 1)
    with pytest.raises(Conflict):
        recall_decision(session, application_id=app.id, actor=person("sw_unit_head"), now=NOW)


def test_the_bulk_property_is_read_from_the_step(session):
    from pathlib import Path

    xml = (Path(__file__).resolve().parents[3] / "bpmn" / "kaohsiung" / "query_registration.bpmn").read_bytes()
    tasks = parse_diagram(xml, "query_registration").user_tasks
    assert tasks["unit_head_review"].bulk and not tasks["amend"].bulk
