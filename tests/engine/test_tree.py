"""The engine's own walk of the task tree yields what SpiffWorkflow's TaskIterator yields, in its order."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
import time_machine
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

from workflows.engine import EngineError, Run, parse_diagram
from workflows.engine.runtime import _TASK_FIELDS, _uuid
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


def test_restored_tasks_carry_what_spiffworkflows_own_constructor_sets():
    diagram = parse_diagram((BPMN / "kaohsiung" / "manager_account.bpmn").read_bytes())
    run = Run.start(diagram, dict(TIMERS))
    ready = run.ready_tasks()[0]
    run.complete(ready.guid, {"decision": "approve", "opinion": "ok", "items": ["a"]})
    restored = Run.restore(diagram, run.save())._wf
    made = Task(restored, restored.spec.start, state=TaskState.FUTURE)
    copies = 0
    for task in restored.tasks.values():
        if task is made:
            continue
        assert set(vars(task)) == set(vars(made)) == set(_TASK_FIELDS)
        assert type(task.id) is UUID and task.id == UUID(str(task.id)) and task.id.is_safe == made.id.is_safe
        assert restored.tasks[task.id] is task
        parent = task.parent
        if parent is not None and "items" in parent.data and "items" in task.data:
            # each task its own copy of a list, as DeepMerge gives
            assert task.data["items"] == parent.data["items"] and task.data["items"] is not parent.data["items"]
            copies += 1
    assert copies


def test_ids_in_other_forms_are_read_as_uuid_reads_them():
    ids: dict = {}
    for text in ["12345678-1234-5678-1234-567812345678", "{12345678-1234-5678-1234-567812345678}",
                 "urn:uuid:12345678-1234-5678-1234-567812345678", "12345678123456781234567812345678"]:
        assert _uuid(text, ids) == UUID(text)
    with pytest.raises(ValueError):
        _uuid("12345678-1234-5678-1234-5678123456zz", ids)


def _walk_chain(diagram, decisions: int) -> list[str]:
    """Saved states along one path: start, then approve the first ready step, restoring before each step."""
    states = []
    run = Run.start(diagram, dict(TIMERS))
    for _ in range(decisions):
        states.append(run.save())
        run = Run.restore(diagram, states[-1])
        ready = run.ready_tasks()
        if not ready:
            break
        run.complete(ready[0].guid, {"decision": "approve", "opinion": "ok"})
        states.append(repr((run.ready_tasks(), run.trail(), run.fired, run.is_completed)))
    states.append(run.save())
    return states


@pytest.mark.parametrize("name", ["kaohsiung/manager_account", "taipei/query_items_change", "kaohsiung/joint_audit",
                                  "taoyuan/onsite_audit"])
def test_the_same_saved_states_as_with_spiffworkflows_own_walks(name, monkeypatch):
    diagram = parse_diagram((BPMN / f"{name}.bpmn").read_bytes())

    def chain(own_walks: bool) -> list[str]:
        counter = iter(range(1, 10_000))
        # the same ids and clock for both (the timers' dates and each task's time of change)
        with monkeypatch.context() as patch, time_machine.travel(datetime(2026, 11, 30, 9, tzinfo=UTC), tick=False):
            patch.setattr("SpiffWorkflow.task.uuid4", lambda: UUID(int=next(counter)))
            if own_walks:
                for method in ("get_tasks_iterator", "update_waiting_tasks", "is_completed"):
                    patch.setattr(EngineWorkflow, method, getattr(BpmnWorkflow, method))
            return _walk_chain(diagram, 10)

    theirs = chain(own_walks=True)
    assert len(theirs) > 6
    assert chain(own_walks=False) == theirs
