"""Leave substitutes (代理人): while a person is on leave, their steps are also their substitute's.

Civil-service rules have staff on leave name a substitute. The person, their superior (the unit head of their
unit, the head of their agency) or an administrator sets one for a date range. During it, the steps the person
holds — those already open and those that open meanwhile — are also the substitute's (the candidate rows carry
``on_behalf_of_id``); a decision is recorded as "substitute 代 holder"; after the range they are the holder's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from models import Application, HumanTask, Person, Role, TaskCandidate, TaskState
from models.personal import Substitution

from .. import audit
from ..calendar import local_date
from ..errors import Forbidden, Invalid, NotFound
from ..notify import notify
from ..validators import FieldError, iso_date


@dataclass(frozen=True)
class SubstituteView:
    principal: str
    substitute: str
    substitute_name: str
    valid_from: date
    valid_until: date


def get_person(session: Session, username: str) -> Person:
    person = session.scalar(select(Person).where(Person.username == username))
    if person is None:
        raise NotFound(f"沒有帳號 {username}")
    return person


def may_set_substitute(actor: Person, principal: Person, on: date) -> bool:
    """The person, their unit's head, their agency's head, or an administrator."""
    if actor.id == principal.id or actor.is_admin:
        return True
    return any(h.valid_on(on) and (
        (h.role == Role.UNIT_HEAD and principal.unit_id is not None and h.unit_id == principal.unit_id)
        or (h.role == Role.AGENCY_HEAD and h.agency_id == principal.agency_id)) for h in actor.roles)


def _require_manager(actor: Person, principal: Person, on: date) -> None:
    if not may_set_substitute(actor, principal, on):
        raise Forbidden("只有本人、其單位主管或機關首長，或系統管理者可以設定代理人")


def _check(principal: Person, substitute: Person | None, valid_from: date, valid_until: date,
           today: date) -> None:
    errors: dict[str, str] = {}
    if substitute is None:
        errors["substitute"] = "查無此代理人帳號"
    elif substitute.id == principal.id:
        errors["substitute"] = "代理人不可為本人"
    elif not substitute.active or substitute.agency_id != principal.agency_id:
        errors["substitute"] = "代理人須為同一機關、在職（帳號啟用）的人員"
    if valid_until < valid_from:
        errors["to"] = "代理迄日不可早於起日"
    elif valid_until < today:
        errors["to"] = "代理迄日已過"
    if errors:
        raise Invalid(errors)


def _current_and_future(session: Session, principal: Person, today: date) -> list[Substitution]:
    return list(session.scalars(select(Substitution).where(
        Substitution.principal_id == principal.id, Substitution.valid_until >= today).order_by(Substitution.id)))


def _cut(session: Session, rows: list[Substitution], before: date) -> None:
    """Rows not yet begun by ``before`` go; a running one ends the day before."""
    for row in rows:
        if row.valid_from >= before:
            session.delete(row)
        elif row.valid_until >= before:
            row.valid_until = before - timedelta(days=1)


def _dates(valid_from: str | date, valid_until: str | date) -> tuple[date, date]:
    """ISO or ROC dates (115/12/01), each checked; 422 naming ``from`` / ``to``."""
    days, errors = {}, {}
    for name, value in (("from", valid_from), ("to", valid_until)):
        try:
            days[name] = date.fromisoformat(iso_date(value))
        except FieldError as exc:
            errors[name] = str(exc)
    if errors:
        raise Invalid(errors)
    return days["from"], days["to"]


def set_substitute(session: Session, *, username: str, substitute: str, valid_from: str | date,
                   valid_until: str | date, actor: Person, now: datetime) -> Substitution:
    """Name ``substitute`` for ``username`` from ``valid_from`` to ``valid_until`` (both days); replaces others."""
    today = local_date(now)
    principal = get_person(session, username)
    _require_manager(actor, principal, today)
    valid_from, valid_until = _dates(valid_from, valid_until)
    stand_in = session.scalar(select(Person).where(Person.username == substitute)) if substitute else None
    _check(principal, stand_in, valid_from, valid_until, today)
    _cut(session, _current_and_future(session, principal, today), max(valid_from, today))
    row = Substitution(principal_id=principal.id, substitute_id=stand_in.id, valid_from=valid_from,
                       valid_until=valid_until, created_by_id=actor.id, created_at=now)
    session.add(row)
    session.flush()
    refresh_substitute_rows(session, now, principal_ids=[principal.id])
    audit.record(session, "substitute_set", actor=actor, subject_type="person", subject_id=principal.id, now=now,
                 substitute=stand_in.username, valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat())
    notify(session, [stand_in], kind="substitute", subject=f"【代理】您已被指定為{principal.name}的代理人",
           body=f"{principal.name}自 {valid_from.isoformat()} 至 {valid_until.isoformat()} 的待辦案件，"
                "期間也會出現在您的待辦清單，您可代為簽核。", now=now, link="/inbox/")
    session.commit()
    return row


def end_substitute(session: Session, *, username: str, actor: Person, now: datetime) -> None:
    """End the person's substitute today (one not yet begun is removed); their steps are theirs alone again."""
    today = local_date(now)
    principal = get_person(session, username)
    _require_manager(actor, principal, today)
    rows = _current_and_future(session, principal, today)
    if not rows:
        raise NotFound("此人員目前沒有代理人")
    _cut(session, rows, today)
    session.flush()
    refresh_substitute_rows(session, now, principal_ids=[principal.id])
    audit.record(session, "substitute_ended", actor=actor, subject_type="person", subject_id=principal.id, now=now,
                 substitutes=sorted({r.substitute.username for r in rows}))
    session.commit()


def find_substitute(session: Session, person: Person, now: datetime) -> SubstituteView | None:
    """The person's running or next substitute."""
    rows = _current_and_future(session, person, local_date(now))
    if not rows:
        return None
    row = min(rows, key=lambda r: r.valid_from)
    return SubstituteView(person.username, row.substitute.username, row.substitute.name, row.valid_from,
                          row.valid_until)


def refresh_substitute_rows(session: Session, now: datetime, principal_ids: list[int] | None = None) -> int:
    """Bring the inbox rows in line with today's substitutions; the caller commits. Rows added or removed.

    A substitute's row on a holder's open step is there exactly while the substitution runs; the daily job
    runs it for everyone at the start of each Taipei day.
    """
    today = local_date(now)
    running = select(Substitution).where(Substitution.valid_on(today))
    if principal_ids is not None:
        running = running.where(Substitution.principal_id.in_(principal_ids))
    pairs = {(s.substitute_id, s.principal_id) for s in session.scalars(running)}
    changed = _remove_ended(session, pairs, principal_ids)
    for substitute_id, principal_id in sorted(pairs):
        changed += _add_rows(session, substitute_id, principal_id, now)
    return changed


def _remove_ended(session: Session, pairs: set[tuple[int, int]], principal_ids: list[int] | None) -> int:
    query = select(TaskCandidate).where(TaskCandidate.on_behalf_of_id.is_not(None), TaskCandidate.is_open.is_(True))
    if principal_ids is not None:
        query = query.where(TaskCandidate.on_behalf_of_id.in_(principal_ids))
    ended = [c for c in session.scalars(query) if (c.person_id, c.on_behalf_of_id) not in pairs]
    for row in ended:
        session.delete(row)
    return len(ended)


def _add_rows(session: Session, substitute_id: int, principal_id: int, now: datetime) -> int:
    """The principal's open steps (held in their own right) gain the substitute; never their own application."""
    held = select(TaskCandidate.human_task_id).where(
        TaskCandidate.person_id == principal_id, TaskCandidate.is_open.is_(True),
        TaskCandidate.on_behalf_of_id.is_(None))
    already = select(TaskCandidate.human_task_id).where(TaskCandidate.person_id == substitute_id)
    tasks = session.scalars(select(HumanTask).join(Application).where(
        HumanTask.id.in_(held), HumanTask.id.not_in(already), HumanTask.state == TaskState.OPEN,
        HumanTask.role != Role.APPLICANT, Application.applicant_id.is_distinct_from(substitute_id))
        .options(contains_eager(HumanTask.application))).all()  # the form key copied from the joined row
    for task in tasks:
        session.add(TaskCandidate.for_task(task, human_task_id=task.id, person_id=substitute_id,
                                           on_behalf_of_id=principal_id, created_at=now))
    return len(tasks)


def refresh_all_substitutes(session: Session, now: datetime) -> int:
    """The daily job: substitutions that began today add their rows, those that ended remove theirs."""
    changed = refresh_substitute_rows(session, now)
    session.commit()
    return changed
