"""The input edge: how large a body may be, and text no database, export or page can hold, refused once.

Every string a request brings (path values, query string, form fields, JSON) is checked here before a route
reads it, and a bad one is a 422 naming its field. JSON bodies are parsed here too, with a depth limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import flask
from flask import current_app, request

from workflows.errors import Invalid
from workflows.validators import text_problem

MAX_JSON_DEPTH = 20
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def body_limit(limit: int | Callable[[], int]):
    """Let a view take a body larger than MAX_CONTENT_LENGTH (a diagram upload, the editor's JSON); a callable
    reads the limit per request (an attachment upload follows ATTACHMENT_MAX_BYTES)."""
    def mark(view):
        view.max_body = limit
        return view
    return mark


class Request(flask.Request):
    """The body limit is the view's own (``@body_limit``) from the first read on, whoever reads first.

    The CSRF check reads the form before any route runs; a limit set in the route would come too late.
    """

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        view = current_app.view_functions.get(self.endpoint) if current_app and self.endpoint else None
        limit = getattr(view, "max_body", None)
        return (limit() if callable(limit) else limit) or super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


class Response(flask.Response):
    """Text that slipped in before the edge was kept (a lone surrogate in stored JSON) still renders."""

    def set_data(self, value: bytes | str) -> None:
        super().set_data(value.encode("utf-8", "replace") if isinstance(value, str) else value)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def json_body() -> dict[str, Any]:
    """The request's JSON object, every string in it checked; 422 naming the body or the field."""
    if not request.is_json:
        raise Invalid({"body": "request body must be a JSON object"})
    try:
        body = json.loads(request.get_data(cache=True), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise Invalid({"body": "request body must be a JSON object"}) from None
    if not isinstance(body, dict):
        raise Invalid({"body": "request body must be a JSON object"})
    errors = _json_problems(body)
    if errors:
        raise Invalid(errors)
    return body


def _json_problems(body: dict[str, Any]) -> dict[str, str]:
    """{dotted path: message} for each string that cannot be kept; the walk is a loop, so no depth overflows."""
    errors: dict[str, str] = {}
    stack: list[tuple[Any, str, int]] = [(body, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return {"body": f"nested deeper than {MAX_JSON_DEPTH} levels"}
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            where = f"{path}.{key}" if path else str(key)
            problem = text_problem(key) if isinstance(key, str) else None
            problem = problem or (text_problem(item) if isinstance(item, str) else None)
            if problem:
                errors[_printable(where)] = _naming(where, problem)
            elif isinstance(item, (dict, list)):
                stack.append((item, where, depth + 1))
    return errors


def _printable(name: str) -> str:
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _naming(name: str, problem: str) -> str:
    """The message names its field, as the form checks do (「姓名」為必填), so a page can show it alone."""
    return f"「{_printable(name)}」{problem}"


def _pairs_problems(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    errors = {}
    for name, value in pairs:
        # A multipart part whose name header does not parse has no name at all (werkzeug gives None).
        name = name if isinstance(name, str) else ""
        problem = text_problem(name) or (text_problem(value) if isinstance(value, str) else None)
        if problem:
            errors[_printable(name)] = _naming(name, problem)
    return errors


def check_request_text() -> None:
    """Before any route: path values, the query string and form fields hold no text that cannot be kept."""
    pairs = [*(request.view_args or {}).items(), *request.args.items(multi=True)]
    if request.mimetype in FORM_TYPES:
        pairs += request.form.items(multi=True)
    errors = _pairs_problems(pairs)
    if errors:
        raise Invalid(errors)


def init_app(app) -> None:
    app.request_class = Request
    app.response_class = Response
    app.before_request(check_request_text)
