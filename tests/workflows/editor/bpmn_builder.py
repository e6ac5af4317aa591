"""Small BPMN diagrams for tests, drawn automatically so the structural checks pass."""

from __future__ import annotations

import re

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="https://t">')


def props(**values) -> str:
    inner = "".join(f'<spiffworkflow:property name="{k}" value="{v}" />' for k, v in values.items())
    return (f"<bpmn:extensionElements><spiffworkflow:properties>{inner}</spiffworkflow:properties>"
            "</bpmn:extensionElements>")


def step(node_id: str, name: str, form: str = "review") -> str:
    return f'<bpmn:userTask id="{node_id}" name="{name}">{props(form=form)}</bpmn:userTask>'


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    body = (f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
            if condition else "")
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">{body}</bpmn:sequenceFlow>'


def decision_gateway(after: str, approve_to: str, reject_to: str, *,
                     condition: str = 'decision == "approve"') -> list[str]:
    """A gateway after ``after``: approve goes on, anything else ends rejected."""
    gw = f"gw_{after}"
    return [f'<bpmn:exclusiveGateway id="{gw}" default="f_{gw}_no" />', flow(f"f_{after}_gw", after, gw),
            flow(f"f_{gw}_yes", gw, approve_to, condition), flow(f"f_{gw}_no", gw, reject_to)]


def bpmn(process_id: str, body: list[str], lanes: dict[str, list[str]], *, process_props: str = "") -> str:
    """A process with ``body`` (flow nodes and flows as XML) in ``lanes`` {role: [node ids]}; every element drawn."""
    lane_xml = "".join(f'<bpmn:lane id="lane_{role}" name="{role}">'
                       + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes) + "</bpmn:lane>"
                       for role, nodes in lanes.items())
    text = "".join(body)
    process = (f'<bpmn:process id="{process_id}" name="測試流程" isExecutable="true">{process_props}'
               f'<bpmn:laneSet id="lanes">{lane_xml}</bpmn:laneSet>{text}</bpmn:process>')
    ids = re.findall(r'<bpmn:(?!sequenceFlow|conditionExpression|extensionElements|lane|flowNodeRef|'
                     r'timerEventDefinition|time)\w+ id="([^"]+)"', text)
    flows = re.findall(r'<bpmn:sequenceFlow id="([^"]+)"', text)
    shapes = "".join(f'<bpmndi:BPMNShape id="{i}_di" bpmnElement="{i}"><dc:Bounds x="{n * 120}" y="100" '
                     f'width="36" height="36" /></bpmndi:BPMNShape>' for n, i in enumerate(ids))
    edges = "".join(f'<bpmndi:BPMNEdge id="{f}_di" bpmnElement="{f}"><di:waypoint x="1" y="1" />'
                    f'<di:waypoint x="2" y="2" /></bpmndi:BPMNEdge>' for f in flows)
    return (f'{HEAD}{process}<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="{process_id}">'
            f"{shapes}{edges}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")
