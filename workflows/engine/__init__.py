"""The only package that imports SpiffWorkflow; typed values at its edge."""

from .diagrams import DiagramError, ParsedDiagram, TimerInfo, UserTaskInfo, ordered_steps, parse_diagram
from .expressions import ExpressionError, check_expression
from .rewind import rewind
from .runtime import SERIALIZER_VERSION, EngineError, ReadyTask, Run, StaleTask, Trail

__all__ = [
    "SERIALIZER_VERSION", "DiagramError", "EngineError", "ExpressionError", "ParsedDiagram",
    "ReadyTask", "Run", "StaleTask", "TimerInfo", "Trail", "UserTaskInfo", "check_expression", "ordered_steps",
    "parse_diagram", "rewind",
]
