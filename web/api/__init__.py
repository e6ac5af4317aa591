"""JSON API v1: token authentication, problem+json errors."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from workflows.identity.passwords import change_own_password, password_expired
from workflows.identity.sessions import find_signed_in, log_out

from .. import clock
from ..auth import sign_in
from ..errors import problem
from ..extensions import db
from ..inputs import json_body

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PASSWORD_EXPIRED_TYPE = "urn:webir:problem:password-expired"
PASSWORD_FREE = {"api.password", "api.logout"}  # what a person whose password expired may still call


def _tokens() -> URLSafeTimedSerializer:
    """The token signer, built once per app and key (building one runs a trial serialisation every time)."""
    key = current_app.config["SECRET_KEY"]
    cached = current_app.extensions.get("webir_api_tokens")
    if cached is None or cached[0] != key:
        cached = current_app.extensions["webir_api_tokens"] = (key, URLSafeTimedSerializer(key, salt="api-token"))
    return cached[1]


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
        if request.endpoint not in PASSWORD_FREE and password_expired(person, clock.now()):
            return problem(403, "the password has expired (004 §7): change it with POST /api/v1/password first",
                           type=PASSWORD_EXPIRED_TYPE)
        return view(*args, **kwargs)
    return wrapper


@bp.post("/login")
def login():
    body = json_body()
    person = sign_in(str(body.get("username", "")), str(body.get("password", "")))
    if person is None:
        return problem(401, "wrong username or password")
    return jsonify(token=_tokens().dumps({"uid": person.id, "gen": person.session_generation}))


@bp.post("/password")
@token_required
def password():
    """Change one's own password; every earlier token and session ends, the answer carries a fresh token."""
    body = json_body()
    change_own_password(db.session, actor=g.actor, current=str(body.get("current_password", "")),
                        new=str(body.get("new_password", "")), now=clock.now())
    return jsonify(token=_tokens().dumps({"uid": g.actor.id, "gen": g.actor.session_generation}))


@bp.post("/logout")
@token_required
def logout():
    """End this person's API tokens and web sessions, on every device."""
    log_out(db.session, actor=g.actor, now=clock.now())
    return "", 204


from . import accounts, attachments, definitions, openapi, org, people, personal, query_logs, routes  # noqa: E402,F401  - routes attach to bp
