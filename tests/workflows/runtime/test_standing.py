"""``standing`` (may the decider hold a step, and on whose behalf, in one statement) says what ``may_hold`` and
``principal_of`` say, for every role and lane, every person, with delegations and leave substitutions in place."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Agency, Application, Delegation, Person, Role, RoleHolding
from models.personal import Substitution
from tests.conftest import NOW
from workflows import agency_rules
from workflows.runtime.candidates import may_hold, principal_of, standing

ROLES = [*(r.value for r in Role if r != Role.APPLICANT), *agency_rules.LANE_ROLES]


def applications(session) -> list[Application]:
    """An application of 社會局, of an agency another commissioned and of that one: filed by the agency's first
    person, naming another of its people as the querier (the audited lanes), not stored."""
    apps = []
    commissioned = session.scalar(select(Agency).where(Agency.commissioned_by_id.is_not(None)).order_by(Agency.id))
    for agency in [session.scalar(select(Agency).where(Agency.code == "KHH-SW")), commissioned,
                   commissioned.commissioned_by]:
        people = session.scalars(select(Person).where(Person.agency_id == agency.id).order_by(Person.id)).all()
        if people:
            apps.append(Application(agency=agency, agency_id=agency.id, unit_id=people[0].unit_id,
                                    applicant_id=people[0].id, form_key="manager_account",
                                    data={"querier": people[-1].username}))
    return apps


def by_the_two_statements(session, role, app, person, on):
    may = may_hold(session, role, app, person, on)
    return may, principal_of(session, role, app, person, on) if may else None


def stand_ins(session, person, on) -> tuple[Person, Person, Person, Person]:
    """A leave substitution beside the demo's delegation (sw_deputy for sw_head), one the other way round, one that
    has ended, and a delegation for a role the delegate's principal does not hold; flushed. (sw_head, sw_deputy,
    sw_staff, labor_clerk)"""
    head, deputy, staff, clerk = person("sw_head"), person("sw_deputy"), person("sw_staff"), person("labor_clerk")
    session.add_all([
        Substitution(principal_id=head.id, substitute_id=staff.id, valid_from=on, valid_until=on + timedelta(days=3)),
        Substitution(principal_id=deputy.id, substitute_id=head.id, valid_from=on, valid_until=on),
        Substitution(principal_id=clerk.id, substitute_id=staff.id, valid_from=on - timedelta(days=9),
                     valid_until=on - timedelta(days=1)),
        Delegation(principal_id=clerk.id, delegate_id=deputy.id, role=Role.AGENCY_HEAD, valid_from=on,
                   valid_until=on)])
    session.flush()
    return head, deputy, staff, clerk


def test_standing_is_may_hold_and_principal_of_for_every_role_and_person(session, person):
    on = NOW.date()
    stand_ins(session, person, on)
    session.commit()
    # Everyone who holds a role, is delegated or stands in for someone, and the applicants; active or not.
    involved = select(RoleHolding.person_id).union(select(Delegation.delegate_id), select(Substitution.substitute_id))
    people = session.scalars(select(Person).where(Person.id.in_(involved) | Person.id.in_(
        [a.applicant_id for a in applications(session)])).order_by(Person.id)).all()
    apps = applications(session)
    assert len(apps) == 3 and apps[1].agency.commissioned_by_id
    seen = {"may": 0, "for someone": 0}
    for app in apps:
        for role in ROLES:
            for who in people:
                expected = by_the_two_statements(session, role, app, who, on)
                assert standing(session, role, app, who, on) == expected, (app.agency.code, role, who.username)
                seen["may"] += expected[0]
                seen["for someone"] += expected[1] is not None
    assert seen["may"] > 20 and seen["for someone"] >= 2  # the rules were exercised, not only refusals
    assert standing(session, Role.APPLICANT, apps[0], session.get(Person, apps[0].applicant_id), on) == (True, None)
