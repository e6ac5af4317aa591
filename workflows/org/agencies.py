"""Agencies (with one or more kinds) and the unit tree inside each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Agency, AgencyKind, Person, Unit

from .. import audit, jurisdiction
from ..access import require_admin
from ..errors import Invalid, NotFound

ADMIN_ONLY = "只有系統管理者可以管理組織資料"
KIND_LABELS = jurisdiction.KIND_LABELS  # the active pack's names of the agency kinds (filled in place)


def get_agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"沒有機關代碼 {code}")
    return agency


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"沒有單位 {unit_id}")
    return unit


def parse_kinds(kinds) -> set[AgencyKind]:
    """The kinds named (keys or Chinese labels); at least one, each known."""
    by_label = {label: kind for kind, label in KIND_LABELS.items()}
    out = set()
    for value in kinds or ():
        value = str(value).strip()
        kind = by_label.get(value) or (AgencyKind(value) if value in set(AgencyKind) else None)
        if kind is None:
            raise Invalid({"kinds": f"不明的機關類別：{value}"})
        out.add(kind)
    if not out:
        raise Invalid({"kinds": "請至少選一種機關類別"})
    return out


def _text(errors: dict, field: str, value, label: str, limit: int) -> str:
    value = str(value or "").strip()
    if not value:
        errors[field] = f"{label}為必填"
    elif len(value) > limit:
        errors[field] = f"{label}不可超過 {limit} 字"
    return value


def create_agency(session: Session, *, code: str, name: str, kinds, city: str, actor: Person | None,
                  now: datetime) -> Agency:
    """Add an agency of one or more kinds."""
    require_admin(actor, ADMIN_ONLY)
    errors: dict[str, str] = {}
    code, name, city = _text(errors, "code", code, "機關代碼", 40), _text(errors, "name", name, "機關名稱", 100), \
        _text(errors, "city", city, "縣市", 40)
    if not errors and session.scalar(select(Agency.id).where(Agency.code == code)):
        errors["code"] = f"機關代碼 {code} 已存在"
    if errors:
        raise Invalid(errors)
    agency = Agency(code=code, name=name, kinds=parse_kinds(kinds), city=city)
    session.add(agency)
    session.flush()
    audit.record(session, "agency_created", actor=actor, subject_type="agency", subject_id=agency.id, now=now,
                 code=code, name=name, kinds=sorted(agency.kinds), city=city)
    session.commit()
    return agency


def update_agency(session: Session, code: str, *, name: str | None = None, kinds=None, actor: Person | None,
                  now: datetime) -> Agency:
    """Rename an agency or change its kinds."""
    require_admin(actor, ADMIN_ONLY)
    agency = get_agency(session, code)
    before = {"name": agency.name, "kinds": sorted(agency.kinds)}
    if name is not None:
        errors: dict[str, str] = {}
        agency.name = _text(errors, "name", name, "機關名稱", 100)
        if errors:
            raise Invalid(errors)
    if kinds is not None:
        agency.kinds = parse_kinds(kinds)
    audit.record(session, "agency_changed", actor=actor, subject_type="agency", subject_id=agency.id, now=now,
                 before=before, after={"name": agency.name, "kinds": sorted(agency.kinds)})
    session.commit()
    return agency


def create_unit(session: Session, *, agency_code: str, name: str, parent_id: int | None, actor: Person | None,
                now: datetime) -> Unit:
    """Add a unit inside an agency, optionally under another unit of the same agency."""
    require_admin(actor, ADMIN_ONLY)
    agency = get_agency(session, agency_code)
    errors: dict[str, str] = {}
    name = _text(errors, "name", name, "單位名稱", 100)
    parent = session.get(Unit, parent_id) if parent_id else None
    if parent_id and (parent is None or parent.agency_id != agency.id):
        errors["parent"] = "上層單位須屬同一機關"
    if not errors and any(u.name == name and u.parent_id == parent_id for u in agency.units):
        errors["name"] = f"{agency.name}已有單位 {name}"
    if errors:
        raise Invalid(errors)
    unit = Unit(agency=agency, name=name, parent=parent)
    session.add(unit)
    session.flush()
    audit.record(session, "unit_created", actor=actor, subject_type="unit", subject_id=unit.id, now=now,
                 agency=agency.code, name=name, parent=parent_id)
    session.commit()
    return unit


def move_unit(session: Session, unit_id: int, *, name: str | None, parent_id: int | None, actor: Person | None,
              now: datetime) -> Unit:
    """Rename a unit or hang it under another unit of its agency (never under itself or its own sub-units)."""
    require_admin(actor, ADMIN_ONLY)
    unit = get_unit(session, unit_id)
    before = {"name": unit.name, "parent": unit.parent_id}
    errors: dict[str, str] = {}
    if name is not None:
        unit.name = _text(errors, "name", name, "單位名稱", 100)
    parent = session.get(Unit, parent_id) if parent_id else None
    if parent_id and (parent is None or parent.agency_id != unit.agency_id):
        errors["parent"] = "上層單位須屬同一機關"
    ancestor = parent
    while ancestor is not None and "parent" not in errors:
        if ancestor.id == unit.id:
            errors["parent"] = "上層單位不可為本單位或其下層單位"
        ancestor = ancestor.parent
    if errors:
        raise Invalid(errors)
    unit.parent = parent
    audit.record(session, "unit_changed", actor=actor, subject_type="unit", subject_id=unit.id, now=now,
                 before=before, after={"name": unit.name, "parent": parent_id})
    session.commit()
    return unit
