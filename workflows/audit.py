"""Append-only audit trail, written in the caller's transaction and chained by hash so that tampering shows.

``record`` keeps the event with the session until the caller commits. Then the pending events are appended
to the one chain: the chain's head row is locked (concurrent writers queue there instead of forking the
chain), each event gets the next position and sha256(previous hash + its canonical fields), and the head
moves on. The caller's own writes are flushed first, so the head is the last lock a transaction takes and is
held only while it commits. ``verify_chain`` walks the chain and names the first event that does not verify.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, event, func, insert, or_, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from models import (
    AUDIT_CHAIN_ID,
    AUDIT_GENESIS,
    Application,
    AuditChain,
    AuditEvent,
    HumanTask,
    Person,
    QueryLog,
    WebirAccount,
    audit_hash,
)

from . import writes
from .errors import Forbidden

_PENDING = "audit_pending"
_HEAD = AuditChain.__table__
_INSERT = insert(AuditEvent.__table__)
# The head's two statements, built once: a no-op update takes the head's row lock (PostgreSQL) or the database's
# write lock (SQLite) and reads it; the other moves it on.
_LOCK_HEAD = (update(_HEAD).where(_HEAD.c.id == AUDIT_CHAIN_ID).values(seq=_HEAD.c.seq)
              .returning(_HEAD.c.seq, _HEAD.c.chain_hash))
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == AUDIT_CHAIN_ID).values(seq=bindparam("head_seq"),
                                                                      chain_hash=bindparam("head_hash"))


def record(session: Session, event_type: str, *, actor: Person | None, subject_type: str,
           subject_id: int | None, now: datetime, **payload: Any) -> None:
    """Add one audit event; the use case's single commit appends it to the chain and makes it durable."""
    session.info.setdefault(_PENDING, []).append({
        "event_type": event_type, "actor_id": actor.id if actor else None, "subject_type": subject_type,
        "subject_id": subject_id, "payload": _as_stored(payload) if payload else None, "created_at": now})


_PLAIN = (str, int, bool, type(None))


def _as_stored(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as it will read back from the JSON column (e.g. tuples become lists): what is hashed. Plain
    values (exactly str, int, bool, None) read back as they are, and are kept without the round trip."""
    if all(type(value) in _PLAIN for value in payload.values()):
        return payload
    return json.loads(json.dumps(payload))


@event.listens_for(Session, "before_commit")
def _append_pending(session: Session) -> None:
    # The one commit hook, so the order holds: the session's changes (the version check first), the queued
    # writes, then the chain's head — the last lock a transaction takes.
    writes.run_queued(session)
    events = session.info.pop(_PENDING, None)
    if events:
        append(session, events)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction) -> None:
    # A rolled back or closed transaction takes its events along (a committed one has appended them).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def append(session: Session, events: list[dict[str, Any]]) -> None:
    """Chain the events (``record``'s columns of each) after the head, in order; the caller's transaction commits
    them."""
    session.flush()  # the caller's own writes (and their row locks) come before the head's lock
    seq, previous = _lock_head(session)
    rows = []
    for fields in events:
        seq += 1
        previous = audit_hash(previous, seq=seq, **fields)  # as AuditEvent.hash_after gives it for the stored row
        rows.append({**fields, "seq": seq, "chain_hash": previous})
    session.execute(_INSERT, rows)  # prepared once; nothing reads the events back as objects
    session.execute(_MOVE_HEAD, {"head_seq": seq, "head_hash": previous})


def _lock_head(session: Session) -> tuple[int, str]:
    """The head's position and hash, locked until commit: other appends wait here."""
    try:
        seq, chain_hash = session.execute(_LOCK_HEAD).one()
    except NoResultFound:
        raise RuntimeError("the audit chain's head row is missing; run `flask verify-audit`") from None
    return seq, chain_hash


@dataclass(frozen=True)
class ChainCheck:
    """The result of walking the chain: intact, or the first position that does not verify and why."""

    verified: int  # events that verified, from the first on
    head_seq: int | None
    head_hash: str | None
    broken_at: int | None = None  # the first position that does not verify
    problem: str | None = None  # "altered": hash does not match; "missing": no event there; "head": end cut
    event_id: int | None = None  # the event at broken_at, when there still is one
    event_type: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


_HASHED = (AuditEvent.seq, AuditEvent.event_type, AuditEvent.actor_id, AuditEvent.subject_type,
           AuditEvent.subject_id, AuditEvent.payload, AuditEvent.created_at)


def _read_head(session: Session) -> tuple[int, str] | None:
    head = session.execute(select(AuditChain.seq, AuditChain.chain_hash)
                           .where(AuditChain.id == AUDIT_CHAIN_ID)).one_or_none()
    return (head.seq, head.chain_hash) if head else None


def verify_chain(session: Session, *, actor: Person | None) -> ChainCheck:
    """Recompute the chain from the first event; ``actor`` None is the operator's command line.

    Others may append while the walk runs: the head read before the walk must lie on the walked chain (events
    cut from the end or a rewritten head do not), and the head read after it must not lie behind the walked end
    (a head moved back does).
    """
    if actor is not None and not actor.is_admin:
        raise Forbidden("只有系統管理者可以檢查審計軌跡")
    before = _read_head(session)
    previous, expected, at_head = AUDIT_GENESIS, 1, AUDIT_GENESIS
    rows = session.execute(select(AuditEvent.id, AuditEvent.chain_hash, *_HASHED).order_by(AuditEvent.seq)
                           .execution_options(yield_per=2000))
    head_seq, head_hash = before or (None, None)
    with rows:
        for row in rows:
            if row.seq != expected:
                return ChainCheck(expected - 1, head_seq, head_hash, expected, "missing")
            fields = {c.key: getattr(row, c.key) for c in _HASHED}
            if row.chain_hash != audit_hash(previous, **fields):
                return ChainCheck(expected - 1, head_seq, head_hash, expected, "altered", row.id, row.event_type)
            previous, expected = row.chain_hash, expected + 1
            if row.seq == head_seq:
                at_head = row.chain_hash
    last = expected - 1
    after = _read_head(session)
    if before is None or after is None or head_seq > last or head_hash != at_head:
        return ChainCheck(last, head_seq, head_hash, last + 1, "head")  # events cut from the end, or head rewritten
    if after[0] < last:
        return ChainCheck(last, *after, after[0] + 1, "head")  # events beyond a head moved back
    return ChainCheck(last, head_seq, head_hash)


@dataclass(frozen=True)
class AuditRow:
    id: int
    event_type: str
    actor: str | None
    subject_type: str
    subject_id: int | None
    payload: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditRow]
    total: int
    page: int
    per_page: int


def of_agencies(agencies):
    """SQL condition: events about something of these agencies (a SELECT of ids).

    An application, one of its steps, a WebIR account or a logged query belongs to an agency, and so does an
    event about the agency itself; events about anything else (a deployed diagram, a schedule run) belong to
    none and are left out.
    """
    applications = select(Application.id).where(Application.agency_id.in_(agencies))
    return or_(
        and_(AuditEvent.subject_type == "application", AuditEvent.subject_id.in_(applications)),
        and_(AuditEvent.subject_type == "human_task", AuditEvent.subject_id.in_(
            select(HumanTask.id).where(HumanTask.application_id.in_(applications)))),
        and_(AuditEvent.subject_type == "webir_account", AuditEvent.subject_id.in_(
            select(WebirAccount.id).where(WebirAccount.agency_id.in_(agencies)))),
        # Query-log imports, samples and legal bases are about an agency; a flag answered, about one logged query.
        and_(AuditEvent.subject_type == "agency", AuditEvent.subject_id.in_(agencies)),
        and_(AuditEvent.subject_type == "query_log", AuditEvent.subject_id.in_(
            select(QueryLog.id).where(QueryLog.agency_id.in_(agencies)))))


def list_audit_events(session: Session, *, agencies=None, event_type: str | None = None,
                      subject_type: str | None = None, subject_id: int | None = None, page: int = 1,
                      per_page: int = 50) -> AuditPage:
    """Audit events, newest first, in a stable order for paging; only those of ``agencies`` when given."""
    conditions = [c for c in (
        of_agencies(agencies) if agencies is not None else None,
        AuditEvent.event_type == event_type if event_type else None,
        AuditEvent.subject_type == subject_type if subject_type else None,
        AuditEvent.subject_id == subject_id if subject_id is not None else None) if c is not None]
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    rows = session.execute(
        select(AuditEvent, Person.username).outerjoin(Person, Person.id == AuditEvent.actor_id).where(*conditions)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(per_page).offset((page - 1) * per_page))
    items = [AuditRow(e.id, e.event_type, username, e.subject_type, e.subject_id, e.payload, e.created_at)
             for e, username in rows]
    return AuditPage(items, total, page, per_page)
