"""A claimed batch's notify-only wakes go out together, in one transaction; engine wakes keep their own."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from models import Application, AuditEvent, Notification
from tests.workflows.timers.test_incidents import FIXED, file_on_versions
from tests.workflows.timers.test_timers import (
    FILED,
    MINUTE,
    REMINDER_DUE,
    clock,  # noqa: F401 - the frozen clock fixture
    file_querier,
    notes,
    sweep_at,
)
from workflows.audit import verify_chain
from workflows.timers import batch
from workflows.timers import sweep as timers

LATER = REMINDER_DUE + MINUTE


@pytest.fixture
def commits(session):
    """How many transactions the session committed."""
    seen = []

    def committed(own):
        seen.append(own)

    event.listen(session, "after_commit", committed)
    yield seen
    event.remove(session, "after_commit", committed)


def reminded(session) -> Counter:
    return Counter(n.application_id for n in notes(session, "reminder"))


def fired_events(session) -> Counter:
    return Counter(session.scalars(select(AuditEvent.subject_id).where(AuditEvent.event_type == "timer_fired")))


def test_a_batch_mixing_notify_only_and_engine_wakes_sends_each_once_in_one_transaction_for_the_plans(
        session, person, clock, restores, commits):  # noqa: F811
    # The last one's version has a gateway after the reminder: that wake moves the process, so it needs the engine.
    *planned, engine_wake = file_on_versions(session, person, None, None, None, None, None, None, FIXED)
    commits.clear()

    result = sweep_at(session, clock, LATER)

    assert (result.woken, result.fired, result.skipped, result.failed) == (7, 7, 0, 0)
    assert restores == [engine_wake.id]  # the six reminders from their plans, without the engine
    # The claim, the six plans' wakes together, and the engine's wake on its own.
    assert len(commits) == 3
    everyone = [a.id for a in planned] + [engine_wake.id]
    assert reminded(session) == Counter(everyone)
    assert {n.person.username for n in notes(session, "reminder")} == {"sw_unit_head"}
    assert fired_events(session) == Counter(everyone)
    for app in planned:
        note = next(n for n in notes(session, "reminder") if n.application_id == app.id)
        session.refresh(app)
        assert note.subject == f"【逾期提醒】單位主管核准（案號 {app.id}）"
        assert note.link == f"/tasks/{app.tasks[0].id}" and note.human_task_id == app.tasks[0].id
        assert len(app.timer_plan["handled"]) == 1 and app.next_timer_at > LATER  # on to the escalation
    assert verify_chain(session, actor=None).intact

    assert sweep_at(session, clock, LATER + MINUTE).woken == 0  # nothing sent twice


def test_reminders_and_escalations_missed_together_go_out_once_each_from_one_batch(
        session, person, clock, restores, commits):  # noqa: F811
    apps = [file_querier(session, person) for _ in range(3)]
    commits.clear()

    result = sweep_at(session, clock, FILED + timedelta(days=40))

    assert (result.woken, result.fired) == (3, 6) and restores == [] and len(commits) == 2
    told = Counter((n.application_id, n.kind, n.person.username) for n in notes(session))
    assert told == Counter({(a.id, kind, who): 1 for a in apps
                            for kind, who in (("reminder", "sw_unit_head"), ("escalation", "sw_head"))})
    escalation = notes(session, "escalation")[0]
    assert escalation.link == f"/applications/{escalation.application_id}" and "已等待 40 天" in escalation.subject
    payloads = session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "timer_fired")
                               .order_by(AuditEvent.seq)).all()
    assert [(p["event"], p["notified"]) for p in payloads] == [
        ("remind_unit_head_review", ["sw_unit_head"]), ("escalate_unit_head_review", ["sw_head"])] * 3
    for app in apps:  # the escalations' objects read the batch's writes (not the rows as they were before)
        assert app.next_timer_at is None and app.timer_plan["handled"] == [t[0] for t in app.timer_plan["timers"]]
    assert verify_chain(session, actor=None).intact


def test_a_step_changed_after_the_claim_sends_the_batch_one_by_one_and_still_once_each(
        session, person, clock, engine, monkeypatch):  # noqa: F811
    apps = [file_querier(session, person) for _ in range(3)]
    build = batch.build_messages

    def someone_writes_meanwhile(own_session, wake, *args):
        if wake.app == apps[1].id:  # a person's step on it commits between the batch's reads and its write
            with Session(engine) as other:
                other.execute(update(Application).where(Application.id == wake.app)
                              .values(lock_version=Application.lock_version + 1))
                other.commit()
        return build(own_session, wake, *args)

    monkeypatch.setattr(batch, "build_messages", someone_writes_meanwhile)
    result = sweep_at(session, clock, LATER)

    assert (result.woken, result.fired, result.failed) == (3, 3, 0)
    assert reminded(session) == Counter(a.id for a in apps)
    assert fired_events(session) == Counter(a.id for a in apps)
    assert verify_chain(session, actor=None).intact


class Killed(BaseException):
    """The sweeping process dies (not an error the sweep could record)."""


def test_a_sweeper_killed_between_the_claim_and_the_batch_commit_sends_nothing_and_loses_nothing(
        session, person, clock, monkeypatch):  # noqa: F811
    apps = [file_querier(session, person) for _ in range(4)]
    build = batch.build_messages
    built = []

    def dies_at_the_third(own_session, wake, *args):
        built.append(wake.app)
        if len(built) == 3:
            raise Killed
        return build(own_session, wake, *args)

    monkeypatch.setattr(batch, "build_messages", dies_at_the_third)
    with pytest.raises(Killed):
        sweep_at(session, clock, LATER)
    session.rollback()
    assert notes(session) == [] and fired_events(session) == Counter()

    monkeypatch.setattr(batch, "build_messages", build)
    assert sweep_at(session, clock, LATER + MINUTE).woken == 0  # still claimed by the dead sweeper
    result = sweep_at(session, clock, LATER + timers.CLAIM_LEASE + MINUTE)  # the lease ran out
    assert (result.woken, result.fired) == (4, 4)
    assert reminded(session) == Counter(a.id for a in apps)
    assert fired_events(session) == Counter(a.id for a in apps)
    assert verify_chain(session, actor=None).intact


def test_a_batch_whose_commit_fails_is_written_one_by_one(session, person, clock, monkeypatch):  # noqa: F811
    apps = [file_querier(session, person) for _ in range(3)]
    write = batch._write

    def refused(*args):
        raise ValueError("a row the database refuses")

    monkeypatch.setattr(batch, "_write", refused)
    result = sweep_at(session, clock, LATER)
    monkeypatch.setattr(batch, "_write", write)

    assert (result.woken, result.fired, result.failed) == (3, 3, 0)
    assert reminded(session) == Counter(a.id for a in apps)
    assert verify_chain(session, actor=None).intact


def test_a_diagram_the_batch_cannot_read_leaves_only_its_instances_to_their_own_wakes(
        session, person, clock, monkeypatch, restores, commits):  # noqa: F811
    *healthy, odd = file_on_versions(session, person, None, None, FIXED)
    commits.clear()
    load = batch.load_diagram

    def unreadable(version):
        if version.id == odd.definition_version_id:
            raise ValueError("unreadable diagram")
        return load(version)

    monkeypatch.setattr(batch, "load_diagram", unreadable)
    result = sweep_at(session, clock, LATER)

    assert (result.woken, result.fired, result.failed) == (3, 3, 0)
    assert restores == [odd.id]  # its own wake, through the engine
    assert len(commits) == 3  # the claim, the two others together, the odd one on its own
    assert reminded(session) == Counter(a.id for a in [*healthy, odd])


def test_two_sweepers_taking_small_batches_send_every_reminder_once(session, person, clock, engine):  # noqa: F811
    apps = [file_querier(session, person) for _ in range(16)]
    clock.move_to(LATER)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with Session(engine, expire_on_commit=False) as own:
                barrier.wait()
                results.append(timers.sweep(own, LATER, batch=3))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(r.fired for r in results) == len(apps)
    session.expire_all()
    assert reminded(session) == Counter(a.id for a in apps)
    assert fired_events(session) == Counter(a.id for a in apps)
    assert session.scalar(select(Notification.id).where(Notification.kind == "escalation")) is None
    assert verify_chain(session, actor=None).intact
