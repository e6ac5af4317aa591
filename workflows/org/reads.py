"""What the organisation pages and the API show, as small dataclasses (administrators only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import ROLE_LABELS, Agency, Delegation, Person, RoleHolding, Unit

from ..access import require_admin
from .agencies import ADMIN_ONLY, KIND_LABELS, get_agency
from .people import STATUS_LABELS, get_person


@dataclass(frozen=True)
class UnitRow:
    id: int
    name: str
    parent_id: int | None
    depth: int
    path: str


@dataclass(frozen=True)
class AgencyRow:
    code: str
    name: str
    city: str
    kinds: tuple[str, ...]
    kind_labels: tuple[str, ...]
    units: tuple[UnitRow, ...]
    people: int


@dataclass(frozen=True)
class HoldingRow:
    id: int
    role: str
    label: str
    unit: str | None
    valid_from: date | None
    valid_until: date | None
    current: bool


@dataclass(frozen=True)
class DelegationRow:
    id: int
    principal: str
    delegate: str
    delegate_name: str
    role: str
    label: str
    valid_from: date | None
    valid_until: date | None


@dataclass(frozen=True)
class PersonRow:
    username: str
    name: str
    title: str | None
    email: str | None
    staff_number: str | None
    agency: str
    agency_name: str
    unit_id: int | None
    unit: str | None
    status: str
    status_label: str
    status_on: date | None
    active: bool
    roles: tuple[HoldingRow, ...]
    delegates: tuple[DelegationRow, ...] = ()
    is_contractor: bool = False  # 委外廠商人員 (002 §5(5))


def unit_tree(units: list[Unit]) -> tuple[UnitRow, ...]:
    """The units in tree order (each under its parent), with their depth and path."""
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    known = {u.id for u in units}
    out: list[UnitRow] = []

    def walk(parent_id, depth, path):
        for unit in children.get(parent_id, []):
            here = f"{path}/{unit.name}" if path else unit.name
            out.append(UnitRow(unit.id, unit.name, unit.parent_id, depth, here))
            walk(unit.id, depth + 1, here)
    walk(None, 0, "")
    for unit in units:  # a parent outside the agency would hide a unit: show it at the top instead
        if unit.parent_id is not None and unit.parent_id not in known:
            out.append(UnitRow(unit.id, unit.name, unit.parent_id, 0, unit.name))
    return tuple(out)


def _agency_row(agency: Agency, people: int) -> AgencyRow:
    kinds = tuple(sorted(agency.kinds))
    return AgencyRow(agency.code, agency.name, agency.city, tuple(k.value for k in kinds),
                     tuple(KIND_LABELS[k] for k in kinds), unit_tree(list(agency.units)), people)


def list_agencies(session: Session, *, actor: Person | None) -> list[AgencyRow]:
    require_admin(actor, ADMIN_ONLY)
    counts: dict[int, int] = {}
    for agency_id in session.scalars(select(Person.agency_id).where(Person.active.is_(True))):
        counts[agency_id] = counts.get(agency_id, 0) + 1
    agencies = session.scalars(select(Agency).options(selectinload(Agency.units)).order_by(Agency.code))
    return [_agency_row(a, counts.get(a.id, 0)) for a in agencies]


def get_agency_row(session: Session, code: str, *, actor: Person | None) -> AgencyRow:
    require_admin(actor, ADMIN_ONLY)
    agency = get_agency(session, code)
    people = len(session.scalars(select(Person.id).where(Person.agency_id == agency.id,
                                                         Person.active.is_(True))).all())
    return _agency_row(agency, people)


def _holding(h: RoleHolding, today: date) -> HoldingRow:
    return HoldingRow(h.id, h.role, ROLE_LABELS.get(h.role, h.role), h.unit.name if h.unit else None, h.valid_from,
                      h.valid_until, h.valid_on(today))


def _delegation(d: Delegation) -> DelegationRow:
    return DelegationRow(d.id, d.principal.username, d.delegate.username, d.delegate.name, d.role,
                         ROLE_LABELS.get(d.role, d.role), d.valid_from, d.valid_until)


def _person_row(session: Session, p: Person, today: date, with_delegates: bool = False) -> PersonRow:
    delegates: tuple[DelegationRow, ...] = ()
    if with_delegates:
        delegates = tuple(_delegation(d) for d in session.scalars(
            select(Delegation).where(Delegation.principal_id == p.id).order_by(Delegation.id)))
    return PersonRow(p.username, p.name, p.title, p.email, p.staff_number, p.agency.code, p.agency.name, p.unit_id,
                     p.unit.name if p.unit else None, p.status.value, STATUS_LABELS[p.status], p.status_on, p.active,
                     tuple(_holding(h, today) for h in sorted(p.roles, key=lambda h: h.id)), delegates,
                     p.is_contractor)


def list_people(session: Session, *, agency_code: str | None, today: date, actor: Person | None) -> list[PersonRow]:
    """People of one agency (or all), by unit and name."""
    require_admin(actor, ADMIN_ONLY)
    query = select(Person).options(selectinload(Person.roles).selectinload(RoleHolding.unit),
                                   selectinload(Person.unit), selectinload(Person.agency))
    if agency_code:
        query = query.where(Person.agency_id == get_agency(session, agency_code).id)
    return [_person_row(session, p, today) for p in session.scalars(query.order_by(Person.agency_id, Person.unit_id,
                                                                                   Person.username))]


def get_person_row(session: Session, username: str, *, today: date, actor: Person | None) -> PersonRow:
    require_admin(actor, ADMIN_ONLY)
    return _person_row(session, get_person(session, username), today, with_delegates=True)


# The import's own columns, so that an exported file imported again changes nothing.
EXPORT_HEADER = ("帳號", "姓名", "職稱", "電子郵件", "員工編號", "機關代碼", "單位", "角色", "狀態", "離職日")


def export_people(session: Session, agency_code: str, *, today: date, actor: Person | None) -> list[list[str]]:
    """An agency's people in the import's format: the header, then one row a person (roles by key, 、-separated)."""
    require_admin(actor, ADMIN_ONLY)
    paths = {u.id: u.path for u in get_agency_row(session, agency_code, actor=actor).units}
    rows = [list(EXPORT_HEADER)]
    for p in list_people(session, agency_code=agency_code, today=today, actor=actor):
        roles = [h.role for h in p.roles if h.role != "admin" and (h.valid_until is None or h.valid_until >= today)]
        rows.append([p.username, p.name, p.title or "", p.email or "", p.staff_number or "", p.agency,
                     paths.get(p.unit_id, ""), "、".join(roles), p.status_label,
                     p.status_on.isoformat() if p.status_on else ""])
    return rows
