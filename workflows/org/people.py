"""People as administrators keep them: add, change, and take out of service (left / retired) with their steps
handed to whoever now holds the role."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from models import Person, PersonStatus, RoleHolding, Unit

from .. import audit, validators
from ..access import require_admin
from ..calendar import local_date
from ..errors import Forbidden, Invalid, NotFound
from ..identity.sessions import end_sessions
from ..runtime.handover import hand_over_open_steps
from .agencies import ADMIN_ONLY, get_agency

STATUS_LABELS = {PersonStatus.ACTIVE: "在職", PersonStatus.LEFT: "離職", PersonStatus.RETIRED: "退休"}
# What a person record may carry, as the pages, the API and the import name it.
PERSON_FIELDS = ("username", "name", "title", "email", "staff_number")
# A flag beside them: staff of an outsourced vendor (委外廠商), whom some rules refuse WebIR use (002 §5(5)).
CONTRACTOR = "is_contractor"
_YES = {"1", "true", "on", "yes", "y", "是"}
_NO = {"", "0", "false", "off", "no", "n", "否"}
LIMITS = {"username": 60, "name": 60, "title": 60, "email": 120, "staff_number": 40}
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")


def get_person(session: Session, username: str) -> Person:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"沒有帳號 {username}")
    return person


def person_errors(session: Session, values: dict, person: Person | None = None,
                  taken=None) -> tuple[dict, dict[str, str]]:
    """Clean a person's fields; {field: message} for each that does not fit (also a taken username or number).

    ``taken(field, value, own_id)`` answers whether someone else holds a username or staff number; by default
    the database is asked.
    """
    clean, errors = {}, {}
    for field in PERSON_FIELDS:
        if field not in values:
            continue
        value = str(values[field] or "").strip() or None
        if value and (problem := validators.text_problem(value)):
            errors[field] = problem
        elif value and len(value) > LIMITS[field]:
            errors[field] = f"不可超過 {LIMITS[field]} 字"
        clean[field] = value
    if CONTRACTOR in values:
        flag = _flag(values[CONTRACTOR])
        if flag is None:
            errors[CONTRACTOR] = "請填「是」或「否」"
        clean[CONTRACTOR] = bool(flag)
    if person is None:
        for field in ("username", "name"):
            if not clean.get(field):
                errors.setdefault(field, "必填")
    if clean.get("username") and not set(clean["username"].lower()) <= USERNAME_CHARS:
        errors.setdefault("username", "帳號只能用英文字母、數字與 . _ -")
    if clean.get("username"):
        clean["username"] = clean["username"].lower()
    if clean.get("email") and "email" not in errors:
        try:
            clean["email"] = validators.email(clean["email"])
        except validators.FieldError as exc:
            errors["email"] = str(exc)
    _taken(session, clean, person, errors, taken)
    return clean, errors


def _flag(value) -> bool | None:
    """A yes/no as a checkbox, JSON or a spreadsheet cell gives it; None when it is neither."""
    if isinstance(value, bool) or value is None:
        return bool(value)
    text = str(value).strip().lower()
    return True if text in _YES else False if text in _NO else None


def _in_database(session: Session):
    def taken(field: str, value: str, own: int | None) -> bool:
        column = Person.username if field == "username" else Person.staff_number
        return session.scalar(select(Person.id).where(column == value, Person.id != (own or 0))) is not None
    return taken


def _taken(session: Session, clean: dict, person: Person | None, errors: dict[str, str], taken=None) -> None:
    taken = taken or _in_database(session)
    for field, label in (("username", "帳號"), ("staff_number", "員工編號")):
        value = clean.get(field)
        if value and field not in errors and taken(field, value, person.id if person else None):
            errors[field] = f"{label} {value} 已有人使用"


def _unit_of(session: Session, agency_id: int, unit_id: int | None) -> Unit | None:
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit_id and (unit is None or unit.agency_id != agency_id):
        raise Invalid({"unit": "單位須屬該機關"})
    return unit


def create_person(session: Session, *, values: dict, agency_code: str, unit_id: int | None,
                  password: str | None, actor: Person | None, now: datetime) -> Person:
    """Add a person to an agency (and unit); without a password they cannot log in until one is set."""
    require_admin(actor, ADMIN_ONLY)
    agency = get_agency(session, agency_code)
    clean, errors = person_errors(session, values)
    if password is not None and len(password) < 8:
        errors["password"] = "密碼至少 8 個字元"
    if errors:
        raise Invalid(errors)
    person = Person(**clean, agency=agency, unit=_unit_of(session, agency.id, unit_id),
                    password_hash=generate_password_hash(password or secrets.token_urlsafe(32)))
    session.add(person)
    session.flush()
    audit.record(session, "person_created", actor=actor, subject_type="person", subject_id=person.id, now=now,
                 **_payload(person))
    session.commit()
    return person


def _payload(person: Person) -> dict:
    return {"username": person.username, "name": person.name, "title": person.title, "email": person.email,
            "staff_number": person.staff_number, "agency": person.agency.code if person.agency else None,
            "unit": person.unit_id, "is_contractor": person.is_contractor}


def update_person(session: Session, username: str, *, values: dict, unit_id: int | None = None,
                  actor: Person | None, now: datetime) -> Person:
    """Change a person's name, title, e-mail, staff number or unit (within their agency)."""
    require_admin(actor, ADMIN_ONLY)
    person = get_person(session, username)
    clean, errors = person_errors(session, {k: v for k, v in values.items() if k != "username"}, person)
    if "name" in clean and not clean["name"]:
        errors["name"] = "必填"
    if errors:
        raise Invalid(errors)
    before = _payload(person)
    for field, value in clean.items():
        setattr(person, field, value)
    if unit_id is not None:
        person.unit = _unit_of(session, person.agency_id, unit_id)
    audit.record(session, "person_changed", actor=actor, subject_type="person", subject_id=person.id, now=now,
                 before=before, after=_payload(person))
    session.commit()
    return person


def parse_status(value) -> PersonStatus:
    by_label = {label: status for status, label in STATUS_LABELS.items()}
    value = str(value or "").strip()
    if value in by_label:
        return by_label[value]
    if value in set(PersonStatus):
        return PersonStatus(value)
    raise Invalid({"status": f"不明的狀態：{value}（在職、離職或退休）"})


def take_out_of_service(session: Session, person: Person, status: PersonStatus, on: date, *,
                        actor: Person | None, now: datetime) -> list[int]:
    """In the caller's transaction: refuse log-ins, end sessions, end roles, hand open steps on; the task ids."""
    person.active, person.status, person.status_on = False, status, on
    for holding in person.roles:
        if holding.valid_until is None or holding.valid_until > on:
            holding.valid_until = max(on, holding.valid_from) if holding.valid_from else on
    end_sessions(session, person)
    moved = hand_over_open_steps(session, person, reason=f"{person.name}已{STATUS_LABELS[status]}", now=now)
    audit.record(session, "person_deactivated", actor=actor, subject_type="person", subject_id=person.id, now=now,
                 status=status.value, status_on=on.isoformat(), tasks_moved=moved)
    return moved


def return_to_service(session: Session, person: Person, *, actor: Person | None, now: datetime) -> None:
    """In the caller's transaction: active again (roles are given anew, never revived)."""
    person.active, person.status, person.status_on = True, PersonStatus.ACTIVE, None
    audit.record(session, "person_reactivated", actor=actor, subject_type="person", subject_id=person.id, now=now)


def set_status(session: Session, username: str, *, status, on: date | None, actor: Person | None,
               now: datetime) -> list[int]:
    """Mark a person as left or retired (or active again); the ids of the open steps handed on."""
    require_admin(actor, ADMIN_ONLY)
    person = get_person(session, username)
    status = parse_status(status)
    if actor is not None and person.id == actor.id and status != PersonStatus.ACTIVE:
        raise Forbidden("不能停用自己的帳號")
    moved: list[int] = []
    if status == PersonStatus.ACTIVE:
        if not person.active:
            return_to_service(session, person, actor=actor, now=now)
    elif person.active or person.status != status:
        moved = take_out_of_service(session, person, status, on or local_date(now), actor=actor, now=now)
    session.commit()
    return moved


def set_password(session: Session, username: str, *, password: str, actor: Person | None, now: datetime) -> None:
    """An administrator sets a person's initial or new password; their sessions end."""
    require_admin(actor, ADMIN_ONLY)
    person = get_person(session, username)
    if len(password) < 8:
        raise Invalid({"password": "密碼至少 8 個字元"})
    person.set_password(password, changed_at=now)
    end_sessions(session, person)
    audit.record(session, "person_password_set", actor=actor, subject_type="person", subject_id=person.id, now=now)
    session.commit()


def holdings_of(session: Session, person: Person) -> list[RoleHolding]:
    return list(session.scalars(select(RoleHolding).where(RoleHolding.person_id == person.id)
                                .order_by(RoleHolding.id)))
