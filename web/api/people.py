"""Administrators: lift a log-in lockout, deactivate a person."""

from __future__ import annotations

from flask import g, jsonify

from workflows.identity.people import deactivate_person, unlock_person

from .. import clock
from ..extensions import db
from . import bp, token_required


@bp.post("/people/<username>/unlock")
@token_required
def unlock(username: str):
    person = unlock_person(db.session, username, actor=g.actor, now=clock.now())
    return jsonify(username=person.username, active=person.active, locked_until=None)


@bp.post("/people/<username>/deactivate")
@token_required
def deactivate(username: str):
    person = deactivate_person(db.session, username, actor=g.actor, now=clock.now())
    return jsonify(username=person.username, active=person.active,
                   locked_until=person.locked_until.isoformat() if person.locked_until else None)
