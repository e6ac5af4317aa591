"""Who holds a step: concrete people resolved from the lane's role and the application."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, or_, select, true
from sqlalchemy.orm import Session

from models import (
    AGENCY_STEP_ROLES,
    CITY_ROLES,
    UNIT_ROLES,
    Agency,
    Application,
    Delegation,
    Person,
    Role,
    RoleHolding,
    Unit,
)
from models.personal import Substitution

from .. import agency_rules


def _holding(role: str, on: date):
    return select(RoleHolding.person_id).where(RoleHolding.role == role, RoleHolding.valid_on(on))


def _named(application: Application):
    """SELECT of the id of the person an application names in its ``querier`` field (003 附表4), in its agency."""
    username = (application.data or {}).get("querier") or ""
    return select(Person.id).where(Person.username == username, Person.agency_id == application.agency_id)


def _responsible_unit(application: Application):
    """SELECT of the commissioning agency's responsible unit (003 §5 ¶3) for an application of the agency it
    commissions; the unit is the commissioning agency's layer setting ``responsible_unit``."""
    commissioning = application.agency.commissioned_by
    name = agency_rules.setting(commissioning.code if commissioning else None, "responsible_unit")
    return select(Unit.id).where(Unit.agency_id == (commissioning.id if commissioning else None), Unit.name == name)


def _lane_holder_ids(role: str, application: Application, on: date):
    """The lanes an agency layer adds (``agency_rules.LANE_ROLES``), resolved from the application."""
    unit_head = _holding(Role.UNIT_HEAD, on)
    if role == "manager_unit_head":  # 權限管理單位主管: the head of the unit of the agency's manager (003 附表1)
        managers = select(RoleHolding.unit_id).where(RoleHolding.role == Role.AGENCY_MANAGER, RoleHolding.valid_on(on),
                                                     RoleHolding.agency_id == application.agency_id)
        return unit_head.where(RoleHolding.unit_id.in_(managers))
    if role == "responsible_querier":
        return _holding(Role.QUERIER, on).where(RoleHolding.unit_id.in_(_responsible_unit(application)))
    if role == "responsible_unit_head":
        return unit_head.where(RoleHolding.unit_id.in_(_responsible_unit(application)))
    if role == "audited_querier":
        return _named(application)
    if role == "audited_unit_head":
        units = select(Person.unit_id).where(Person.id.in_(_named(application)))
        return unit_head.where(RoleHolding.unit_id.in_(units))
    return None


def _holder_ids(role: str, application: Application, on: date):
    """SELECT of the ids holding ``role`` for this application's unit, agency or city; None for no scope."""
    if role in agency_rules.LANE_ROLES:
        return _lane_holder_ids(role, application, on)
    query = _holding(role, on)
    if role in UNIT_ROLES:
        return query.where(RoleHolding.unit_id == application.unit_id)
    if role in AGENCY_STEP_ROLES:
        return query.where(RoleHolding.agency_id == application.agency_id)
    if role in CITY_ROLES:
        return query.join(Agency, Agency.id == RoleHolding.agency_id).where(
            Agency.has_kind(CITY_ROLES[Role(role)]), Agency.city == application.agency.city)
    return None


def role_holders(session: Session, role: str, application: Application, on: date) -> list[Person]:
    """The people holding ``role`` for this application's unit, agency or city."""
    holders = _holder_ids(role, application, on)
    if holders is None:
        return []
    return list(session.scalars(select(Person).where(Person.id.in_(holders), Person.active.is_(True))
                                .order_by(Person.id)))


def delegates_of(session: Session, principals: list[Person], role: str, on: date) -> list[Person]:
    if not principals:
        return []
    query = select(Person).join(Delegation, Delegation.delegate_id == Person.id).where(
        Delegation.principal_id.in_([p.id for p in principals]), Delegation.role == role,
        Person.active.is_(True), Delegation.valid_on(on))
    return list(session.scalars(query.order_by(Person.id)).unique())


def leave_substitutes_of(holders, on: date):
    """SELECT of the ids standing in for any of ``holders`` on ``on`` as their leave substitute (代理人)."""
    return select(Substitution.substitute_id).where(Substitution.principal_id.in_(holders), Substitution.valid_on(on))


def _candidates(role: str | None, application: Application, on: date):
    """SELECT of everyone who may complete a step in ``role``, holders first; None when the role has no scope."""
    holders = _holder_ids(role or "", application, on)
    if holders is None:
        return None
    delegates = select(Delegation.delegate_id).where(
        Delegation.principal_id.in_(holders), Delegation.role == role, Delegation.valid_on(on))
    # One query for a step's people: the holders first, then their delegates (授權人員) and leave substitutes.
    is_delegate = case((Person.id.in_(holders), 0), else_=1)
    return select(Person).where(
        or_(Person.id.in_(holders), Person.id.in_(delegates), Person.id.in_(leave_substitutes_of(holders, on))),
        Person.active.is_(True),
        Person.id != application.applicant_id if application.applicant_id else true()).order_by(is_delegate, Person.id)


def resolve_candidates(session: Session, role: str | None, application: Application, on: date) -> list[Person]:
    """Everyone who may complete a step in ``role``; never the applicant, except on their own amend step."""
    if role == Role.APPLICANT:
        return [application.applicant]
    query = _candidates(role, application, on)
    return [] if query is None else list(session.scalars(query))


def may_hold(session: Session, role: str | None, application: Application, person: Person, on: date) -> bool:
    """Whether ``person`` is one of the people ``resolve_candidates`` gives for this step today."""
    if role == Role.APPLICANT:
        return person.id == application.applicant_id
    query = _candidates(role, application, on)
    return query is not None and session.scalar(query.where(Person.id == person.id).limit(1)) is not None
