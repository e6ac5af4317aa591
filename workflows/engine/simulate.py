"""Walk a candidate diagram along every path before it goes live.

The real engine runs the diagram in memory: at each human step every decision its step form allows is
taken in turn (with data shaped like that form's fields), every waiting timer is fired, and every branch
of the start data that a gateway reads is tried. States are memoised, so a loop back to an earlier state
(退回補正 → 重新送出) ends that path instead of unrolling it, and the whole walk is bounded.

The caller says what the app provides (start data variants, each step form's decisions and data) and
gets back a table of paths and the problems found, each naming its element and the path that shows it.
Messages are Traditional Chinese; no SpiffWorkflow text leaks out.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import CycleTimerEventDefinition, TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from .diagrams import ParsedDiagram
from .errors import engine_message
from .expressions import SCRIPT_ENGINE, ExpressionError, check_expression
from .runtime import _serializer

Problem = tuple[str | None, str]

MAX_ENGINE_STEPS = 500  # engine tasks in a row without a person or a timer: a loop with no exit
MAX_STATES = 2000  # distinct states explored before the walk gives up

DECISION_WORDS = {"approve": "同意", "reject": "不同意", "return": "退回補正", "resubmit": "補正後重新送出",
                  "withdraw": "撤回"}
END_WORDS = {"approved": "核准結案", "rejected": "不同意結案", "withdrawn": "撤回結案", "loop": "回到先前步驟",
             "stuck": "停住", "error": "執行錯誤", "unfinished": "未走完"}
_OUTCOME = {"reject": "rejected", "withdraw": "withdrawn"}


@dataclass(frozen=True)
class PathStep:
    """One move along a path: a person's decision at a step, or a timer firing."""

    element: str
    name: str
    decision: str | None = None  # None: a timer fired

    def label(self) -> str:
        if self.decision is None:
            return f"{self.name}（計時器）"
        return f"{self.name}：{DECISION_WORDS.get(self.decision, self.decision)}"


@dataclass(frozen=True)
class SimPath:
    steps: tuple[PathStep, ...]
    end: str  # a key of END_WORDS
    end_element: str | None = None
    variant: str = ""  # which start data, when the start form's choices branch the chain

    def as_dict(self) -> dict[str, Any]:
        return {"steps": [{"element": s.element, "name": s.name, "decision": s.decision, "label": s.label()}
                          for s in self.steps],
                "end": self.end, "end_label": END_WORDS[self.end], "end_element": self.end_element,
                "variant": self.variant, "text": self.describe()}

    def describe(self) -> str:
        moves = " → ".join(s.label() for s in self.steps) or "（無人決定）"
        if self.variant:
            return f"[{self.variant}] 提出申請 → {moves} → {END_WORDS[self.end]}"
        return f"提出申請 → {moves} → {END_WORDS[self.end]}"


@dataclass
class Simulation:
    paths: list[SimPath] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    complete: bool = True  # False: the walk hit its bound before every state was seen
    failures: list[Problem] = field(default_factory=list)  # those of ``problems`` where the engine itself failed


@dataclass(frozen=True)
class StepChoices:
    """What a person may do at a step of one step form: each decision with the data it sends."""

    decisions: tuple[tuple[str, dict[str, Any]], ...]


@dataclass
class _Node:
    workflow: Any
    steps: tuple[PathStep, ...]
    variant: str
    rejected: bool = False
    decided: bool = False
    state_id: int = -1


class _StepLimit(Exception):
    pass


def expression_names(diagram: ParsedDiagram) -> set[str]:
    """Every name the diagram's expressions read."""
    names: set[str] = set()
    for _element, expression in diagram.expressions:
        try:
            names |= {n.id for n in ast.walk(check_expression(expression)) if isinstance(n, ast.Name)}
        except ExpressionError:
            continue
    return names


def simulate(diagram: ParsedDiagram, *, start_variants: list[tuple[str, dict[str, Any]]],
             step_choices: dict[str, StepChoices], filing_decides: bool = False) -> Simulation:
    """Every path of ``diagram`` from each start variant; see the module docstring.

    ``filing_decides``: the form is filed by someone who signs for it (an agency head), so a chain that
    ends right after filing, or after an app action timer, still has a person's decision.
    """
    walk = _Walk(diagram, step_choices, filing_decides)
    for variant, data in start_variants:
        walk.start(variant, data)
    walk.run()
    return walk.result()


class _Walk:
    def __init__(self, diagram: ParsedDiagram, step_choices: dict[str, StepChoices], filing_decides: bool):
        self.diagram = diagram
        self.choices = step_choices
        self.filing_decides = filing_decides
        self.sim = Simulation()
        self.queue: deque[_Node] = deque()
        self.seen: dict[tuple, int] = {}
        self.edges: dict[int, set[int]] = {}
        self.ending: set[int] = set()  # states that finished (any outcome)
        self.first_node: dict[int, tuple] = {}  # state: (its first path, variant, open steps)
        self.flagged: set[tuple[str | None, str]] = set()
        self.reads = expression_names(diagram)  # only data the diagram reads tells two states apart

    def start(self, variant: str, data: dict[str, Any]) -> None:
        workflow = BpmnWorkflow(self.diagram.spec, self.diagram.subprocess_specs, script_engine=SCRIPT_ENGINE)
        workflow.get_next_task(state=TaskState.READY).data.update(data)
        self._settle(_Node(workflow, (), variant), parent=None)

    def run(self) -> None:
        while self.queue:
            if len(self.seen) > MAX_STATES:
                self.sim.complete = False
                self._problem(None, "limit", f"流程的路徑太多（超過 {MAX_STATES} 種狀態），無法全部模擬；請簡化流程")
                return
            self._expand(self.queue.popleft())

    def result(self) -> Simulation:
        self._endless_loops()
        return self.sim

    # -- one state: every move a person or a timer can make from it --------------------------------------

    def _expand(self, node: _Node) -> None:
        state_id = node.state_id
        ready = sorted(node.workflow.get_tasks(state=TaskState.READY, manual=True), key=_bpmn_id)
        open_steps = frozenset(_bpmn_id(t) for t in ready)
        moves = []
        if ready:
            step = _bpmn_id(ready[0])
            info = self.diagram.user_tasks.get(step)
            choices = self.choices.get(info.form) if info and info.form else None
            moves += [(self._decide, step, decision, data) for decision, data in (choices.decisions if choices else ())]
        moves += [(self._fire, timer_id, open_steps) for timer_id in _waiting_timers(node.workflow)]
        if not moves and not ready:
            self._stuck(node)
        for index, (move, *args) in enumerate(moves):
            # The last move may take the state itself: nothing reads it afterwards.
            move(node if index == len(moves) - 1 else self._fork(node), state_id, *args)

    def _decide(self, child: _Node, state_id: int, step: str, decision: str, data: dict[str, Any]) -> None:
        task = next(t for t in child.workflow.get_tasks(state=TaskState.READY, manual=True) if _bpmn_id(t) == step)
        task.data.update({**data, "decision": decision, "opinion": "模擬"})
        child.steps = (*child.steps, PathStep(step, _name(task), decision))
        child.rejected = child.rejected or decision == "reject"
        child.decided = True
        try:
            task.run()
        except Exception as exc:  # noqa: BLE001 - any engine failure is a finding, reported in Chinese
            self._error(child, exc)
            return
        self._settle(child, parent=state_id)

    def _fire(self, child: _Node, state_id: int, timer_id: str, before: frozenset[str]) -> None:
        task = next(t for t in child.workflow.get_tasks(state=TaskState.WAITING) if _bpmn_id(t) == timer_id)
        child.steps = (*child.steps, PathStep(timer_id, _name(task)))
        _force_fire(task)
        self._settle(child, parent=state_id, timer=before)

    # -- after a move: run the engine to the next person, timer or end -----------------------------------

    def _settle(self, node: _Node, *, parent: int | None, timer: frozenset[str] | None = None) -> None:
        """``timer``: the steps that were open when a timer fired; a reminder leaves them open and ends there."""
        try:
            _engine_steps(node.workflow)
        except _StepLimit:
            element = node.steps[-1].element if node.steps else None
            self._problem(element, "endless", f"路徑無法結束：自動步驟反覆執行超過 {MAX_ENGINE_STEPS} 次"
                                              f"（沒有出口的迴圈）。路徑：{self._describe(node, 'unfinished')}")
            self._path(node, "unfinished")
            return
        except Exception as exc:  # noqa: BLE001 - reported in Chinese with its element and path
            self._error(node, exc)
            return
        if not self._check_ready(node):
            return
        if timer is not None and not node.workflow.is_completed() and _ready_ids(node.workflow) == timer and timer:
            return  # a reminder or escalation: the same people still hold the same steps
        signature = self._signature(node)
        known = signature in self.seen
        state_id = self.seen.setdefault(signature, len(self.seen))
        if parent is not None:
            self.edges.setdefault(parent, set()).add(state_id)
        if node.workflow.is_completed():
            self.ending.add(state_id)
            self._finish(node)
        elif known:
            if timer is None and state_id != parent:
                self._path(node, "loop")
        else:
            node.state_id = state_id
            self.first_node[state_id] = (node.steps, node.variant, sorted(_ready_ids(node.workflow)))
            self.queue.append(node)

    def _check_ready(self, node: _Node) -> bool:
        """A step the app cannot hand to anyone stops the path here."""
        for task in node.workflow.get_tasks(state=TaskState.READY, manual=True):
            if _bpmn_id(task) not in self.diagram.user_tasks:
                self._problem(_bpmn_id(task), "unreachable",
                              f"步驟「{_name(task)}」位於子流程或呼叫活動中，系統無法指派辦理人也無法檢查；"
                              f"請把步驟畫在主流程中。路徑：{self._describe(node, 'stuck')}")
                self._path(node, "stuck", _bpmn_id(task))
                return False
        return True

    def _finish(self, node: _Node) -> None:
        data = node.workflow.data or (node.workflow.last_task.data if node.workflow.last_task else {})
        outcome = _OUTCOME.get(data.get("decision"), "approved") if node.decided else "approved"
        end = _end_element(node.workflow)
        self._path(node, outcome, end)
        if outcome != "approved":
            return
        last = node.steps[-1] if node.steps else None
        if last is not None and last.decision is None and not self._app_action(last.element):
            self._problem(last.element, "timer-end", f"計時器「{last.name}」觸發後案件直接核准結案，沒有人決定。"
                                                     f"路徑：{self._describe(node, outcome)}")
        elif not node.decided and not self.filing_decides:
            self._problem(end, "no-decision", f"案件未經任何人審核就核准結案（結束事件「{end}」）。"
                                              f"路徑：{self._describe(node, outcome)}")
        elif node.rejected:
            step = next(s for s in node.steps if s.decision == "reject")
            self._problem(step.element, "reject-approved",
                          f"步驟「{step.name}」決定「不同意」後，案件仍繼續並核准結案；請在此步驟後加上決定閘道。"
                          f"路徑：{self._describe(node, outcome)}")

    def _app_action(self, element: str) -> bool:
        info = self.diagram.timers.get(element)
        return bool(info and info.action)

    def _stuck(self, node: _Node) -> None:
        waiting = sorted({_bpmn_id(t) for t in node.workflow.get_tasks(state=TaskState.WAITING)
                          if _bpmn_id(t) and not _bpmn_id(t).startswith(("gw_", "Boundary"))} - {None})
        names = [n for n in waiting if n in _spec_ids(self.diagram)] or waiting
        element = names[0] if names else None
        self._problem(element, "stuck", f"路徑停在「{element or '（不明）'}」等待，系統不會送來它等待的事件，"
                                        f"案件將永遠停住。路徑：{self._describe(node, 'stuck')}")
        self._path(node, "stuck", element)

    def _error(self, node: _Node, exc: Exception) -> None:
        element, message = engine_message(exc)
        element = element or (node.steps[-1].element if node.steps else None)
        problem = (element, f"{message}。路徑：{self._describe(node, 'error')}")
        if self._problem(element, f"error:{message}", problem[1]):
            self.sim.failures.append(problem)
        self._path(node, "error", element)

    # -- loops with no way out ---------------------------------------------------------------------------

    def _endless_loops(self) -> None:
        """States from which no path reaches an end: a loop of steps with no exit."""
        if not self.sim.complete:
            return
        reverse: dict[int, set[int]] = {}
        for source, targets in self.edges.items():
            for target in targets:
                reverse.setdefault(target, set()).add(source)
        can_end, todo = set(self.ending), list(self.ending)
        while todo:
            for source in reverse.get(todo.pop(), ()):
                if source not in can_end:
                    can_end.add(source)
                    todo.append(source)
        for state_id in sorted(self.first_node):
            steps, variant, ready = self.first_node[state_id]
            if state_id in can_end or state_id not in self.edges:
                continue
            element = ready[0] if ready else (steps[-1].element if steps else None)
            path = SimPath(steps, "loop", None, variant).describe()
            self._problem(element, "endless", f"從「{element}」起，無論怎麼決定都回到先前的步驟，案件永遠無法結束"
                                              f"（沒有出口的迴圈）。路徑：{path}")
            return

    # -- bookkeeping -------------------------------------------------------------------------------------

    def _fork(self, node: _Node) -> _Node:
        serializer = _serializer(self.diagram)
        workflow = serializer.deserialize_json(serializer.serialize_json(node.workflow))
        workflow.script_engine = SCRIPT_ENGINE
        return _Node(workflow, node.steps, node.variant, node.rejected, node.decided)

    def _signature(self, node: _Node) -> tuple:
        tasks = []
        for task in node.workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            data = repr(sorted((k, v) for k, v in task.data.items() if k in self.reads)) if task.task_spec.manual \
                else ""
            tasks.append((_bpmn_id(task) or task.task_spec.name, int(task.state), data))
        return node.variant, node.rejected, node.decided, tuple(sorted(tasks))

    def _path(self, node: _Node, end: str, element: str | None = None) -> None:
        self.sim.paths.append(SimPath(node.steps, end, element, node.variant))

    def _describe(self, node: _Node, end: str) -> str:
        return SimPath(node.steps, end, None, node.variant).describe()

    def _problem(self, element: str | None, kind: str, message: str) -> bool:
        if (element, kind) in self.flagged:
            return False
        self.flagged.add((element, kind))
        self.sim.problems.append((element, message))
        return True


def _engine_steps(workflow) -> None:
    """do_engine_steps, but bounded: a loop of automatic steps raises _StepLimit instead of spinning."""
    count = 0

    def counted(_task) -> None:
        nonlocal count
        count += 1
        if count > MAX_ENGINE_STEPS:
            raise _StepLimit

    while workflow._do_engine_steps(did_complete_task=counted):
        pass
    workflow.refresh_timers()
    while workflow._do_engine_steps(did_complete_task=counted):
        pass


def _ready_ids(workflow) -> frozenset[str]:
    return frozenset(_bpmn_id(t) for t in workflow.get_tasks(state=TaskState.READY, manual=True))


def _waiting_timers(workflow) -> list[str]:
    """Timers worth firing: not a reminder that leaves its step open and only ends its own branch."""
    timers = [t for t in workflow.get_tasks(state=TaskState.WAITING)
              if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
              and not _is_reminder(t.task_spec)]
    return sorted({_bpmn_id(t) for t in timers})


def _is_reminder(spec) -> bool:
    if getattr(spec, "cancel_activity", True) is not False:
        return False
    return bool(spec.outputs) and all(type(o).__name__ == "EndEvent" and not o.outputs for o in spec.outputs)


def _force_fire(task) -> None:
    """Make a waiting timer due now, whatever its expression says."""
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        task._set_internal_data(event_value={"cycles": 1, "next": "2000-01-01T00:00:00+00:00", "duration": 0})
    else:
        task._set_internal_data(event_value="2000-01-01T00:00:00+00:00", event_fired=True)


def _end_element(workflow) -> str | None:
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if type(t.task_spec).__name__ == "EndEvent" and t.workflow is workflow]
    return _bpmn_id(max(ends, key=lambda t: t.last_state_change)) if ends else None


def _spec_ids(diagram: ParsedDiagram) -> set[str]:
    return {s.bpmn_id for s in diagram.spec.task_specs.values() if getattr(s, "bpmn_id", None)}


def _bpmn_id(task) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def _name(task) -> str:
    return getattr(task.task_spec, "bpmn_name", None) or _bpmn_id(task) or task.task_spec.name
