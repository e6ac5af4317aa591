"""The audit trail is a hash chain: intact after real work, and any change, removal or cut is named."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import workflows.audit as audit
from models import AUDIT_GENESIS, AuditChain, AuditEvent, Person
from tests.conftest import NOW, QUERIER_ADD
from workflows.errors import Forbidden
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

WRITERS = 6
WAIT = 30  # seconds; a generous bound for a thread, never reached when things work
HOLD = 1  # seconds a writer holding the head waits for others to read it too (they cannot: the wait gives up)


def on_postgres(engine) -> bool:
    return engine.dialect.name == "postgresql"


def as_intruder(engine, statement: str, **params) -> None:
    """Change the table behind the app's back; on PostgreSQL the intruder owns it and turns the guard off first."""
    with engine.begin() as conn:
        if on_postgres(engine):
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
        conn.execute(text(statement), params)
        if on_postgres(engine):  # the guard back on: the next test restores rows, not the schema
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain ENABLE TRIGGER USER"))


@pytest.fixture
def some_work(session, person):
    """A filed application and one decision: several events from several transactions."""
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    [row] = [r for r in reads.list_inbox(session, person("sw_unit_head")) if r.application_id == app.id]
    complete_task(session, task_id=row.task_id, actor=person("sw_unit_head"), decision="approve", opinion="",
                  data={}, now=NOW + timedelta(hours=1))
    count = session.scalar(select(func.count()).select_from(AuditEvent))
    session.commit()  # hold no lock on the trail: an intruder's ALTER TABLE would wait for it
    return count


def check(engine):
    with Session(engine) as fresh:
        return audit.verify_chain(fresh, actor=None)


def test_events_are_chained_in_the_order_they_were_committed(session, engine, some_work):
    assert some_work >= 3
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, some_work + 1))
    previous = AUDIT_GENESIS
    for e in events:
        assert e.chain_hash == e.hash_after(previous)
        previous = e.chain_hash
    assert session.execute(select(AuditChain.seq, AuditChain.chain_hash)).one() == (some_work, previous)
    result = check(engine)
    assert (result.intact, result.verified, result.head_seq) == (True, some_work, some_work)


def test_an_altered_payload_is_named(engine, some_work):
    as_intruder(engine, "UPDATE audit_event SET payload = :p WHERE seq = 2", p='{"form": "manager_account"}')
    result = check(engine)
    with Session(engine) as s:
        event_id = s.scalar(select(AuditEvent.id).where(AuditEvent.seq == 2))
    assert (result.intact, result.broken_at, result.problem, result.event_id, result.verified) == (
        False, 2, "altered", event_id, 1)


def test_an_altered_actor_is_named(engine, session, person, some_work):
    other = person("admin").id
    session.commit()
    as_intruder(engine, "UPDATE audit_event SET actor_id = :other WHERE seq = :s", other=other, s=some_work)
    assert (check(engine).broken_at, check(engine).problem) == (some_work, "altered")


def test_a_deleted_event_leaves_a_gap_that_is_named(engine, some_work):
    as_intruder(engine, "DELETE FROM audit_event WHERE seq = 2")
    result = check(engine)
    assert (result.intact, result.broken_at, result.problem, result.event_id) == (False, 2, "missing", None)


def test_events_cut_from_the_end_no_longer_match_the_head(engine, some_work):
    as_intruder(engine, "DELETE FROM audit_event WHERE seq >= :s", s=some_work - 1)
    result = check(engine)
    assert (result.broken_at, result.problem, result.verified) == (some_work - 1, "head", some_work - 2)


def test_a_head_moved_back_over_the_last_events_is_named(engine, some_work):
    with Session(engine) as s:
        kept = s.scalar(select(AuditEvent.chain_hash).where(AuditEvent.seq == some_work - 2))
    as_intruder(engine, "UPDATE audit_chain SET seq = :s, chain_hash = :h", s=some_work - 2, h=kept)
    result = check(engine)
    assert (result.broken_at, result.problem, result.head_seq) == (some_work - 1, "head", some_work - 2)


def test_events_appended_while_the_check_runs_are_no_tampering(engine, person, some_work, monkeypatch):
    real_read_head = audit._read_head
    manager_id = person("manager").id
    reads_seen = []

    def read_head_then_someone_appends(session):
        head = real_read_head(session)
        if not reads_seen:
            with Session(engine) as other:
                audit.record(other, "task_claimed", actor=other.get(Person, manager_id), subject_type="human_task",
                             subject_id=1, now=NOW)
                other.commit()
        reads_seen.append(head)
        return head

    monkeypatch.setattr(audit, "_read_head", read_head_then_someone_appends)
    result = check(engine)
    assert result.intact and result.verified == some_work + 1
    assert [seq for seq, _ in reads_seen] == [some_work, some_work + 1]


def test_a_rewritten_event_with_a_fresh_hash_breaks_the_next_link(engine, some_work):
    with Session(engine) as s:
        second = s.scalar(select(AuditEvent).where(AuditEvent.seq == 2))
        first_hash = s.scalar(select(AuditEvent.chain_hash).where(AuditEvent.seq == 1))
        second.payload = {"form": "manager_account"}
        forged = second.hash_after(first_hash)
    as_intruder(engine, "UPDATE audit_event SET payload = :p, chain_hash = :h WHERE seq = 2",
                p='{"form": "manager_account"}', h=forged)
    assert (check(engine).broken_at, check(engine).problem) == (3, "altered")


def test_a_rolled_back_use_case_leaves_nothing_in_the_chain(session, person, engine, some_work):
    audit.record(session, "task_claimed", actor=person("manager"), subject_type="human_task", subject_id=1, now=NOW)
    session.rollback()
    audit.record(session, "task_released", actor=person("manager"), subject_type="human_task", subject_id=1,
                 now=NOW)
    session.commit()
    types = session.scalars(select(AuditEvent.event_type).where(AuditEvent.seq > some_work)).all()
    assert types == ["task_released"]
    assert check(engine).intact


def test_a_session_closed_without_commit_leaves_nothing_behind(session, person, engine, some_work):
    audit.record(session, "task_claimed", actor=person("manager"), subject_type="human_task", subject_id=1, now=NOW)
    session.close()
    audit.record(session, "task_released", actor=person("manager"), subject_type="human_task", subject_id=1,
                 now=NOW)
    session.commit()
    types = session.scalars(select(AuditEvent.event_type).where(AuditEvent.seq > some_work)).all()
    assert types == ["task_released"]


def test_only_an_administrator_may_check_the_chain(session, person):
    with pytest.raises(Forbidden):
        audit.verify_chain(session, actor=person("sw_unit_head"))
    assert audit.verify_chain(session, actor=person("admin")).intact


def test_concurrent_writers_queue_on_the_head_instead_of_forking_the_chain(engine, session, person, monkeypatch):
    """Each writer, having read the head, waits for all the others to have read it too.

    Without the head's lock they all read the same head and then collide; with it, the others cannot read
    while one holds it, so the wait gives up after HOLD and the writers go one after another.
    """
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    barrier = threading.Barrier(WRITERS)
    real_lock_head = audit._lock_head
    errors: list[BaseException] = []

    def lock_head_then_wait(session):
        head = real_lock_head(session)
        try:
            barrier.wait(HOLD)
        except threading.BrokenBarrierError:
            pass  # the others are queued behind this writer's lock
        return head

    monkeypatch.setattr(audit, "_lock_head", lock_head_then_wait)
    manager_id = person("manager").id

    def write(n: int) -> None:
        try:
            with Session(engine) as s:
                for i in range(2):
                    audit.record(s, "task_claimed", actor=s.get(Person, manager_id), subject_type="human_task",
                                 subject_id=n * 10 + i, now=NOW)
                s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert errors == []
    with Session(engine) as s:
        written = s.execute(select(AuditEvent.seq, AuditEvent.subject_id).where(AuditEvent.seq > before)
                            .order_by(AuditEvent.seq)).all()
    assert [seq for seq, _ in written] == list(range(before + 1, before + 2 * WRITERS + 1))
    # A writer's two events sit next to each other: appends do not interleave.
    writers = [subject // 10 for _, subject in written]
    assert writers[0::2] == writers[1::2] and sorted(writers[0::2]) == list(range(WRITERS))
    assert check(engine).intact


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET payload = NULL WHERE seq = 1",
    "DELETE FROM audit_event WHERE seq = 1",
    "TRUNCATE audit_event",
    "UPDATE audit_chain SET seq = seq - 1",
    "UPDATE audit_chain SET chain_hash = :zero",
    "DELETE FROM audit_chain",
])
def test_postgresql_refuses_to_change_or_remove_the_trail(engine, some_work, statement):
    if not on_postgres(engine):
        pytest.skip("the append-only triggers are PostgreSQL's; on SQLite the chain check is the defence")
    with pytest.raises(DBAPIError, match="append-only|only moves forward"), engine.begin() as conn:
        conn.execute(text(statement), {"zero": AUDIT_GENESIS})
    assert check(engine).intact


def test_payloads_are_hashed_as_they_read_back_plain_or_not(engine, session, person):
    """Events kept as plain rows until the commit (no ORM object each): plain values as given, tuples, floats, enums
    and nested values through JSON first; each reads back as JSON gives it, and the chain over them verifies."""
    from models import ApplicationState

    staff = person("sw_staff")
    payloads = [{"form": "querier_account", "version": 3, "bulk": True, "reason": None},
                {"items": ("A01", "B02"), "ratio": 0.5, "state": ApplicationState.RUNNING},
                {"nested": {"pairs": [(1, 2)], "舊值": "甲"}}]
    for payload in payloads:
        audit.record(session, "payload_checked", actor=staff, subject_type="person", subject_id=staff.id, now=NOW,
                     **payload)
    session.commit()
    stored = session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "payload_checked")
                             .order_by(AuditEvent.seq)).all()
    assert stored == [payloads[0], {"items": ["A01", "B02"], "ratio": 0.5, "state": "running"},
                      {"nested": {"pairs": [[1, 2]], "舊值": "甲"}}]
    assert check(engine).intact
