"""Move a running instance back to an earlier human step: a send-back (退回前關) or a recall (取回).

Built from the target step's SPEC, never from the finished task that once ran it: the saved state may
keep no finished tasks at all (they can be pruned), so SpiffWorkflow's ``reset_from_task_id`` — which
needs the old task — is not used. Instead the live step is cancelled and a fresh task for the target
spec is grown beside it, under the live step's own parent, with the data the instance holds now. From
there the engine runs on as the diagram says, so the chain comes back through every step after the
target.
"""

from __future__ import annotations

from copy import deepcopy
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from .runtime import EngineError, Run, StaleTask

# Keys of the data a decision leaves on the instance: cleared for the step that decides again.
DECISION_KEYS = ("decision", "opinion")


def rewind(run: Run, live_guid: str, target_step: str) -> None:
    """Cancel the live human task ``live_guid`` and make ``target_step`` (a user task id) ready again.

    Raises StaleTask when the live task is no longer waiting, EngineError when the target is not a
    human step of the same process.
    """
    wf = run._wf  # noqa: SLF001 - the engine package owns Run's workflow
    live = _live_task(wf, live_guid)
    specs = live.workflow.spec.task_specs
    target = specs.get(target_step)
    if target is None or not getattr(target, "manual", False) or target_step not in run.diagram.user_tasks:
        raise EngineError(f"流程圖中沒有「{target_step}」這個人工步驟", target_step)
    # A step with boundary timers is entered through its split, which also re-arms the timers.
    entry_spec = specs.get(f"{target_step}.BoundaryEventSplit", target)
    entry = live.parent if isinstance(live.parent.task_spec, BoundaryEventSplit) else live
    parent = entry.parent
    # Grow the new branch before cancelling the old one, so the instance never looks finished in between.
    fresh = parent._add_child(entry_spec, TaskState.FUTURE)  # noqa: SLF001 - SpiffWorkflow's way to add a branch
    fresh.data = deepcopy(live.data)
    fresh.task_spec._predict(fresh, mask=TaskState.PREDICTED_MASK | TaskState.FUTURE)  # noqa: SLF001
    fresh.task_spec._update(fresh)  # noqa: SLF001 - makes it ready, merging in its parent's data
    for key in DECISION_KEYS:  # the step decides afresh: no decision of an earlier step waits on it
        fresh.data.pop(key, None)
    entry.cancel()
    run._advance()  # noqa: SLF001


def _live_task(wf, guid: str):
    try:
        task = wf.get_task_from_id(UUID(guid))
    except (TaskNotFoundException, ValueError):
        raise StaleTask(guid) from None
    if task.state != TaskState.READY or not task.task_spec.manual or task.parent is None:
        raise StaleTask(guid)
    return task
