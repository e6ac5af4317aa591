"""案件查詢: search the applications a person may see, with filters, sorting and paging."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from models import (
    ROLE_LABELS,
    Agency,
    Application,
    DefinitionVersion,
    HumanTask,
    Person,
    ProcessDefinition,
    RegistrationRow,
    TaskCandidate,
    TaskState,
    Unit,
)
from models.sealing import digest

from ..attachments.reads import export_lines
from ..calendar import TAIPEI, local_date
from ..forms import FORMS, REGISTRATION, masked, sheet_rows
from ..runtime.diagrams import load_diagram
from ..runtime.visibility import visible_to

MAX_WAITING_DAYS = 3650  # ten years: anything longer is every application there is

SORTS = {
    "id": Application.id, "created": Application.created_at, "updated": Application.updated_at,
    "waiting": Application.waiting_since, "state": Application.state,
}


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
    national_id: str | None = None  # the ID number the form carries, matched by its keyed hash


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
    if f.step:  # the step's name as people see it (案件查詢's list), or its id in the diagram (the API)
        conditions.append(exists().where(open_task, or_(HumanTask.step == f.step, HumanTask.name == f.step)))
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
    if f.national_id:
        # Sealed in the data; its keyed hash is indexed, so nothing is decrypted to find it.
        number = digest(f.national_id)  # a 查調資料登記表 is found through any of its lines
        conditions.append(or_(Application.national_id_hash == number, Application.id.in_(
            select(RegistrationRow.application_id).where(RegistrationRow.subject_hash == number))))
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
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (file name, sha256): never the bytes


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
    files = export_lines(session, [r[0] for r in rows])
    items = [ListedApplication(r[0], r[1], FORMS[r[1]].title, r[2], r[3], units.get(r[4]), r[5].value, r[6], r[7],
                               r[8], tasks.get(r[0], []), files.get(r[0], [])) for r in rows]
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


def parse_waiting(value: str | None) -> float | None:
    """'P7D', 'PT36H' or a plain number of days → days, at most MAX_WAITING_DAYS."""
    if not value:
        return None
    text = value.strip().upper()
    if text.replace(".", "", 1).isdigit():
        days = float(text)
    else:
        match = re.fullmatch(r"P(?:(\d{1,6})W)?(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?)?", text)
        if not match or not any(match.groups()):
            raise ValueError("use an ISO-8601 duration such as P7D or PT12H, or a number of days")
        weeks, whole_days, hours, minutes = (int(g or 0) for g in match.groups())
        days = weeks * 7 + whole_days + hours / 24 + minutes / 1440
    if days > MAX_WAITING_DAYS:
        raise ValueError(f"at most {MAX_WAITING_DAYS} days")
    return days



def list_agencies(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every agency, for the agency filter."""
    return [(i, n) for i, n in session.execute(select(Agency.id, Agency.name).order_by(Agency.id))]


def list_step_names(session: Session, process: str | None = None) -> list[str]:
    """The names of the human steps of every deployed diagram (or one process's), as people see them, each once.

    Every version counts: an application still running on an earlier version waits at that version's steps.
    """
    query = select(DefinitionVersion).order_by(DefinitionVersion.definition_id, DefinitionVersion.version.desc())
    if process:
        query = query.join(ProcessDefinition).where(ProcessDefinition.key == process)
    versions = session.scalars(query)
    names = (task.name for version in versions for task in load_diagram(version).user_tasks.values())
    return list(dict.fromkeys(names))


def registration_lines(session: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The rows of the 查調資料登記表 among these applications (000 附表一), ID numbers masked: for exports."""
    found = session.execute(select(Application.id, Application.data).where(
        Application.id.in_(ids), Application.form_key == REGISTRATION))
    return {app_id: sheet_rows(masked(REGISTRATION, data)) for app_id, data in found}
