"""The engine's own walk of the task tree yields what SpiffWorkflow's TaskIterator yields, in its order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskIterator, TaskState

from workflows.engine import EngineError, Run, parse_diagram
from workflows.engine.tree import EngineWorkflow, walk

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
SHIPPED = sorted(BPMN.glob("*/*.bpmn"))
TIMERS = {"reminder_days": 3, "escalation_days": 5}
FILTERS = [
    {},
    {"state": TaskState.READY},
    {"state": TaskState.READY, "manual": True},
    {"state": TaskState.READY, "manual": False},
    {"state": TaskState.WAITING},
    {"state": TaskState.NOT_FINISHED_MASK},
    {"state": TaskState.COMPLETED},
    {"state": TaskState.COMPLETED | TaskState.READY | TaskState.WAITING},
    {"state": TaskState.PREDICTED_MASK},
]


@pytest.fixture(autouse=True)
def fresh_db():
    """Overrides the database fixture of tests/conftest.py: these tests need no database."""
    yield


def same_walks(workflow) -> int:
    """Compare every filter from the root and from each task; return how many tasks the tree holds."""
    tasks = list(workflow.tasks.values())
    names = sorted({t.task_spec.name for t in tasks})
    filters = FILTERS + [{"spec_name": n} for n in names] + [{"end_at_spec": n} for n in names]
    for top in [workflow.task_tree, *tasks]:
        for kwargs in filters:
            assert [t.id for t in walk(top, **kwargs)] == [t.id for t in TaskIterator(top, **kwargs)], (top, kwargs)
    return len(tasks)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_walks_equal_task_iterator_along_a_chain(path):
    diagram = parse_diagram(path.read_bytes())
    try:
        run = Run.start(diagram, dict(TIMERS))
    except EngineError:
        pytest.skip("needs form data to start")
    assert isinstance(run._wf, EngineWorkflow)
    seen = 0
    for _ in range(4):
        seen += same_walks(run._wf)
        restored = Run.restore(diagram, run.save())
        assert isinstance(restored._wf, EngineWorkflow)
        seen += same_walks(restored._wf)
        try:
            ready = run.ready_tasks()
            if not ready:
                break
            run.complete(ready[0].guid, {"decision": "approve", "opinion": "ok"})
        except EngineError:
            break
    assert seen > 0


def test_a_tree_deeper_than_the_iterators_limit_is_cut_where_it_cuts_it():
    diagram = parse_diagram((BPMN / "kaohsiung" / "manager_account.bpmn").read_bytes())
    workflow = Run.start(diagram, dict(TIMERS))._wf
    leaf = next(t for t in workflow.tasks.values() if not t._children)
    spec = leaf.task_spec
    for _ in range(1010):  # a chain of predicted tasks under one leaf, beyond TaskIterator's max_depth of 1000
        leaf = leaf._add_child(spec, TaskState.FUTURE)
    for kwargs in FILTERS[:2] + [{"state": TaskState.FUTURE}]:
        found = [t.id for t in walk(workflow.task_tree, **kwargs)]
        assert found == [t.id for t in TaskIterator(workflow.task_tree, **kwargs)]
    assert len(list(walk(workflow.task_tree))) < len(workflow.tasks)  # the cut is real


def test_saved_as_a_bpmn_workflow_and_restored_by_the_earlier_code_path():
    diagram = parse_diagram((BPMN / "kaohsiung" / "manager_account.bpmn").read_bytes())
    state = Run.start(diagram, dict(TIMERS)).save()
    assert json.loads(state)["typename"] == "BpmnWorkflow"
    assert Run.restore(diagram, state).save() == state


def test_filters_it_does_not_know_go_to_spiffworkflow():
    diagram = parse_diagram((BPMN / "kaohsiung" / "manager_account.bpmn").read_bytes())
    workflow = Run.start(diagram, dict(TIMERS))._wf
    assert isinstance(workflow.get_tasks_iterator(lane="unit_head"), TaskIterator)
    assert not isinstance(workflow.get_tasks_iterator(state=TaskState.READY), TaskIterator)
    lane = [t.id for t in workflow.get_tasks(state=TaskState.READY, lane="unit_head")]
    assert lane
    assert lane == [t.id for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.lane == "unit_head"]
