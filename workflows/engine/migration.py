"""Move a running instance onto another version of its diagram.

SpiffWorkflow aligns task specs by BPMN id (``SW.bpmn.util.diff``), re-points the
instance's tasks at the new specs and resets the ready and waiting ones so they are
predicted again from the new diagram. A task whose spec has no counterpart keeps the
old spec and could not be restored later, so such a migration is refused, not attempted.
"""

from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState

from .diagrams import ParsedDiagram
from .runtime import Run, _serializer


class MigrationError(ValueError):
    """The instance cannot move to the target version; the message says why, in plain words."""


def migrate_run(run: Run, target: ParsedDiagram, done: Iterable[str] = ()) -> Run:
    """The same instance on ``target``: past tasks kept, open ones re-predicted from the new diagram.

    ``done`` are the elements the instance has already passed (the application's trail): its saved
    state keeps only the live tasks, so finished steps are checked against the target from there.
    """
    # Run keeps its workflow private to the engine package; migration is part of that package.
    workflow = run._wf
    top, sub_diffs = diff_workflow(_serializer(target).registry, workflow, target.spec, target.subprocess_specs)
    if sub_diffs:
        raise MigrationError("含子流程的案件無法移轉")
    _refuse_lost_history(top.removed, run.diagram, done, target)
    migrate_workflow(top, workflow, target.spec)
    workflow.subprocess_specs = target.subprocess_specs
    _refuse_stale_specs(workflow, target)
    moved = Run(target, workflow)
    # A round trip proves the saved state restores against the new version before anything is committed.
    return Run.restore(target, moved.save())


def _refuse_lost_history(removed_tasks, source: ParsedDiagram, done: Iterable[str], target: ParsedDiagram) -> None:
    gone = {_label(t, source) for t in removed_tasks if t.state & TaskState.FINISHED_MASK}
    gone |= {_label_id(bpmn_id, source) for bpmn_id in done if bpmn_id not in target.spec.task_specs}
    gone = sorted(gone)
    if gone:
        raise MigrationError(f"已走過的步驟在目標版本中已刪除：{'、'.join(gone)}")


def _refuse_stale_specs(workflow, target: ParsedDiagram) -> None:
    stale = sorted({_label(t, None) for t in workflow.get_tasks()
                    if target.spec.task_specs.get(t.task_spec.name) is not t.task_spec})
    if stale:
        raise MigrationError(f"目標版本缺少案件仍需要的元素：{'、'.join(stale)}")


def _label_id(bpmn_id: str, source: ParsedDiagram) -> str:
    info = source.user_tasks.get(bpmn_id)
    spec = source.spec.task_specs.get(bpmn_id)
    name = info.name if info else getattr(spec, "bpmn_name", None)
    return f"{name}（{bpmn_id}）" if name else bpmn_id


def _label(task, diagram: ParsedDiagram | None) -> str:
    spec = task.task_spec
    info = diagram.user_tasks.get(spec.name) if diagram else None
    name = info.name if info else getattr(spec, "bpmn_name", None)
    return f"{name}（{spec.name}）" if name else spec.name
