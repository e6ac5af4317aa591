"""A decided step whose session holds the step and its application reads the decider's standing with the step, in
one statement (``filing.tasks._held_step``): the same answer as ``candidates.standing`` asked on its own, so the same
403 for a candidate who may no longer hold the step and the same principal for a delegate or leave substitute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import Delegation, HistoryEntry, HumanTask, Person, Role, TaskCandidate, TaskState
from models.personal import Substitution
from tests.conftest import MANAGER_ADD, NOW
from tests.statements import shape, statements
from tests.workflows.runtime.test_standing import stand_ins
from workflows.calendar import local_date
from workflows.errors import Forbidden
from workflows.filing.applications import submit_application
from workflows.filing.tasks import _held_step, complete_task
from workflows.runtime.candidates import standing


def filed(session, person):
    app = submit_application(session, form_key="manager_account", data=dict(MANAGER_ADD), actor=person("sw_staff"),
                             now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    return app, task


def test_a_candidate_who_left_the_role_is_refused_by_the_one_read(engine, session, person):
    app, task = filed(session, person)
    head = person("sw_unit_head")
    [holding] = head.roles
    holding.valid_until = NOW.date() - timedelta(days=1)  # moved to another post after the step reached them
    session.commit()
    with statements(engine) as said, pytest.raises(Forbidden):
        complete_task(session, task_id=task.id, actor=head, decision="approve", now=NOW)
    assert [shape(s) for s in said] == ["SELECT incident"]  # the step and the standing, nothing written
    assert session.get(HumanTask, task.id).state == TaskState.OPEN


@pytest.mark.parametrize("stand_in", ["delegate", "leave substitute"])
def test_a_stand_in_decides_for_the_holder_they_stand_in_for(engine, session, person, stand_in):
    head, deputy = person("sw_unit_head"), person("sw_deputy")
    if stand_in == "delegate":
        session.add(Delegation(principal=head, delegate=deputy, role=Role.UNIT_HEAD, created_at=NOW))
    else:
        session.add(Substitution(principal_id=head.id, substitute_id=deputy.id, valid_from=NOW.date(),
                                 valid_until=NOW.date() + timedelta(days=2)))
    session.commit()
    app, task = filed(session, person)
    assert deputy.id in {c.person_id for c in task.candidates}
    with statements(engine) as said:
        complete_task(session, task_id=task.id, actor=deputy, decision="approve", opinion="代為核章", now=NOW)
    assert [shape(s) for s in said][:2] == ["SELECT incident", "SELECT substitution"]  # no read of its own
    entry = session.scalar(select(HistoryEntry).where(HistoryEntry.application_id == app.id)
                           .order_by(HistoryEntry.id.desc()))
    assert (entry.actor_id, entry.on_behalf_of_id) == (deputy.id, head.id)


def test_the_one_read_answers_as_standing_for_every_candidate_along_a_chain(session, person):
    on = local_date(NOW)
    stand_ins(session, person, on)
    session.commit()
    app, task = filed(session, person)
    seen = {"may": 0, "refused": 0, "for someone": 0}
    while task is not None:
        for candidate in session.scalars(select(Person).join(TaskCandidate).where(
                TaskCandidate.human_task_id == task.id).order_by(Person.id)):
            expected = standing(session, task.role, app, candidate, on)
            try:
                got = (True, _held_step(session, task.id, candidate, NOW)[1])
            except Forbidden:
                got = (False, None)
            assert got == expected, (task.role, candidate.username)
            seen["may" if got[0] else "refused"] += 1
            seen["for someone"] += got[1] is not None
        decider = session.scalar(select(Person).join(TaskCandidate).where(TaskCandidate.human_task_id == task.id)
                                 .order_by(Person.id))
        complete_task(session, task_id=task.id, actor=decider, decision="approve", opinion="ok", now=NOW,
                      data={"effective_date": "2026-12-01"} if task.form == "account_setup" else {})
        task = next((t for t in app.tasks if t.state == TaskState.OPEN), None)
    assert seen["may"] >= 8 and seen["for someone"] >= 1  # every step of the chain, a stand-in among them
