"""Reading the query logs: within the reader's agencies (+ 勞工局 and 資訊處 city-wide), ID numbers masked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from models import (
    FLAG_NAMES,
    Agency,
    Application,
    ApplicationState,
    Person,
    QueryLog,
    QueryLogFlagNote,
    flag_names,
)

from ..calendar import TAIPEI, local_date
from ..errors import Forbidden, Invalid
from ..forms import mask_id
from ..runtime.visibility import agency_scope


@dataclass(frozen=True)
class LogView:
    id: int
    agency: str
    account: str
    queried_at: datetime
    item_code: str
    subject: str  # masked
    case_number: str | None
    reason: str | None
    result: str | None
    registration_id: int | None
    flags: list[str]
    notes: dict[str, tuple[str, str]]  # flag → (action, reason)
    registration_line: int | None = None  # the line of that registration's sheet (000 附表一's 編號)


@dataclass(frozen=True)
class LogPage:
    items: list[LogView]
    total: int
    page: int
    per_page: int


@dataclass(frozen=True)
class LogFilters:
    flag: str | None = None
    account: str | None = None
    agency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    unexplained: bool = False  # only rows with a flag nobody has answered yet


def reads_query_logs(session: Session, actor, now: datetime, holdings: list | None = None) -> bool:
    """Whether this person reads any agency's query logs (the page's link is shown); ``holdings``: the person's
    roles today (``runtime.visibility.holdings_on``), when the caller has read them already."""
    try:
        agency_scope(session, actor, local_date(now), holdings)
    except Forbidden:
        return False
    return True


def visible_logs(session: Session, actor, now: datetime):
    """SQL condition: the rows this person may read."""
    scope = agency_scope(session, actor, local_date(now))
    return QueryLog.agency_id.in_(scope) if scope is not None else QueryLog.id.is_not(None)


def list_query_logs(session: Session, actor, now: datetime, filters: LogFilters, *, page: int = 1,
                    per_page: int = 50) -> LogPage:
    query = select(QueryLog, Agency.name).join(Agency, Agency.id == QueryLog.agency_id).where(
        visible_logs(session, actor, now))
    query = _filtered(query, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(QueryLog.queried_at.desc(), QueryLog.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    notes = _notes(session, [log.id for log, _ in rows])
    return LogPage([_view(log, agency, notes.get(log.id, {})) for log, agency in rows], total, page, per_page)


def _filtered(query, f: LogFilters):
    if f.flag:
        if f.flag not in FLAG_NAMES:
            raise Invalid({"flag": "可用：" + "、".join(FLAG_NAMES)})
        query = query.where(QueryLog.flags.op("&")(int(FLAG_NAMES[f.flag])) != 0)
    else:
        query = query.where(QueryLog.flags != 0) if f.unexplained else query
    if f.account:
        query = query.where(QueryLog.account == f.account)
    if f.agency:
        query = query.where(Agency.code == f.agency)
    if f.date_from:
        query = query.where(QueryLog.queried_at >= _start(f.date_from))
    if f.date_to:
        query = query.where(QueryLog.queried_at < _start(f.date_to + timedelta(days=1)))
    if f.unexplained:
        answered = select(func.count()).where(QueryLogFlagNote.log_id == QueryLog.id).scalar_subquery()
        query = query.where(answered < _flag_count())
    return query


def _flag_count():
    """SQL: how many flags a row carries (the bits set in ``flags``)."""
    return sum((cast(QueryLog.flags.op("&")(int(bit)) != 0, Integer) for bit in FLAG_NAMES.values()), start=0)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TAIPEI)


def _notes(session: Session, ids: list[int]) -> dict[int, dict[str, tuple[str, str]]]:
    found: dict[int, dict[str, tuple[str, str]]] = {}
    if ids:
        for n in session.scalars(select(QueryLogFlagNote).where(QueryLogFlagNote.log_id.in_(ids))):
            found.setdefault(n.log_id, {})[n.flag] = (n.action, n.reason)
    return found


def _view(log: QueryLog, agency: str, notes: dict[str, tuple[str, str]]) -> LogView:
    return LogView(log.id, agency, log.account, log.queried_at, log.item_code, mask_id(log.subject_id),
                   log.case_number, log.reason, log.result, log.registration_id, flag_names(log.flags), notes,
                   log.registration_line)


def previous_quarter(now: datetime) -> tuple[date, date]:
    """First and last day of the quarter before the one ``now`` falls in (Taipei)."""
    today = local_date(now)
    start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    first = date(start.year - (start.month == 1), (start.month - 4) % 12 + 1, 1)
    return first, start - timedelta(days=1)


def usage_data(session: Session, agency_id: int, now: datetime) -> dict:
    """What the quarterly usage check starts with (000 §3(4)3): last quarter's logged queries and flagged ones."""
    first, last = previous_quarter(now)
    rows = select(func.count(), func.count().filter(QueryLog.flags != 0)).where(
        QueryLog.agency_id == agency_id, QueryLog.queried_at >= _start(first),
        QueryLog.queried_at < _start(last + timedelta(days=1)))
    total, flagged = session.execute(rows).one()
    return {"usage_from": first.isoformat(), "usage_to": last.isoformat(), "logged_queries": total,
            "flagged_queries": flagged}


def previous_month(now: datetime) -> tuple[date, date]:
    """First and last day of the month before the one ``now`` falls in (Taipei)."""
    start = local_date(now).replace(day=1)
    last = start - timedelta(days=1)
    return last.replace(day=1), last


def comparison_data(session: Session, unit_id: int, now: datetime) -> dict:
    """What a unit manager's monthly comparison starts with (Taipei 002 §3 ¶2, §8(1)2): last month's approved
    registrations of the unit's people and the imported WebIR log rows of their accounts."""
    first, last = previous_month(now)
    since, until = _start(first), _start(last + timedelta(days=1))
    members = select(Person.id).where(Person.unit_id == unit_id)
    registered = session.scalar(select(func.count()).where(
        Application.form_key == "query_registration", Application.state == ApplicationState.COMPLETED,
        Application.applicant_id.in_(members), Application.created_at >= since, Application.created_at < until))
    logged = session.scalar(select(func.count()).where(
        QueryLog.person_id.in_(members), QueryLog.queried_at >= since, QueryLog.queried_at < until))
    return {"compared_from": first.isoformat(), "compared_to": last.isoformat(), "registered_count": registered,
            "system_count": logged}
