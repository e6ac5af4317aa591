"""``resolve_told`` (a step's people, whom each substitutes among them and how they want to hear of it, in one
statement) says what ``resolve_candidates``, ``substituted_principals`` and ``notify.channels`` say, for every
role, with leave substitutions (running, ended, two for one substitute) and notification settings in place."""

from __future__ import annotations

from sqlalchemy import select

from models import Role
from models.personal import Delivery, PersonSetting, Substitution
from tests.conftest import NOW
from tests.workflows.runtime.test_standing import ROLES, applications, stand_ins
from workflows import agency_rules
from workflows.notify import channels
from workflows.runtime.candidates import resolve_candidates, resolve_told
from workflows.runtime.on_behalf import substituted_principals


def test_resolve_told_is_the_three_reads_for_every_role(session, person):
    on = NOW.date()
    # stand_ins' substitutions and delegation, and sw_staff standing in, set later, for sw_deputy as well (the
    # latest running one names the principal).
    head, deputy, staff, _clerk = stand_ins(session, person, on)
    session.add(Substitution(principal_id=deputy.id, substitute_id=staff.id, valid_from=on, valid_until=None))
    session.add_all([PersonSetting(person_id=head.id, bell=Delivery.DIGEST, email=Delivery.OFF),
                     PersonSetting(person_id=deputy.id, bell=Delivery.EVERY, email=Delivery.DIGEST),
                     PersonSetting(person_id=person("sw_unit_head").id, bell=Delivery.OFF, email=Delivery.EVERY)])
    session.commit()
    seen = {"people": 0, "behalf": 0, "chosen": 0}
    for app in applications(session):
        for role in [*ROLES, Role.APPLICANT]:
            told = resolve_told(session, role, app, on)
            if told is None:  # the applicant's step and a layer's lanes: asked the three ways
                assert role == Role.APPLICANT or role in agency_rules.LANE_ROLES
                continue
            people = resolve_candidates(session, role, app, on)
            expected = (people, substituted_principals(session, people, on), channels(session, [p.id for p in people]))
            assert told == expected, (app.agency.code, role)
            # A step written by prepared INSERTs reads the same people as their ids, in the same order.
            assert resolve_told(session, role, app, on, ids_only=True) == ([p.id for p in people], *expected[1:])
            for key, found in zip(seen, expected, strict=True):
                seen[key] += len(found)
    assert seen["people"] > 20 and seen["behalf"] >= 2 and seen["chosen"] >= 2  # the rules were exercised
    assert session.scalar(select(Substitution.principal_id).where(Substitution.substitute_id == staff.id)
                          .order_by(Substitution.id.desc())) == deputy.id
