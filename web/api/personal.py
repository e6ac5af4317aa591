"""A person's leave substitute (代理人)."""

from __future__ import annotations

from flask import g, jsonify

from workflows.personal.substitutes import end_substitute, find_substitute, get_person, set_substitute

from .. import clock
from ..extensions import db
from ..inputs import json_body
from . import bp, token_required


@bp.put("/people/<username>/substitute")
@token_required
def put_substitute(username: str):
    body = json_body()
    set_substitute(db.session, username=username, substitute=str(body.get("substitute") or ""),
                   valid_from=str(body.get("from") or ""), valid_until=str(body.get("to") or ""), actor=g.actor,
                   now=clock.now())
    view = find_substitute(db.session, get_person(db.session, username), clock.now())
    return jsonify(person=view.principal, substitute=view.substitute, **{
        "from": view.valid_from.isoformat(), "to": view.valid_until.isoformat()})


@bp.delete("/people/<username>/substitute")
@token_required
def delete_substitute(username: str):
    end_substitute(db.session, username=username, actor=g.actor, now=clock.now())
    return "", 204
