"""The notify-only wakes of a claimed batch, read in a few SELECTs and written in one transaction.

A due reminder or escalation that only tells someone (``TimerInfo.notify_only``) is sent from the timer plan
without the engine (``runtime.sync.notify_due_timers`` does it for one instance). For a whole claimed batch this
module reads what those wakes need at once — the applications with their plans and versions, the diagrams, the
waiting steps with their candidates and people, the people's notification settings — builds every message and
audit event in Python, and writes them in one transaction: one UPDATE of the applications (executemany, each row
with its optimistic version check), one INSERT of the notifications, and the audit events chained behind one
lock of the chain's head (``workflows.audit``) at the one commit.

Whatever the batch cannot take is left to the one-by-one wake, which does today what it always did: a wake that
needs the engine (no plan yet, a timer that moves the process), an application no longer open, an instance whose
messages could not be built or whose diagram could not be read (it may fail again there and get its incident), and
— the whole batch — when reading the batch failed, an application changed after the claim (a person deciding its
step: the version check) or the batch's commit failed.
Nothing is written twice: the batch commits all its wakes or none.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from models import Application, DefinitionVersion, HumanTask, Person, TaskCandidate

from .. import audit, writes
from ..engine import TimerInfo
from ..notify import ADD_NOTIFICATIONS, channels, notification_rows
from ..runtime.diagrams import load_diagram
from ..runtime.reminders import superiors, timer_message
from ..runtime.sync import due_timers, only_notify, plan_after

log = logging.getLogger(__name__)
_APP = Application.__table__
# The plan written and the version checked and moved, per application (executemany: one statement per batch).
_ADVANCE = (update(_APP).where(_APP.c.id == bindparam("app"), _APP.c.lock_version == bindparam("version"))
            .values(timer_plan=bindparam("plan"), next_timer_at=bindparam("next"), updated_at=bindparam("now"),
                    lock_version=bindparam("version") + 1))


@dataclass(frozen=True)
class BatchResult:
    fired: dict[int, list[str]]  # application id: the timers it sent
    rest: list[int]  # for the one-by-one wake, in the claimed order


@dataclass
class _Wake:
    app: int
    version: int
    plan: dict
    due: list[tuple[str, TimerInfo]]  # (timer task id, timer)


@dataclass(frozen=True)
class _Step:
    id: int
    step: str
    name: str
    role: str
    created_at: datetime


def wake_notify_only(session: Session, ids: list[int], now: datetime) -> BatchResult:
    """Send the notify-only wakes among the claimed ``ids`` and commit once; the rest for the one-by-one wake."""
    if not ids:
        return BatchResult({}, [])
    session.rollback()
    try:
        wakes, rest = _plan(session, ids, now)
        if not wakes:
            return BatchResult({}, ids)
        steps, holders = _prefetch(session, [w.app for w in wakes])
    except (OperationalError, InterfaceError):
        session.rollback()
        raise  # the database itself: the caller gives the claimed instances back
    except Exception:  # whatever it is, the one-by-one wake sets the instance that causes it aside
        session.rollback()
        log.exception("timer batch: reading %s claimed applications failed; each is woken on its own", len(ids))
        return BatchResult({}, ids)
    built, notes = [], []
    for wake in wakes:
        try:
            notes.append(build_messages(session, wake, steps[wake.app], holders, now))
        except Exception as exc:  # this instance only: its own wake tries again (and records the incident)
            log.warning("timer batch: application %s left to its own wake (%s: %s)", wake.app,
                        type(exc).__name__, exc)
            rest.add(wake.app)
        else:
            built.append(wake)
    if not built:
        session.rollback()
        return BatchResult({}, ids)
    try:
        _write(session, built, notes, now)
    except _Changed:
        session.rollback()
        return BatchResult({}, ids)
    except (OperationalError, InterfaceError):
        session.rollback()
        raise  # the database itself: the caller gives the claimed instances back
    except Exception:
        session.rollback()
        log.exception("timer batch of %s applications failed to commit; each is woken on its own", len(built))
        return BatchResult({}, ids)
    fired = {w.app: [info.event for _i, info in w.due] for w in built}
    return BatchResult(fired, [i for i in ids if i not in fired])


class _Changed(Exception):
    """An application of the batch changed after its claim (its version moved): the batch is not written."""


def _plan(session: Session, ids: list[int], now: datetime) -> tuple[list[_Wake], set[int]]:
    """The wakes whose every due timer only notifies; the ids left for the one-by-one wake."""
    rows = session.execute(select(_APP.c.id, _APP.c.lock_version, _APP.c.timer_plan, _APP.c.definition_version_id)
                           .where(_APP.c.id.in_(ids), Application.is_open)).all()
    versions = {v.id: v for v in session.scalars(select(DefinitionVersion).where(
        DefinitionVersion.id.in_({r.definition_version_id for r in rows})))}
    diagrams = {}
    wakes, rest = [], set(ids)
    for app_id, version, plan, version_id in rows:
        if not plan:
            continue  # saved before there were plans: the engine's wake writes one
        if version_id not in diagrams:
            try:
                diagrams[version_id] = load_diagram(versions[version_id]).timers
            except Exception as exc:  # its instances' own wakes fail too, and record their incidents
                log.warning("timer batch: diagram version %s left to its instances' own wakes (%s: %s)", version_id,
                            type(exc).__name__, exc)
                diagrams[version_id] = None
        timers = diagrams[version_id]
        if timers is None:
            continue
        due = due_timers(plan, now)
        if not due or not only_notify(due, timers):
            continue
        wakes.append(_Wake(app_id, version, plan, [(i, timers[event]) for i, event in due]))
        rest.discard(app_id)
    return wakes, rest


def _prefetch(session: Session, app_ids: list[int]) -> tuple[dict[int, list[_Step]], dict[int, list[tuple]]]:
    """The applications' steps (in order) and each step's candidates as (person id, name, username)."""
    steps: dict[int, list[_Step]] = defaultdict(list)
    for row in session.execute(select(HumanTask.application_id, HumanTask.id, HumanTask.step, HumanTask.name,
                                      HumanTask.role, HumanTask.created_at)
                               .where(HumanTask.application_id.in_(app_ids)).order_by(HumanTask.id)):
        steps[row[0]].append(_Step(*row[1:]))
    task_ids = [s.id for app_steps in steps.values() for s in app_steps]
    holders: dict[int, list[tuple]] = defaultdict(list)
    for task_id, *person in session.execute(
            select(TaskCandidate.human_task_id, Person.id, Person.name, Person.username)
            .join(Person, Person.id == TaskCandidate.person_id)
            .where(TaskCandidate.human_task_id.in_(task_ids)).order_by(TaskCandidate.person_id)):
        holders[task_id].append(tuple(person))
    return steps, holders


@dataclass(frozen=True)
class _Message:
    app: int
    task: int
    kind: str
    subject: str
    body: str
    link: str
    people: list[tuple]  # (id, name, username)
    event: str
    step: str


def build_messages(session: Session, wake: _Wake, steps: list[_Step], holders: dict[int, list[tuple]],
                   now: datetime) -> list[_Message]:
    """One instance's messages, as ``runtime.reminders.notify_timer`` sends them one by one."""
    messages = []
    for _timer_id, info in wake.due:
        step = next((s for s in reversed(steps) if s.step == info.attached_to), None)
        if step is None or info.notify not in ("holder", "superior"):
            continue
        its_holders = holders.get(step.id, [])
        if info.notify == "holder":
            people = its_holders
        else:  # an escalation looks up the superior role in the application's scope (a few rows: the ORM)
            found = superiors(session, session.get(HumanTask, step.id), session.get(Application, wake.app), now)
            people = [(p.id, p.name, p.username) for p in found]
        kind, subject, body, link = timer_message(info, wake.app, step, [h[1] for h in its_holders], now)
        messages.append(_Message(wake.app, step.id, kind, subject, body, link, people, info.event, step.step))
    return messages


def _write(session: Session, wakes: list[_Wake], notes: list[list[_Message]], now: datetime) -> None:
    messages = [m for per_app in notes for m in per_app]
    chosen = channels(session, list({p[0] for m in messages for p in m.people}))
    advance = []
    for wake in wakes:
        plan, next_at = plan_after(wake.plan, [i for i, _info in wake.due])
        advance.append({"app": wake.app, "version": wake.version, "plan": plan, "next": next_at, "now": now})
    # The version check first (SQLite: the first write takes the write lock), then the rest at the commit.
    if session.get_bind().dialect.supports_sane_multi_rowcount:
        changed = session.execute(_ADVANCE, advance).rowcount
    else:
        changed = sum(session.execute(_ADVANCE, row).rowcount for row in advance)
    if changed != len(advance):
        raise _Changed
    rows = []
    for m in messages:
        rows += notification_rows([p[0] for p in m.people], chosen, kind=m.kind, subject=m.subject, body=m.body,
                                  link=m.link, application_id=m.app, task_id=m.task, now=now)
        audit.record(session, "timer_fired", actor=None, subject_type="application", subject_id=m.app, now=now,
                     event=m.event, step=m.step, notified=[p[2] for p in m.people])
    writes.at_commit(session, ADD_NOTIFICATIONS, rows)
    session.commit()
    # An escalation loaded its application as an object; the batch has moved that row on behind its back.
    written = {w.app for w in wakes}
    for obj in [o for o in session.identity_map.values() if isinstance(o, Application) and o.id in written]:
        session.expire(obj)
