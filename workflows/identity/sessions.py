"""Sessions and API tokens: valid while the person is active and their session generation is unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session

from models import Agency, Person, Unit
from models.personal import PersonSetting

from .. import audit
from ..notify import unread_in_bell

# The person a session or token names, by primary key: a statement built once, where Session.get builds and
# keys a new one on every call (each API call and page starts with it).
_SIGNED_IN = select(Person).where(Person.id == bindparam("person"))


@dataclass(frozen=True)
class PageHeader:
    """What a page's header shows of the signed-in person besides the person: their language, if they chose one,
    their unread notifications under the bell, and their agency's and unit's names (no unit: None)."""

    locale: str | None
    unread: int
    agency: str
    unit: str | None


def _names(agency_id, unit_id) -> tuple:
    """The names of an agency and a unit (a unit of None: no row, None), as two scalar subqueries."""
    return (select(Agency.name).where(Agency.id == agency_id).scalar_subquery(),
            select(Unit.name).where(Unit.id == unit_id).scalar_subquery())


# The person with their header, in one read: the language setting, the bell's count and the two names are
# correlated subqueries on the person's row (what preferred_locale, unread_count and affiliation read one by one).
_SIGNED_IN_WITH_HEADER = select(
    Person,
    select(PersonSetting.locale).where(PersonSetting.person_id == Person.id).scalar_subquery(),
    unread_in_bell(Person.id).scalar_subquery(),
    *_names(Person.agency_id, Person.unit_id),
).where(Person.id == bindparam("person"))


def find_signed_in(session: Session, person_id: int, generation: int) -> Person | None:
    """The person a session or token names, if it still holds: active, and issued in the current generation."""
    return _still_signed_in(session.execute(_SIGNED_IN, {"person": person_id}).scalar_one_or_none(), generation)


def find_signed_in_with_header(session: Session, person_id: int,
                               generation: int) -> tuple[Person, PageHeader] | None:
    """``find_signed_in`` and the person's ``PageHeader`` read with it, for a page that shows the header."""
    row = session.execute(_SIGNED_IN_WITH_HEADER, {"person": person_id}).one_or_none()
    if row is None or _still_signed_in(row[0], generation) is None:
        return None
    person, locale, unread, agency, unit = row
    return person, PageHeader(locale=locale, unread=unread or 0, agency=agency, unit=unit)


def _still_signed_in(person: Person | None, generation: int) -> Person | None:
    if person is None or not person.active or person.session_generation != generation:
        return None
    return person


# The names of an agency and a unit in one read, built once.
_AFFILIATION = select(*_names(bindparam("agency"), bindparam("unit")))


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
