"""Timers live in the database: find the due instances and wake each in its own transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Application, ApplicationState

from .errors import Conflict
from .instances import restore, single_writer, sync

_LIVE = (ApplicationState.RUNNING, ApplicationState.RETURNED)


@dataclass(frozen=True)
class SweepResult:
    woken: int
    fired: int
    skipped: int  # claimed by another worker, or no longer due


def due_application_ids(session: Session, now: datetime, limit: int = 500) -> list[int]:
    return list(session.scalars(select(Application.id).where(
        Application.next_timer_at <= now, Application.state.in_(_LIVE))
        .order_by(Application.next_timer_at, Application.id).limit(limit)))


def wake(session: Session, application_id: int, now: datetime) -> list[str] | None:
    """Fire what is due on one instance and commit; None if another worker has it or it is not due."""
    # PostgreSQL: a worker skips a row another holds. Everywhere: the version column refuses a second commit.
    app = session.scalar(select(Application).where(
        Application.id == application_id, Application.next_timer_at <= now, Application.state.in_(_LIVE))
        .with_for_update(skip_locked=True))
    if app is None:
        session.rollback()
        return None
    try:
        with single_writer(session, "woken by another worker"):
            run = restore(app)
            fired = run.tick()
            sync(session, app, run, now)
    except Conflict:
        return None
    return fired


def sweep(session: Session, now: datetime, batch: int = 500, budget_seconds: float = 25.0) -> SweepResult:
    """Wake every instance whose next timer is due; missed timers (downtime) fire once, here.

    Works in batches until nothing due is left, a batch makes no progress (the rest is held by another
    worker), or the time budget is spent, so a backlog drains in one sweep instead of 500 per tick.
    """
    woken = fired = skipped = 0
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        ids = due_application_ids(session, now, batch)
        progress = 0
        for application_id in ids:
            session.rollback()  # end the read transaction: each instance gets its own
            result = wake(session, application_id, now)
            if result is None:
                skipped += 1
            else:
                woken, fired, progress = woken + 1, fired + len(result), progress + 1
            if time.monotonic() >= deadline:
                break
        if len(ids) < batch or not progress:
            break
    return SweepResult(woken, fired, skipped)
