"""The commit's first write: a changed application alone is one prepared UPDATE with its version check (``writes``).

It must behave as the unit of work's flush did: the same row written once with its version counted up, a second
writer refused with ``StaleDataError`` (409 above it) before anything queued runs, and a session holding other
changes still writes all of them (the unit of work does it then).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from models import Application, ApplicationState, HistoryEntry, HumanTask, Person, TaskState
from tests.conftest import NOW, QUERIER_ADD
from workflows import writes
from workflows.audit import verify_chain
from workflows.errors import Conflict
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task


@pytest.fixture
def flushes(session, monkeypatch):
    """How many times the unit of work flushed this session (a flush listener would itself turn the prepared
    UPDATE off: ``writes._write_versioned`` leaves a listened-to flush to the unit of work)."""
    seen: list[int] = []
    flush = session.flush

    def counted(*args, **kwargs):
        if session.new or session.deleted or session.dirty:
            seen.append(1)
        return flush(*args, **kwargs)

    monkeypatch.setattr(session, "flush", counted)
    return seen


def filed(session, person) -> tuple[Application, HumanTask]:
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    [task] = app.tasks
    return app, task


def stored(engine, app_id: int) -> tuple:
    with Session(engine) as other:
        return other.execute(select(Application.lock_version, Application.workflow_state, Application.updated_at,
                                    Application.outcome_reason).where(Application.id == app_id)).one()


def bump(engine, app_id: int) -> None:
    """Another writer advances the application and commits."""
    with Session(engine) as other:
        other.execute(update(Application).where(Application.id == app_id)
                      .values(lock_version=Application.lock_version + 1))
        other.commit()


def test_a_decided_step_writes_its_application_once_without_the_unit_of_work(engine, session, person, flushes):
    app, task = filed(session, person)
    version = app.lock_version
    flushes.clear()

    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", opinion="ok",
                  now=NOW + timedelta(hours=1))

    assert flushes == []  # the application's UPDATE was the prepared one
    assert app.lock_version == version + 1 and not session.dirty and app not in session.dirty
    assert stored(engine, app.id)[:3] == (version + 1, app.workflow_state, NOW + timedelta(hours=1))
    assert app.state == ApplicationState.RUNNING
    assert session.scalars(select(HistoryEntry.decision).where(HistoryEntry.application_id == app.id)
                           .order_by(HistoryEntry.id)).all() == ["submit", "approve"]


def test_a_second_writer_gets_stale_data_before_anything_queued_runs(engine, session, person, flushes):
    app, _task = filed(session, person)
    version = app.lock_version
    ran: list[str] = []
    flushes.clear()
    app.outcome_reason = "changed here"
    writes.call_at_commit(session, lambda _s: ran.append("queued"))
    bump(engine, app.id)

    with pytest.raises(StaleDataError):
        session.commit()
    session.rollback()

    assert ran == []
    assert flushes == []
    assert stored(engine, app.id)[0] == version + 1 and stored(engine, app.id)[3] is None


def test_a_step_decided_after_another_writer_committed_is_a_conflict_and_writes_nothing(engine, session, person,
                                                                                       monkeypatch):
    app, task = filed(session, person)
    version = app.lock_version
    import workflows.filing.tasks as tasks_module
    real_restore = tasks_module.restore

    def restore_after_another_commit(application):
        bump(engine, application.id)
        return real_restore(application)

    monkeypatch.setattr(tasks_module, "restore", restore_after_another_commit)
    with pytest.raises(Conflict):
        complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", opinion="ok",
                      now=NOW + timedelta(hours=1))

    with Session(engine) as other:
        assert other.scalar(select(Application.lock_version).where(Application.id == app.id)) == version + 1
        assert other.scalar(select(HumanTask.state).where(HumanTask.id == task.id)) == TaskState.OPEN
        assert other.scalars(select(HistoryEntry.decision).where(HistoryEntry.application_id == app.id)).all() == [
            "submit"]
        assert verify_chain(other, actor=None).intact


def test_a_session_holding_other_changes_writes_them_all_through_the_unit_of_work(engine, session, person,
                                                                                  flushes):
    app, _task = filed(session, person)
    version = app.lock_version
    staff = person("sw_staff")
    flushes.clear()
    with session.no_autoflush:
        app.outcome_reason = "changed here"
        staff.title = "科員（代理）"
        writes.call_at_commit(session, lambda _s: None)
        session.commit()

    assert flushes  # two objects changed: the unit of work wrote them
    assert stored(engine, app.id)[0::3] == (version + 1, "changed here")
    with Session(engine) as other:
        assert other.scalar(select(Person.title).where(Person.id == staff.id)) == "科員（代理）"


def test_an_application_set_to_what_it_holds_is_not_written(engine, session, person, flushes):
    app, _task = filed(session, person)
    version = app.lock_version
    app.form_key = str(app.form_key)  # set, but to what it holds: no UPDATE and no version counted (as the unit of
    # work does)
    writes.call_at_commit(session, lambda _s: None)
    session.commit()

    assert stored(engine, app.id)[0] == version == app.lock_version


def test_a_flush_listener_still_hears_a_decided_step(session, person, flushes):
    app, task = filed(session, person)
    heard: list[int] = []
    listener = lambda s, _context, _instances: heard.extend(o.lock_version for o in s.dirty)  # noqa: E731
    event.listen(session, "before_flush", listener)
    try:
        complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", opinion="ok",
                      now=NOW + timedelta(hours=1))
    finally:
        event.remove(session, "before_flush", listener)
    assert heard == [app.lock_version - 1]  # the unit of work flushed the application, listener told
