"""A restricted evaluator for the expressions diagrams may carry.

Gateway conditions and timer expressions are plain Python in SpiffWorkflow and
run through ``eval`` by default. Diagrams are data that administrators edit in
a browser, so every expression is checked against an AST allow-list before it
is compiled, and evaluated with no builtins beyond a few pure helpers.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from ..calendar import TAIPEI, add_working_days


def working_days(days: int) -> str:
    """A timer date ``days`` Taiwanese working days from now, for timeDate expressions."""
    if not isinstance(days, int) or not 0 <= days <= 3650:
        raise ExpressionError("working_days() 的天數須為 0 到 3650 的整數")
    return add_working_days(datetime.now(UTC), days).isoformat()


def at_date(day: str, days: int = 0) -> str:
    """00:00 in Taipei on an ISO date (``days`` calendar days later), for timeDate and due_date expressions."""
    if not isinstance(days, int) or isinstance(days, bool) or not -3650 <= days <= 3650:
        raise ExpressionError("at_date() 的天數須為 -3650 到 3650 的整數")
    try:
        start = date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        start = None
    if start is None:
        raise ExpressionError("at_date() 須給 ISO 日期，例如 \"2027-03-01\"")
    return datetime.combine(start + timedelta(days=days), time(0), TAIPEI).isoformat()


HELPERS: dict[str, Any] = {
    "working_days": working_days,
    "at_date": at_date,
    "len": len,
    "any": any,
    "all": all,
    "min": min,
    "max": max,
    "set": set,
}

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    # No multiplication: "x" * 10**9 would exhaust memory, and approval conditions do not need it.
    ast.BinOp, ast.Add, ast.Sub, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.IfExp, ast.Call,
)
MAX_EXPRESSION_LENGTH = 500


class ExpressionError(ValueError):
    """An expression in a diagram is not allowed or does not parse."""


def check_expression(expression: str) -> ast.Expression:
    """Parse an expression and refuse anything outside the allow-list."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"運算式超過 {MAX_EXPRESSION_LENGTH} 個字元")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"語法錯誤（第 {exc.offset or 1} 個字附近）") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"不允許這種語法（{type(node).__name__}）；只能比較、運算與呼叫允許的函式")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ExpressionError(f"不可使用以底線開頭的名稱「{node.id}」")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in HELPERS and not node.keywords
        ):
            raise ExpressionError(f"只能呼叫 {'、'.join(sorted(HELPERS))}")
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and len(node.value) > 200:
            raise ExpressionError("文字常數過長（上限 200 字）")
    return tree


@lru_cache(maxsize=1024)
def _compiled(expression: str):
    return compile(check_expression(expression), "<diagram expression>", "eval")


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluate allow-listed expressions; refuse scripts outright."""

    def evaluate(self, expression, context, external_context=None):
        names = {**(external_context or {}), **context, **HELPERS}
        return eval(_compiled(expression), {"__builtins__": {}}, names)  # noqa: S307 - allow-listed AST

    def execute(self, script, context, external_context=None):
        raise ExpressionError("部署的流程圖不可執行指令碼（script）")

    def call_service(self, context, **kwargs):
        raise ExpressionError("部署的流程圖不可呼叫服務（serviceTask）")


SCRIPT_ENGINE = PythonScriptEngine(environment=RestrictedEnvironment())
