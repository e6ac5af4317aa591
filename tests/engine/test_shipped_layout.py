"""The shipped diagrams are laid out to be read: no label sits on another label or on a step.

Label boxes are placed as bpmn-js places them on import: a label with DI bounds keeps their top and their
horizontal centre; one without sits under its event or gateway (a flow's beside the middle of its path); its
width is that of its text (about 11 px a CJK character at bpmn-js's 11 px label font).
"""

from itertools import combinations
from math import atan, ceil, floor, pi

from lxml import etree

from tests.conftest import ROOT

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
DIAGRAMS = sorted((ROOT / "bpmn" / "kaohsiung").rglob("*.bpmn")) + sorted((ROOT / "bpmn" / "taoyuan").rglob("*.bpmn"))
EXTERNAL_LABELS = ("Event", "Gateway")  # bpmn-js draws these names outside the shape
TASKS = ("Task",)
LINE = 14


def text_width(text):
    return sum(11 if ord(c) > 0x2E7F else 6.5 for c in text)


def bounds(node):
    return tuple(float(node.get(k)) for k in ("x", "y", "width", "height"))


def centred(cx, top, text):
    width = text_width(text)
    return (cx - width / 2, top, width, LINE)


def flow_label_position(points):
    """bpmn-js's getFlowLabelPosition: the middle of the middle segment, 15 px above a level one, else beside it."""
    mid = len(points) / 2 - 1
    (x1, y1), (x2, y2) = points[floor(mid)], points[ceil(mid + 0.01)]
    x, y = (x1 + x2) / 2, (y1 + y2) / 2
    return (x, y - 15) if x1 != x2 and abs(atan((y2 - y1) / (x2 - x1))) < pi / 2 else (x + 15, y)


def layout(path):
    """(tasks, labels): task boxes by id, label boxes by the id of the element they name."""
    root = etree.parse(str(path)).getroot()
    elements = {e.get("id"): e for e in root.iter() if e.get("id")}
    tasks, labels = {}, {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        element = elements[shape.get("bpmnElement")]
        kind, name = etree.QName(element).localname, element.get("name")
        box = bounds(shape.find("dc:Bounds", NS))
        if kind.endswith(TASKS):
            tasks[element.get("id")] = box
        if not name or not kind.endswith(EXTERNAL_LABELS):
            continue
        label = shape.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            x, y, w, _ = bounds(label)
            labels[element.get("id")] = centred(x + w / 2, y, name)
        else:
            labels[element.get("id")] = centred(box[0] + box[2] / 2, box[1] + box[3], name)
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        element = elements[edge.get("bpmnElement")]
        if not element.get("name"):
            continue
        label = edge.find("bpmndi:BPMNLabel/dc:Bounds", NS)
        if label is not None:
            x, y, w, _ = bounds(label)
            labels[element.get("id")] = centred(x + w / 2, y, element.get("name"))
        else:
            points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
            x, y = flow_label_position(points)
            labels[element.get("id")] = centred(x, y - 10, element.get("name"))
    return tasks, labels


def overlap(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def name(path):
    return str(path.relative_to(ROOT / "bpmn"))


# One test over every diagram, not one per diagram: each test starts from a freshly loaded demo city.
def test_no_label_overlaps_another_label_or_a_step():
    clashes = []
    for path in DIAGRAMS:
        tasks, labels = layout(path)
        assert labels and tasks, name(path)
        clashes += [(name(path), a, b) for (a, box_a), (b, box_b) in combinations(labels.items(), 2)
                    if overlap(box_a, box_b)]
        clashes += [(name(path), a, t) for a, box in labels.items() for t, task in tasks.items() if overlap(box, task)]
    assert clashes == []


def test_every_boundary_timer_has_its_own_label_box_wide_enough_for_its_name():
    for path in DIAGRAMS:
        root = etree.parse(str(path)).getroot()
        shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
        for event in root.iterfind(".//bpmn:boundaryEvent", NS):
            label = shapes[event.get("id")].find("bpmndi:BPMNLabel/dc:Bounds", NS)
            assert label is not None, (name(path), event.get("id"))
            assert bounds(label)[2] >= text_width(event.get("name")), (name(path), event.get("id"))
