"""Structural checks on a diagram's XML, before and besides SpiffWorkflow's own parse.

They mirror the error-level bpmnlint ``recommended`` rules the browser editor runs, plus
what this app needs (timers that are valid ISO-8601, no task types that would run code),
so a diagram posted without the editor is held to the same standard. Connections are read
from ``sourceRef``/``targetRef``: the shipped files carry no ``incoming``/``outgoing``.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .diagrams import MAX_DUE_WORKING_DAYS, _property, _safe_tree, working_days_of
from .expressions import ExpressionError, check_expression

Problem = tuple[str | None, str]

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI}

SCRIPT_REFUSED = "不可使用指令碼（script）：部署的流程圖不得執行程式碼"
# Task types that would run code or call out; the app has no safe way to run them.
REFUSED_TYPES = {
    "scriptTask": SCRIPT_REFUSED,
    "serviceTask": "不可使用服務工作（serviceTask）：系統不會呼叫外部服務",
    "businessRuleTask": "不可使用商業規則工作（businessRuleTask）",
    "sendTask": "不可使用傳送工作（sendTask）",
    "callActivity": "不可使用呼叫活動（callActivity）：請把步驟畫在同一張圖中",
    "complexGateway": "不可使用複合閘道（complexGateway）",
    "receiveTask": "不可使用接收工作（receiveTask）：系統不會送來它等待的訊息，案件會永遠停在這裡",
}
_FLOW_NODES = ("task", "userTask", "manualTask", "receiveTask", "subProcess", "exclusiveGateway",
               "parallelGateway", "inclusiveGateway", "eventBasedGateway", "startEvent", "endEvent",
               "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", *REFUSED_TYPES)
# Only timers fire on their own here; nothing in the app throws or delivers messages, signals or errors.
_ALLOWED_EVENTS = {"timerEventDefinition", "terminateEventDefinition"}
_EXPRESSION_TAGS = {"conditionExpression", "condition", "loopCardinality", "completionCondition"}
_TIMER_KINDS = {"timeDate": "日期", "timeDuration": "期間", "timeCycle": "循環"}
_DURATION = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")
_LOOKS_ISO = re.compile(r"(R\d*/)?P[0-9TYMWDHS.]+|\d{4}-\d{2}-\d{2}.*", re.I)
# What the inbox rows and notices hold: a step's id and name, a process's name (with room for a notice's words).
MAX_ID, MAX_STEP_NAME, MAX_PROCESS_NAME = 100, 100, 200


def ensure_safe_xml(xml: bytes) -> None:
    """Refuse oversized, malformed or entity-carrying XML (raises DiagramError), without judging the diagram."""
    _safe_tree(xml)


def xml_problems(xml: bytes) -> list[Problem]:
    """Every structural problem of a diagram; unsafe or malformed XML raises DiagramError instead."""
    root = _safe_tree(xml)
    problems: list[Problem] = []
    processes = root.findall("bpmn:process", NS)
    if not processes:
        return [(None, "圖中沒有流程（bpmn:process）")]
    if len(processes) > 1:
        problems.append((None, "一個檔案只能有一個流程；請把其他流程移到另一個檔案"))
    for process in processes:
        problems += _process_problems(process)
    problems += _shape_problems(root, processes)
    return problems


def _local(node) -> str:
    return node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""


def _nodes(container) -> list:
    return [n for n in container if _local(n) in _FLOW_NODES and n.tag.startswith("{" + BPMN)]


def _process_problems(process) -> list[Problem]:
    problems: list[Problem] = []
    if len(process.get("name") or "") > MAX_PROCESS_NAME:
        problems.append((process.get("id"), f"流程名稱過長（上限 {MAX_PROCESS_NAME} 字）"))
    problems += _container_problems(process, top_level=True)
    for sub in process.iter(f"{{{BPMN}}}subProcess"):
        problems += _container_problems(sub, top_level=False)
    for node in process.iter():
        problems += _size_problems(node)
        problems += _type_problems(node)
        problems += _event_problems(node)
        problems += _timer_problems(node)
        problems += _expression_problems(node)
    return problems


def _container_problems(container, *, top_level: bool) -> list[Problem]:
    """Start and end events, connections and gateway routing inside one process or subprocess."""
    nodes = _nodes(container)
    flows = [f for f in container if _local(f) == "sequenceFlow"]
    incoming, outgoing = Counter(f.get("targetRef") for f in flows), {}
    for flow in flows:
        outgoing.setdefault(flow.get("sourceRef"), []).append(flow)
    problems = _start_end_problems(container, nodes, top_level)
    problems += _flow_problems(flows, {n.get("id") for n in nodes})
    for node in nodes:
        problems += _connection_problems(node, incoming[node.get("id")], outgoing.get(node.get("id"), []))
    problems += _boundary_problems(nodes)
    return problems


def _boundary_problems(nodes) -> list[Problem]:
    activities = {n.get("id") for n in nodes if not _local(n).endswith(("Event", "Gateway"))}
    return [(n.get("id"), "邊界事件須附在同一流程中的工作上") for n in nodes
            if _local(n) == "boundaryEvent" and n.get("attachedToRef") not in activities]


def _start_end_problems(container, nodes, top_level: bool) -> list[Problem]:
    where = container.get("id")
    starts = [n for n in nodes if _local(n) == "startEvent"]
    problems: list[Problem] = []
    if not starts:
        problems.append((where, "流程沒有開始事件"))
    if not any(_local(n) == "endEvent" for n in nodes):
        problems.append((where, "流程沒有結束事件"))
    blank = [n for n in starts if not _event_definitions(n)]
    if len(blank) > 1:
        problems += [(n.get("id"), "只能有一個一般開始事件") for n in blank[1:]]
    if not top_level and not _is_event_subprocess(container) and any(_event_definitions(n) for n in starts):
        problems += [(n.get("id"), "子流程的開始事件不可有觸發條件") for n in starts if _event_definitions(n)]
    return problems


def _event_definitions(node) -> list:
    return [c for c in node if _local(c).endswith("EventDefinition")]


def _flow_problems(flows, node_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple] = set()
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source not in node_ids or target not in node_ids:
            problems.append((flow.get("id"), "連線的起點或終點不存在"))
        key = (source, target, _condition(flow))
        if key in seen:
            problems.append((flow.get("id"), "重複的連線：相同起點、終點與條件的連線已存在"))
        seen.add(key)
    return problems


def _condition(flow) -> str | None:
    node = flow.find("bpmn:conditionExpression", NS)
    return (node.text or "").strip() if node is not None else None


def _connection_problems(node, n_in: int, out: list) -> list[Problem]:
    kind, node_id = _local(node), node.get("id")
    problems: list[Problem] = []
    if n_in == 0 and kind not in ("startEvent", "boundaryEvent") and not _is_event_subprocess(node):
        problems.append((node_id, "沒有任何連線進入這個元素，流程永遠走不到這裡"))
    if not out and kind != "endEvent" and not _is_event_subprocess(node):
        problems.append((node_id, "沒有任何連線離開這個元素；若流程在此結束，請接到結束事件"))
    if kind.endswith("Gateway") and n_in > 1 and len(out) > 1:
        problems.append((node_id, "閘道不可同時匯流與分流；請拆成兩個閘道"))
    if kind == "exclusiveGateway":
        problems += _gateway_problems(node, out)
    elif not kind.endswith("Gateway"):
        unconditional = [f for f in out if _condition(f) is None and node.get("default") != f.get("id")]
        if len(unconditional) > 1:
            problems.append((node_id, "有多條沒有條件的連線離開這個元素（隱含分流）；請改用閘道"))
    return problems


def _is_event_subprocess(node) -> bool:
    return _local(node) == "subProcess" and node.get("triggeredByEvent") == "true"


def _gateway_problems(gateway, out: list) -> list[Problem]:
    """An exclusive gateway that splits needs a condition on each branch, or a default branch."""
    gateway_id, default = gateway.get("id"), gateway.get("default")
    if default and default not in {f.get("id") for f in out}:
        return [(gateway_id, "預設路徑不是從這個閘道出去的連線")]
    if len(out) < 2:
        return []
    bare = [f.get("id") for f in out if _condition(f) in (None, "") and f.get("id") != default]
    if not bare:
        return []
    if len(bare) == 1 and not default:
        return [(gateway_id, f"閘道的連線「{bare[0]}」沒有條件；請填寫條件，或把它設為預設路徑")]
    return [(flow_id, "這條從閘道出去的連線沒有條件，也不是預設路徑") for flow_id in bare]


def _size_problems(node) -> list[Problem]:
    """Ids, names and a step's working days that the app can keep."""
    if _local(node) not in _FLOW_NODES or not node.tag.startswith("{" + BPMN):
        return []
    problems: list[Problem] = []
    if len(node.get("id") or "") > MAX_ID:
        problems.append((None, f"元素代碼過長（上限 {MAX_ID} 字元）：{node.get('id')[:40]}…"))
    if len(node.get("name") or "") > MAX_STEP_NAME:
        problems.append((node.get("id"), f"名稱過長（上限 {MAX_STEP_NAME} 字）"))
    due = _property(node, "due_working_days") if _local(node) == "userTask" else None
    if due is not None and working_days_of(due) is None:
        problems.append((node.get("id"), f"辦理期限（工作天）須為 1 至 {MAX_DUE_WORKING_DAYS} 的整數"))
    bulk = _property(node, "bulk") if _local(node) == "userTask" else None
    if bulk not in (None, "true", "false"):
        problems.append((node.get("id"), "批次決定（bulk）須為 true 或 false"))
    return problems


def _type_problems(node) -> list[Problem]:
    kind = _local(node)
    if kind in REFUSED_TYPES and node.tag.startswith("{" + BPMN):
        return [(node.get("id"), REFUSED_TYPES[kind])]
    return []


def _event_problems(node) -> list[Problem]:
    kind = _local(node)
    if kind.endswith("LoopCharacteristics"):
        return [(node.getparent().get("id"), "不支援多執行個體或迴圈工作：每個步驟只由一個人辦理一次")]
    if kind.endswith("EventDefinition") and kind not in _ALLOWED_EVENTS:
        return [(node.getparent().get("id"), f"不支援這種事件（{kind}）；系統只處理計時器")]
    return []


def _expression_problems(node) -> list[Problem]:
    """Every expression the engine would evaluate, wherever it sits, passes the allow-list."""
    if _local(node) not in _EXPRESSION_TAGS or not (node.text or "").strip():
        return []
    try:
        check_expression(node.text.strip())
    except ExpressionError as exc:
        owner = node.getparent()
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        return [(owner.get("id") if owner is not None else None, f"運算式「{node.text.strip()}」不被允許：{exc}")]
    return []


def _timer_problems(node) -> list[Problem]:
    if _local(node) != "timerEventDefinition":
        return []
    event_id = node.getparent().get("id")
    values = [c for c in node if _local(c) in _TIMER_KINDS]
    if len(values) != 1:
        return [(event_id, "計時器須設定一個類型（日期、期間或循環）與其值")]
    kind, text = _local(values[0]), (values[0].text or "").strip()
    if not text:
        return [(event_id, "計時器沒有設定值")]
    return [(event_id, message) for message in timer_messages(kind, text)]


def timer_messages(kind: str, expression: str) -> list[str]:
    """Why a timer expression is refused (empty when it is fine).

    SpiffWorkflow evaluates timer text as a Python expression, so an ISO-8601 value must be quoted.
    A quoted constant is checked here; a computed value (``working_days(3)``) only against the allow-list.
    """
    if _LOOKS_ISO.fullmatch(expression):
        return [f'計時器的值須加上引號，例如 "{expression}"']
    try:
        tree = check_expression(expression)
    except ExpressionError as exc:
        return [f"計時器運算式「{expression}」不被允許：{exc}"]
    body = tree.body
    if isinstance(body, ast.Constant):
        if not isinstance(body.value, str):
            return ["計時器的值須為 ISO-8601 文字，例如 \"P3D\""]
        return _iso_messages(kind, body.value)
    return []


def _iso_messages(kind: str, value: str) -> list[str]:
    label = _TIMER_KINDS[kind]
    try:
        if kind == "timeDuration":
            if not _DURATION.fullmatch(value.upper()):
                raise ValueError(value)
        elif kind == "timeDate":
            if TimerEventDefinition.get_datetime(value) and not _has_offset(value):
                return [f"計時器日期「{value}」須註明時區，例如 {value}+08:00"]
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad ISO text
        examples = {"timeDuration": "P3D、PT12H", "timeDate": "2026-12-31T17:00:00+08:00", "timeCycle": "R3/P1D"}
        return [f"計時器{label}「{value}」不是有效的 ISO-8601 格式，例如 {examples[kind]}"]
    return []


def _has_offset(value: str) -> bool:
    return datetime.fromisoformat(value).tzinfo is not None


def _shape_problems(root, processes) -> list[Problem]:
    """Every flow node must be drawn, or the editor and the tracking page cannot show it."""
    drawn = {shape.get("bpmnElement") for shape in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")}
    problems: list[Problem] = []
    for process in processes:
        for node in process.iter():
            if (_local(node) in _FLOW_NODES or _local(node) == "sequenceFlow") and node.get("id") not in drawn:
                problems.append((node.get("id"), "圖上沒有畫出這個元素（缺少圖形資訊）"))
    return problems
