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
    UNIT_ROLES,
    Agency,
    Application,
    Delegation,
    HumanTask,
    Person,
    TaskCandidate,
)


def visible_to(session: Session, person: Person, on: date):
    """SQL condition: applications this person may see, from the roles they hold today."""
    if person.is_admin:
        return true()
    involved = select(HumanTask.application_id).join(TaskCandidate).where(TaskCandidate.person_id == person.id)
    conditions = [Application.applicant_id == person.id, Application.id.in_(involved)]
    holdings = [h for h in person.roles if h.valid_on(on)]
    delegated = session.scalars(select(Delegation).where(Delegation.delegate_id == person.id,
                                                         Delegation.valid_on(on))).all()
    holdings += [h for d in delegated for h in d.principal.roles if h.role == d.role and h.valid_on(on)]
    for h in holdings:
        if h.role in UNIT_ROLES and h.unit_id:
            conditions.append(Application.unit_id == h.unit_id)
        elif h.role in AGENCY_ROLES:
            conditions.append(Application.agency_id == h.agency_id)
        elif h.role in CITY_WIDE_VIEWERS:
            city = select(Agency.id).where(Agency.city == h.agency.city)
            conditions.append(Application.agency_id.in_(city))
    return or_(*conditions)


def may_view(session: Session, application_id: int, person: Person, on: date) -> bool:
    query = select(Application.id).where(Application.id == application_id, visible_to(session, person, on))
    return session.scalar(query) is not None
