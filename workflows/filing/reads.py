"""Read models for pages and the API: small dataclasses, no engine, no writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, bindparam, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from models import (
    ROLE_LABELS,
    Agency,
    Application,
    ApplicationState,
    DefinitionVersion,
    HistoryEntry,
    HumanTask,
    Person,
    ProcessDefinition,
    TaskCandidate,
    TaskState,
    Unit,
    utcnow,
)
from models.sealing import digest

from ..accounts.review import describe_decisions
from ..attachments.reads import AttachmentRow, application_attachments
from ..calendar import local_date
from ..errors import Conflict, Forbidden, NotFound
from ..forms import (
    DECISION_LABELS,
    FORMS,
    STEP_FORMS,
    Field,
    KeyValue,
    application_form,
    form_for,
    form_title,
    key_values,
    masked,
)
from ..runtime.visibility import visible_to
from ..validators import FieldError, national_id
from .tasks import StepFields, get_task_for, step_fields

SCHEDULED = "（排程自動啟動）"


@dataclass(frozen=True)
class InboxRow:
    task_id: int
    application_id: int
    form_key: str
    form_title: str
    step: str
    step_name: str
    role: str
    role_label: str
    applicant: str
    agency: str
    since: datetime
    due_at: datetime | None = None
    bulk: bool = False
    key: list[KeyValue] = field(default_factory=list)  # what is asked, ID numbers masked


INBOX_SORTS = {
    "since": (TaskCandidate.created_at,),
    "due": (HumanTask.due_at.is_(None), HumanTask.due_at),  # steps without a due date last
    "id": (Application.id,),
    "form": (Application.form_key,),
}
MAX_INBOX_PAGE = 200


@dataclass(frozen=True)
class InboxQuery:
    """Filters, search, sort and page of one holder's inbox."""

    form: str | None = None
    step: str | None = None
    overdue: bool = False
    q: str = ""  # applicant (name or username), application number, agency, step, or text in the form
    sort: str = "since"  # a key of INBOX_SORTS, "-" in front for descending
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    per_page: int
    counts: dict[str, int]  # open steps per form, whatever the filters
    steps: list[tuple[str, str]]  # (step id, step name) of the holder's open steps, for the step filter


@dataclass(frozen=True)
class CurrentTask:
    id: int
    step: str
    name: str
    role: str
    role_label: str
    candidates: list[str]
    candidate_names: list[str]
    since: datetime
    due_at: datetime | None = None


@dataclass(frozen=True)
class HistoryRow:
    step: str
    step_name: str
    role: str
    role_label: str
    actor: str | None
    actor_name: str | None
    decision: str
    opinion: str | None
    data: dict[str, Any] | None
    at: datetime
    details: list[str] = field(default_factory=list)
    # The step's data as the form shows it: each value with its field (label, type, choices), in form order.
    shown: list[tuple[Field, Any]] = field(default_factory=list)
    on_behalf_of: str | None = None  # the holder a delegate or leave substitute decided for (username)
    on_behalf_of_name: str | None = None
    # What the step's own button said when it was not a plain 同意 (已核閱／完成 on a reminder, 完成清查 ...).
    approve_label: str | None = None
    actor_title: str | None = None  # the signer's title (職稱), as a seal (核章) prints it


@dataclass(frozen=True)
class ApplicationView:
    id: int
    form_key: str
    form_title: str
    state: str
    definition_key: str
    definition_version: int
    applicant: str
    applicant_name: str
    agency: str
    unit: str | None
    data: dict[str, Any]
    created_at: datetime
    closed_at: datetime | None
    outcome_reason: str | None
    current_tasks: list[CurrentTask] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    trail: dict[str, Any] = field(default_factory=dict)
    # Names, types and hashes of its files (never their bytes); filled for one application's page, not for lists.
    attachments: list[AttachmentRow] = field(default_factory=list)


def list_inbox(session: Session, person: Person, form_key: str | None = None, limit: int = 200) -> list[InboxRow]:
    """My open tasks, oldest first (since they reached me): the first page of ``search_inbox``."""
    return search_inbox(session, person, InboxQuery(form=form_key, per_page=limit), now=utcnow(), totals=False).rows


def _my_open():
    """The open steps of the holder bound as ``person``."""
    return (select().select_from(TaskCandidate)
            .join(HumanTask, HumanTask.id == TaskCandidate.human_task_id)
            .join(Application, Application.id == HumanTask.application_id)
            .where(TaskCandidate.person_id == bindparam("person"), TaskCandidate.is_open.is_(True)))


def _inbox_filters(query, filters: InboxQuery):
    """The filters as bound parameters (``form``, ``step``, ``now``), so one statement serves each filter shape;
    a text search is written into the statement (its patterns are escaped as they are built)."""
    if filters.form:
        query = query.where(Application.form_key == bindparam("form"))
    if filters.step:
        query = query.where(HumanTask.step == bindparam("step"))
    if filters.overdue:
        query = query.where(HumanTask.due_at < bindparam("now"))
    text = filters.q.strip()
    if text:
        # Form data is JSON text with non-ASCII letters escaped (\uXXXX): look for the text as it is stored.
        stored = json.dumps(text)[1:-1]
        match = [Person.name.icontains(text, autoescape=True), Person.username == text,
                 Agency.name.icontains(text, autoescape=True), HumanTask.name.icontains(text, autoescape=True),
                 cast(Application.data, String).icontains(stored, autoescape=True)]
        if text.isdigit() and len(text) < 10:
            match.append(Application.id == int(text))
        if _is_national_id(text):
            match.append(Application.national_id_hash == digest(text))  # the sealed number, matched whole
        query = query.where(or_(*match))
    return query


def _is_national_id(text: str) -> bool:
    try:
        national_id(text)
    except FieldError:
        return False
    return True


# The counts per form and step: one range of ``ix_task_candidate_person_open_step``, which holds every column read,
# so no row of the task or the application is touched however many steps the holder has open.
_MY_COUNTS = (select(TaskCandidate.form_key, TaskCandidate.step, TaskCandidate.step_name, func.count())
              .where(TaskCandidate.person_id == bindparam("person"), TaskCandidate.is_open.is_(True))
              .group_by(TaskCandidate.form_key, TaskCandidate.step, TaskCandidate.step_name)
              .order_by(TaskCandidate.step_name))


# A row's form data read as stored, its ID numbers still sealed: a row shows only its form's key fields, so only
# those are unsealed (``_key_data``), not every sealed number of the form (a sheet's rows hold several).
_STORED_DATA = type_coerce(Application.data, JSON)
_SEALED_DATA = Application.__table__.c.data.type


def _key_data(form_key: str, data: Any, process: str | None,
              shown: dict[tuple[str, str], tuple[str, ...]]) -> dict[str, Any] | None:
    """The key fields of a row's stored form data, unsealed (what ``key_values`` reads of it); ``shown`` keeps
    each form's key field names for the page."""
    names = shown.get((form_key, process))
    if names is None:
        names = shown[(form_key, process)] = form_for(form_key, None, process).key_fields if form_key in FORMS else ()
    if not isinstance(data, dict) or not names:
        return None
    return _SEALED_DATA.process_result_value({n: data[n] for n in names if n in data}, None)


# The rows' and the total's statements per filter shape (form, step, overdue, sort): built once, bound per page
# (the page's limit and offset too, so the same statement object and its cache key serve every page).
_INBOX_STATEMENTS: dict[tuple, tuple[Any, Any]] = {}


def _inbox_statements(filters: InboxQuery) -> tuple[Any, Any]:
    """The rows (one page: ``limit`` and ``offset`` bound) and the total of what matches; built once per filter
    shape, a text search each time (its text is part of the statement)."""
    key = filters.sort.lstrip("-")
    key = key if key in INBOX_SORTS else "since"
    descending = filters.sort.startswith("-")
    shape = (bool(filters.form), bool(filters.step), filters.overdue, key, descending)
    text = filters.q.strip()
    if not text and shape in _INBOX_STATEMENTS:
        return _INBOX_STATEMENTS[shape]
    order = tuple(o.desc() for o in INBOX_SORTS[key]) if descending else INBOX_SORTS[key]
    base = _inbox_filters(_my_open().join(Agency, Agency.id == Application.agency_id)
                          .outerjoin(Person, Person.id == Application.applicant_id), filters)
    # The process names the form filed (an agency layer's own, e.g. 社會局's 附表2): its key fields are the row's.
    rows = base.join(DefinitionVersion, DefinitionVersion.id == Application.definition_version_id).join(
        ProcessDefinition, ProcessDefinition.id == DefinitionVersion.definition_id).add_columns(
        HumanTask.id, Application.id, Application.form_key, HumanTask.step, HumanTask.name, HumanTask.role,
        Person.name, Agency.name, TaskCandidate.created_at, HumanTask.due_at, HumanTask.bulk, _STORED_DATA,
        ProcessDefinition.key,
    ).order_by(*order, TaskCandidate.human_task_id).limit(bindparam("limit")).offset(bindparam("offset"))
    statements = (rows, base.add_columns(func.count()))
    if not text:
        _INBOX_STATEMENTS[shape] = statements
    return statements


def search_inbox(session: Session, person: Person, filters: InboxQuery, now: datetime,
                 totals: bool = True) -> InboxPage:
    """One page of my open steps: filtered, searched and sorted in the database; at most three statements whatever
    the size (the rows; the counts per form and step; the total, only when searching or filtering beyond the form).

    Without ``totals`` only the page's rows are read (one statement): no total, counts or step list.

    Narrow columns only (never the saved workflow state); the default order follows the candidate index
    (person, open, since), so a holder with thousands of open steps reads just the first page.
    """
    per_page = min(MAX_INBOX_PAGE, max(1, filters.per_page))
    page = max(1, filters.page)
    rows, count = _inbox_statements(filters)
    params = {"person": person.id, "form": filters.form, "step": filters.step, "now": now}
    shown: dict[tuple[str, str], tuple[str, ...]] = {}
    found = [InboxRow(task_id, app_id, form, FORMS[form].title, step, name, role, ROLE_LABELS.get(role, role),
                      applicant or SCHEDULED, agency, since, due_at, bulk,
                      key_values(form, _key_data(form, data, process, shown), process))
             for task_id, app_id, form, step, name, role, applicant, agency, since, due_at, bulk, data, process
             in session.execute(rows, {**params, "limit": per_page, "offset": (page - 1) * per_page})]
    if not totals:
        return InboxPage(found, len(found), page, per_page, {}, [])
    # One grouped read gives the counts per form, the step list and, with no filter but the form, the total.
    counts: dict[str, int] = {}
    names: dict[str, list[str]] = {}
    for form, step, name, n in session.execute(_MY_COUNTS, {"person": person.id}):
        counts[form] = counts.get(form, 0) + n
        names.setdefault(step, []).append(name)  # one entry per step id: the filter matches it in every form
    if filters.step or filters.overdue or filters.q.strip():
        total = session.scalar(count, params) or 0
    else:
        total = counts.get(filters.form, 0) if filters.form else sum(counts.values())
    return InboxPage(found, total, page, per_page, counts,
                     [(step, "／".join(dict.fromkeys(n))) for step, n in names.items()])


def inbox_counts(session: Session, person: Person) -> dict[str, int]:
    """Open tasks per form key: one range of ``ix_task_candidate_person_open_step``, no table row read."""
    query = (select(TaskCandidate.form_key, func.count())
             .where(TaskCandidate.person_id == person.id, TaskCandidate.is_open.is_(True))
             .group_by(TaskCandidate.form_key))
    return dict(session.execute(query).all())


# Everything _view reads, loaded up front: no query per application or per row.
_VIEW_LOAD = (
    selectinload(Application.tasks).selectinload(HumanTask.candidates).joinedload(TaskCandidate.person),
    selectinload(Application.history).joinedload(HistoryEntry.actor),
    selectinload(Application.history).joinedload(HistoryEntry.on_behalf_of),
    joinedload(Application.definition_version).joinedload(DefinitionVersion.definition),
    joinedload(Application.applicant), joinedload(Application.agency), joinedload(Application.unit),
)


_Applicant, _Actor, _Principal = aliased(Person), aliased(Person), aliased(Person)
_VIEW_APPLICATION = (
    select(Application.id, Application.form_key, Application.state, ProcessDefinition.key, DefinitionVersion.version,
           _Applicant.username, _Applicant.name, Agency.name, Unit.name, Application.data, Application.created_at,
           Application.closed_at, Application.outcome_reason, Application.trail, Agency.code)
    .join(DefinitionVersion, DefinitionVersion.id == Application.definition_version_id)
    .join(ProcessDefinition, ProcessDefinition.id == DefinitionVersion.definition_id)
    .join(Agency, Agency.id == Application.agency_id)
    .outerjoin(_Applicant, _Applicant.id == Application.applicant_id)
    .outerjoin(Unit, Unit.id == Application.unit_id)
    .where(Application.id == bindparam("application")))
# Every step of the application (their forms label the history), with the people of the open ones.
_VIEW_TASKS = (
    select(HumanTask.id, HumanTask.step, HumanTask.name, HumanTask.role, HumanTask.form, HumanTask.state,
           HumanTask.created_at, HumanTask.due_at, Person.username, Person.name)
    .outerjoin(TaskCandidate, (TaskCandidate.human_task_id == HumanTask.id) & (HumanTask.state == TaskState.OPEN))
    .outerjoin(Person, Person.id == TaskCandidate.person_id)
    .where(HumanTask.application_id == bindparam("application")))
_VIEW_HISTORY = (
    select(HistoryEntry.step, HistoryEntry.step_name, HistoryEntry.role, HistoryEntry.decision, HistoryEntry.opinion,
           HistoryEntry.data, HistoryEntry.created_at, _Actor.username, _Actor.name, _Principal.username,
           _Principal.name, _Actor.title)
    .outerjoin(_Actor, _Actor.id == HistoryEntry.actor_id)
    .outerjoin(_Principal, _Principal.id == HistoryEntry.on_behalf_of_id)
    .where(HistoryEntry.application_id == bindparam("application")).order_by(HistoryEntry.id))


def get_application_view(session: Session, application_id: int, viewer: Person) -> ApplicationView:
    """One application as any viewer reads it (404 for whom may not): three narrow reads, the visibility rule in
    the first, no saved engine state and no ORM objects."""
    found = session.execute(_VIEW_APPLICATION.where(visible_to(session, viewer, local_date(utcnow()))),
                            {"application": application_id}).one_or_none()
    if found is None:
        raise NotFound("no such application")
    (app_id, form_key, state, definition_key, version, applicant, applicant_name, agency, unit, data, created_at,
     closed_at, outcome_reason, trail, agency_code) = found
    tasks: dict[int, tuple] = {}
    people: dict[int, list[tuple[str, str]]] = {}
    for task_id, step, name, role, form, task_state, since, due_at, username, person_name in session.execute(
            _VIEW_TASKS, {"application": app_id}):
        tasks[task_id] = (step, name, role, form, task_state, since, due_at)
        if username is not None:
            people.setdefault(task_id, []).append((username, person_name))
    current = [CurrentTask(i, step, name, role, ROLE_LABELS.get(role, role), [u for u, _ in people.get(i, [])],
                           [n for _, n in people.get(i, [])], since, due_at)
               for i, (step, name, role, _form, task_state, since, due_at) in sorted(tasks.items())
               if task_state == TaskState.OPEN]
    step_forms = {step: form for _i, (step, _n, _r, form, *_rest) in sorted(tasks.items())}
    history = [_history_row(form_key, step_forms.get(row.step), _Entry(*row))
               for row in session.execute(_VIEW_HISTORY, {"application": app_id})]
    return ApplicationView(app_id, form_key, form_title(form_key, agency_code, definition_key), state.value,
                           definition_key, version,
                           applicant or "", applicant_name or SCHEDULED, agency, unit, masked(form_key, data),
                           created_at, closed_at, outcome_reason, current, history, trail or {},
                           attachments=application_attachments(session, app_id, viewer))


@dataclass(frozen=True)
class _Someone:
    username: str
    name: str
    title: str | None = None


class _Entry:
    """A history row read as columns, shaped as ``_history_row`` reads a HistoryEntry."""

    __slots__ = ("step", "step_name", "role", "decision", "opinion", "data", "created_at", "actor", "on_behalf_of")

    def __init__(self, step, step_name, role, decision, opinion, data, created_at, actor, actor_name, principal,
                 principal_name, actor_title) -> None:
        self.step, self.step_name, self.role, self.decision = step, step_name, role, decision
        self.opinion, self.data, self.created_at = opinion, data, created_at
        self.actor = _Someone(actor, actor_name, actor_title) if actor is not None else None
        self.on_behalf_of = _Someone(principal, principal_name) if principal is not None else None


def get_returned_view(session: Session, application_id: int, applicant: Person) -> ApplicationView:
    """The applicant's own application waiting for correction; 403 for anyone else, 409 when not returned."""
    view = get_application_view(session, application_id, applicant)
    if view.applicant != applicant.username:
        raise Forbidden("只有申請人可以補正自己的申請")
    if view.state != ApplicationState.RETURNED.value:
        raise Conflict("此申請目前不需補正")
    return view


def _view(app: Application) -> ApplicationView:
    """What any viewer reads: personal numbers masked (revealing one is its own recorded use case)."""
    current = [CurrentTask(t.id, t.step, t.name, t.role, ROLE_LABELS.get(t.role, t.role),
                           [c.person.username for c in t.candidates], [c.person.name for c in t.candidates],
                           t.created_at, t.due_at) for t in app.tasks if t.state == TaskState.OPEN]
    step_forms = {t.step: t.form for t in app.tasks}
    history = [_history_row(app.form_key, step_forms.get(h.step), h) for h in app.history]
    version = app.definition_version
    return ApplicationView(app.id, app.form_key, application_form(app).title, app.state.value,
                           version.definition.key, version.version,
                           app.applicant.username if app.applicant else "", _applicant_name(app),
                           app.agency.name, app.unit.name if app.unit else None, masked(app.form_key, app.data),
                           app.created_at, app.closed_at, app.outcome_reason, current, history, app.trail or {})


def _history_row(form_key: str, step_form: str | None, h: HistoryEntry) -> HistoryRow:
    data = masked(form_key, h.data)
    return HistoryRow(h.step, h.step_name, h.role, ROLE_LABELS.get(h.role, h.role),
                      h.actor.username if h.actor else None, h.actor.name if h.actor else None,
                      h.decision, h.opinion, data, h.created_at, _details(h.data),
                      shown_fields(form_key, step_form, data),
                      h.on_behalf_of.username if h.on_behalf_of else None, _name_of(h.on_behalf_of),
                      _approve_label(step_form) if h.decision == "approve" else None,
                      h.actor.title if h.actor else None)


# Step data lives under these names but is not a field of its own: a review's per-account lines are ``details``.
_NOT_SHOWN = {"account_decisions", "decision", "opinion"}


def shown_fields(form_key: str, step_form: str | None, data: dict[str, Any] | None) -> list[tuple[Field, Any]]:
    """A step's recorded data as (field, value) in the order of the step's form, labelled as the form labels it.

    The step's own form comes first; a name it does not know (a diagram redrawn since) is looked up in the other
    step forms and the application's form, and shown under its own name only when nobody knows it.
    """
    if not data:
        return []
    own = STEP_FORMS.get(step_form or "review", STEP_FORMS["review"]).fields
    known = {f.name: f for f in (*FORMS[form_key].fields, *(f for s in STEP_FORMS.values() for f in s.fields), *own)}
    order = [f.name for f in own]
    names = sorted((k for k in data if k not in _NOT_SHOWN),
                   key=lambda k: (order.index(k) if k in order else len(order)))
    return [(known.get(k) or Field(k, k, "string"), data[k]) for k in names]


def _approve_label(step_form: str | None) -> str | None:
    step = STEP_FORMS.get(step_form or "review")
    return step.approve_label if step and step.approve_label != DECISION_LABELS["approve"] else None


def _name_of(person: Any) -> str | None:
    """The name of whom a substitute signed for: a person, or a name as recorded."""
    if person is None:
        return None
    return person if isinstance(person, str) else getattr(person, "name", None)


def _applicant_name(app: Application) -> str:
    # Duties (a yearly review) are started by the scheduler and have no applicant.
    return app.applicant.name if app.applicant else SCHEDULED


def _details(data: dict[str, Any] | None) -> list[str]:
    """Readable lines for structured step data: one per account of a permission review."""
    return describe_decisions(data["account_decisions"]) if data and data.get("account_decisions") else []


@dataclass(frozen=True)
class TaskPage:
    """One step as the task page and the API show it: the task, what it asks, and its application."""

    task: HumanTask
    fields: StepFields
    view: ApplicationView


def get_task_page(session: Session, task_id: int, actor: Person, now: datetime) -> TaskPage:
    """The step for one of its candidates (404 absent, 403 not theirs), its fields bound to the application."""
    task = get_task_for(session, task_id, actor)
    return TaskPage(task, step_fields(session, task.application, task, now),
                    get_application_view(session, task.application_id, actor))


def list_my_applications(session: Session, person: Person, limit: int = 200) -> list[ApplicationView]:
    apps = session.scalars(select(Application).where(Application.applicant_id == person.id).options(*_VIEW_LOAD)
                           .order_by(Application.created_at.desc(), Application.id.desc()).limit(limit))
    return [_view(a) for a in apps]
