"""A Babel extractor for the Chinese labels and messages written in ``workflows/`` and ``models/``.

Those packages may not import Flask (or Flask-Babel), so their strings carry no ``_()``: they are data
(form titles, field labels, choices, role names) and messages. This extractor, named in ``babel.cfg``,
reads a module's syntax tree and yields

* every string literal holding Chinese text, except docstrings;
* every f-string holding Chinese text or CJK quotes (「」), as a msgid with named placeholders:
  ``f"「{f.label}」為必填"`` becomes ``「%(label)s」為必填``; ``web.i18n.tr_message`` matches run-time
  messages against these.

Options (``babel.cfg``): ``skip_calls`` — call names whose arguments are not UI text (e.g. notifications,
which are stored and e-mailed as written); ``skip_functions`` — functions whose strings are not extracted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # ideographs: a literal is text to translate
_CJK_OR_QUOTES = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff]")  # f"「{label}」{problem}" too


def _names(option: str | None) -> set[str]:
    return {n.strip() for n in (option or "").split(",") if n.strip()}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _placeholder(expr: ast.expr) -> str:
    """A readable placeholder name: the last name in ``f.label`` / ``task.claimed_by.name`` / ``d['name']``."""
    while isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Constant):
        if isinstance(expr.slice.value, str) and expr.slice.value.isidentifier():
            return expr.slice.value
        expr = expr.value
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return "value"


def fstring_msgid(node: ast.JoinedStr) -> str | None:
    """``「%(label)s」為必填`` for ``f"「{f.label}」為必填"``; None when a part has a format spec or conversion."""
    out, used = [], {}
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(str(part.value).replace("%", "%%"))
            continue
        if not isinstance(part, ast.FormattedValue) or part.format_spec is not None or part.conversion != -1:
            return None
        name = _placeholder(part.value)
        used[name] = used.get(name, 0) + 1
        out.append(f"%({name}{used[name] if used[name] > 1 else ''})s")
    return "".join(out)


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def _skipped(tree: ast.AST, calls: set[str], functions: set[str]) -> set[int]:
    """Ids of every node inside a skipped call or function."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        inside = (isinstance(node, ast.Call) and _call_name(node) in calls) or (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in functions)
        if inside:
            ids.update(id(n) for n in ast.walk(node))
    return ids


def labels_in(source: str, skip_calls: set[str] = frozenset(), skip_functions: set[str] = frozenset()
              ) -> Iterator[tuple[int, str, bool]]:
    """(line, msgid, from an f-string) for each Chinese string in ``source``, in order."""
    tree = ast.parse(source)
    ignored = _docstrings(tree) | _skipped(tree, set(skip_calls), set(skip_functions))
    in_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if id(node) in ignored:
            continue
        if isinstance(node, ast.JoinedStr):
            msgid = fstring_msgid(node)
            literal = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
            if msgid and _CJK_OR_QUOTES.search(literal):
                yield node.lineno, msgid, True
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in in_fstrings
              and _CJK.search(node.value)):
            yield node.lineno, node.value, False


def extract_labels(fileobj, keywords, comment_tags, options):
    """Babel extraction method: ``[web.i18n_extract:extract_labels: workflows/forms.py]`` in babel.cfg."""
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    found = sorted(labels_in(source, _names(options.get("skip_calls")), _names(options.get("skip_functions"))))
    for lineno, msgid, composed in found:
        comments = ["composed at run time: keep every %(placeholder)s"] if composed and "%(" in msgid else []
        yield lineno, None, msgid, comments


def pack_labels(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) for each Chinese value of a jurisdiction pack file (titles, labels, choices, role names)."""
    import yaml

    def walk(node) -> Iterator[tuple[int, str]]:
        if isinstance(node, yaml.ScalarNode):
            if isinstance(node.value, str) and _CJK.search(node.value):
                yield node.start_mark.line + 1, node.value
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                yield from walk(item)
        elif isinstance(node, yaml.MappingNode):
            for _key, value in node.value:
                yield from walk(value)

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        yield from walk(root)


def extract_pack(fileobj, keywords, comment_tags, options):
    """Babel extraction method for bpmn/<key>/pack.yaml and bpmn/common.yaml (``packs`` in babel.cfg).

    A pack's labels are shown through ``web.i18n.tr`` like the core's, so their Chinese text is the msgid and the
    English catalogue translates them; the demo's people and agencies stay as written (demo.yaml is not read).
    """
    for lineno, msgid in sorted(set(pack_labels(fileobj.read().decode(options.get("encoding", "utf-8"))))):
        yield lineno, None, msgid, []
