"""Timers live in the database: find the due instances and wake them (notify-only wakes a batch at a time).

An instance whose engine fails gets an incident (``runtime.incidents``) and the sweep goes on with the
others; while the incident is open the sweep passes that instance by, until an administrator retries it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from models import Application, HumanTask, TaskState

from ..errors import Conflict
from ..runtime.incidents import TIMER, has_open_incident, record_incident
from ..runtime.sync import fire_due_timers, notify_due_timers, single_writer
from .batch import wake_notify_only

CLAIM_LEASE = timedelta(minutes=5)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepResult:
    woken: int
    fired: int
    skipped: int  # changed by someone else between the claim and the wake (a person deciding the step)
    failed: int = 0  # the engine failed: each now has an open incident


def due_application_ids(session: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(session.scalars(select(Application.id).where(
        Application.next_timer_at <= now, Application.is_open, ~has_open_incident())
        .order_by(Application.next_timer_at, Application.id).limit(limit)))


def claim(session: Session, application_id: int, now: datetime) -> bool:
    """Take one due instance for this worker with a committed conditional update.

    Its next timer moves a lease into the future, so another sweeper finds it no longer due and goes
    on to the next one: on SQLite (no SKIP LOCKED) two sweepers would otherwise both do the whole wake
    and the version column would throw one away. A worker that dies mid-wake leaves the lease to expire.
    """
    claimed = session.execute(update(Application).where(
        Application.id == application_id, Application.next_timer_at <= now, Application.is_open)
        .values(next_timer_at=now + CLAIM_LEASE)).rowcount
    session.commit()
    return claimed == 1


def claim_batch(session: Session, now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due instances for this worker in one committed UPDATE … RETURNING.

    The same lease as ``claim``, for a whole batch in one statement and one commit instead of one each;
    PostgreSQL skips rows another sweeper is claiming at that moment (SKIP LOCKED), SQLite has one writer.
    """
    due = (select(Application.id).where(Application.next_timer_at <= now, Application.is_open, ~has_open_incident())
           .order_by(Application.next_timer_at, Application.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = session.scalars(update(Application).where(Application.id.in_(due.scalar_subquery()),
                                                    Application.next_timer_at <= now)
                          .values(next_timer_at=now + CLAIM_LEASE).returning(Application.id)
                          .execution_options(synchronize_session=False)).all()
    session.commit()
    return sorted(ids)


def release(session: Session, application_ids: list[int], now: datetime) -> None:
    """Give back claimed instances this worker will not wake (its time is up): due again at once."""
    if application_ids:
        session.execute(update(Application).where(Application.id.in_(application_ids),
                                                  Application.next_timer_at == now + CLAIM_LEASE)
                        .values(next_timer_at=now).execution_options(synchronize_session=False))
        session.commit()


def wake(session: Session, application_id: int, now: datetime) -> list[str] | None:
    """Fire what is due on one instance and commit; None if another worker has it or it is not due."""
    if not claim(session, application_id, now):
        return None
    return _fire_claimed(session, application_id, now)


def _fire_claimed(session: Session, application_id: int, now: datetime) -> list[str] | None:
    app = session.get(Application, application_id, populate_existing=True)
    try:
        with single_writer(session, "changed by someone else meanwhile"):  # e.g. a person deciding a step
            # A reminder or escalation is sent from the timer plan; anything else restores the engine.
            fired = notify_due_timers(session, app, now)
            if fired is None:
                fired = fire_due_timers(session, app, now)
    except Conflict:
        return None
    return fired


def sweep(session: Session, now: datetime, batch: int = 500, budget_seconds: float = 25.0) -> SweepResult:
    """Wake every instance whose next timer is due; missed timers (downtime) fire once, here.

    Claims due instances a batch at a time (one statement, one commit); the batch's reminders and escalations
    that only notify are sent together, read in a few statements and written in one transaction
    (``timers.batch``); every other claimed instance is woken in its own transaction. It goes on until
    nothing due is left, a batch makes no progress (every wake fails), or the time budget is spent — then the
    claimed ones not yet woken are given back — so a backlog drains in one sweep instead of 500 per tick.
    An instance whose engine fails gets an incident (logged with its traceback) and is passed by until an
    administrator retries it; the others still fire.
    """
    woken = fired = skipped = failed = 0
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        session.rollback()
        ids = claim_batch(session, now, batch)
        try:
            batched = wake_notify_only(session, ids, now)  # the reminders and escalations, one commit
        except (OperationalError, InterfaceError):
            session.rollback()
            release(session, ids, now)
            raise
        progress = len(batched.fired)
        woken, fired = woken + progress, fired + sum(len(sent) for sent in batched.fired.values())
        rest = batched.rest
        for n, application_id in enumerate(rest):
            if time.monotonic() >= deadline:
                release(session, rest[n:], now)
                break
            session.rollback()  # end the read transaction: each instance gets its own
            try:
                result = _fire_claimed(session, application_id, now)
            except (OperationalError, InterfaceError):
                session.rollback()
                release(session, rest[n + 1:], now)
                raise  # the database itself (locked, gone): no fault of this instance; its lease lets it retry
            except Exception as exc:  # this instance only: record it and go on with the others
                _record_failure(session, application_id, exc, now)
                failed, progress = failed + 1, progress + 1
            else:
                if result is None:
                    skipped += 1
                else:
                    woken, fired, progress = woken + 1, fired + len(result), progress + 1
        if len(ids) < batch or not progress:
            break
    return SweepResult(woken, fired, skipped, failed)


@dataclass(frozen=True)
class PendingTimer:
    application: int
    form: str
    due_at: datetime
    step: str
    step_name: str


def list_pending_timers(session: Session, limit: int = 200) -> list[PendingTimer]:
    """Open applications waiting on a timer, soonest first, with the step that waits."""
    rows = session.execute(
        select(Application.id, Application.form_key, Application.next_timer_at, HumanTask.step, HumanTask.name)
        .join(HumanTask, (HumanTask.application_id == Application.id) & (HumanTask.state == TaskState.OPEN))
        .where(Application.next_timer_at.is_not(None), Application.is_open)
        .order_by(Application.next_timer_at, Application.id).limit(limit)).all()
    return [PendingTimer(*row) for row in rows]
def _record_failure(session: Session, application_id: int, error: Exception, now: datetime) -> None:
    session.rollback()
    log.exception("timer wake of application %s failed; incident recorded", application_id)
    record_incident(session, application_id, kind=TIMER, error=error, now=now)
