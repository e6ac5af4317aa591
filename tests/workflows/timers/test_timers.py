"""Timers that run themselves: reminders, escalation, missed timers, duties once per period, e-mail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Application, AuditEvent, Notification, ScheduleRun
from tests.conftest import QUERIER_ADD
from workflows import jurisdiction
from workflows import notify as notifications
from workflows.filing.applications import submit_application
from workflows.forms import FORMS
from workflows.runtime.incidents import list_incidents, retry_incident
from workflows.settings import SETTINGS
from workflows.timers import batch, duties
from workflows.timers import sweep as timers

# Thursday 31 December 2026, 09:00 in Taipei. 1 January is a public holiday, then a weekend.
FILED = datetime(2026, 12, 31, 1, 0, tzinfo=UTC)
REMINDER_DUE = datetime(2027, 1, 6, 1, 0, tzinfo=UTC)  # 3 working days: Mon 4, Tue 5, Wed 6
ESCALATION_DUE = datetime(2027, 1, 8, 1, 0, tzinfo=UTC)  # 5 working days: ... Thu 7, Fri 8
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


# Told when a step arrives or an application ends (runtime.announcements): not what these tests watch.
ANNOUNCEMENTS = ("task_arrived", "returned", "outcome")


def file_querier(session, person, when=FILED):
    app = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                             now=when)
    notifications.send_pending_emails(session, lambda *_: None, when)  # the arrival notice went out when filed
    return app


def notes(session, kind=None):
    query = select(Notification).where(Notification.kind.not_in(ANNOUNCEMENTS)).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return session.scalars(query).all()


def sweep_at(session, clock, when):
    clock.move_to(when)
    session.expire_all()
    return timers.sweep(session, when)


def test_the_reminder_counts_working_days_and_skips_the_new_year_holiday(session, person, clock):
    app = file_querier(session, person)
    assert app.next_timer_at == REMINDER_DUE
    assert app.tasks[0].due_at == REMINDER_DUE  # the step's expected time uses the same calendar

    assert sweep_at(session, clock, REMINDER_DUE - MINUTE).fired == 0
    assert sweep_at(session, clock, REMINDER_DUE).fired == 0  # due means strictly after
    result = sweep_at(session, clock, REMINDER_DUE + MINUTE)
    assert (result.woken, result.fired) == (1, 1)
    [reminder] = notes(session)
    assert reminder.kind == "reminder" and reminder.person.username == "sw_unit_head"
    assert reminder.subject == f"【逾期提醒】單位主管核准（案號 {app.id}）"
    assert reminder.link == f"/tasks/{app.tasks[0].id}"
    session.refresh(app)
    assert app.next_timer_at == ESCALATION_DUE


def test_escalation_follows_to_the_holders_superior(session, person, clock):
    file_querier(session, person)
    sweep_at(session, clock, REMINDER_DUE + MINUTE)
    assert sweep_at(session, clock, ESCALATION_DUE - MINUTE).fired == 0
    assert sweep_at(session, clock, ESCALATION_DUE + MINUTE).fired == 1
    escalation = notes(session, "escalation")
    assert [n.person.username for n in escalation] == ["sw_head"]  # the unit head's superior
    assert "已等待 8 天" in escalation[0].subject
    events = session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "timer_fired")).all()
    assert [e["event"] for e in events] == ["remind_unit_head_review", "escalate_unit_head_review"]
    session.refresh(escalation[0].application)
    assert escalation[0].application.next_timer_at is None  # nothing left to wake for


def test_deciding_in_time_cancels_the_steps_timers(session, person, clock, api):
    app = file_querier(session, person)
    clock.move_to(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))  # Monday: decided before the reminder
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    api.as_("sw_unit_head").post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve"})
    session.expire_all()
    # Only the agency manager's step is timed now, counted from Monday: Thu 7 and Mon 11 January.
    assert session.get(Application, app.id).next_timer_at == datetime(2027, 1, 7, 1, 0, tzinfo=UTC)
    assert sweep_at(session, clock, ESCALATION_DUE - MINUTE).fired == 1
    assert [(n.kind, n.person.username) for n in notes(session)] == [("reminder", "manager")]
    assert "機關管理者設定帳號" in notes(session)[0].subject


def test_timers_missed_while_the_app_was_down_fire_once(session, person, clock):
    file_querier(session, person)
    result = sweep_at(session, clock, FILED + timedelta(days=40))
    assert (result.woken, result.fired) == (1, 2)  # reminder and escalation, each once
    assert sweep_at(session, clock, FILED + timedelta(days=41)).fired == 0
    assert [n.kind for n in notes(session)] == ["reminder", "escalation"]


def test_two_workers_racing_over_the_same_timers_fire_each_exactly_once(session, person, clock, engine):
    apps = [file_querier(session, person) for _ in range(12)]
    when = FILED + timedelta(days=40)
    clock.move_to(when)
    barrier = threading.Barrier(2)
    results = []

    def worker():
        with Session(engine, expire_on_commit=False) as own:
            barrier.wait()
            results.append(timers.sweep(own, when))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.fired for r in results) == 2 * len(apps)
    session.expire_all()
    fired = session.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "timer_fired")).all()
    assert len(fired) == 2 * len(apps)
    assert len({(n.application_id, n.kind, n.person_id) for n in notes(session)}) == len(notes(session))
    assert len(notes(session, "reminder")) == len(apps)


def test_the_yearly_review_starts_on_its_date_exactly_once(session, clock):
    review = duties.find_schedule("account_review")
    before = datetime(2027, 1, 15, 0, 59, tzinfo=UTC)  # 08:59 in Taipei, the day it is due
    clock.move_to(before)
    assert not review.due_in_period(before)
    assert duties.catch_up(session, [review], before) == []

    on_time = datetime(2027, 1, 15, 1, 0, tzinfo=UTC)
    clock.move_to(on_time)
    run = duties.run_schedule(session, review, on_time)
    assert run.result == "ok" and run.period == "2027"
    started = run.detail["applications"]
    agencies = {session.get(Application, i).agency.name for i in started}
    assert {"高雄市政府社會局", "高雄市政府環境保護局", "高雄市政府青年局", "高雄市政府衛生局",
            "高雄市政府勞工局"} == agencies
    # The scheduler restarts the same day: its catch-up and its cron job both find the period done.
    later = on_time + timedelta(hours=3)
    assert duties.catch_up(session, [review], later) == []
    assert duties.run_schedule(session, review, later) is None
    assert session.scalar(select(func.count()).select_from(ScheduleRun)) == 1
    manager_tasks = session.scalars(select(Application).where(Application.form_key == "account_review")).all()
    assert len(manager_tasks) == len(started)


def test_a_missed_duty_catches_up_once_after_downtime(session, clock):
    sampling = duties.find_schedule("monthly_sampling")
    after_downtime = datetime(2027, 2, 20, 2, 0, tzinfo=UTC)
    clock.move_to(after_downtime)
    [run] = duties.catch_up(session, [sampling], after_downtime)
    assert run.period == "2027-02" and run.result == "ok"
    assert duties.catch_up(session, [sampling], after_downtime + timedelta(minutes=5)) == []


def test_a_failing_duty_is_recorded_not_raised(session, clock, caplog):
    broken = duties.Schedule("broken", "no_such_process", "month", day=1, title="壞掉的排程",
                             targets=duties.requesting_agencies)
    run = duties.run_schedule(session, broken, FILED)
    assert run.result == "failed" and "no_such_process" in run.detail["error"]
    [record] = logged_failures(caplog)
    assert record.getMessage() == "duty broken for 2026-12 failed; recorded as failed"


def test_a_deployment_moves_or_turns_off_a_duty():
    changed = duties.list_schedules({"usage_check": None, "account_review": {"month": 2, "day": 1, "hour": 8}})
    assert "usage_check" not in [s.name for s in changed]
    review = duties.find_schedule("account_review", changed)
    assert (review.month, review.day, review.hour) == (2, 1, 8)
    assert review.cron() == {"month": "2", "day": 1, "hour": 8, "minute": 0}
    assert duties.list_schedules(None) == duties.list_schedules({}) == duties.SCHEDULES  # none shipped off
    assert duties.find_schedule("usage_check", changed) is None  # turned off means not found either


def test_kaohsiung_has_no_password_reminder_at_all():
    """004 §7 is Taoyuan's rule (its pack has its own); Kaohsiung's accounts follow 我的e政府's password rules
    (001 §6(3)): no duty, no step form and no diagram of it in bpmn/kaohsiung/, and no deployment can turn it on."""
    kaohsiung = [s.name for s in duties.list_schedules({})]
    assert kaohsiung == [s.name for s in duties.SCHEDULES] == [
        "account_review", "usage_check", "monthly_sampling", "agency_audit", "security_self_audit",
        "central_account_audit", "items_review", "sampling_report", "destruction"]
    assert "password_reminder" not in FORMS
    assert not (jurisdiction.active().directory / "password_reminder.bpmn").exists()
    with pytest.raises(ValueError, match="^unknown duty 'password_reminder'"):
        duties.list_schedules({"password_reminder": {}})


@pytest.mark.parametrize(("changes", "message"), [
    ({"usage_chek": None}, "unknown duty 'usage_chek'; the duties are account_review, "),
    ({"account_review": {"weekday": 1}}, "account_review: cannot change 'weekday'; only its day, hour and month"),
    ({"usage_check": {"month": 2}}, "usage_check: cannot change 'month'; it runs every quarter: only its day and hour"),
    ({"monthly_sampling": {"day": 31}}, "monthly_sampling: day must be a whole number from 1 to 28, got 31"),
    ({"usage_check": {"day": 31}}, "usage_check: day must be a whole number from 1 to 30, got 31"),
    ({"account_review": {"month": 2, "day": 29}}, "account_review: day must be a whole number from 1 to 28, got 29"),
    ({"account_review": {"hour": "9"}}, "account_review: hour must be a whole number from 0 to 23, got '9'"),
    ({"account_review": "off"}, r"account_review: expected null \(off\) or a mapping of day, hour and month"),
    ("usage_check", "expected a mapping of duty name to null"),
])
def test_a_change_to_the_duties_that_cannot_work_is_refused_naming_it(changes, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        duties.list_schedules(changes)


def test_a_duty_that_cannot_catch_up_is_logged_and_the_others_still_run(session, clock, caplog, monkeypatch):
    run_schedule = duties.run_schedule

    def claim_fails_for_sampling(session, schedule, now, actor=None):
        if schedule.name == "monthly_sampling":
            raise RuntimeError("database went away")
        return run_schedule(session, schedule, now, actor)

    monkeypatch.setattr(duties, "run_schedule", claim_fails_for_sampling)
    when = datetime(2027, 2, 20, 2, 0, tzinfo=UTC)
    clock.move_to(when)
    schedules = [duties.find_schedule("monthly_sampling"), duties.find_schedule("usage_check")]
    assert [(r.schedule, r.result) for r in duties.catch_up(session, schedules, when)] == [("usage_check", "ok")]
    [record] = logged_failures(caplog)
    assert record.getMessage() == "catching up duty monthly_sampling failed"
    assert "database went away" in caplog.text  # the traceback


def test_a_wake_that_raises_is_logged_and_the_other_timers_still_fire(session, person, clock, caplog, monkeypatch):
    """The failure is logged with its traceback and becomes an incident; the sweep passes it by until a retry."""
    broken, working = file_querier(session, person), file_querier(session, person)
    wake = timers.notify_due_timers  # a wake on its own sends a reminder from the timer plan (runtime.sync)
    build = batch.build_messages  # a batch builds its reminders together (timers.batch)

    def wake_fails_for_broken(session, app, now):
        if app.id == broken.id:
            raise RuntimeError("cannot wake this one")
        return wake(session, app, now)

    def build_fails_for_broken(session, pending, *args):
        if pending.app == broken.id:
            raise RuntimeError("cannot wake this one")
        return build(session, pending, *args)

    monkeypatch.setattr(timers, "notify_due_timers", wake_fails_for_broken)
    monkeypatch.setattr(batch, "build_messages", build_fails_for_broken)  # left to its own wake, which fails
    result = sweep_at(session, clock, REMINDER_DUE + MINUTE)
    assert (result.woken, result.fired, result.failed) == (1, 1, 1)
    [record] = logged_failures(caplog)
    assert record.getMessage().startswith(f"timer wake of application {broken.id} failed")
    assert "cannot wake this one" in caplog.text
    assert [n.application_id for n in notes(session)] == [working.id]

    monkeypatch.setattr(timers, "notify_due_timers", wake)  # fixed, but an open incident waits for a person
    assert sweep_at(session, clock, REMINDER_DUE + MINUTE + timers.CLAIM_LEASE + MINUTE).fired == 0
    [incident] = list_incidents(session, actor=person("admin"))
    assert incident.application_id == broken.id
    retry_incident(session, incident_id=incident.id, actor=person("admin"), now=REMINDER_DUE + 3 * MINUTE)
    assert sorted(n.application_id for n in notes(session)) == [broken.id, working.id]


def logged_failures(caplog):
    """Error records that carry a traceback (logger.exception)."""
    return [r for r in caplog.records if r.levelname == "ERROR" and r.exc_info]


def test_the_reminder_arrives_by_e_mail_with_the_link_and_a_chinese_subject(session, person, clock, smtp_sink):
    import email
    from email.header import decode_header, make_header

    sink, port = smtp_sink
    app = file_querier(session, person)
    sweep_at(session, clock, REMINDER_DUE + MINUTE)
    mailer = notifications.smtp_mailer("127.0.0.1", port, "webir-bpm@demo.kcg.gov.tw")
    assert notifications.send_pending_emails(session, mailer, REMINDER_DUE + MINUTE) == 1
    assert notifications.send_pending_emails(session, mailer, REMINDER_DUE + 2 * MINUTE) == 0  # never twice
    [envelope] = sink.messages
    assert envelope.rcpt_tos == ["sw_unit_head@demo.kcg.gov.tw"]
    message = email.message_from_bytes(envelope.content)
    assert str(make_header(decode_header(message["Subject"]))) == f"【逾期提醒】單位主管核准（案號 {app.id}）"
    body = message.get_payload(decode=True).decode()
    assert f"{SETTINGS.base_url}/tasks/{app.tasks[0].id}" in body


def test_an_unreachable_mail_server_keeps_the_notification_for_a_retry(session, person, clock, caplog):
    file_querier(session, person)
    sweep_at(session, clock, REMINDER_DUE + MINUTE)
    mailer = notifications.smtp_mailer("127.0.0.1", 9, "webir-bpm@localhost")  # nothing listens on port 9
    assert notifications.send_pending_emails(session, mailer, REMINDER_DUE + MINUTE) == 0
    [note] = notes(session)
    assert note.emailed_at is None and note.email_attempts == 1 and note.email_error
    [record] = logged_failures(caplog)
    assert record.getMessage() == f"e-mail for notification {note.id} failed (attempt 1 of 5)"
    assert isinstance(record.exc_info[1], OSError)


def test_one_message_that_cannot_be_sent_does_not_hold_up_the_outbox(session, person, clock, caplog):
    for _ in range(2):
        file_querier(session, person)
    sweep_at(session, clock, REMINDER_DUE + MINUTE)
    first, second = notes(session)
    sent = []

    def mailer(to, subject, body):
        if not sent and subject == first.subject:
            sent.append(None)
            raise ValueError("header contains a newline")  # not an SMTP error: it used to end the whole batch
        sent.append(subject)

    assert notifications.send_pending_emails(session, mailer, REMINDER_DUE + MINUTE) == 1
    assert sent == [None, second.subject]
    session.refresh(first)
    session.refresh(second)
    assert first.emailed_at is None and first.email_error == "ValueError: header contains a newline"
    assert second.emailed_at is not None
    [record] = logged_failures(caplog)
    assert record.getMessage() == f"e-mail for notification {first.id} failed (attempt 1 of 5)"


def test_a_backlog_larger_than_one_batch_drains_in_one_sweep(session, person, clock):
    for _ in range(5):
        file_querier(session, person)
    clock.move_to(REMINDER_DUE + MINUTE)
    session.expire_all()
    result = timers.sweep(session, REMINDER_DUE + MINUTE, batch=2)  # three batches: 2, 2, 1
    assert (result.woken, result.fired) == (5, 5)
    assert len(notes(session, "reminder")) == 5
