"""The WebIR account roster of an agency as JSON."""

from __future__ import annotations

from flask import g, jsonify, request

from workflows.accounts.roster import get_roster

from .. import clock
from ..extensions import db
from . import bp, token_required


def _day(value):
    return value.isoformat() if value else None


@bp.get("/accounts")
@token_required
def accounts():
    roster = get_roster(db.session, g.actor, request.args.get("agency") or None, clock.now())
    return jsonify(agency={"code": roster.agency_code, "name": roster.agency_name}, accounts=[{
        "id": r.account_id, "username": r.username, "name": r.name, "unit": r.unit, "kind": r.kind,
        "egov_account": r.egov_account, "status": r.status, "effective_on": _day(r.effective_on),
        "valid_until": _day(r.valid_until), "disabled_on": _day(r.disabled_on), "application": r.application_id,
        "items": [{"code": i.code, "name": i.name, "since": _day(i.since), "application": i.application_id}
                  for i in r.items]} for r in roster.rows])
