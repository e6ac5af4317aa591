"""Parse BPMN diagrams safely into executable specs."""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_task_spec import BpmnTaskSpec
from SpiffWorkflow.spiff.parser import SpiffBpmnParser

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024
MAX_DUE_WORKING_DAYS = 365


def working_days_of(value: str | None) -> int | None:
    """A step's ``due_working_days`` property as a number of days (1 to 365), or None when it is not one."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 3:
        return None
    days = int(value)
    return days if 1 <= days <= MAX_DUE_WORKING_DAYS else None


class DiagramError(ValueError):
    """A diagram is refused; ``problems`` lists (element id, message) pairs, ``paths`` the simulated paths."""

    def __init__(self, problems: list[tuple[str | None, str]], paths: list | None = None):
        self.problems = problems
        self.paths = paths or []
        super().__init__("; ".join(f"{eid or '-'}: {msg}" for eid, msg in problems))


@dataclass(frozen=True)
class UserTaskInfo:
    """A human step as the diagram declares it."""

    step: str
    name: str
    lane: str | None
    form: str | None
    due_working_days: int | None = None
    due_date: str | None = None  # an expression giving the step's due moment, e.g. at_date(effective_date)
    bulk: bool = False  # holders may decide it for several applications at once (property bulk="true")


@dataclass(frozen=True)
class TimerInfo:
    """A timer and what the app does when it fires.

    A boundary timer on a step tells someone (``notify``: ``holder`` or ``superior``); an intermediate
    timer catch event has no step and names an app ``action`` instead (``manager_handover``).
    """

    event: str
    attached_to: str | None
    notify: str | None
    action: str | None = None
    # A non-interrupting boundary timer that tells someone and whose every path ends at once: firing it changes
    # nothing in the chain, so the sweep may send its message without restoring the engine.
    notify_only: bool = False


@dataclass
class ParsedDiagram:
    """An executable process spec with what the app needs to know about it."""

    process_id: str
    name: str
    spec: Any
    subprocess_specs: dict
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    expressions: list[tuple[str, str]] = field(default_factory=list)
    script_elements: list[str] = field(default_factory=list)
    timers: dict[str, TimerInfo] = field(default_factory=dict)
    sha256: str = ""
    form: str | None = None  # the form that starts the chain, when the diagram names one


def _safe_tree(xml: bytes):
    if len(xml) > MAX_DIAGRAM_BYTES:
        raise DiagramError([(None, f"流程圖超過 {MAX_DIAGRAM_BYTES // 1024} KB，無法處理")])
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        where = f"（第 {line} 行附近）" if line else ""
        raise DiagramError([(None, f"檔案不是格式正確的 XML{where}")]) from None
    if root.getroottree().docinfo.doctype:
        raise DiagramError([(None, "流程圖不可含 DOCTYPE 宣告（不接受 DTD 與實體）")])
    return root


_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
       "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def _property(node, name: str) -> str | None:
    prop = node.find(f".//spiffworkflow:property[@name='{name}']", _NS)
    return prop.get("value") if prop is not None else None


def _timers(root) -> dict[str, TimerInfo]:
    # SpiffWorkflow keeps no extensions on these events, so read their properties from the XML.
    timers = {}
    # A plain end (no terminate, message or other event definition) does nothing when reached.
    ends = {n.get("id") for n in root.iterfind(".//bpmn:endEvent", _NS)
            if not any(str(c.tag).endswith("EventDefinition") for c in n)}
    targets: dict[str, list[str]] = {}
    for flow in root.iterfind(".//bpmn:sequenceFlow", _NS):
        targets.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for node in root.iterfind(".//bpmn:boundaryEvent[bpmn:timerEventDefinition]", _NS):
        notify = _property(node, "notify")
        after = targets.get(node.get("id"), [])
        notify_only = (notify in ("holder", "superior") and node.get("cancelActivity") == "false"
                       and all(t in ends for t in after))
        timers[node.get("id")] = TimerInfo(node.get("id"), node.get("attachedToRef"), notify, notify_only=notify_only)
    for node in root.iterfind(".//bpmn:intermediateCatchEvent[bpmn:timerEventDefinition]", _NS):
        timers[node.get("id")] = TimerInfo(node.get("id"), None, None, _property(node, "action"))
    return timers


def _parse_message(exc: ValidationException) -> str:
    """SpiffWorkflow's parse error in plain words, naming the element; never its English text."""
    what = f"元素「{exc.id}」" if exc.id else "流程圖"
    return f"{what}無法被流程引擎解析：請檢查它的類型、連線與屬性設定"


def _start_form(root, process_id: str) -> str | None:
    """A ``form`` property on the process, or else on its blank start event."""
    direct = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property[@name='form']"
    process = next((p for p in root.iterfind("bpmn:process", _NS) if p.get("id") == process_id), None)
    if process is None:
        return None
    for owner in (process, *process.iterfind("bpmn:startEvent", _NS)):
        prop = owner.find(direct, _NS)
        if prop is not None and prop.get("value"):
            return prop.get("value")
    return None


def parse_diagram(xml: bytes, process_id: str | None = None) -> ParsedDiagram:
    """Parse one BPMN file holding one executable process."""
    root = _safe_tree(xml)
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(etree.ElementTree(root), filename=process_id or "upload.bpmn")
        ids = parser.get_process_ids()
        if not ids:
            raise DiagramError([(None, "圖中沒有可執行的流程（bpmn:process 須設 isExecutable）")])
        pid = process_id or ids[0]
        spec = parser.get_spec(pid)
        subprocess_specs = parser.get_subprocess_specs(pid)
    except ValidationException as exc:
        raise DiagramError([(exc.id or None, _parse_message(exc))]) from None
    diagram = ParsedDiagram(pid, spec.description or pid, spec, subprocess_specs,
                            sha256=hashlib.sha256(xml).hexdigest(), timers=_timers(root),
                            form=_start_form(root, pid))
    for task_spec in spec.task_specs.values():
        for condition, _target in getattr(task_spec, "cond_task_specs", []):
            if condition is not None:
                diagram.expressions.append((task_spec.bpmn_id, condition.args[0]))
        if getattr(task_spec, "script", None) or getattr(task_spec, "prescript", None) or getattr(
            task_spec, "postscript", None
        ):
            diagram.script_elements.append(task_spec.bpmn_id)
        if isinstance(task_spec, BpmnTaskSpec) and task_spec.manual:
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            due = props.get("due_working_days")
            diagram.user_tasks[task_spec.bpmn_id] = UserTaskInfo(
                task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id, task_spec.lane, props.get("form"),
                working_days_of(due), props.get("due_date") or None, props.get("bulk") == "true",
            )
            if props.get("due_date"):
                diagram.expressions.append((task_spec.bpmn_id, props["due_date"]))
    return diagram


def ordered_steps(diagram: ParsedDiagram) -> list[UserTaskInfo]:
    """The human steps in the order a reader meets them: breadth first from the start along the flows.

    A step reached by a back loop only (the applicant's amendment after a return) comes after the step that
    returns to it; a step no flow reaches is listed last, so the text version of a diagram never drops one.
    """
    start = diagram.spec.start
    seen, queue, order = {start.name}, deque([start]), []
    while queue:
        spec = queue.popleft()
        step = getattr(spec, "bpmn_id", None)
        if step in diagram.user_tasks and step not in order:
            order.append(step)
        for output in spec.outputs:
            if output.name not in seen:
                seen.add(output.name)
                queue.append(output)
    order += [step for step in diagram.user_tasks if step not in order]
    return [diagram.user_tasks[step] for step in order]
