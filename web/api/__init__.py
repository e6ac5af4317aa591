"""JSON API v1: token authentication, problem+json errors."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from models import Person

from ..auth import find_person
from ..errors import problem
from ..extensions import db
from ..inputs import json_body

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _tokens() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="api-token")


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return problem(401, "send Authorization: Bearer <token> from POST /api/v1/login")
        try:
            person_id = _tokens().loads(header[7:], max_age=current_app.config["API_TOKEN_MAX_AGE"])["uid"]
        except (BadSignature, KeyError, TypeError):
            return problem(401, "token invalid or expired")
        person = db.session.get(Person, person_id)
        if person is None or not person.active:
            return problem(401, "account disabled")
        g.actor = person
        return view(*args, **kwargs)
    return wrapper


@bp.post("/login")
def login():
    body = json_body()
    person = find_person(str(body.get("username", "")), str(body.get("password", "")))
    if person is None:
        return problem(401, "wrong username or password")
    return jsonify(token=_tokens().dumps({"uid": person.id}))


from . import definitions, openapi, routes  # noqa: E402,F401  - routes attach to bp
