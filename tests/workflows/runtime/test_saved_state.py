"""The engine state an application keeps: only its live part, and states saved by the older serializer upgraded.

``tests/fixtures/manager_account_state_1_5.json`` is a real saved state written by the serializer before this
one (1.5, the whole task tree): a 機關管理者帳號申請表 approved by the unit and agency heads, returned by the
勞工局 clerk, resubmitted and approved again up to the 勞工局 section head's step.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import select

from models import Application, HistoryEntry, TaskState
from tests.conftest import MANAGER_ADD, NOW
from workflows.accounts.effects import active_account
from workflows.engine import SERIALIZER_VERSION, Run
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.runtime.diagrams import latest_version, load_diagram
from workflows.runtime.sync import restore

FIXTURE = json.loads((Path(__file__).parents[2] / "fixtures" / "manager_account_state_1_5.json").read_text("utf-8"))
CHAIN = [  # (decider, step) of manager_account, in order
    ("sw_unit_head", "unit_head_review"), ("sw_head", "agency_head_review"), ("labor_clerk", "authority_clerk_review"),
    ("labor_chief", "authority_section_head_review"), ("labor_director", "authority_director_review"),
    ("it_clerk", "central_clerk_setup"), ("it_chief", "central_section_head_review"),
    ("it_director", "central_director_review"),
]
SETUP = {"central_clerk_setup": {"effective_date": "2026-12-01"}}
FINISHED = 64 | 256  # SpiffWorkflow's COMPLETED | CANCELLED, as the saved JSON holds task states


def open_row(app: Application):
    [row] = [t for t in app.tasks if t.state == TaskState.OPEN]
    return row


def step(session, person, app: Application, username: str, expected: str, n: int) -> Application:
    row = open_row(app)
    assert row.step == expected
    return complete_task(session, task_id=row.id, actor=person(username), decision="approve", opinion="同意",
                         data=SETUP.get(expected, {}), now=NOW + timedelta(hours=3, minutes=n))


def test_the_saved_state_keeps_only_the_live_part_and_stays_the_same_size_along_the_chain(session, person):
    app = submit_application(session, form_key="manager_account", data=dict(MANAGER_ADD), actor=person("sw_staff"),
                             now=NOW)
    sizes, tasks = [], []
    for n, (username, expected) in enumerate(CHAIN[:-1]):
        app = step(session, person, app, username, expected, n)
        state = orjson.loads(app.workflow_state)
        sizes.append(len(app.workflow_state))
        tasks.append(len(state["tasks"]))
        assert state["serializer_version"] == app.serializer_version == SERIALIZER_VERSION
        # No finished step is kept: every saved task is still to run, or one of the two finished tasks above them
        # (the root, and the entry of the live step under it, beside which a send-back grows a fresh branch).
        finished = [t["id"] for t in state["tasks"] if t["state"] & FINISHED]
        assert state["root"] in finished and len(finished) <= 2
    # The whole tree grew by six tasks (~2.6 KB) a step; the live part never grows (fewer steps left to predict).
    assert max(tasks) == tasks[0] <= 20
    assert max(sizes) < min(sizes) * 1.2
    # What the diagram draws as done still comes from the application's trail.
    assert {"unit_head_review", "agency_head_review", "authority_clerk_review", "central_clerk_setup"} \
        <= set(app.trail["done"])
    assert ["unit_head_review", "gw_unit_head_review"] in app.trail["flows"]


def test_a_state_saved_by_the_older_serializer_restores_and_is_saved_in_the_new_form(session):
    diagram = load_diagram(latest_version(session, "manager_account"))
    run = Run.restore(diagram, FIXTURE["workflow_state"])
    [ready] = run.ready_tasks()
    assert (ready.guid, ready.step) == (FIXTURE["open_task_guid"], FIXTURE["open_step"])
    assert run.next_timer_at().isoformat() == FIXTURE["next_timer_at"]

    saved = run.save()
    assert orjson.loads(saved)["serializer_version"] == SERIALIZER_VERSION
    assert len(saved) < len(FIXTURE["workflow_state"]) / 3
    again = Run.restore(diagram, saved)
    assert [(t.guid, t.step, t.lane) for t in again.ready_tasks()] == [(ready.guid, ready.step, ready.lane)]
    assert again.next_timer_at() == run.next_timer_at()


def test_a_running_application_saved_by_the_older_serializer_goes_on_to_completion(session, person):
    """An application waiting with a 1.5 state: the next decision upgrades it, the chain ends as it would have."""
    app = submit_application(session, form_key="manager_account", data=dict(MANAGER_ADD), actor=person("sw_staff"),
                             now=NOW)
    for n, (username, expected) in enumerate(CHAIN[:3]):
        app = step(session, person, app, username, expected, n)
    # Put the application where today's deployments left it: the old state, its trail and its open step.
    row = open_row(app)
    assert row.step == FIXTURE["open_step"]
    row.task_guid = FIXTURE["open_task_guid"]
    app.workflow_state, app.serializer_version, app.trail = FIXTURE["workflow_state"], "1.5", FIXTURE["trail"]
    session.commit()
    assert restore(app).ready_tasks()[0].guid == FIXTURE["open_task_guid"]

    app = step(session, person, app, "labor_chief", "authority_section_head_review", 10)
    assert app.serializer_version == SERIALIZER_VERSION
    assert len(app.workflow_state) < len(FIXTURE["workflow_state"]) / 3
    # The trail keeps what the old state showed (the return and the resubmission) and adds the new step.
    assert set(FIXTURE["trail"]["done"]) | {"authority_section_head_review"} <= set(app.trail["done"])
    assert "amend" in app.trail["done"]

    for n, (username, expected) in enumerate(CHAIN[4:], start=11):
        app = step(session, person, app, username, expected, n)
    assert app.state == "completed"
    assert active_account(session, person("sw_staff").id, "manager") is not None
    steps = session.scalars(select(HistoryEntry.step).where(HistoryEntry.application_id == app.id)
                            .order_by(HistoryEntry.id)).all()
    assert steps[-5:] == [s for _, s in CHAIN[3:]]
