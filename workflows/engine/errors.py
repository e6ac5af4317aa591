"""SpiffWorkflow's failures in plain Traditional Chinese, naming the element they happened at.

The engine speaks English and carries Python reprs; people who read our refusals get a sentence
naming the step, gateway or timer and what it lacks, never the engine's own text.
"""

from __future__ import annotations

import re

from .expressions import ExpressionError

_EXPRESSION = re.compile(r"expression '(.*?)'(?=[.\s:]|$)", re.S)


def _causes(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _element(exc: BaseException) -> tuple[str | None, str | None]:
    for cause in _causes(exc):
        spec = getattr(getattr(cause, "task", None), "task_spec", None) or getattr(cause, "task_spec", None)
        if spec is not None and getattr(spec, "bpmn_id", None):
            return spec.bpmn_id, getattr(spec, "bpmn_name", None) or spec.bpmn_id
    return None, None


def _expression(exc: BaseException) -> str | None:
    for cause in _causes(exc):
        for text in (str(cause), *getattr(cause, "notes", []), *getattr(cause, "__notes__", [])):
            match = _EXPRESSION.search(text)
            if match:
                return match.group(1)
    return None


def engine_message(exc: BaseException) -> tuple[str | None, str]:
    """(element id, message) for an exception raised while the engine ran a diagram."""
    element, name = _element(exc)
    where = f"「{name}」" if name else "流程"
    expression = _expression(exc)
    quoted = f"運算式「{expression}」" if expression else "運算式"
    causes = list(_causes(exc))
    missing = next((c for c in causes if isinstance(c, NameError)), None)
    if missing is not None:
        return element, (f"{where}的{quoted}用到「{getattr(missing, 'name', None) or '?'}」，"
                         f"但沒有任何表單或步驟提供這個資料")
    if any(isinstance(c, (ExpressionError, TypeError, ValueError, ArithmeticError, LookupError)) for c in causes):
        return element, f"{where}的{quoted}無法計算：資料的型態或值不符"
    text = " ".join(str(c) for c in causes)
    if "No conditions satisfied" in text or "no default" in text.lower():
        return element, f"{where}沒有任何條件成立，也沒有預設路徑，流程無法繼續"
    return element, f"流程在{where}無法繼續執行"
