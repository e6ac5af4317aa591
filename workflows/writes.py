"""Writes built once and run at commit: rows a use case only adds or closes, as prepared Core statements.

A step's history entry, its notifications, its audit events and the closing of the decided task never need to
be read back as objects in the same transaction, yet through the unit of work each costs an object, its
bookkeeping and a statement built per flush. ``at_commit`` queues a statement built once (module level) with
its rows; at the commit the session's own changes are flushed first — the application's UPDATE with its
optimistic version check comes first, so a losing writer still gets StaleDataError (409) before anything of
its queue runs — then the queue in order, then the audit chain (``workflows.audit``). On SQLite the first
write takes the database's write lock, so nothing is written before the commit and the lock is held only
while it runs. A rollback drops the queue with the transaction.

When the session's only change is one versioned object's own columns — a decided step's application — that
flush is one prepared UPDATE ... WHERE id AND version (``_write_versioned``), not the unit of work; anything
else (a new, deleted or second changed object, a changed relationship) goes through ``Session.flush`` as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, event, update
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql import ClauseElement

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
    if not _write_versioned(session):
        session.flush()
    for statement, rows in queued:
        if statement is None:
            rows(session)
            continue
        params = rows() if callable(rows) else rows
        if params:
            session.execute(statement, params)


_VERSIONED: dict[Mapper, tuple[Any, dict[str, str]] | None] = {}


def _versioned(mapper: Mapper) -> tuple[Any, dict[str, str]] | None:
    """The mapper's UPDATE by primary key and version, built once, and its attributes' column keys; None when
    it is not one table with one primary key column and a version column the mapper counts up (in Python)."""
    if mapper not in _VERSIONED:
        table, version = mapper.local_table, mapper.version_id_col
        simple = (isinstance(table, Table) and mapper.inherits is None and version is not None
                  and len(mapper.primary_key) == 1 and mapper.version_id_generator is not False)
        pk = mapper.primary_key[0] if simple else None
        _VERSIONED[mapper] = (update(table).where(pk == bindparam("pk_"), version == bindparam("version_")),
                              {p.key: p.columns[0].key for p in mapper.column_attrs
                               if len(p.columns) == 1 and p.columns[0].table is table}) if simple else None
    return _VERSIONED[mapper]


def _write_versioned(session: Session) -> bool:
    """Write the session's one changed object by one prepared UPDATE with its version check, as the unit of work
    would (same columns, same ``WHERE version = old``, ``StaleDataError`` when no row matched, the version counted
    up), and mark it flushed. False, having written nothing, for anything else: ``Session.flush`` does it."""
    if session.new or session.deleted:
        return False
    modified = session.identity_map._modified  # the states with pending changes (what Session.dirty reads)
    if len(modified) != 1:
        return False
    state = next(iter(modified))
    mapper, known = state.mapper, _versioned(state.mapper)
    if known is None or state.key is None or state.deleted or state.expired_attributes:
        return False
    if (session.dispatch.before_flush or session.dispatch.after_flush or session.dispatch.after_flush_postexec
            or mapper.dispatch.before_update or mapper.dispatch.after_update):
        return False  # someone listens to the flush or to this mapper's updates: the unit of work tells them
    statement, columns = known
    version_key = mapper._columntoproperty[mapper.version_id_col].key
    pk_key = mapper._columntoproperty[mapper.primary_key[0]].key
    changed, values = state.committed_state, state.dict
    if (version_key in changed or pk_key in changed or not changed.keys() <= columns.keys()
            or version_key not in values or values.get(pk_key) is None):
        return False  # a relationship, the key or the version changed by hand, or not loaded: the unit of work
    params: dict[str, Any] = {}
    for key, before in changed.items():
        value = values.get(key)
        if isinstance(value, ClauseElement) or hasattr(value, "__clause_element__"):
            return False
        if state.manager[key].impl.is_equal(value, before) is not True:
            params[columns[key]] = value
    if not params:  # no net change: the unit of work writes nothing and checks no version either
        return False
    old = values[version_key]
    new = mapper.version_id_generator(old)
    params[columns[version_key]] = new
    if session.execute(statement, {**params, "pk_": values[pk_key], "version_": old}).rowcount != 1:
        raise StaleDataError(f"UPDATE statement on table '{mapper.local_table.name}' expected to update 1 row(s); "
                             f"0 were matched.")
    values[version_key] = new
    state._commit_all(values, session.identity_map)  # as the flush leaves it: nothing pending, not modified
    return True


@event.listens_for(Session, "after_transaction_end")
def _forget_queue(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_QUEUE, None)
