"""One mapping from errors to responses: problem+json for the API and the editor's scripts, pages for people.

The core raises its domain errors (``workflows.errors``; the engine's own are among them); HTTP errors come
from werkzeug (404 of an unknown URL, 413 of a large body, 400 of a bad CSRF token). Each becomes the same
status everywhere: 403, 404, 409, 422. A page that refuses a POST with a flash and a redirect says where
with ``@back_to``; anywhere else an error page is shown. Never a 500 for a person's input.
"""

from __future__ import annotations

from flask import Response, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from workflows.errors import Conflict, Forbidden, IncidentOpened, Invalid, NotFound, WorkflowError

from .i18n import _, _l, tr_message
from .refusals import paths_json, problems_json

# First match wins: the engine's stale-state error is a Conflict; an engine error on data falls through to 422.
STATUS = ((NotFound, 404), (Forbidden, 403), (Conflict, 409), (Invalid, 422), (WorkflowError, 422))
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
          409: "Conflict", 413: "Content Too Large", 422: "Unprocessable Content", 429: "Too Many Requests",
          500: "Internal Server Error"}
# The problem type of a step the engine failed on: rolled back, an incident opened, the administrators told.
INCIDENT_TYPE = "urn:webir:problem:incident"
PAGE_TITLES = {400: _l("無法處理這個請求"), 403: _l("沒有權限"), 404: _l("找不到這個頁面"), 405: _l("不支援這種操作"),
               409: _l("案件狀態已變更"), 413: _l("送出的內容過大"), 422: _l("輸入資料有誤")}


def problem(status: int, detail: str, **extra) -> Response:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def status_of(exc: WorkflowError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def back_to(endpoint: str):
    """Mark a page: a Conflict or Invalid from the core is flashed there (a redirect), not shown as an error page.

    Put it under ``@login_required`` so the mark is copied onto the registered view.
    """
    def mark(view):
        view.back_to = endpoint
        return view
    return mark


def wants_json() -> bool:
    return request.path.startswith("/api/") or (request.blueprint == "editor" and request.is_json)


def _domain_error(exc: WorkflowError):
    status = status_of(exc)
    if wants_json():
        extra: dict = {"errors": {k: tr_message(v) for k, v in exc.errors.items()}} if isinstance(exc, Invalid) else {}
        if hasattr(exc, "problems"):
            extra["problems"] = problems_json(exc.problems)
        if hasattr(exc, "paths"):  # a refused diagram: the simulated paths, for the editor's table
            extra["paths"] = paths_json(exc.paths)
        if isinstance(exc, IncidentOpened):
            extra.update(type=INCIDENT_TYPE, title="Incident recorded", incident=exc.incident_id,
                         application=exc.application_id)
        return problem(status, tr_message(str(exc)), **extra)
    message = _message(exc)
    target = _back_url() if isinstance(exc, (Conflict, Invalid)) else None
    if target:
        flash(message, "error")
        return redirect(target)
    return _page(status, message)


def _message(exc: WorkflowError) -> str:
    """In the UI language; an Invalid names each of its fields."""
    errors = exc.errors.values() if isinstance(exc, Invalid) and exc.errors else [str(exc)]
    return _("；").join(tr_message(message) for message in errors)


def _back_url() -> str | None:
    endpoint = getattr(current_app.view_functions.get(request.endpoint), "back_to", None)
    if endpoint is None:
        return None
    needs = next(current_app.url_map.iter_rules(endpoint)).arguments
    return url_for(endpoint, **{k: v for k, v in (request.view_args or {}).items() if k in needs})


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if exc.response is not None:  # raised with its own response: that is the answer
        return exc.response
    # A view may say why its body is too large in the reader's words (an upload names its limit).
    too_large = getattr(current_app.view_functions.get(request.endpoint), "too_large", None) if status == 413 else None
    reason = too_large() if too_large else None
    if wants_json():
        return problem(status, reason or exc.description or "")
    if status >= 500:
        return exc
    # werkzeug's stock descriptions are English boilerplate; only a reason given with abort() is shown.
    own = exc.description if exc.description != type(exc).description else None
    return _page(status, reason or own)


def _page(status: int, message: str | None):
    title = PAGE_TITLES.get(status) or _("無法處理這個請求")
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_handlers(app) -> None:
    app.register_error_handler(WorkflowError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
