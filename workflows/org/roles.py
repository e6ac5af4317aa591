"""Role holdings with their dates, and delegates (授權人員) who sign for a head."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import CITY_ROLES, ROLE_LABELS, UNIT_ROLES, Delegation, Person, Role, RoleHolding, Unit

from .. import audit, jurisdiction, validators
from ..access import require_admin
from ..errors import Invalid, NotFound
from .agencies import ADMIN_ONLY, KIND_LABELS
from .people import get_person

# Roles held through the organisation; 申請人 is whoever files, 系統管理者 is a flag on the person.
GRANTABLE = tuple(r for r in Role if r not in (Role.APPLICANT, Role.ADMIN, Role.COMMISSIONING_HEAD,
                                              Role.MANAGER_UNIT_HEAD))
# Heads sign for their people; a delegate may sign in their place.
DELEGABLE = (Role.UNIT_HEAD, Role.AGENCY_HEAD, Role.AUTHORITY_SECTION_HEAD, Role.AUTHORITY_DIRECTOR,
             Role.CENTRAL_SECTION_HEAD, Role.CENTRAL_DIRECTOR)

# (key, label) for the pages' choices, in the active pack's words (filled in place when a pack is activated).
ROLE_CHOICES: list[tuple[str, str]] = []
DELEGABLE_CHOICES: list[tuple[str, str]] = []


def _relabel(_pack) -> None:
    ROLE_CHOICES[:] = [(r.value, ROLE_LABELS[r]) for r in GRANTABLE]
    DELEGABLE_CHOICES[:] = [(r.value, ROLE_LABELS[r]) for r in DELEGABLE]


jurisdiction.on_activate(_relabel)


def parse_role(value, field: str = "role") -> Role:
    by_label = {ROLE_LABELS[r]: r for r in GRANTABLE} | {"機關首長": Role.AGENCY_HEAD}
    value = str(value or "").strip()
    role = by_label.get(value) or (Role(value) if value in {r.value for r in GRANTABLE} else None)
    if role is None:
        raise Invalid({field: f"不明的角色：{value}"})
    return role


def parse_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(validators.iso_date(value))
    except validators.FieldError as exc:
        raise Invalid({field: str(exc)}) from None


def _agency_id(row) -> int:
    """The row's agency, also before a flush has filled in its column (a person an import is creating)."""
    return row.agency_id if row.agency_id is not None else row.agency.id


def role_problem(person: Person, role: Role, unit: Unit | None) -> str | None:
    """Why ``person`` cannot hold ``role`` (in ``unit``), or None."""
    if role in UNIT_ROLES and unit is None:
        return "單位主管須指定所屬單位"
    if unit is not None and _agency_id(unit) != _agency_id(person):
        return "單位須屬該人員的機關"
    kind = CITY_ROLES.get(role)
    if kind is not None and not person.agency.has_kind(kind):
        return f"{ROLE_LABELS[role]}須屬{KIND_LABELS[kind]}"
    return None


def grant_role(session: Session, username: str, *, role, unit_id: int | None = None, valid_from=None,
               valid_until=None, actor: Person | None, now: datetime) -> RoleHolding:
    """Give a person a role in their agency (unit roles: in a unit of it) from one date to another."""
    require_admin(actor, ADMIN_ONLY)
    person = get_person(session, username)
    role = parse_role(role)
    start, end = parse_date(valid_from, "valid_from"), parse_date(valid_until, "valid_until")
    if start and end and end < start:
        raise Invalid({"valid_until": "迄日不可早於起日"})
    unit = session.get(Unit, unit_id) if unit_id else (person.unit if role in UNIT_ROLES else None)
    if problem := role_problem(person, role, unit):
        raise Invalid({"role": problem})
    holding = RoleHolding(person=person, role=role.value, agency_id=person.agency_id,
                          unit_id=unit.id if unit and role in UNIT_ROLES else None, valid_from=start,
                          valid_until=end)
    session.add(holding)
    session.flush()
    audit.record(session, "role_granted", actor=actor, subject_type="role_holding", subject_id=holding.id, now=now,
                 person=person.username, role=role.value, unit=holding.unit_id,
                 valid_from=start.isoformat() if start else None, valid_until=end.isoformat() if end else None)
    session.commit()
    return holding


def end_role(session: Session, holding_id: int, *, on, actor: Person | None, now: datetime) -> RoleHolding:
    """End a role holding on a date (the last day it holds)."""
    require_admin(actor, ADMIN_ONLY)
    holding = session.get(RoleHolding, holding_id)
    if holding is None:
        raise NotFound(f"沒有角色紀錄 {holding_id}")
    end = parse_date(on, "valid_until")
    if end is None:
        raise Invalid({"valid_until": "必填"})
    if holding.valid_from and end < holding.valid_from:
        raise Invalid({"valid_until": "迄日不可早於起日"})
    holding.valid_until = end
    audit.record(session, "role_ended", actor=actor, subject_type="role_holding", subject_id=holding.id, now=now,
                 person=holding.person.username, role=holding.role, valid_until=end.isoformat())
    session.commit()
    return holding


def add_delegate(session: Session, principal: str, *, delegate: str, role, valid_from=None, valid_until=None,
                 actor: Person | None, now: datetime) -> Delegation:
    """Let ``delegate`` sign in place of the head ``principal`` for one head role."""
    require_admin(actor, ADMIN_ONLY)
    head, deputy = get_person(session, principal), get_person(session, str(delegate or ""))
    role = parse_role(role)
    errors: dict[str, str] = {}
    if role not in DELEGABLE:
        errors["role"] = "只有主管或首長的角色可以授權"
    elif deputy.id == head.id:
        errors["delegate"] = "授權人員不可為本人"
    elif deputy.agency_id != head.agency_id or not deputy.active:
        errors["delegate"] = "授權人員須為同機關的在職人員"
    elif session.scalar(select(Delegation.id).where(Delegation.principal_id == head.id,
                                                    Delegation.delegate_id == deputy.id, Delegation.role == role)):
        errors["delegate"] = "已有相同的授權"
    if errors:
        raise Invalid(errors)
    start, end = parse_date(valid_from, "valid_from"), parse_date(valid_until, "valid_until")
    delegation = Delegation(principal=head, delegate=deputy, role=role.value, valid_from=start, valid_until=end,
                            created_at=now)
    session.add(delegation)
    session.flush()
    audit.record(session, "delegation_created", actor=actor, subject_type="delegation", subject_id=delegation.id,
                 now=now, principal=head.username, delegate=deputy.username, role=role.value,
                 valid_from=start.isoformat() if start else None, valid_until=end.isoformat() if end else None)
    session.commit()
    return delegation


def end_delegate(session: Session, delegation_id: int, *, actor: Person | None, now: datetime) -> None:
    """Withdraw a delegation."""
    require_admin(actor, ADMIN_ONLY)
    delegation = session.get(Delegation, delegation_id)
    if delegation is None:
        raise NotFound(f"沒有授權紀錄 {delegation_id}")
    audit.record(session, "delegation_ended", actor=actor, subject_type="delegation", subject_id=delegation.id,
                 now=now, principal=delegation.principal.username, delegate=delegation.delegate.username,
                 role=delegation.role)
    session.delete(delegation)
    session.commit()
