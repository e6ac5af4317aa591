"""Deletion after use (001 §11): a month after a registration's use ends its querier confirms the deletion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import Application, ApplicationState, AuditEvent, HistoryEntry, Notification, TaskState
from tests.conftest import NOW, REGISTRATION, registration
from workflows.errors import Invalid
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.timers import deletions
from workflows.timers import sweep as timers

APPROVED = NOW + timedelta(hours=1)  # 26 November 2026, 11:00 in Taipei
PROOF = {"deleted_items": "查調結果列印一份及下載之 PDF 檔", "deletion_method": "both", "deleted_on": "2027-01-11"}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def registered(session, person, clock, **data):
    app = submit_application(session, form_key="query_registration", data={**REGISTRATION, **data},
                             actor=person("applicant"), now=NOW)
    clock.move_to(APPROVED)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", now=APPROVED)
    session.refresh(app)
    assert app.state == ApplicationState.COMPLETED
    return app


def taipei(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour - 8)


def start_at(session, clock, when):
    clock.move_to(when)
    session.expire_all()
    return deletions.start_due_deletions(session, when)


def test_a_month_after_use_the_querier_confirms_the_deletion_and_the_proof_is_kept(session, person, clock):
    registration = registered(session, person, clock, use_until="2026-12-10")
    assert deletions.deletion_due_on(registration) == date(2027, 1, 10)

    assert start_at(session, clock, taipei(date(2027, 1, 9), 23)) == []  # the day before: nothing yet
    [started] = start_at(session, clock, taipei(date(2027, 1, 10), 0))
    assert start_at(session, clock, taipei(date(2027, 1, 11))) == []  # once per registration
    deletion = session.get(Application, started)
    assert deletions.deletion_of(session, registration.id).id == started
    assert (deletion.form_key, deletion.applicant.username, deletion.unit_id) == (
        "data_deletion", "applicant", registration.unit_id)
    assert deletion.data == {"registration": registration.id, "case_number": "115-社救-0001", "item": "C0101",
                             "use_until": "2026-12-10", "deletion_due": "2027-01-10"}
    assert "subject_national_id" not in deletion.data  # the duty carries no personal data of the subject
    [task] = deletion.tasks
    assert (task.step, [c.person.username for c in task.candidates]) == ("confirm_deletion", ["applicant"])

    when = taipei(date(2027, 1, 11))
    clock.move_to(when)
    complete_task(session, task_id=task.id, actor=person("applicant"), decision="approve", data=PROOF, now=when)
    session.refresh(deletion)
    assert deletion.state == ApplicationState.COMPLETED
    [entry] = session.scalars(select(HistoryEntry).where(HistoryEntry.application_id == deletion.id,
                                                         HistoryEntry.step == "confirm_deletion")).all()
    assert entry.actor.username == "applicant"
    assert {k: entry.data[k] for k in PROOF} == PROOF
    requested = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "data_deletion_requested")).one()
    assert (requested.subject_id, requested.payload["deletion"]) == (registration.id, deletion.id)


def test_the_proof_names_what_how_and_when(session, person, clock):
    registration = registered(session, person, clock, use_until="2026-12-10")
    [started] = start_at(session, clock, taipei(date(2027, 1, 10)))
    [task] = session.get(Application, started).tasks
    with pytest.raises(Invalid) as refused:
        complete_task(session, task_id=task.id, actor=person("applicant"), decision="approve",
                      data={"deletion_method": "shred"}, now=taipei(date(2027, 1, 10)))
    assert {"deleted_items", "deleted_on"} <= set(refused.value.errors)
    assert deletions.deletion_of(session, registration.id).state == ApplicationState.RUNNING


def test_without_a_use_date_the_month_runs_from_the_approval(session, person, clock):
    registration = registered(session, person, clock)
    assert deletions.use_ended_on(registration) == date(2026, 11, 25)  # approved at 10:00 in Taipei that day
    assert start_at(session, clock, taipei(date(2026, 12, 24))) == []
    assert len(start_at(session, clock, taipei(date(2026, 12, 25)))) == 1


def test_a_late_confirmation_reminds_the_querier_then_tells_the_unit_head(session, person, clock):
    registered(session, person, clock, use_until="2026-12-10")
    [started] = start_at(session, clock, taipei(date(2027, 1, 11)))  # Monday
    late = taipei(date(2027, 1, 25))
    clock.move_to(late)
    session.expire_all()
    assert timers.sweep(session, late).fired == 2
    told = session.scalars(select(Notification).where(Notification.application_id == started,
                                                      Notification.kind.in_(("reminder", "escalation")))
                           .order_by(Notification.id)).all()
    assert [(n.kind, n.person.username) for n in told] == [("reminder", "applicant"), ("escalation", "sw_unit_head")]


def test_a_rejected_or_running_registration_asks_for_no_deletion(session, person, clock):
    app = submit_application(session, form_key="query_registration", data=registration(use_until="2026-11-30"),
                             actor=person("applicant"), now=NOW)
    assert start_at(session, clock, taipei(date(2027, 3, 1))) == []
    session.refresh(app)
    assert app.state == ApplicationState.RUNNING


@pytest.mark.parametrize(("day", "after"), [
    (date(2027, 1, 31), date(2027, 2, 28)), (date(2028, 1, 31), date(2028, 2, 29)),
    (date(2026, 12, 15), date(2027, 1, 15)),
])
def test_one_month_after_keeps_the_day_or_takes_the_months_last(day, after):
    assert deletions.one_month_after(day) == after


def test_the_use_cannot_end_before_the_registration(session, person, clock):
    with pytest.raises(Invalid) as refused:
        submit_application(session, form_key="query_registration", data=registration(use_until="115/11/24"),
                           actor=person("applicant"), now=NOW)
    assert refused.value.errors == {"use_until": "資料使用期限不可早於申請日期"}
    app = submit_application(session, form_key="query_registration", data=registration(use_until="115/11/25"),
                             actor=person("applicant"), now=NOW)
    assert app.data["use_until"] == "2026-11-25"  # a ROC date is stored as ISO
