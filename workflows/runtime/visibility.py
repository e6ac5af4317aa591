"""Who may see an application, from the roles a person holds today.

Visibility is enforced in the query, so no page, export or API can forget it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from models import (
    AGENCY_ROLES,
    CITY_WIDE_VIEWERS,
    COMMISSIONING_ROLES,
    UNIT_ROLES,
    Agency,
    Application,
    Delegation,
    HumanTask,
    Person,
    Role,
    RoleHolding,
    TaskCandidate,
)

from ..errors import Forbidden


def visible_to(session: Session, person: Person, on: date):
    """SQL condition: applications this person may see, from the roles they hold today (and the ones filed for
    them as the 需要資料者, 003 §5 ¶2)."""
    if person.is_admin:
        return true()
    involved = select(HumanTask.application_id).join(TaskCandidate).where(TaskCandidate.person_id == person.id)
    conditions = [Application.applicant_id == person.id, Application.requester_id == person.id,
                  Application.id.in_(involved)]
    for h in holdings_on(session, person, on):
        if h.role in UNIT_ROLES and h.unit_id:
            conditions.append(Application.unit_id == h.unit_id)
        elif h.role in AGENCY_ROLES:
            conditions.append(Application.agency_id == h.agency_id)
            # A commissioning agency reviews and audits what its commissioned agencies do for it (002 §4).
            conditions.append(Application.agency_id.in_(select(Agency.id).where(
                Agency.commissioned_by_id == h.agency_id)))
        elif h.role in CITY_WIDE_VIEWERS:
            city = select(Agency.id).where(Agency.city == h.agency.city)
            conditions.append(Application.agency_id.in_(city))
        elif h.role in COMMISSIONING_ROLES:  # 004 §9: the offices this agency commissioned
            conditions.append(Application.agency_id.in_(_commissioned_by(h.agency_id)))
    return or_(*conditions)


def _commissioned_by(agency_id: int):
    """SELECT of the agencies (district offices) whose queries ``agency_id`` commissioned (004 §9)."""
    return select(Agency.id).where(Agency.commissioned_by_id == agency_id)


def audited_agencies(session: Session, person: Person, on: date):
    """SELECT of the agency ids whose audit records this person reads; None for all records (administrators).

    Auditors read their own agency's; 勞工局 and 資訊處 staff their whole city, as they see its applications.
    Anyone else may not read audit records at all.
    """
    if person.is_admin:
        return None
    agencies, cities = _audit_scope(session, person, on)
    if not agencies and not cities:
        raise Forbidden("只有系統管理者、查核人員及權責、總管理機關人員可以查閱稽核紀錄")
    return select(Agency.id).where(or_(Agency.id.in_(agencies), Agency.commissioned_by_id.in_(agencies),
                                       Agency.city.in_(cities)))


def reads_audit_trail(session: Session, person: Person, on: date,
                      holdings: list[RoleHolding] | None = None) -> bool:
    """Whether this person reads any audit records (and reveals of ID numbers) at all; ``holdings``: what
    ``holdings_on`` gave for this person and day, when the caller has read it already (a page's header)."""
    return person.is_admin or any(_audit_scope(session, person, on, holdings))


def _audit_scope(session: Session, person: Person, on: date,
                 holdings: list[RoleHolding] | None = None) -> tuple[set[int], set[str]]:
    """The agencies an auditor answers for, and the cities a 勞工局 / 資訊處 member does."""
    agencies, cities = set(), set()
    for h in holdings if holdings is not None else holdings_on(session, person, on):
        if h.role == Role.AUDITOR:
            agencies.add(h.agency_id)
        elif h.role in CITY_WIDE_VIEWERS:
            cities.add(h.agency.city)
    return agencies, cities


def holdings_on(session: Session, person: Person, on: date) -> list[RoleHolding]:
    """The roles a person holds on ``on``, their own and those they sign for as a delegate; a request that makes
    several checks (a page header's links) reads them once and passes them on."""
    holdings = [h for h in person.roles if h.valid_on(on)]
    delegated = session.scalars(select(Delegation).where(Delegation.delegate_id == person.id,
                                                         Delegation.valid_on(on))).all()
    return holdings + [h for d in delegated for h in d.principal.roles if h.role == d.role and h.valid_on(on)]


def may_view(session: Session, application_id: int, person: Person, on: date) -> bool:
    query = select(Application.id).where(Application.id == application_id, visible_to(session, person, on))
    return session.scalar(query) is not None


def agency_scope(session: Session, person: Person, on: date, holdings: list[RoleHolding] | None = None):
    """SELECT of the agency ids whose own records (query logs) this person reads; None for all (administrators).

    The application rule for agencies: agency heads, managers and auditors their agency's; 勞工局 and 資訊處
    staff their whole city. Anyone else reads none. ``holdings``: ``holdings_on`` for this person and day, when
    the caller has read it already.
    """
    if person.is_admin:
        return None
    agencies, cities = set(), set()
    for h in holdings if holdings is not None else holdings_on(session, person, on):
        if h.role in AGENCY_ROLES:
            agencies.add(h.agency_id)
        elif h.role in CITY_WIDE_VIEWERS:
            cities.add(h.agency.city)
        elif h.role in COMMISSIONING_ROLES:  # 004 §9: it audits the queries of the offices it commissioned
            agencies.update(session.scalars(_commissioned_by(h.agency_id)))
    if not agencies and not cities:
        raise Forbidden("只有機關首長、機關管理者、查核人員及權責、總管理機關人員可以查閱查詢紀錄")
    return select(Agency.id).where(or_(Agency.id.in_(agencies), Agency.commissioned_by_id.in_(agencies),
                                       Agency.city.in_(cities)))
