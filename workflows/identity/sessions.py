"""Sessions and API tokens: valid while the person is active and their session generation is unchanged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session

from models import Agency, Person, Unit

from .. import audit


def find_signed_in(session: Session, person_id: int, generation: int) -> Person | None:
    """The person a session or token names, if it still holds: active, and issued in the current generation."""
    person = session.get(Person, person_id)
    if person is None or not person.active or person.session_generation != generation:
        return None
    return person


# The names of an agency and a unit in one read (a unit of None: no row, None), built once.
_AFFILIATION = select(select(Agency.name).where(Agency.id == bindparam("agency")).scalar_subquery(),
                      select(Unit.name).where(Unit.id == bindparam("unit")).scalar_subquery())


def affiliation(session: Session, person: Person) -> tuple[str, str | None]:
    """The names of the person's agency and unit (None without a unit), as a page's header shows them: one read
    of the two names where the relationships would read the agency, its kinds and the unit one by one."""
    if not {"agency", "unit"} & inspect(person).unloaded:
        return person.agency.name, person.unit.name if person.unit is not None else None
    agency, unit = session.execute(_AFFILIATION, {"agency": person.agency_id, "unit": person.unit_id}).one()
    return agency, unit


def end_sessions(session: Session, person: Person) -> None:
    """Bump the generation (in the caller's transaction): every session and token issued before is refused."""
    session.execute(update(Person).where(Person.id == person.id)
                    .values(session_generation=Person.session_generation + 1))
    session.refresh(person)


def log_out(session: Session, *, actor: Person, now: datetime) -> None:
    """End every session and API token of the actor, on every device."""
    end_sessions(session, actor)
    audit.record(session, "person_logged_out", actor=actor, subject_type="person", subject_id=actor.id, now=now)
    session.commit()
