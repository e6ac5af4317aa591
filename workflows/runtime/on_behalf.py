"""On whose behalf someone holds or decides a step: a delegate (授權人員) or a leave substitute (代理人)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, bindparam, select
from sqlalchemy.orm import Session

from models import Person
from models.personal import Substitution

_PEOPLE = bindparam("people", expanding=True)
_SUBSTITUTED = (select(Substitution.substitute_id, Substitution.principal_id)  # built once
                .where(Substitution.principal_id.in_(_PEOPLE), Substitution.substitute_id.in_(_PEOPLE),
                       Substitution.valid_on(bindparam("on", type_=Date))).order_by(Substitution.id))


def substituted_principals(session: Session, people: list[Person], on: date) -> dict[int, int]:
    """{substitute id: principal id} among ``people``, for the substitutions running on ``on``."""
    ids = [p.id for p in people]
    if len(ids) < 2:
        return {}
    rows = session.execute(_SUBSTITUTED, {"people": ids, "on": on})
    return {substitute: principal for substitute, principal in rows if substitute != principal}
