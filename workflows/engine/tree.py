"""SpiffWorkflow's BpmnWorkflow with a cheaper walk of its task tree.

Every engine step walks the whole tree several times: for the ready tasks on each round of
``do_engine_steps``, for the waiting tasks after each task completes (``update_waiting_tasks``), for the ready
human tasks, the trail and the predictions. SpiffWorkflow's ``TaskIterator`` keeps a depth counter by climbing
parents through the task map on every leaf and tests each task through a filter object; ``walk`` visits the
same tasks in the same order (depth first, children in order, expanded when the task is taken, so a walk that
is consumed while tasks change sees what the original would) with the depth carried beside each task.

Only the filters the engine and SpiffWorkflow's BPMN code pass are handled here; anything else (a filter
object, a lane, an event, a class, a timestamp) and any workflow with a subprocess goes to SpiffWorkflow's own
iterator.
"""

from __future__ import annotations

from collections.abc import Iterator

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_WALK_FILTERS = frozenset({"state", "manual", "spec_name", "end_at_spec", "skip_subprocesses"})
_MAX_DEPTH = 1000  # TaskIterator's default: a task this deep is returned but not expanded


def walk(top: Task, state: int = TaskState.ANY_MASK, manual: bool | None = None, spec_name: str | None = None,
         end_at_spec: str | None = None, skip_subprocesses: bool = False) -> Iterator[Task]:
    """What ``TaskIterator(top, ...)`` yields for these filters, in its order (a tree without subprocesses)."""
    # Which states are descended into, as TaskIterator decides it from the filter's states.
    if state & TaskState.PREDICTED_MASK:
        min_state = TaskState.MAYBE
    elif state & TaskState.DEFINITE_MASK:
        min_state = TaskState.FUTURE
    else:
        min_state = TaskState.COMPLETED
    tasks = top.workflow.tasks
    get = tasks.get
    stack = [(top, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        children = task._children
        if children and task._state >= min_state and depth < _MAX_DEPTH and task.task_spec.name != end_at_spec:
            depth += 1
            for child in reversed(children):
                push((get(child), depth))
        if (task._state & state and (manual is None or task.task_spec.manual == manual)
                and (spec_name is None or task.task_spec.name == spec_name)):
            yield task


class EngineWorkflow(BpmnWorkflow):
    """A BpmnWorkflow whose tree walks go through ``walk``; saved and restored as a BpmnWorkflow."""

    def get_tasks_iterator(self, first_task=None, **kwargs):
        if self.subprocesses or not kwargs.keys() <= _WALK_FILTERS:
            return super().get_tasks_iterator(first_task, **kwargs)
        return walk(first_task or self.task_tree, **kwargs)

    def update_waiting_tasks(self) -> None:
        # Workflow.update_waiting_tasks walks with TaskIterator, which never enters a subprocess: nor does walk.
        for task in walk(self.task_tree, state=TaskState.WAITING):
            task.task_spec._update(task)

    def is_completed(self) -> bool:
        if not self.completed:
            self.completed = next(walk(self.task_tree, state=TaskState.NOT_FINISHED_MASK), None) is None
        return self.completed
