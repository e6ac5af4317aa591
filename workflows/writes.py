"""Writes built once and run at commit: rows a use case only adds or closes, as prepared Core statements.

A step's history entry, its notifications, its audit events and the closing of the decided task never need to
be read back as objects in the same transaction, yet through the unit of work each costs an object, its
bookkeeping and a statement built per flush. ``at_commit`` queues a statement built once (module level) with
its rows; at the commit the session's own changes are flushed first — the application's UPDATE with its
optimistic version check comes first, so a losing writer still gets StaleDataError (409) before anything of
its queue runs — then the queue in order, then the audit chain (``workflows.audit``). On SQLite the first
write takes the database's write lock, so nothing is written before the commit and the lock is held only
while it runs. A rollback drops the queue with the transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_QUEUE = "writes_at_commit"
Rows = list[dict[str, Any]] | Callable[[], list[dict[str, Any]]]


def at_commit(session: Session, statement, rows: Rows) -> None:
    """Run ``statement`` with ``rows`` (or what the callable gives at commit, e.g. ids flushed by then)."""
    session.info.setdefault(_QUEUE, []).append((statement, rows))


def call_at_commit(session: Session, write: Callable[[Session], None]) -> None:
    """Run ``write(session)`` at the commit, in its place in the queue: for a write whose result (a new row's
    id) the writes queued after it read, e.g. a step opened with its candidates (``runtime.sync``)."""
    session.info.setdefault(_QUEUE, []).append((None, write))


def pending(session: Session) -> bool:
    return bool(session.info.get(_QUEUE))


def run_queued(session: Session) -> None:
    """Flush the session's own changes, then run the queue in order (called by the commit hook)."""
    queued = session.info.pop(_QUEUE, None)
    if not queued:
        return
    session.flush()
    for statement, rows in queued:
        if statement is None:
            rows(session)
            continue
        params = rows() if callable(rows) else rows
        if params:
            session.execute(statement, params)


@event.listens_for(Session, "after_transaction_end")
def _forget_queue(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_QUEUE, None)
