"""JSON API v1: token authentication, problem+json errors."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from workflows.errors import Conflict, Forbidden, Invalid, NotFound, WorkflowError
from workflows.identity.sessions import find_signed_in, log_out

from .. import clock
from ..auth import sign_in
from ..extensions import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")

_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           409: "Conflict", 413: "Content Too Large", 422: "Unprocessable Content", 429: "Too Many Requests"}


def problem(status: int, detail: str, **extra):
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "detail": detail, **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return problem(401, "send Authorization: Bearer <token> from POST /api/v1/login")
        try:
            claims = _tokens().loads(header[7:], max_age=current_app.config["API_TOKEN_MAX_AGE"])
            person_id, generation = claims["uid"], claims["gen"]
        except (BadSignature, KeyError, TypeError):
            return problem(401, "token invalid or expired")
        # Log-out and deactivation bump the person's generation: every token issued before is refused.
        person = find_signed_in(db.session, person_id, generation)
        if person is None:
            return problem(401, "token revoked (logged out) or account disabled")
        g.actor = person
        return view(*args, **kwargs)
    return wrapper


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid({"body": "request body must be a JSON object"})
    return body


@bp.errorhandler(WorkflowError)
def _workflow_error(exc: WorkflowError):
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    extra = {"errors": exc.errors} if isinstance(exc, Invalid) else {}
    return problem(status, str(exc), **extra)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return problem(exc.code or 500, exc.description or "")


@bp.post("/login")
def login():
    body = json_body()
    person = sign_in(str(body.get("username", "")), str(body.get("password", "")))
    if person is None:
        return problem(401, "wrong username or password")
    return jsonify(token=_tokens().dumps({"uid": person.id, "gen": person.session_generation}))


@bp.post("/logout")
@token_required
def logout():
    """End this person's API tokens and web sessions, on every device."""
    log_out(db.session, actor=g.actor, now=clock.now())
    return "", 204


from . import definitions, openapi, people, routes  # noqa: E402,F401  - routes attach to bp
