"""Organisation administration as JSON (administrators): agencies, units, people, roles, delegates, import."""

from __future__ import annotations

from flask import g, jsonify, request

from workflows.access import require_admin
from workflows.calendar import local_date
from workflows.errors import Invalid
from workflows.org import agencies, people, reads, roles
from workflows.org.agencies import ADMIN_ONLY
from workflows.org.imports import import_people
from workflows.oversight.bases import list_bases
from workflows.validators import FieldError, integer

from .. import clock
from ..extensions import db
from ..inputs import body_limit, json_body
from . import bp, token_required

MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _id(body: dict, name: str) -> int | None:
    """An optional id from the body: a whole number, or nothing."""
    value = body.get(name)
    if value in (None, ""):
        return None
    try:
        if isinstance(value, bool):
            raise FieldError("請輸入整數")
        return integer(value)
    except FieldError as exc:
        raise Invalid({name: str(exc)}) from None


def _text(body: dict, name: str) -> str | None:
    value = body.get(name)
    return None if value is None else str(value)


def _list(body: dict, name: str) -> list:
    value = body.get(name)
    return value if isinstance(value, list) else [] if value is None else [value]


def _agency(row: reads.AgencyRow) -> dict:
    return {"code": row.code, "name": row.name, "city": row.city, "kinds": list(row.kinds), "people": row.people,
            "units": [{"id": u.id, "name": u.name, "parent": u.parent_id, "path": u.path} for u in row.units]}


def _day(value) -> str | None:
    return value.isoformat() if value else None


def _person(row: reads.PersonRow) -> dict:
    return {"username": row.username, "name": row.name, "title": row.title, "email": row.email,
            "staff_number": row.staff_number, "agency": row.agency, "unit": row.unit_id, "unit_name": row.unit,
            "status": row.status, "status_on": _day(row.status_on), "active": row.active,
            "is_contractor": row.is_contractor,
            "roles": [{"id": h.id, "role": h.role, "unit": h.unit, "valid_from": _day(h.valid_from),
                       "valid_to": _day(h.valid_until), "current": h.current} for h in row.roles],
            "delegates": [{"id": d.id, "delegate": d.delegate, "role": d.role, "valid_from": _day(d.valid_from),
                           "valid_to": _day(d.valid_until)} for d in row.delegates]}


def _person_json(username: str):
    return jsonify(_person(reads.get_person_row(db.session, username, today=local_date(clock.now()),
                                                actor=g.actor)))


@bp.get("/org/agencies")
@token_required
def org_agencies():
    return jsonify([_agency(a) for a in reads.list_agencies(db.session, actor=g.actor)])


@bp.post("/org/agencies")
@token_required
def org_create_agency():
    body = json_body()
    agency = agencies.create_agency(db.session, code=_text(body, "code"), name=_text(body, "name"),
                                    kinds=_list(body, "kinds"), city=_text(body, "city"), actor=g.actor,
                                    now=clock.now())
    return jsonify(_agency(reads.get_agency_row(db.session, agency.code, actor=g.actor))), 201


@bp.get("/org/agencies/<code>")
@token_required
def org_agency(code: str):
    row = _agency(reads.get_agency_row(db.session, code, actor=g.actor))
    row["legal_bases"] = [{"id": b.id, "statute": b.statute, "purpose": b.purpose, "active": b.active,
                           "admission": b.admission_id} for b in list_bases(db.session, code)]
    return jsonify(row)


@bp.patch("/org/agencies/<code>")
@token_required
def org_update_agency(code: str):
    body = json_body()
    agencies.update_agency(db.session, code, name=_text(body, "name"),
                           kinds=_list(body, "kinds") if "kinds" in body else None, actor=g.actor, now=clock.now())
    return jsonify(_agency(reads.get_agency_row(db.session, code, actor=g.actor)))


@bp.post("/org/agencies/<code>/units")
@token_required
def org_create_unit(code: str):
    body = json_body()
    unit = agencies.create_unit(db.session, agency_code=code, name=_text(body, "name"), parent_id=_id(body, "parent"),
                                actor=g.actor, now=clock.now())
    return jsonify(id=unit.id, name=unit.name, parent=unit.parent_id, agency=code), 201


@bp.patch("/org/units/<int:unit_id>")
@token_required
def org_update_unit(unit_id: int):
    body = json_body()
    unit = agencies.move_unit(db.session, unit_id, name=_text(body, "name"), parent_id=_id(body, "parent"),
                              actor=g.actor, now=clock.now())
    return jsonify(id=unit.id, name=unit.name, parent=unit.parent_id, agency=unit.agency.code)


@bp.get("/org/people")
@token_required
def org_people():
    rows = reads.list_people(db.session, agency_code=request.args.get("agency") or None,
                             today=local_date(clock.now()), actor=g.actor)
    return jsonify([_person(p) for p in rows])


def _person_values(body: dict, keys) -> dict:
    """A person's text fields from the body, and whether they are a contractor when the body says."""
    values = {k: _text(body, k) for k in keys}
    if people.CONTRACTOR in body:
        values[people.CONTRACTOR] = body[people.CONTRACTOR]
    return values


@bp.post("/org/people")
@token_required
def org_create_person():
    body = json_body()
    person = people.create_person(db.session, values=_person_values(body, people.PERSON_FIELDS),
                                  agency_code=_text(body, "agency") or "", unit_id=_id(body, "unit"),
                                  password=_text(body, "password"), actor=g.actor, now=clock.now())
    return _person_json(person.username), 201


@bp.get("/org/people/<username>")
@token_required
def org_person(username: str):
    return _person_json(username)


@bp.patch("/org/people/<username>")
@token_required
def org_update_person(username: str):
    body = json_body()
    changed = [k for k in people.PERSON_FIELDS if k in body and k != "username"]
    people.update_person(db.session, username, values=_person_values(body, changed),
                         unit_id=_id(body, "unit"), actor=g.actor, now=clock.now())
    return _person_json(username)


@bp.post("/org/people/<username>/status")
@token_required
def org_person_status(username: str):
    body = json_body()
    moved = people.set_status(db.session, username, status=_text(body, "status"),
                              on=roles.parse_date(_text(body, "on"), "on"), actor=g.actor, now=clock.now())
    row = reads.get_person_row(db.session, username, today=local_date(clock.now()), actor=g.actor)
    return jsonify({**_person(row), "tasks_moved": moved})


@bp.post("/org/people/<username>/roles")
@token_required
def org_grant_role(username: str):
    body = json_body()
    holding = roles.grant_role(db.session, username, role=_text(body, "role"), unit_id=_id(body, "unit"),
                               valid_from=_text(body, "valid_from"), valid_until=_text(body, "valid_to"),
                               actor=g.actor, now=clock.now())
    return jsonify(id=holding.id, role=holding.role, unit=holding.unit_id, valid_from=_day(holding.valid_from),
                   valid_to=_day(holding.valid_until)), 201


@bp.post("/org/roles/<int:holding_id>/end")
@token_required
def org_end_role(holding_id: int):
    body = json_body()
    holding = roles.end_role(db.session, holding_id, on=_text(body, "on"), actor=g.actor, now=clock.now())
    return jsonify(id=holding.id, role=holding.role, unit=holding.unit_id, valid_from=_day(holding.valid_from),
                   valid_to=_day(holding.valid_until))


@bp.post("/org/people/<username>/delegates")
@token_required
def org_add_delegate(username: str):
    body = json_body()
    delegation = roles.add_delegate(db.session, username, delegate=_text(body, "delegate"), role=_text(body, "role"),
                                    valid_from=_text(body, "valid_from"), valid_until=_text(body, "valid_to"),
                                    actor=g.actor, now=clock.now())
    return jsonify(id=delegation.id, delegate=delegation.delegate.username, role=delegation.role,
                   valid_from=_day(delegation.valid_from), valid_to=_day(delegation.valid_until)), 201


@bp.delete("/org/delegations/<int:delegation_id>")
@token_required
def org_end_delegate(delegation_id: int):
    roles.end_delegate(db.session, delegation_id, actor=g.actor, now=clock.now())
    return "", 204


@bp.post("/org/import")
@token_required
@body_limit(MAX_IMPORT_BYTES)
def org_import():
    """The file is the body (text/csv or .xlsx); ?dry_run=1 previews; a file with errors applies nothing (422)."""
    require_admin(g.actor, ADMIN_ONLY)  # before reading a possibly large body
    report = import_people(db.session, request.get_data(cache=False), dry_run=_flag("dry_run"),
                           deactivate_missing=_flag("deactivate_missing"), actor=g.actor, now=clock.now())
    return jsonify(report.as_dict()), 422 if report.errors else 200


def _flag(name: str) -> bool:
    return request.args.get(name, "0").lower() in ("1", "true", "yes")
