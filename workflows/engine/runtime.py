"""Run one workflow instance: start, restore, complete, save.

Instances are saved without their spec: the spec lives once per diagram
version and is re-attached on restore, so a running instance always finishes
on the version it started with.

Only the live part of a running instance is saved (serializer "webir-2"): the tasks that can still run,
their subtrees, and the one path that joins them. Finished steps, the boundary timers they cancelled and
the tasks before them are left out, so a saved state stays the same size however long the chain; what
was done is kept by the application's trail and history, not by the engine. Tasks are written compactly
(no empty fields) with orjson. States saved by the older serializer ("1.5", the whole tree) still restore
and are saved in the new form at their next step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from ..errors import Conflict, WorkflowError
from .diagrams import ParsedDiagram
from .errors import engine_message
from .expressions import SCRIPT_ENGINE, ExpressionError
from .tree import EngineWorkflow

SERIALIZER_VERSION = "webir-2"
_VERSION_KEY = "serializer_version"
_DONE = TaskState.COMPLETED | TaskState.CANCELLED  # a task in any other state may still run (or has failed)
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
# What running a diagram on a person's data may raise: SpiffWorkflow's own errors and those of the
# expressions it evaluates (a date out of range, a name the data lacks). Caught here, so nothing of
# SpiffWorkflow reaches the layers above.
_RUN_ERRORS = (SpiffWorkflowException, ExpressionError, ArithmeticError, LookupError, TypeError, ValueError)
# The same words as the version check's refusal (filing.tasks), so pages show one message for one race.
STALE_MESSAGE = "此案件剛被其他人處理，請重新整理後再試"


class EngineError(WorkflowError):
    """422: the engine could not advance the instance with this data; the message is plain Chinese."""

    def __init__(self, message: str, element: str | None = None):
        super().__init__(message)
        self.element = element

    @classmethod
    def wrap(cls, exc: BaseException) -> EngineError:
        element, message = engine_message(exc)
        return cls(message, element)


class StaleTask(EngineError, Conflict):
    """409: the step is no longer waiting in the saved state: someone else decided it first."""

    def __init__(self, guid: str):
        super().__init__(STALE_MESSAGE)
        self.guid = guid


class _SpecFreeConverter(BpmnWorkflowConverter):
    """Leave the spec out of saved state (the caller supplies it on restore); save only the live tasks, compactly."""

    diagram: ParsedDiagram | None = None

    def __init__(self, target_class, registry, typename=None):
        super().__init__(target_class, registry, typename)
        self.registry.typenames[EngineWorkflow] = self.typename  # saved as a BpmnWorkflow, as before

    def to_dict(self, workflow):
        if workflow.subprocesses:  # no shipped diagram has one; kept whole, in the older form
            dct = super().to_dict(workflow)
            dct.pop("spec")
            dct.pop("subprocess_specs")
            return dct
        kept, root = _live_part(workflow)
        text = {tid: str(tid) for tid in kept}
        last = workflow.last_task
        tasks = workflow.tasks
        return {
            "data": self.registry.clean(workflow.data),
            "correlations": workflow.correlations,
            "last_task": text[last.id] if last is not None and last.id in text else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": [_task_to_dict(t, root, text, tasks) for tid, t in tasks.items() if tid in text],
            "root": str(root.id),
            "subprocesses": {},
            "bpmn_events": self.registry.convert(workflow.bpmn_events),
        }

    def from_dict(self, dct):
        # Mirrors BpmnWorkflowConverter.from_dict, but reuses the already-parsed
        # spec objects instead of rebuilding them from JSON on every restore.
        workflow = EngineWorkflow(self.diagram.spec, self.diagram.subprocess_specs, deserializing=True)
        if isinstance(dct["tasks"], list):
            ids: dict[str, UUID] = {}
            for task in dct["tasks"]:
                _task_from_dict(task, workflow, self.registry, ids)
        else:  # serializer 1.5: the whole tree, one TaskConverter dict per task
            workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _live_part(workflow) -> tuple[set[UUID], Task]:
    """The ids to save and the new root: the deepest finished common ancestor of every live task, the paths
    from it to each live task and each live task's whole subtree. A finished workflow is kept whole."""
    tasks = workflow.tasks
    live = [tid for tid, t in tasks.items() if not t._state & _DONE]
    if not live:
        return set(tasks), workflow.task_tree
    path = []  # root .. first live task
    task = tasks[live[0]]
    while task is not None:
        path.append(task.id)
        task = tasks.get(task._parent)
    path.reverse()
    depth = {tid: n for n, tid in enumerate(path)}
    common = len(path) - 1
    reach: dict[UUID, int] = {}  # each task climbed through: the depth on the path where its climb ends
    for tid in live:
        climbed = []
        found = depth.get(tid)
        while found is None:
            found = reach.get(tid)
            if found is not None:  # an earlier climb went on from here
                break
            climbed.append(tid)
            tid = tasks[tid]._parent
            found = depth.get(tid)
        for tid in climbed:
            reach[tid] = found
        common = min(common, found)
    # A live task may still read its parent (a waiting timer inherits its data when it fires): the root is
    # the nearest finished task at or above the common ancestor, never a live one.
    while common > 0 and not tasks[path[common]]._state & _DONE:
        common -= 1
    # And one finished task more: a send-back or a recall (engine.rewind) grows the fresh branch beside the live
    # step's entry, under the entry's parent, so that parent must be in the tree.
    common = max(common - 1, 0)
    root = path[common]
    kept = set(reach)
    kept.update(path[common:])
    below: set[UUID] = set()  # each live task and its whole subtree; a subtree walked once
    for tid in live:
        if tid in below:
            continue
        stack = [tid]
        while stack:
            tid = stack.pop()
            below.add(tid)
            stack.extend(tasks[tid]._children)
    kept |= below
    return kept, tasks[root]


def _task_to_dict(task, root, text: dict[UUID, str], tasks: dict) -> dict:
    """One kept task; ``text`` holds each kept task's id as text."""
    dct = {"id": text[task.id], "spec": task.task_spec.name, "state": task._state, "at": task.last_state_change}
    children = [text[c] for c in task._children if c in text]
    if children:
        dct["children"] = children
    if task.triggered:
        dct["triggered"] = True
    if task.internal_data:
        dct["internal"] = task.internal_data
    data = task.data
    if task is root:
        dct["data"] = {k: v for k, v in data.items() if not callable(v) and not isinstance(v, ModuleType)}
        return dct
    parent_id = task._parent
    dct["parent"] = text.get(parent_id) or str(parent_id)
    parent = tasks[parent_id].data
    # DeepMerge.get_updated_keys and get_deleted_keys of the parent's data and this task's
    updates = {k: v for k, v in data.items() if k not in parent or v != parent[k]}
    deletions = [k for k in parent if k not in data]
    if updates:
        dct["updates"] = updates
    if deletions:
        dct["deletions"] = deletions
    return dct


def _task_from_dict(dct: dict, workflow, registry, ids: dict[str, UUID]) -> None:
    spec = workflow.spec.task_specs.get(dct["spec"])
    parent = dct.get("parent")
    task = _new_task(workflow, spec, dct["state"], _uuid(dct["id"], ids))  # adds itself to workflow.tasks
    task._parent = _uuid(parent, ids) if parent is not None else None
    task._children = [_uuid(c, ids) for c in dct.get("children", ())]
    task.last_state_change = dct["at"]
    task.triggered = dct.get("triggered", False)
    internal = dct.get("internal")
    task.internal_data = registry.restore(internal) if internal else {}
    if isinstance(spec, CatchingEvent) and task._state & TaskState.WAITING:
        workflow.top_workflow.event_manager.add_task(task)
    if parent is None:
        task.data = registry.restore(dct.get("data", {}))
        return
    # What DeepMerge.merge({}, parent's data) gives, without its per-key bookkeeping: each value of the
    # parent's data, a mutable one copied one level down.
    data = {k: copy(v) if isinstance(v, _MUTABLE) else v for k, v in workflow.tasks[task._parent].data.items()}
    if "updates" in dct:
        data.update(registry.restore(dct["updates"]))
    for key in dct.get("deletions", ()):
        data.pop(key, None)
    task.data = data


_MUTABLE = (dict, list, set)
_TASK_FIELDS = ("id", "workflow", "_parent", "_children", "_state", "triggered", "task_spec", "thread_id", "data",
                "internal_data", "last_state_change")  # what Task.__init__ sets (tests/engine/test_tree.py holds it)


def _new_task(workflow, spec, state: int, task_id: UUID) -> Task:
    """``Task(workflow, spec, state=state, id=task_id)``, without its parent look-up and log line: the caller
    sets the parent, children, time and data at once."""
    if spec is None:  # Task() puts a StartTask in its place
        return Task(workflow, spec, state=state, id=task_id)
    task = Task.__new__(Task)
    task.id = task_id
    workflow.tasks[task_id] = task
    task.workflow = workflow
    task._parent = None
    task._children = []
    task._state = state
    task.triggered = False
    task.task_spec = spec
    task.thread_id = Task.thread_id_pool
    task.data = {}
    task.internal_data = {}
    return task


def _uuid(text: str, ids: dict[str, UUID]) -> UUID:
    """``UUID(text)``, each text parsed once per restore (a task's id recurs as its parent's child and its
    children's parent)."""
    found = ids.get(text)
    if found is None:
        found = ids[text] = UUID(text)
    return found


_local = threading.local()


SERIALIZER_CACHE_SIZE = 64  # per thread, least recently used dropped first (each holds its diagram)


def _serializer(diagram: ParsedDiagram) -> BpmnWorkflowSerializer:
    """One serializer per diagram and thread: the registry is neither shareable nor cheap to build."""
    cache = _local.__dict__.setdefault("serializers", OrderedDict())
    key = (diagram.process_id, diagram.sha256)
    serializer = cache.get(key)
    if serializer is None or serializer.diagram is not diagram:
        converter = type("SpecFreeConverter", (_SpecFreeConverter,), {"diagram": diagram})
        config = dict(DEFAULT_CONFIG)
        config[BpmnWorkflow] = converter
        registry = BpmnWorkflowSerializer.configure(config)
        serializer = cache[key] = _Serializer(registry, version=SERIALIZER_VERSION)
        serializer.diagram = diagram
        while len(cache) > SERIALIZER_CACHE_SIZE:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return serializer


class _Serializer(BpmnWorkflowSerializer):
    """orjson both ways; datetime and timedelta as SpiffWorkflow's registry writes them (typed dicts).

    Unlike the json module, orjson writes a UUID as a plain string; no diagram's data holds one.
    """

    def __init__(self, registry, version):
        super().__init__(registry, version=version)
        registry_ = self.registry

        def default(obj):
            typename = registry_.typenames.get(type(obj))
            if typename is not None:
                return registry_.convert_to_dict[typename](obj)
            if callable(obj) or isinstance(obj, ModuleType):
                return None
            if isinstance(obj, set | frozenset | tuple):
                return list(obj)
            raise TypeError(f"cannot save {type(obj).__name__} in the engine state")

        self._default = default

    def serialize_json(self, workflow, use_gzip=False):
        self.registry._encoder_mode = True
        try:
            dct = self.to_dict(workflow)
        finally:
            self.registry._encoder_mode = False
        dct[_VERSION_KEY] = self.VERSION
        return orjson.dumps(dct, default=self._default, option=_ORJSON).decode()

    def deserialize_json(self, serialization, use_gzip=False):
        dct = orjson.loads(serialization)
        self.migrate(dct)  # SpiffWorkflow's own upgrades of its older formats; none for 1.5 or ours
        return self.from_dict(dct)


@dataclass(frozen=True)
class ReadyTask:
    """A human task waiting for someone."""

    guid: str
    step: str
    name: str
    lane: str | None
    form: str | None
    due_working_days: int | None = None
    due_at: datetime | None = None  # from the step's due_date expression, when it has one
    bulk: bool = False


@dataclass(frozen=True)
class Trail:
    done: list[str]
    flows: list[tuple[str, str]]


class Run:
    """One workflow instance in memory for the length of a use case."""

    def __init__(self, diagram: ParsedDiagram, workflow: BpmnWorkflow):
        self.diagram = diagram
        self._wf = workflow
        self.fired: list[str] = []  # timers (boundary and intermediate) that fired during this use case, in order
        self.fired_ids: list[str] = []  # their task ids, in the same order
        self._wf.script_engine = SCRIPT_ENGINE  # never trust the default engine after a restore
        self._ready_cache: list[ReadyTask] | None = None  # until the engine moves

    @classmethod
    def start(cls, diagram: ParsedDiagram, data: dict[str, Any]) -> Run:
        run = cls(diagram, EngineWorkflow(diagram.spec, diagram.subprocess_specs, script_engine=SCRIPT_ENGINE))
        run._wf.get_next_task(state=TaskState.READY).data.update(data)
        run._advance()
        return run

    @classmethod
    def restore(cls, diagram: ParsedDiagram, state: str) -> Run:
        return cls(diagram, _serializer(diagram).deserialize_json(state))

    def save(self) -> str:
        return _serializer(self.diagram).serialize_json(self._wf)

    def ready_tasks(self) -> list[ReadyTask]:
        if self._ready_cache is None:
            self._ready_cache = [self._ready(t) for t in self._wf.get_tasks(state=TaskState.READY, manual=True)]
        return list(self._ready_cache)

    def complete(self, guid: str, data: dict[str, Any]) -> None:
        """Complete a ready human task with the decision data and run on."""
        try:
            task = self._wf.get_task_from_id(UUID(guid))
        except (TaskNotFoundException, ValueError):
            raise StaleTask(guid) from None
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise StaleTask(guid)
        task.data.update(data)
        # Completing a task re-checks waiting timers, so a due one may fire here too: one count around both.
        before = self._fired_timers()
        self._ready_cache = None
        try:
            task.run()
        except _RUN_ERRORS as exc:
            raise EngineError.wrap(exc) from exc
        self._advance(before=before)

    def update_data(self, guid: str, data: dict[str, Any]) -> None:
        """Replace form data on a ready task before it is completed (amendment)."""
        self._ready_cache = None
        self._wf.get_task_from_id(UUID(guid)).data.update(data)

    def cancel(self) -> None:
        self._ready_cache = None
        self._wf.cancel()

    @property
    def is_completed(self) -> bool:
        return self._wf.is_completed()

    @property
    def data(self) -> dict[str, Any]:
        last = self._wf.last_task
        return dict(self._wf.data or (last.data if last else {}))

    def trail(self) -> Trail:
        """Finished flow nodes and the (source, target) pairs actually travelled, for the diagram."""
        done: list[str] = []
        flows: list[tuple[str, str]] = []
        for task in self._wf.get_tasks(state=TaskState.COMPLETED | TaskState.READY | TaskState.WAITING):
            bpmn_id = getattr(task.task_spec, "bpmn_id", None)
            if bpmn_id is None:
                continue
            if task.state == TaskState.COMPLETED and bpmn_id not in done:
                done.append(bpmn_id)
            parent_id = getattr(task.parent.task_spec, "bpmn_id", None) if task.parent else None
            if parent_id and task.parent.state == TaskState.COMPLETED and (parent_id, bpmn_id) not in flows:
                flows.append((parent_id, bpmn_id))
        return Trail(done, flows)

    def waiting_timers(self) -> list[tuple[str, str, str]]:
        """(task id, timer event id, due as ISO text) of each waiting date or duration timer: what
        ``next_timer_at`` takes the earliest of."""
        found = []
        for task in self._wf.event_manager.tasks.values():
            details = task.task_spec.event_definition.details(task)
            if "Time" in details.event_type and isinstance(details.value, str):
                found.append((str(task.id), getattr(task.task_spec, "bpmn_id", None), details.value))
        return found

    def next_timer_at(self) -> datetime | None:
        due = [e.value for e in self._wf.waiting_events() if "Time" in e.event_type and isinstance(e.value, str)]
        parsed = [datetime.fromisoformat(v) for v in due]
        return min(parsed) if parsed else None

    def tick(self) -> list[str]:
        """Let due timers fire (SpiffWorkflow needs a refresh, then engine steps); return those that fired."""
        before = len(self.fired)
        self._advance(refresh=True)
        return self.fired[before:]

    def _advance(self, refresh: bool = False, before: list | None = None) -> None:
        before = self._fired_timers() if before is None else before
        self._ready_cache = None
        try:
            if refresh:
                self._wf.refresh_timers()
            self._wf.do_engine_steps()
        except _RUN_ERRORS as exc:
            raise EngineError.wrap(exc) from exc
        self._note_fired(before)

    def _fired_timers(self) -> list:
        # A flat pass over the task map: no tree walk, no look-ups of parents and children by id.
        timers = self.diagram.timers
        return [t for wf in (self._wf, *self._wf.subprocesses.values()) for t in wf.tasks.values()
                if t._state == TaskState.COMPLETED and getattr(t.task_spec, "bpmn_id", None) in timers]

    def _note_fired(self, before: list) -> None:
        # Also timers reached and fired within one step: an intermediate timer whose date has already passed.
        seen = {t.id for t in before}
        new = [t for t in self._fired_timers() if t.id not in seen]
        self.fired += [t.task_spec.bpmn_id for t in new]
        self.fired_ids += [str(t.id) for t in new]

    def _ready(self, task) -> ReadyTask:
        spec = task.task_spec
        info = self.diagram.user_tasks.get(spec.bpmn_id)
        return ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, spec.lane,
                         info.form if info else None, info.due_working_days if info else None,
                         self._due_at(task, info.due_date) if info and info.due_date else None,
                         bool(info and info.bulk))

    def _due_at(self, task, expression: str) -> datetime:
        try:
            value = SCRIPT_ENGINE.evaluate(task, expression)
            return datetime.fromisoformat(value)
        except (SpiffWorkflowException, ExpressionError, TypeError, ValueError) as exc:
            name = task.task_spec.bpmn_name or task.task_spec.bpmn_id
            raise EngineError(f"「{name}」的辦理期限（due_date）無法計算", task.task_spec.bpmn_id) from exc


