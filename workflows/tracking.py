"""Where applications are stuck: visibility, search, and the bottleneck figures.

Visibility is enforced here, in the query, so no page or export can forget it.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_, select, true
from sqlalchemy.orm import Session

from models import (
    ROLE_LABELS,
    Agency,
    Application,
    DefinitionVersion,
    Delegation,
    HumanTask,
    Person,
    ProcessDefinition,
    Role,
    TaskCandidate,
    TaskState,
    Unit,
)

from .calendar import TAIPEI, local_date
from .forms import FORMS

_CITY_ROLES = {Role.AUTHORITY_CLERK, Role.AUTHORITY_SECTION_HEAD, Role.AUTHORITY_DIRECTOR, Role.CENTRAL_CLERK,
               Role.CENTRAL_SECTION_HEAD, Role.CENTRAL_DIRECTOR}
_AGENCY_ROLES = {Role.AGENCY_HEAD, Role.AGENCY_MANAGER, Role.AUDITOR}
AGEING_BUCKETS = (("<3", 0, 3), ("3-7", 3, 7), ("7-30", 7, 30), (">30", 30, None))
SORTS = {
    "id": Application.id, "created": Application.created_at, "updated": Application.updated_at,
    "waiting": Application.waiting_since, "state": Application.state,
}


def visible_to(session: Session, person: Person, on: date):
    """SQL condition: applications this person may see, from the roles they hold today."""
    if person.is_admin:
        return true()
    involved = select(HumanTask.application_id).join(TaskCandidate).where(TaskCandidate.person_id == person.id)
    conditions = [Application.applicant_id == person.id, Application.id.in_(involved)]
    holdings = [h for h in person.roles if h.valid_on(on)]
    delegated = session.scalars(select(Delegation).where(Delegation.delegate_id == person.id)).all()
    holdings += [h for d in delegated if _valid(d, on) for h in d.principal.roles if h.role == d.role]
    for h in holdings:
        if h.role == Role.UNIT_HEAD and h.unit_id:
            conditions.append(Application.unit_id == h.unit_id)
        elif h.role in _AGENCY_ROLES:
            conditions.append(Application.agency_id == h.agency_id)
        elif h.role in _CITY_ROLES:
            city = select(Agency.id).where(Agency.city == h.agency.city)
            conditions.append(Application.agency_id.in_(city))
    return or_(*conditions)


def _valid(d: Delegation, on: date) -> bool:
    return (d.valid_from is None or d.valid_from <= on) and (d.valid_until is None or on <= d.valid_until)


def may_view(session: Session, application_id: int, person: Person, on: date) -> bool:
    query = select(Application.id).where(Application.id == application_id, visible_to(session, person, on))
    return session.scalar(query) is not None


@dataclass(frozen=True)
class Filters:
    form: str | None = None
    state: str | None = None
    agency_id: int | None = None
    applicant: str | None = None
    step: str | None = None
    holder: str | None = None
    waiting_days: float | None = None
    created_from: date | None = None
    created_to: date | None = None


def _filtered(session: Session, person: Person, f: Filters, now: datetime):
    conditions = [visible_to(session, person, local_date(now))]
    if f.form:
        conditions.append(Application.form_key == f.form)
    if f.state:
        conditions.append(Application.state == f.state)
    if f.agency_id:
        conditions.append(Application.agency_id == f.agency_id)
    if f.applicant:
        conditions.append(Application.applicant_id.in_(select(Person.id).where(
            or_(Person.username == f.applicant, Person.name.contains(f.applicant)))))
    open_task = and_(HumanTask.application_id == Application.id, HumanTask.state == TaskState.OPEN)
    if f.step:
        conditions.append(exists().where(open_task, HumanTask.step == f.step))
    if f.holder:
        holder = select(Person.id).where(Person.username == f.holder).scalar_subquery()
        conditions.append(exists().where(open_task, TaskCandidate.human_task_id == HumanTask.id,
                                         TaskCandidate.person_id == holder))
    if f.waiting_days is not None:
        conditions.append(Application.waiting_since <= now - timedelta(days=f.waiting_days))
    if f.created_from:
        conditions.append(Application.created_at >= _start_of(f.created_from))
    if f.created_to:
        conditions.append(Application.created_at < _start_of(f.created_to + timedelta(days=1)))
    return and_(*conditions)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), TAIPEI)


@dataclass(frozen=True)
class ListedTask:
    step: str
    name: str
    role_label: str
    holders: list[str]
    since: datetime
    due_at: datetime | None


@dataclass(frozen=True)
class ListedApplication:
    id: int
    form_key: str
    form_title: str
    applicant: str
    agency: str
    unit: str | None
    state: str
    created_at: datetime
    closed_at: datetime | None
    waiting_since: datetime | None
    current: list[ListedTask] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    items: list[ListedApplication]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def search_applications(session: Session, person: Person, filters: Filters, *, now: datetime, sort: str = "-id",
                        page: int = 1, per_page: int = 50) -> Page:
    """One page of the applications this person may see, with who holds each now."""
    where = _filtered(session, person, filters, now)
    column = SORTS.get(sort.lstrip("-"), Application.id)
    # NULLs (closed applications have no wait) sort last either way, on SQLite as on PostgreSQL.
    order = [(column.desc() if sort.startswith("-") else column.asc()).nulls_last(), Application.id.desc()]
    total = session.scalar(select(func.count()).select_from(Application).where(where))
    query = (select(Application.id, Application.form_key, Person.name, Agency.name, Application.unit_id,
                    Application.state, Application.created_at, Application.closed_at, Application.waiting_since)
             .join(Person, Person.id == Application.applicant_id).join(Agency, Agency.id == Application.agency_id)
             .where(where).order_by(*order).limit(per_page).offset((page - 1) * per_page))
    rows = session.execute(query).all()
    tasks = _open_tasks(session, [r[0] for r in rows])
    units = _unit_names(session, {r[4] for r in rows if r[4]})
    items = [ListedApplication(r[0], r[1], FORMS[r[1]].title, r[2], r[3], units.get(r[4]), r[5].value, r[6], r[7],
                               r[8], tasks.get(r[0], [])) for r in rows]
    return Page(items, total or 0, page, per_page)


def _unit_names(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all()) if ids else {}


def _open_tasks(session: Session, app_ids: list[int]) -> dict[int, list[ListedTask]]:
    if not app_ids:
        return {}
    rows = session.execute(
        select(HumanTask.application_id, HumanTask.id, HumanTask.step, HumanTask.name, HumanTask.role,
               HumanTask.created_at, HumanTask.due_at, Person.name)
        .outerjoin(TaskCandidate, TaskCandidate.human_task_id == HumanTask.id)
        .outerjoin(Person, Person.id == TaskCandidate.person_id)
        .where(HumanTask.application_id.in_(app_ids), HumanTask.state == TaskState.OPEN)
        .order_by(HumanTask.id, Person.id)).all()
    grouped: dict[int, dict[int, ListedTask]] = defaultdict(dict)
    for app_id, task_id, step, name, role, since, due, holder in rows:
        task = grouped[app_id].setdefault(task_id, ListedTask(step, name, ROLE_LABELS.get(role, role), [], since, due))
        if holder:
            task.holders.append(holder)
    return {app_id: list(tasks.values()) for app_id, tasks in grouped.items()}


@dataclass(frozen=True)
class StepFigures:
    process: str
    version: int
    step: str
    name: str
    role: str
    waiting: int
    median_days: float
    p95_days: float
    oldest_days: float
    oldest_application: int


@dataclass(frozen=True)
class StuckTask:
    application_id: int
    form_title: str
    step_name: str
    agency: str
    since: datetime
    days: float
    overdue_days: float | None


@dataclass(frozen=True)
class Dashboard:
    steps: list[StepFigures]
    ageing: dict[str, int]
    stuck: list[StuckTask]


def nearest_rank(size: int, q: int) -> int:
    """1-based rank of the nearest-rank q-th percentile among ``size`` values: ceil(q/100 × size)."""
    return max(1, (q * size + 99) // 100)


def percentile(sorted_values: list[float], q: int) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below it."""
    return sorted_values[nearest_rank(len(sorted_values), q) - 1]


def ageing_bucket(days: float) -> str:
    return next(name for name, low, high in AGEING_BUCKETS if days >= low and (high is None or days < high))


def dashboard(session: Session, person: Person, *, now: datetime, process: str | None = None,
              agency_id: int | None = None, created_from: date | None = None, created_to: date | None = None,
              stuck_limit: int = 20) -> Dashboard:
    """Per process version and step: how many wait now, median / p95 / oldest wait in days; ageing; the stuck.

    The database ranks and counts (window functions on SQLite and PostgreSQL alike); Python only
    reads the handful of ranks it needs, so the cost stays flat as the open tasks grow.
    """
    where = and_(HumanTask.state == TaskState.OPEN, _filtered(session, person, Filters(
        form=process, agency_id=agency_id, created_from=created_from, created_to=created_to), now))
    figures, ageing = _step_figures(session, where, now)
    return Dashboard(figures, ageing, _stuck(session, where, now, stuck_limit))


def _open_steps(*columns):
    return (select(*columns).select_from(HumanTask)
            .join(Application, Application.id == HumanTask.application_id)
            .join(DefinitionVersion, DefinitionVersion.id == Application.definition_version_id))


def _step_figures(session: Session, where, now: datetime) -> tuple[list[StepFigures], dict[str, int]]:
    """One scan: ranks for median / p95 / oldest per step, and each step's ageing bucket counts."""
    group = (DefinitionVersion.id, HumanTask.step)
    buckets = [func.sum(case((bound, 1), else_=0)).over(partition_by=group) for bound in _bucket_bounds(now)]
    # Rank 1 is the shortest wait (newest task); ties resolve to the higher application id as the oldest.
    ranked = _open_steps(
        ProcessDefinition.key, DefinitionVersion.version, HumanTask.step, HumanTask.name, HumanTask.role,
        HumanTask.created_at, Application.id.label("app_id"),
        func.row_number().over(partition_by=group, order_by=(HumanTask.created_at.desc(), Application.id))
        .label("rn"),
        func.count().over(partition_by=group).label("n"),
        *(b.label(f"bucket{i}") for i, b in enumerate(buckets)),
    ).join(ProcessDefinition, ProcessDefinition.id == DefinitionVersion.definition_id).where(where).subquery()
    rn, n = ranked.c.rn, ranked.c.n
    wanted = or_(rn == (n + 1) // 2, rn == n // 2 + 1, rn == (95 * n + 99) // 100, rn == n)  # nearest_rank(n, 95)
    groups: dict[tuple, dict[int, tuple[float, int]]] = defaultdict(dict)
    sizes: dict[tuple, int] = {}
    ageing_by_group: dict[tuple, tuple[int, ...]] = {}
    for key, version, step, name, role, since, app_id, rank, size, *counts in session.execute(
            select(ranked).where(wanted)):
        group_key = (key, version, step, name, role)
        groups[group_key][rank] = ((now - since).total_seconds() / 86400, app_id)
        sizes[group_key] = size
        ageing_by_group[group_key] = tuple(int(c) for c in counts)
    figures = []
    for group_key, ranks in sorted(groups.items()):
        size = sizes[group_key]
        median = (ranks[(size + 1) // 2][0] + ranks[size // 2 + 1][0]) / 2
        oldest_days, oldest_app = ranks[size]
        figures.append(StepFigures(*group_key, size, median, ranks[nearest_rank(size, 95)][0],
                                   oldest_days, oldest_app))
    totals = [sum(counts[i] for counts in ageing_by_group.values()) for i in range(len(AGEING_BUCKETS))]
    return figures, {name: total for (name, _low, _high), total in zip(AGEING_BUCKETS, totals, strict=True)}


def _bucket_bounds(now: datetime) -> list:
    """Conditions on a step's start for each ageing bucket, lower bound inclusive (3 days is "3-7")."""
    since = HumanTask.created_at
    cuts = [now - timedelta(days=low) for _name, low, _high in AGEING_BUCKETS[1:]]  # 3, 7, 30 days ago
    return [since > cuts[0], and_(since <= cuts[0], since > cuts[1]), and_(since <= cuts[1], since > cuts[2]),
            since <= cuts[2]]


def _stuck(session: Session, where, now: datetime, limit: int) -> list[StuckTask]:
    rows = session.execute(
        _open_steps(Application.id, Application.form_key, HumanTask.name, Agency.name, HumanTask.created_at,
                    HumanTask.due_at)
        .join(Agency, Agency.id == Application.agency_id).where(where)
        .order_by(HumanTask.created_at, Application.id).limit(limit)).all()
    return [StuckTask(app_id, FORMS[form_key].title, name, agency, since, (now - since).total_seconds() / 86400,
                      (now - due).total_seconds() / 86400 if due and due < now else None)
            for app_id, form_key, name, agency, since, due in rows]


def parse_waiting(value: str | None) -> float | None:
    """'P7D', 'PT36H' or a plain number of days → days."""
    if not value:
        return None
    text = value.strip().upper()
    if text.replace(".", "", 1).isdigit():
        return float(text)
    match = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", text)
    if not match or not any(match.groups()):
        raise ValueError("use an ISO-8601 duration such as P7D or PT12H, or a number of days")
    weeks, days, hours, minutes = (int(g or 0) for g in match.groups())
    return weeks * 7 + days + hours / 24 + minutes / 1440

