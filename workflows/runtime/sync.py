"""Keep an application's projections in step with its engine state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from models import Application, ApplicationState, HumanTask, Person, Role, TaskCandidate, TaskState

from .. import audit, writes
from ..accounts.effects import apply_effects
from ..accounts.transfers import TIMER_ACTIONS
from ..calendar import add_working_days, local_date
from ..engine import SERIALIZER_VERSION, Run
from ..errors import Conflict
from .announcements import announce_outcome, announce_tasks
from .candidates import resolve_candidates, resolve_told
from .diagrams import load_diagram
from .on_behalf import substituted_principals
from .reminders import notify_fired_timers, notify_timer

_OUTCOMES = {"reject": ApplicationState.REJECTED, "withdraw": ApplicationState.WITHDRAWN}


@contextmanager
def single_writer(session: Session, conflict_message: str) -> Iterator[None]:
    """Hold every write until the one commit, where the version column refuses a second writer."""
    try:
        with session.no_autoflush:
            yield
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict(conflict_message) from None


def restore(app: Application) -> Run:
    return Run.restore(load_diagram(app.definition_version), app.workflow_state)


_CLOSE_TASK = update(HumanTask.__table__).where(HumanTask.__table__.c.id == bindparam("task")).values(
    state=bindparam("state"), closed_at=bindparam("closed_at"), completed_by_id=bindparam("completed_by_id"))
_CLOSE_CANDIDATES = update(TaskCandidate.__table__).where(
    TaskCandidate.__table__.c.human_task_id == bindparam("task")).values(is_open=False)


def close_task(row: HumanTask, state: TaskState, now: datetime, actor: Person | None = None) -> None:
    """Close an inbox row and its candidates' rows: two prepared UPDATEs at the commit (``writes``) for a row
    already stored, the objects kept as they will read back."""
    session = object_session(row)
    values = {"state": state, "closed_at": now, "completed_by_id": actor.id if actor else None}
    if row.id is None or session is None:  # opened in this transaction: the unit of work writes it whole
        for name, value in values.items():
            setattr(row, name, value)
        for candidate in row.candidates:
            candidate.is_open = False
        return
    writes.at_commit(session, _CLOSE_TASK, [{"task": row.id, **values}])
    writes.at_commit(session, _CLOSE_CANDIDATES, [{"task": row.id}])
    for name, value in values.items():
        set_committed_value(row, name, value)
    for candidate in row.__dict__.get("candidates", ()):
        set_committed_value(candidate, "is_open", False)


def sync(session: Session, app: Application, run: Run, now: datetime,
         outcome: ApplicationState | None = None, actor: Person | None = None, prepared: bool = False) -> None:
    """Write the engine state back: inbox rows, state, saved workflow, next timer.

    ``outcome`` overrides the state read from the engine (a chain cancelled by withdrawal);
    ``actor`` is recorded on the closing audit event when a person closed the application; ``prepared`` writes
    the steps that open as prepared INSERTs at the commit (``_open_task``), for a use case that does not change
    them before it commits (a filing, a decided step), while a send-back or a recall still claims or reads them.
    """
    ready = {t.guid: t for t in run.ready_tasks()}
    known = {row.task_guid for row in app.tasks}
    for row in app.tasks:
        if row.state == TaskState.OPEN and row.task_guid not in ready:
            close_task(row, TaskState.CANCELLED, now)
    # A timer that fired in this run (a step filed already overdue) tells its step's holders, and a timer's
    # action may hand the step over: both read the rows just opened, so those go through the unit of work.
    prepared = prepared and not run.fired
    opened = [_open_task(session, app, task, now, prepared) for guid, task in ready.items() if guid not in known]
    run_timer_actions(session, app, run, now)
    app.state = outcome or _state_of(app, run)
    waiting = [row.created_at for row in app.tasks if row.state == TaskState.OPEN]
    waiting += [row.created_at for row, _people, _chosen in opened if row not in app.tasks]  # prepared: not in it yet
    app.waiting_since = min(waiting) if waiting else None
    if not app.is_open:
        app.closed_at = now
        data = run.data
        if app.state == ApplicationState.REJECTED:
            app.outcome_reason = data.get("opinion")
        if app.state == ApplicationState.COMPLETED:
            apply_effects(session, app, data, now)
        audit.record(session, f"application_{app.state.value}", actor=actor, subject_type="application",
                     subject_id=app.id, now=now)
    handled = handled_timers(app)
    if run.fired:
        notify_fired_timers(session, app, run, now, handled)
    # Send-backs and recalls (filing.rewinds) are kept across steps: the engine's tree does not tell them.
    rounds = (app.trail or {}).get("rewinds")
    app.trail = merged_trail(app.trail, run)
    if rounds:
        app.trail["rewinds"] = rounds
    app.workflow_state = run.save()
    app.serializer_version = SERIALIZER_VERSION
    waiting = run.waiting_timers()
    set_timer_plan(app, [list(t) for t in waiting], [i for i, _e, _d in waiting if i in handled])
    app.updated_at = now
    if not app.is_open:
        announce_outcome(session, app, now)
    announce_tasks(session, app, opened, run.data, now)


def handled_timers(app: Application) -> frozenset[str]:
    """The waiting timers whose message the sweep has sent without the engine (their task ids)."""
    return frozenset((app.timer_plan or {}).get("handled", ()))


def set_timer_plan(app: Application, timers: list[list[str]], handled: list[str]) -> None:
    """Keep the waiting timers beside the state; the next wake is the earliest one not handled yet."""
    app.timer_plan, app.next_timer_at = timer_plan(timers, handled)


def timer_plan(timers: list[list[str]], handled: list[str]) -> tuple[dict | None, datetime | None]:
    """The plan to store and the next wake it gives: the earliest timer not handled yet."""
    due = [datetime.fromisoformat(d) for i, _event, d in timers if i not in handled]
    return ({"timers": timers, "handled": handled} if timers else None), (min(due) if due else None)


def merged_trail(saved: dict | None, run: Run) -> dict:
    """The trail so far plus what the engine did in this use case: the saved state keeps no finished steps."""
    done = list((saved or {}).get("done", []))
    flows = [list(f) for f in (saved or {}).get("flows", [])]
    trail = run.trail()
    done += [node for node in trail.done if node not in done]
    flows += [list(f) for f in trail.flows if list(f) not in flows]
    return {"done": done, "flows": flows}


def run_timer_actions(session: Session, app: Application, run: Run, now: datetime) -> None:
    """Do what a fired intermediate timer stands for, e.g. a role transfer's date arriving (manager_handover)."""
    for event in run.fired:
        action = run.diagram.timers[event].action
        if action is None:
            continue
        handler = TIMER_ACTIONS.get(action)
        result = handler(session, app, now) if handler else {"unknown_action": True}
        audit.record(session, "timer_fired", actor=None, subject_type="application", subject_id=app.id, now=now,
                     event=event, action=action, **result)


def _due_at(task, now: datetime) -> datetime | None:
    if task.due_at is not None:
        return task.due_at
    return add_working_days(now, task.due_working_days) if task.due_working_days else None


_TASK = HumanTask.__table__
_ADD_TASK = insert(_TASK).returning(_TASK.c.id)
_ADD_CANDIDATES = insert(TaskCandidate.__table__)
_TASK_COLUMNS = [c.name for c in _TASK.columns if c.name not in ("id", "application_id")]


def _open_task(session: Session, app: Application, task, now: datetime,
               prepared: bool) -> tuple[HumanTask, list[int], dict | None]:
    """The step's inbox row and its candidates' rows, written at the commit by two prepared INSERTs (``writes``),
    after the session's flush, so the application's version check still comes first.

    The row is an object outside the session until then: the announcement reads its name now and its id at the
    commit; once written it joins the session as stored and, when they are loaded, the application's tasks, so
    the use case's caller reads it back without a query. With the row, its people's ids (what the rows and the
    messages need) and their notification channels when the statement naming them read them too (``resolve_told``;
    None: the announcement reads them). Prepared, the people are read as ids, not as loaded rows.
    """
    told = resolve_told(session, task.lane, app, local_date(now), ids_only=prepared)
    if told is None:
        people, chosen = resolve_candidates(session, task.lane, app, local_date(now)), None
        behalf = substituted_principals(session, people, local_date(now))
    else:
        people, behalf, chosen = told
    row = HumanTask(task_guid=task.guid, step=task.step, name=task.name, role=task.lane or "", form=task.form,
                    bulk=bool(task.bulk), state=TaskState.OPEN, created_at=now, due_at=_due_at(task, now),
                    closed_at=None, completed_by_id=None, claimed_by_id=None, claimed_at=None)
    ids = [p if isinstance(p, int) else p.id for p in people]
    candidates = [{"person_id": pid, "is_open": True, "created_at": now, "on_behalf_of_id": behalf.get(pid),
                   "form_key": app.form_key, "step": task.step, "step_name": task.name} for pid in ids]
    if not prepared:  # the unit of work writes it, and the use case may still change it
        row.application = app
        row.candidates = [TaskCandidate(person=p, **values) for p, values in zip(people, candidates, strict=True)]
        session.add(row)
        return row, ids, chosen

    filing = app.id is None  # a new application: its steps are the ones opened now

    def write(session: Session) -> None:
        values = {name: getattr(row, name) for name in _TASK_COLUMNS}
        row.id = session.execute(_ADD_TASK, {**values, "application_id": app.id}).scalar_one()
        row.application_id = app.id
        if candidates:
            session.execute(_ADD_CANDIDATES, [{"human_task_id": row.id, **c} for c in candidates])
        make_transient_to_detached(row)
        session.add(row)
        if filing or "tasks" in app.__dict__:  # else not loaded: the first read loads it, this row with it
            set_committed_value(app, "tasks", [*app.__dict__.get("tasks", ()), row])

    writes.call_at_commit(session, write)
    return row, ids, chosen


def is_amend_step(role: str | None, form: str | None) -> bool:
    """A step where the applicant corrects or withdraws a returned application.

    Not every step in the applicant's lane is one: a duty's own step (the quarterly password reminder, form
    ``acknowledge``) is the person's task, not a returned application.
    """
    return role == Role.APPLICANT and form in (None, "amend")


def _state_of(app: Application, run: Run) -> ApplicationState:
    if run.is_completed:
        return _OUTCOMES.get(run.data.get("decision"), ApplicationState.COMPLETED)
    if any(is_amend_step(t.lane, t.form) for t in run.ready_tasks()):
        return ApplicationState.RETURNED
    return ApplicationState.RUNNING


def notify_due_timers(session: Session, app: Application, now: datetime) -> list[str] | None:
    """Without the engine: when every timer due now only notifies (``TimerInfo.notify_only``), send their
    messages, mark them handled in the plan and move the next wake on (the caller commits); the timers sent.

    None when the engine must run: no plan yet (saved before there was one: that wake writes it), nothing
    strictly due, or a due timer that does more than tell someone. The engine fires a handled timer later
    (a step decided, another timer's wake) without telling anyone again (``sync``).
    """
    plan = app.timer_plan
    if not plan:
        return None
    due = due_timers(plan, now)
    if not due:
        return None
    timers = load_diagram(app.definition_version).timers
    if not only_notify(due, timers):
        return None
    for _i, event in due:
        notify_timer(session, app, timers[event], now)
    app.timer_plan, app.next_timer_at = plan_after(plan, [i for i, _event in due])
    app.updated_at = now
    return [event for _i, event in due]


def due_timers(plan: dict, now: datetime) -> list[tuple[str, str]]:
    """The plan's timers due before ``now`` whose message the sweep has not sent yet: (timer task id, event)."""
    handled = plan.get("handled", ())
    return [(i, event) for i, event, at in plan["timers"] if i not in handled and datetime.fromisoformat(at) < now]


def only_notify(due: list[tuple[str, str]], timers: dict) -> bool:
    """Whether every due timer only tells someone (``TimerInfo.notify_only``): no engine needed to send them."""
    return all(event in timers and timers[event].notify_only for _i, event in due)


def plan_after(plan: dict, sent: list[str]) -> tuple[dict | None, datetime | None]:
    """The plan, and the next wake it gives, once the timers ``sent`` (their task ids) are handled."""
    return timer_plan(plan["timers"], [*plan.get("handled", ()), *sent])


def fire_due_timers(session: Session, app: Application, now: datetime) -> list[str]:
    """Fire what is due on the instance and write it back (the caller commits); the timers that fired."""
    run = restore(app)
    fired = run.tick()
    sync(session, app, run, now)
    return fired
