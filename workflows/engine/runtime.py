"""Run one workflow instance: start, restore, complete, save.

Instances are saved without their spec: the spec lives once per diagram
version and is re-attached on restore, so a running instance always finishes
on the version it started with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from ..errors import Conflict, WorkflowError
from .diagrams import ParsedDiagram
from .errors import engine_message
from .expressions import SCRIPT_ENGINE, ExpressionError

SERIALIZER_VERSION = "1.5"
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
    """Leave the spec out of saved state; the caller supplies it on restore."""

    diagram: ParsedDiagram | None = None

    def to_dict(self, workflow):
        dct = super().to_dict(workflow)
        dct.pop("spec")
        dct.pop("subprocess_specs")
        return dct

    def from_dict(self, dct):
        # Mirrors BpmnWorkflowConverter.from_dict, but reuses the already-parsed
        # spec objects instead of rebuilding them from JSON on every restore.
        workflow = self.target_class(self.diagram.spec, self.diagram.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_local = threading.local()


def _serializer(diagram: ParsedDiagram) -> BpmnWorkflowSerializer:
    """One serializer per diagram and thread: the registry is neither shareable nor cheap to build."""
    cache = _local.__dict__.setdefault("serializers", {})
    key = (diagram.process_id, diagram.sha256)
    if key not in cache:
        converter = type("SpecFreeConverter", (_SpecFreeConverter,), {"diagram": diagram})
        config = dict(DEFAULT_CONFIG)
        config[BpmnWorkflow] = converter
        registry = BpmnWorkflowSerializer.configure(config)
        cache[key] = BpmnWorkflowSerializer(registry, version=SERIALIZER_VERSION)
    return cache[key]


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
        self._wf.script_engine = SCRIPT_ENGINE  # never trust the default engine after a restore

    @classmethod
    def start(cls, diagram: ParsedDiagram, data: dict[str, Any]) -> Run:
        run = cls(diagram, BpmnWorkflow(diagram.spec, diagram.subprocess_specs, script_engine=SCRIPT_ENGINE))
        run._wf.get_next_task(state=TaskState.READY).data.update(data)
        run._advance()
        return run

    @classmethod
    def restore(cls, diagram: ParsedDiagram, state: str) -> Run:
        return cls(diagram, _serializer(diagram).deserialize_json(state))

    def save(self) -> str:
        return _serializer(self.diagram).serialize_json(self._wf)

    def ready_tasks(self) -> list[ReadyTask]:
        return [self._ready(t) for t in self._wf.get_tasks(state=TaskState.READY, manual=True)]

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
        try:
            task.run()
        except _RUN_ERRORS as exc:
            raise EngineError.wrap(exc) from exc
        self._advance(before=before)

    def update_data(self, guid: str, data: dict[str, Any]) -> None:
        """Replace form data on a ready task before it is completed (amendment)."""
        self._wf.get_task_from_id(UUID(guid)).data.update(data)

    def cancel(self) -> None:
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
        try:
            if refresh:
                self._wf.refresh_timers()
            self._wf.do_engine_steps()
        except _RUN_ERRORS as exc:
            raise EngineError.wrap(exc) from exc
        self._note_fired(before)

    def _fired_timers(self) -> list:
        return [t for t in self._wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in self.diagram.timers]

    def _note_fired(self, before: list) -> None:
        # Also timers reached and fired within one step: an intermediate timer whose date has already passed.
        seen = {t.id for t in before}
        self.fired += [t.task_spec.bpmn_id for t in self._fired_timers() if t.id not in seen]

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


