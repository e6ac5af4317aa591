"""Moving a run back to an earlier step from the step's spec: no database, the shipped diagrams."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

from workflows.engine import EngineError, Run, StaleTask, parse_diagram, rewind
from workflows.engine.checks import xml_problems

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung"
START = {"reminder_days": 3, "escalation_days": 5, "request_type": "add"}
TO_DIRECTOR = ["unit_head_review", "agency_head_review", "authority_clerk_review", "authority_section_head_review"]


@pytest.fixture(scope="module")
def diagram():
    return parse_diagram((BPMN_DIR / "manager_account.bpmn").read_bytes(), "manager_account")


def steps(run: Run) -> list[str]:
    return [t.step for t in run.ready_tasks()]


def approve(run: Run, step: str, **data) -> None:
    [task] = run.ready_tasks()
    assert task.step == step
    run.complete(task.guid, {"decision": "approve", **data})


@pytest.fixture
def at_director(diagram) -> Run:
    run = Run.start(diagram, START)
    for step in TO_DIRECTOR:
        approve(run, step)
    assert steps(run) == ["authority_director_review"]
    return run


def test_a_run_goes_back_to_the_clerk_and_on_through_the_chain_after_a_save(diagram, at_director):
    run = at_director
    [live] = run.ready_tasks()
    rewind(run, live.guid, "authority_clerk_review")
    [clerk] = run.ready_tasks()
    assert clerk.step == "authority_clerk_review" and clerk.guid != live.guid
    assert "decision" not in run._wf.get_task_from_id(UUID(clerk.guid)).data  # nothing decided for it yet
    assert run.next_timer_at() is not None  # its reminder and escalation timers are armed again
    run = Run.restore(diagram, run.save())
    for step in ("authority_clerk_review", "authority_section_head_review", "authority_director_review"):
        approve(run, step)
    assert steps(run) == ["central_clerk_setup"]
    assert not run.is_completed


def test_a_run_restored_from_its_saved_live_part_goes_back(diagram, at_director):
    """The saved state keeps no finished step; the live step's entry must still have a parent to grow beside."""
    run = Run.restore(diagram, at_director.save())
    [live] = run.ready_tasks()
    rewind(run, live.guid, "authority_clerk_review")
    assert steps(run) == ["authority_clerk_review"]
    run = Run.restore(diagram, run.save())
    for step in ("authority_clerk_review", "authority_section_head_review", "authority_director_review"):
        approve(run, step)
    assert steps(run) == ["central_clerk_setup"]


def test_a_run_can_go_back_to_the_step_just_decided(at_director):
    run = at_director
    rewind(run, run.ready_tasks()[0].guid, "authority_section_head_review")
    assert steps(run) == ["authority_section_head_review"]


def test_a_stale_task_or_an_unknown_step_is_refused(at_director):
    run = at_director
    [live] = run.ready_tasks()
    with pytest.raises(EngineError):
        rewind(run, live.guid, "gw_authority_clerk_review")  # a gateway, not a human step
    with pytest.raises(EngineError):
        rewind(run, live.guid, "no_such_step")
    rewind(run, live.guid, "unit_head_review")
    with pytest.raises(StaleTask):
        rewind(run, live.guid, "unit_head_review")  # the old task is no longer waiting
    with pytest.raises(StaleTask):
        rewind(run, "not-a-uuid", "unit_head_review")


def test_a_bulk_property_other_than_true_or_false_is_refused():
    xml = (BPMN_DIR / "query_registration.bpmn").read_bytes().replace(
        b'name="bulk" value="true"', b'name="bulk" value="yes"')
    assert ("unit_head_review", "批次決定（bulk）須為 true 或 false") in xml_problems(xml)
