"""Who holds a step: concrete people resolved from the lane's role and the application."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, or_, select, true
from sqlalchemy.orm import Session

from models import (
    AGENCY_STEP_ROLES,
    CITY_ROLES,
    COMMISSIONING_ROLES,
    UNIT_ROLES,
    Agency,
    Application,
    Delegation,
    Person,
    Role,
    RoleHolding,
)
from models.personal import Substitution


def _holder_ids(role: str, application: Application, on: date):
    """SELECT of the ids holding ``role`` for this application's unit, agency or city; None for no scope."""
    query = select(RoleHolding.person_id).where(RoleHolding.role == role, RoleHolding.valid_on(on))
    if role in UNIT_ROLES:
        return query.where(RoleHolding.unit_id == application.unit_id)
    if role in AGENCY_STEP_ROLES:
        return query.where(RoleHolding.agency_id == application.agency_id)
    if role in COMMISSIONING_ROLES:  # 004 §9: the agency that commissioned the applicant's office
        commissioning = select(Agency.commissioned_by_id).where(Agency.id == application.agency_id)
        return query.where(RoleHolding.agency_id == commissioning.scalar_subquery())
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
