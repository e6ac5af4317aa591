"""Two people deciding the same step at the same moment: exactly one wins, the other is told so.

The race is forced, not hoped for: ``workflows.tasks.restore`` is wrapped so that each thread, after it
has read the task as open and restored the instance from the saved workflow state, waits at a barrier
until the other has done the same. Only then do both go on to write and commit. Each thread has its own
app context and so its own database session and connection (SQLite file in WAL mode, or PostgreSQL
through TEST_DATABASE_URL).

The other interleaving is forced too (``late_race``): the loser reads the task as open, the winner then
decides and commits, and only then does the loser read the instance, whose saved state no longer waits
for that step. The engine's refusal is a 409 there as well, never a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

import workflows.filing.tasks as tasks_module
from models import (
    AccountKind,
    Application,
    ApplicationState,
    AuditEvent,
    HistoryEntry,
    HumanTask,
    Notification,
    Person,
    TaskCandidate,
    TaskState,
)
from tests.conftest import NOW, QUERIER_ADD, ApiClient, granted
from web.extensions import db
from workflows.accounts.effects import active_account
from workflows.errors import Conflict
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.runtime.sync import restore

ROUNDS = 5
WAIT = 30  # seconds; generous for a loaded CI machine, never reached when things work
DECIDED_AT = NOW + timedelta(hours=1)


@dataclass
class Seen:
    """What one racer saw when it restored the instance, just before the barrier."""

    lock_version: int
    task_state: TaskState


@dataclass
class Filed:
    application_id: int
    task_id: int
    lock_version: int


def file_querier_application(session, person) -> Filed:
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=NOW)
    [task] = app.tasks
    assert (task.step, task.state) == ("unit_head_review", TaskState.OPEN)
    return Filed(app.id, task.id, app.lock_version)


def race(monkeypatch, task_id: int, workers: list[Callable[[], Any]]) -> tuple[list[tuple[str, Any]], list[Seen]]:
    """Run the workers in threads that all restore the instance before any of them may commit."""
    barrier = threading.Barrier(len(workers))
    seen: list[Seen] = []
    real_restore = tasks_module.restore

    def restore_then_wait(application):
        run = real_restore(application)
        task = next(t for t in application.tasks if t.id == task_id)
        seen.append(Seen(application.lock_version, task.state))
        barrier.wait(WAIT)  # BrokenBarrierError here means one racer never got this far
        return run

    results: list[tuple[str, Any]] = [("not run", None)] * len(workers)

    def run(i: int) -> None:
        try:
            results[i] = ("returned", workers[i]())
        except BaseException as exc:  # handed back to the test to assert on
            results[i] = ("raised", exc)

    with monkeypatch.context() as m:
        m.setattr(tasks_module, "restore", restore_then_wait)
        threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(len(workers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(2 * WAIT)
        assert not any(t.is_alive() for t in threads), "a racer is stuck (lock wait or deadlock)"
    return results, seen


def late_race(monkeypatch, loser: Callable[[], Any], winner: Callable[[], Any]) -> tuple[Any, tuple[str, Any]]:
    """The loser reads the task as open; the winner then decides and commits; only then does the loser go on."""
    read, committed = threading.Event(), threading.Event()
    seen: list[TaskState] = []
    real_found = tasks_module._found  # what every read of a step to act on goes through, once it has read it

    def get_then_wait(session, task, task_id):
        task = real_found(session, task, task_id)
        if threading.current_thread().name == "loser":
            seen.append(task.state)
            read.set()
            committed.wait(WAIT)
        return task

    outcome: list[tuple[str, Any]] = [("not run", None)]

    def run_loser() -> None:
        try:
            outcome[0] = ("returned", loser())
        except BaseException as exc:  # handed back to the test to assert on
            outcome[0] = ("raised", exc)

    with monkeypatch.context() as m:
        m.setattr(tasks_module, "_found", get_then_wait)
        thread = threading.Thread(target=run_loser, name="loser")
        thread.start()
        assert read.wait(WAIT), "the loser never read the task"
        try:
            won = winner()
        finally:
            committed.set()
        thread.join(2 * WAIT)
        assert not thread.is_alive(), "the loser is stuck"
    assert seen == [TaskState.OPEN]  # the race was real: the loser saw the step open
    return won, outcome[0]


def direct_completion(app, task_id: int, opinion: str) -> Callable[[], str]:
    """The use case called as the web layer calls it, in a thread with its own app context and session."""
    def work() -> str:
        with app.app_context():
            try:
                actor = db.session.scalar(select(Person).where(Person.username == "sw_unit_head"))
                done = complete_task(db.session, task_id=task_id, actor=actor, decision="approve", opinion=opinion,
                                     data={}, now=DECIDED_AT)
                return done.state.value
            finally:
                db.session.remove()
    return work


def api_completion(app, task_id: int, opinion: str) -> Callable[[], tuple[int, dict]]:
    """The same decision over HTTP, each racer with its own test client and token."""
    client = ApiClient(app).as_("sw_unit_head")

    def work() -> tuple[int, dict]:
        response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve", "opinion": opinion})
        return response.status_code, response.get_json()
    return work


def assert_consistent_and_finishable(session, person, filed: Filed, winner_opinion: str) -> None:
    """One step taken, once: the instance reads back whole and the next approver can finish it."""
    session.expire_all()
    app = session.get(Application, filed.application_id)
    assert app.lock_version == filed.lock_version + 1, "the instance row was written more or less than once"
    assert app.state == ApplicationState.RUNNING
    assert [(t.step, t.state) for t in app.tasks] == [("unit_head_review", TaskState.COMPLETED),
                                                     ("agency_manager_setup", TaskState.OPEN)]
    done, next_task = app.tasks
    assert done.completed_by_id == person("sw_unit_head").id
    assert [c.person.username for c in next_task.candidates] == ["manager"]
    assert [c.is_open for c in done.candidates] == [False]
    open_rows = session.scalars(select(HumanTask).where(HumanTask.state == TaskState.OPEN)).all()
    assert [t.id for t in open_rows] == [next_task.id]
    inbox = session.scalars(select(TaskCandidate.human_task_id).where(TaskCandidate.is_open.is_(True))).all()
    assert inbox == [next_task.id]

    assert [(h.step, h.decision, h.opinion) for h in app.history] == [
        ("start", "submit", None), ("unit_head_review", "approve", winner_opinion)]
    assert session.scalar(select(func.count()).select_from(HistoryEntry)) == 2
    completed_events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "task_completed")).all()
    assert [(e.subject_id, e.actor_id) for e in completed_events] == [(done.id, person("sw_unit_head").id)]
    # The writes queued for the commit (history, notifications, audit) ran for the winner only.
    told = session.scalars(select(Notification.person_id).where(Notification.human_task_id == next_task.id)).all()
    assert told == [person("manager").id]

    run = restore(app)
    assert [(t.guid, t.step) for t in run.ready_tasks()] == [(next_task.task_guid, "agency_manager_setup")]
    assert run.data.get("opinion") == winner_opinion

    finished = complete_task(session, task_id=next_task.id, actor=person("manager"), decision="approve",
                             opinion="帳號已設定", data=granted(QUERIER_ADD["items"], "2026-11-26"),
                             now=DECIDED_AT + timedelta(hours=1))
    assert finished.state == ApplicationState.RUNNING  # the manager's unit head seals the setting (000 附表三)
    seal = session.scalar(select(HumanTask).where(HumanTask.application_id == filed.application_id,
                                                  HumanTask.state == TaskState.OPEN))
    finished = complete_task(session, task_id=seal.id, actor=person("sw_it_head"), decision="approve", opinion="",
                             data={}, now=DECIDED_AT + timedelta(hours=2))
    assert finished.state == ApplicationState.COMPLETED
    session.expire_all()
    app = session.get(Application, filed.application_id)
    assert app.state == ApplicationState.COMPLETED
    assert [h.step for h in app.history] == ["start", "unit_head_review", "agency_manager_setup",
                                             "manager_unit_head_seal"]
    assert session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.state == TaskState.OPEN)) == 0
    account = active_account(session, person("sw_staff").id, AccountKind.QUERIER)
    assert account is not None and sorted(account.item_codes) == ["B0101", "C0101"]


@pytest.mark.parametrize("round_", range(1, ROUNDS + 1))
def test_two_simultaneous_completions_one_wins_one_conflicts(app, session, person, monkeypatch, round_):
    filed = file_querier_application(session, person)
    opinions = [f"第{round_}輪 甲", f"第{round_}輪 乙"]

    results, seen = race(monkeypatch, filed.task_id,
                         [direct_completion(app, filed.task_id, o) for o in opinions])

    # The race was real: both read the task as open, at the same version, before either committed.
    assert seen == [Seen(filed.lock_version, TaskState.OPEN)] * 2
    won = [i for i, (how, value) in enumerate(results) if how == "returned"]
    lost = [i for i, (how, value) in enumerate(results) if how == "raised" and isinstance(value, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert results[won[0]][1] == ApplicationState.RUNNING.value

    assert_consistent_and_finishable(session, person, filed, opinions[won[0]])


@pytest.mark.parametrize("round_", range(1, 3))
def test_two_simultaneous_api_completions_one_200_one_409(app, session, person, monkeypatch, round_):
    filed = file_querier_application(session, person)
    opinions = [f"API 第{round_}輪 甲", f"API 第{round_}輪 乙"]

    results, seen = race(monkeypatch, filed.task_id, [api_completion(app, filed.task_id, o) for o in opinions])

    assert seen == [Seen(filed.lock_version, TaskState.OPEN)] * 2
    assert all(how == "returned" for how, _ in results), results
    statuses = sorted(status for _, (status, _body) in results)
    assert statuses == [200, 409], results
    winner = next(i for i, (_, (status, _body)) in enumerate(results) if status == 200)
    loser_body = next(body for _, (status, body) in results if status == 409)
    assert loser_body["status"] == 409 and loser_body["title"] == "Conflict"
    assert results[winner][1][1] == {"application": filed.application_id, "state": "running"}

    assert_consistent_and_finishable(session, person, filed, opinions[winner])


@pytest.mark.parametrize("round_", range(1, 3))
def test_a_completion_that_read_the_step_before_another_committed_is_a_conflict(app, session, person, monkeypatch,
                                                                                round_):
    filed = file_querier_application(session, person)
    opinions = [f"晚到 第{round_}輪", f"先到 第{round_}輪"]

    won, (how, lost) = late_race(monkeypatch, direct_completion(app, filed.task_id, opinions[0]),
                                 direct_completion(app, filed.task_id, opinions[1]))

    assert won == ApplicationState.RUNNING.value
    assert how == "raised" and isinstance(lost, Conflict), lost
    assert str(lost) == "此案件剛被其他人處理，請重新整理後再試"
    assert_consistent_and_finishable(session, person, filed, opinions[1])


def test_an_api_completion_that_read_the_step_before_another_committed_is_a_409(app, session, person, monkeypatch):
    filed = file_querier_application(session, person)

    won, (how, (status, body)) = late_race(monkeypatch, api_completion(app, filed.task_id, "晚到"),
                                           api_completion(app, filed.task_id, "先到"))

    assert won == (200, {"application": filed.application_id, "state": "running"})
    assert how == "returned" and status == 409, body
    assert body["title"] == "Conflict" and body["detail"] == "此案件剛被其他人處理，請重新整理後再試"
    assert_consistent_and_finishable(session, person, filed, "先到")


def test_a_late_second_completion_is_a_conflict_too(app, session, person):
    """Without the race: once the step is done, deciding it again is refused before anything is written."""
    filed = file_querier_application(session, person)
    direct_completion(app, filed.task_id, "先到")()
    with pytest.raises(Conflict):
        direct_completion(app, filed.task_id, "後到")()
    assert_consistent_and_finishable(session, person, filed, "先到")
