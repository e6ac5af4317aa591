"""Who holds a step: concrete people resolved from the lane's role and the application.

The statements are built once per scope (the application's unit, agency or city) with the role, the day,
the scope and the applicant as parameters: building and keying a statement of this size cost more than
running it, and a step asks three times (may the decider hold it, on whose behalf, who holds the next one).
"""

from __future__ import annotations

from datetime import date
from functools import cache

from sqlalchemy import Date, Integer, String, bindparam, case, literal, or_, select, union_all
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
    Unit,
)
from models.personal import Delivery, PersonSetting, Substitution

from .. import agency_rules

_ON = bindparam("on", type_=Date)
_ROLE = bindparam("role", type_=String)
_SCOPE = bindparam("scope", type_=Integer)  # the unit's or the agency's id
_CITY = bindparam("city", type_=String)
_KIND = bindparam("kind")  # typed by the column it is compared with (an AgencyKind)
_APPLICANT = bindparam("applicant", type_=Integer)
_PERSON = bindparam("person", type_=Integer)


def _held_as(role: str) -> str:
    """The role people actually hold for a lane's role (``COMMISSIONING_ROLES``): the commissioning agency's
    head (commissioning_head) holds agency_head there; its 委辦機關審核人員 (commissioner) holds commissioner
    itself. Both are held in the agency that commissioned the application's (``_scope_of``, ``_params``); every
    other role is held as named."""
    return COMMISSIONING_ROLES.get(role, role)  # type: ignore[call-overload]


def _scope_of(role: str, application: Application | None = None) -> str | None:
    if role in COMMISSIONING_ROLES:
        # Held in the agency that commissioned the applicant's (Taipei 002 §4, §5(2)); none when not commissioned.
        return "agency" if application is not None and application.agency.commissioned_by_id else None
    if role in UNIT_ROLES:
        return "unit"
    if role in AGENCY_STEP_ROLES:
        return "agency"
    if role in CITY_ROLES:
        return "city"
    return None


def _params(role: str, application: Application, on: date) -> dict:
    scope = _scope_of(role, application)
    params = {"role": str(_held_as(role)), "on": on,
              # No person has id 0: a scheduled duty (no applicant) excludes nobody.
              "applicant": application.applicant_id or 0}
    if scope == "unit":
        params["scope"] = application.unit_id
    elif scope == "agency":
        params["scope"] = (application.agency.commissioned_by_id if role in COMMISSIONING_ROLES
                           else application.agency_id)
    else:
        params["city"] = application.agency.city
        params["kind"] = CITY_ROLES[Role(role)]
    return params


@cache
def _holders(scope: str):
    """SELECT of the ids holding the role for the scope, with the parameters above."""
    query = select(RoleHolding.person_id).where(RoleHolding.role == _ROLE, RoleHolding.valid_on(_ON))
    if scope == "unit":
        return query.where(RoleHolding.unit_id == _SCOPE)
    if scope == "agency":
        return query.where(RoleHolding.agency_id == _SCOPE)
    return query.join(Agency, Agency.id == RoleHolding.agency_id).where(Agency.has_kind(_KIND), Agency.city == _CITY)


@cache
def _role_holders(scope: str):
    return select(Person).where(Person.id.in_(_holders(scope)), Person.active.is_(True)).order_by(Person.id)


def role_holders(session: Session, role: str, application: Application, on: date) -> list[Person]:
    """The people holding ``role`` for this application's unit, agency or city."""
    if role in agency_rules.LANE_ROLES:
        return list(session.scalars(select(Person).where(
            Person.id.in_(_lane_holder_ids(role, application, on)), Person.active.is_(True)).order_by(Person.id)))
    scope = _scope_of(role, application)
    if scope is None:
        return []
    return list(session.scalars(_role_holders(scope), _params(role, application, on)))


def delegates_of(session: Session, principals: list[Person], role: str, on: date) -> list[Person]:
    if not principals:
        return []
    query = select(Person).join(Delegation, Delegation.delegate_id == Person.id).where(
        Delegation.principal_id.in_([p.id for p in principals]), Delegation.role == _held_as(role),
        Person.active.is_(True), Delegation.valid_on(on))
    return list(session.scalars(query.order_by(Person.id)).unique())


def leave_substitutes_of(holders, on):
    """SELECT of the ids standing in for any of ``holders`` on ``on`` as their leave substitute (代理人)."""
    return select(Substitution.substitute_id).where(Substitution.principal_id.in_(holders), Substitution.valid_on(on))


def _who_may(holders, role, on, applicant):
    """SELECT of everyone who may complete a step held by ``holders`` (a SELECT of ids), holders first, then their
    delegates (授權人員) and leave substitutes; never ``applicant``. ``role``, ``on`` and ``applicant`` are the
    parameters above (a scope's prepared statement) or values (a layer's lane, built per application)."""
    delegates = select(Delegation.delegate_id).where(
        Delegation.principal_id.in_(holders), Delegation.role == role, Delegation.valid_on(on))
    is_delegate = case((Person.id.in_(holders), 0), else_=1)
    return select(Person).where(
        or_(Person.id.in_(holders), Person.id.in_(delegates), Person.id.in_(leave_substitutes_of(holders, on))),
        Person.active.is_(True), Person.id != applicant).order_by(is_delegate, Person.id)


@cache
def _candidates(scope: str):
    """SELECT of everyone who may complete a step of the scope's role, holders first."""
    return _who_may(_holders(scope), _ROLE, _ON, _APPLICANT)


# The lanes an agency layer adds (``agency_rules.LANE_ROLES``) are resolved from the application itself (the
# querier it names, the commissioning agency's responsible unit), so their statements are built per application.
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
    raise AssertionError(f"no resolution for the layer's lane {role}")


def _lane_candidates(role: str, application: Application, on: date):
    # No person has id 0: a scheduled duty (no applicant) excludes nobody.
    return _who_may(_lane_holder_ids(role, application, on), role, on, application.applicant_id or 0)


@cache
def _holds(scope: str):
    return select(literal(1)).select_from(_candidates(scope).where(Person.id == _PERSON).limit(1).subquery())


def resolve_candidates(session: Session, role: str | None, application: Application, on: date) -> list[Person]:
    """Everyone who may complete a step in ``role``; never the applicant, except on their own amend step."""
    if role == Role.APPLICANT:
        return [application.applicant]
    if role in agency_rules.LANE_ROLES:
        return list(session.scalars(_lane_candidates(role, application, on)))
    scope = _scope_of(role or "", application)
    if scope is None:
        return []
    return list(session.scalars(_candidates(scope), _params(role, application, on)))


@cache
def _told(scope: str, ids_only: bool = False):
    """``_candidates`` with, on each person's row, the one among them they stand in for as leave substitute (as
    ``on_behalf.substituted_principals`` gives it: the latest substitution running) and their notification
    channels (``notify.channels``: none without a settings row). ``ids_only``: the people's ids, not their rows."""
    ids = _candidates(scope).with_only_columns(Person.id).order_by(None).correlate(None)
    principal = (select(Substitution.principal_id)
                 .where(Substitution.substitute_id == Person.id, Substitution.principal_id != Person.id,
                        Substitution.principal_id.in_(ids), Substitution.valid_on(_ON))
                 .order_by(Substitution.id.desc()).limit(1).correlate(Person).scalar_subquery())
    people = _candidates(scope).with_only_columns(Person.id) if ids_only else _candidates(scope)
    return (people.outerjoin(PersonSetting, PersonSetting.person_id == Person.id)
            .add_columns(principal.label("principal"), PersonSetting.bell, PersonSetting.email))


Told = tuple[list[Person] | list[int], dict[int, int], dict[int, tuple[Delivery, Delivery]]]


def resolve_told(session: Session, role: str | None, application: Application, on: date,
                 ids_only: bool = False) -> Told | None:
    """For a step opening: ``resolve_candidates``, whom each of them substitutes among them ({substitute id:
    principal id}) and the channels they chose ({person id: (bell, e-mail)}), in one statement built once per
    scope. None for the applicant's step and a layer's lanes (the caller asks the three ways). ``ids_only``: the
    people as their ids, in the same order, for a caller that needs no more of them (no rows loaded or unsealed).
    """
    if role == Role.APPLICANT or role in agency_rules.LANE_ROLES:
        return None
    scope = _scope_of(role or "", application)
    if scope is None:
        return [], {}, {}
    people, behalf, chosen = [], {}, {}
    for person, principal, bell, email in session.execute(_told(scope, ids_only), _params(role, application, on)):
        person_id = person if ids_only else person.id
        people.append(person)
        if principal is not None:
            behalf[person_id] = principal
        if bell is not None:
            chosen[person_id] = (bell, email)
    return people, behalf, chosen


def may_hold(session: Session, role: str | None, application: Application, person: Person, on: date) -> bool:
    """Whether ``person`` is one of the people ``resolve_candidates`` gives for this step today."""
    if role == Role.APPLICANT:
        return person.id == application.applicant_id
    if role in agency_rules.LANE_ROLES:
        query = _lane_candidates(role, application, on).where(Person.id == person.id).limit(1)
        return session.scalar(query) is not None
    scope = _scope_of(role or "", application)
    return scope is not None and session.scalar(
        _holds(scope), {**_params(role, application, on), "person": person.id}) is not None


def _ranked(holder_ids, role, on):
    """The holders the actor (``_PERSON``) may stand in for, ranked: 0 (no one) when they hold the role, 1 their
    delegation's principal, 2 their leave substitution's; ``tiebreak`` orders within a rank. ``role`` and ``on`` as
    in ``_who_may``."""
    holders = select(Person.id).where(Person.id.in_(holder_ids), Person.active.is_(True))
    own = select(literal(0).label("rank"), literal(None, Integer).label("principal"),
                 literal(0).label("tiebreak")).where(_PERSON.in_(holders))
    delegated = select(literal(1), Delegation.principal_id, Delegation.principal_id).where(
        Delegation.delegate_id == _PERSON, Delegation.role == role, Delegation.principal_id.in_(holders),
        Delegation.valid_on(on))
    substituted = select(literal(2), Substitution.principal_id, Substitution.id).where(
        Substitution.substitute_id == _PERSON, Substitution.principal_id.in_(holders), Substitution.valid_on(on))
    return union_all(own, delegated, substituted).subquery()


def _ranked_principal(holder_ids, role, on):
    """The holder the actor (``_PERSON``) stands in for: rank 0 (no one) when they hold the role, else their
    delegation's principal (lowest id), else their leave substitution's (the earliest set)."""
    ranked = _ranked(holder_ids, role, on)
    return select(ranked.c.rank, ranked.c.principal).order_by(ranked.c.rank, ranked.c.tiebreak).limit(1)


def _standing_columns(holder_ids, role, on, applicant):
    """May the actor (``_PERSON``) hold the step (``_who_may``), and for whom (``_ranked_principal``): two
    columns, uncorrelated, for a SELECT of their own or beside another read's."""
    may = _who_may(holder_ids, role, on, applicant).with_only_columns(Person.id).order_by(None).where(
        Person.id == _PERSON).exists()
    ranked = _ranked(holder_ids, role, on)
    principal = select(ranked.c.principal).order_by(ranked.c.rank, ranked.c.tiebreak).limit(1).scalar_subquery()
    return may.label("may"), principal.label("principal")


def _standing_of(holder_ids, role, on, applicant):
    """One row: ``_standing_columns``."""
    return select(*_standing_columns(holder_ids, role, on, applicant))


@cache
def standing_columns(scope: str):
    """``standing``'s two columns for a scope, built once, for a read that asks them beside its own (``may``,
    ``principal``; parameters: those of ``standing_params`` and ``person``, the actor's id)."""
    return _standing_columns(_holders(scope), _ROLE, _ON, _APPLICANT)


def standing_params(role: str | None, application: Application, on: date) -> tuple[str, dict] | None:
    """The scope whose ``standing_columns`` answer ``standing`` for a step in ``role``, and their parameters
    (without the actor's); None when ``standing`` asks otherwise (the applicant's step, a layer's lane, no
    scope)."""
    if role == Role.APPLICANT or role in agency_rules.LANE_ROLES:
        return None
    scope = _scope_of(role or "", application)
    return None if scope is None else (scope, _params(role, application, on))


@cache
def _standing(scope: str):
    return select(*standing_columns(scope))


def standing(session: Session, role: str | None, application: Application, person: Person,
             on: date) -> tuple[bool, int | None]:
    """``may_hold`` and ``principal_of`` in one statement: whether ``person`` may hold this step today, and the
    id of the holder they would decide it for (None when they hold it themselves, or may not hold it)."""
    if role == Role.APPLICANT:
        return person.id == application.applicant_id, None
    if role in agency_rules.LANE_ROLES:
        statement, params = (_standing_of(_lane_holder_ids(role, application, on), role, on,
                                          application.applicant_id or 0), {})
    elif (asked := standing_params(role, application, on)) is None:
        return False, None
    else:
        scope, params = asked
        statement = _standing(scope)
    may, principal = session.execute(statement, {**params, "person": person.id}).one()
    return bool(may), principal if may else None


@cache
def _principal(scope: str):
    return _ranked_principal(_holders(scope), _ROLE, _ON)


def principal_of(session: Session, role: str, application: Application, actor: Person, on: date) -> int | None:
    """The id of the holder ``actor`` stands in for on a step in ``role``; None when they hold it themselves
    (or stand in for no one)."""
    if role in agency_rules.LANE_ROLES:
        row = session.execute(_ranked_principal(_lane_holder_ids(role, application, on), role, on),
                              {"person": actor.id}).first()
        return None if row is None else row.principal
    scope = _scope_of(role, application)
    if scope is None:
        return None
    row = session.execute(_principal(scope), {**_params(role, application, on), "person": actor.id}).first()
    return None if row is None else row.principal
