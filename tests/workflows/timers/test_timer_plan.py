"""A reminder or escalation that only tells someone is sent from the timer plan, without restoring the engine."""

from __future__ import annotations

from sqlalchemy import select, update

from models import Application, Notification
from tests.workflows.timers.test_timers import (
    ESCALATION_DUE,
    MINUTE,
    REMINDER_DUE,
    clock,  # noqa: F401 - the frozen clock fixture
    file_querier,
    notes,
    sweep_at,
)
from workflows.filing.tasks import complete_task
from workflows.runtime import sync as runtime_sync


def test_reminder_and_escalation_go_out_from_the_plan_and_the_engine_does_not_repeat_them(
        session, person, clock, restores):  # noqa: F811
    app = file_querier(session, person)
    ids = {event: timer_id for timer_id, event, _due in app.timer_plan["timers"]}
    assert sorted(ids) == ["escalate_unit_head_review", "remind_unit_head_review"]
    reminder_id, escalation_id = ids["remind_unit_head_review"], ids["escalate_unit_head_review"]
    assert app.timer_plan["handled"] == [] and app.next_timer_at == REMINDER_DUE

    assert sweep_at(session, clock, REMINDER_DUE + MINUTE).fired == 1
    assert restores == []
    [reminder] = notes(session)
    assert (reminder.kind, reminder.person.username) == ("reminder", "sw_unit_head")
    assert reminder.subject == f"【逾期提醒】單位主管核准（案號 {app.id}）"
    session.refresh(app)
    assert app.timer_plan["handled"] == [reminder_id] and app.next_timer_at == ESCALATION_DUE

    # A wake through the engine (an incident's retry goes this way) fires the handled reminder inside the
    # engine: nobody is told again, and the plan keeps only what still waits.
    clock.move_to(REMINDER_DUE + 2 * MINUTE)
    assert runtime_sync.fire_due_timers(session, app, REMINDER_DUE + 2 * MINUTE) == ["remind_unit_head_review"]
    session.commit()
    assert restores == [app.id] and [n.kind for n in notes(session)] == ["reminder"]
    assert app.timer_plan == {"timers": [[escalation_id, "escalate_unit_head_review", ESCALATION_DUE.isoformat()]],
                              "handled": []}

    assert sweep_at(session, clock, ESCALATION_DUE + MINUTE).fired == 1
    assert restores == [app.id]  # the escalation came from the plan
    assert [(n.kind, n.person.username) for n in notes(session)] == [("reminder", "sw_unit_head"),
                                                                     ("escalation", "sw_head")]
    session.refresh(app)
    assert app.timer_plan["handled"] == [escalation_id] and app.next_timer_at is None
    assert sweep_at(session, clock, ESCALATION_DUE + 2 * MINUTE).woken == 0  # nothing left due

    # The step decided late: the engine sees both timers due, and tells nobody again.
    task = next(t for t in app.tasks if t.step == "unit_head_review")
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", opinion="",
                  now=ESCALATION_DUE + 3 * MINUTE)
    assert [n.kind for n in notes(session)] == ["reminder", "escalation"]
    session.refresh(app)
    assert app.timer_plan["handled"] == [] and app.next_timer_at > ESCALATION_DUE  # the next step's own timers


def test_a_waiting_application_saved_without_a_plan_wakes_through_the_engine_once_and_then_has_one(
        session, person, clock, restores):  # noqa: F811
    app = file_querier(session, person)
    session.execute(update(Application).where(Application.id == app.id).values(timer_plan=None))  # older code
    session.commit()

    assert sweep_at(session, clock, REMINDER_DUE + MINUTE).fired == 1
    assert restores == [app.id]
    session.refresh(app)
    assert [t[1] for t in app.timer_plan["timers"]] == ["escalate_unit_head_review"]
    assert app.next_timer_at == ESCALATION_DUE

    assert sweep_at(session, clock, ESCALATION_DUE + MINUTE).fired == 1
    assert restores == [app.id]  # the escalation came from the plan
    kinds = session.scalars(select(Notification.kind).where(Notification.application_id == app.id,
                                                            Notification.kind.in_(["reminder", "escalation"]))
                            .order_by(Notification.id)).all()
    assert kinds == ["reminder", "escalation"]
