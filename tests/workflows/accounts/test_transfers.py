"""Role transfer (職務異動, 001 §6(4)(5), §7): accounts follow the job change on its date, never the person."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import (
    AccountKind,
    Application,
    AuditEvent,
    HistoryEntry,
    HumanTask,
    Notification,
    Role,
    RoleHolding,
    TaskState,
)
from tests.conftest import QUERIER_ADD, granted, make_account, make_person
from workflows.accounts.records import active_account
from workflows.errors import Forbidden, Invalid
from workflows.filing.applications import submit_application, withdraw_application
from workflows.filing.tasks import complete_task
from workflows.timers import duties
from workflows.timers import sweep as timers

FILED = datetime(2027, 2, 22, 1, 0, tzinfo=UTC)  # Monday 22 February 2027, 09:00 in Taipei
EFFECTIVE = "2027-03-01"
MIDNIGHT = datetime(2027, 2, 28, 16, 0, tzinfo=UTC)  # 00:00 on 1 March in Taipei
MINUTE = timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def transfer(**data) -> dict:
    return {"person": "applicant", "kind": "querier", "effective_date": EFFECTIVE, "new_position": "會計室科員",
            "reason": "調任會計室", **data}


def file(session, person, data, filer="sw_head", when=FILED) -> Application:
    return submit_application(session, form_key="role_transfer", data=data, actor=person(filer), now=when)


def open_tasks(session, app: Application) -> list[HumanTask]:
    session.refresh(app)
    return [t for t in app.tasks if t.state == TaskState.OPEN]


def decide(session, person, app, username, when=FILED, decision="approve", **data) -> Application:
    [task] = open_tasks(session, app)
    return complete_task(session, task_id=task.id, actor=person(username), decision=decision, data=data, now=when)


def sweep_at(session, clock, when):
    clock.move_to(when)
    session.expire_all()
    return timers.sweep(session, when)


def candidates(session, task_id: int) -> list[str]:
    session.expire_all()
    return [c.person.username for c in session.get(HumanTask, task_id).candidates]


# ---------------------------------------------------------------- filing

def test_only_an_agency_head_files_and_only_for_a_person_of_the_agency(session, person, clock):
    with pytest.raises(Forbidden):
        file(session, person, transfer(), filer="manager")
    for data, field, message in (
        (transfer(person="ep_querier"), "person", "不屬於本機關"),
        (transfer(person="nobody"), "person", "查無此人員"),
        (transfer(person="sw_staff"), "person", "沒有有效的資料查詢者帳號"),
        (transfer(kind="agency_manager"), "successor", "必填"),
        (transfer(kind="central_staff"), "kind", "總管理機關"),
        (transfer(effective_date="115/02/30"), "effective_date", "格式不正確"),
    ):
        with pytest.raises(Invalid) as exc:
            file(session, person, data)
        assert message in exc.value.errors.get(field, ""), (data, exc.value.errors)
    file(session, person, transfer())
    with pytest.raises(Invalid) as exc:
        file(session, person, transfer(kind="querier"))
    assert "辦理中的職務異動" in exc.value.errors["person"]


def test_a_managers_transfer_is_refused_until_the_successor_holds_a_manager_account(session, person, clock):
    successor = make_person(session, "sw_new_manager", unit="秘書室資訊小組")
    session.commit()
    data = transfer(person="manager", kind="agency_manager", successor="sw_new_manager", new_position="人事室主任")
    with pytest.raises(Invalid) as exc:
        file(session, person, data)
    assert exc.value.errors == {"successor": "接任者尚未取得有效的機關管理者帳號：請接任者先提出"
                                             "「機關管理者帳號申請」，經核准設定後再辦理原管理者的職務異動"
                                             "（001 第六點第四款）"}
    for bad, message in (("manager", "本人"), ("ep_manager", "不屬於本機關")):
        with pytest.raises(Invalid) as exc:
            file(session, person, {**data, "successor": bad})
        assert message in exc.value.errors["successor"]

    make_account(session, successor, kind=AccountKind.MANAGER)
    session.commit()
    app = file(session, person, data)
    assert app.state.value == "running" and open_tasks(session, app) == []  # nobody acts: the date does
    assert app.next_timer_at == MIDNIGHT


# ---------------------------------------------------------------- agency manager: on the date

@pytest.fixture
def successor(session):
    """The new manager: account approved, the manager role from the transfer date on."""
    new = make_person(session, "sw_new_manager", name="林志偉", unit="秘書室資訊小組")
    session.add(RoleHolding(person_id=new.id, role=Role.AGENCY_MANAGER, agency_id=new.agency_id, unit=new.unit,
                            valid_from=date.fromisoformat(EFFECTIVE)))
    make_account(session, new, kind=AccountKind.MANAGER, effective_on=date.fromisoformat(EFFECTIVE))
    session.commit()
    return new


def managers_open_work(session, person) -> list[int]:
    """Two tasks waiting for the old manager: a querier account to set up and the yearly review."""
    filed = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                               now=FILED)
    decide(session, person, filed, "sw_unit_head")
    review = duties.start_duty(session, process="account_review", target=duties.Target(person("manager").agency_id),
                               now=FILED)
    session.commit()
    return [open_tasks(session, filed)[0].id, open_tasks(session, review)[0].id]


def test_the_old_managers_account_stops_and_the_work_moves_on_the_date_not_before(
        session, person, successor, clock):
    work = managers_open_work(session, person)
    assert [candidates(session, t) for t in work] == [["manager"], ["manager"]]
    app = file(session, person, transfer(person="manager", kind="agency_manager", successor="sw_new_manager",
                                         new_position="人事室主任", reason="調任人事室"))

    sweep_at(session, clock, MIDNIGHT - MINUTE)  # 23:59 the evening before: nothing changes
    old = person("manager")
    assert active_account(session, old.id, AccountKind.MANAGER) is not None
    assert old.holds(Role.AGENCY_MANAGER, date(2027, 2, 28))
    assert [candidates(session, t) for t in work] == [["manager"], ["manager"]]
    assert session.get(Application, app.id).state.value == "running"

    sweep_at(session, clock, MIDNIGHT + MINUTE)  # 00:01 on the date
    session.expire_all()
    old = person("manager")
    [disabled] = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "account_disabled")).all()
    assert active_account(session, old.id, AccountKind.MANAGER) is None
    assert disabled.payload["person"] == "manager" and disabled.payload["application"] == app.id
    assert not old.holds(Role.AGENCY_MANAGER, date(2027, 3, 1)) and old.holds(Role.AGENCY_MANAGER, date(2027, 2, 28))
    assert [candidates(session, t) for t in work] == [["sw_new_manager"], ["sw_new_manager"]]
    assert session.get(Application, app.id).state.value == "completed"
    # The successor's own account is untouched and nothing of the old one was handed over.
    assert active_account(session, successor.id, AccountKind.MANAGER).egov_account == "sw_new_manager.egov"

    reassigned = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "task_reassigned")
                                 .order_by(AuditEvent.subject_id)).all()
    assert [(e.subject_id, e.payload["from_person"], e.payload["to_person"]) for e in reassigned] == [
        (work[0], "manager", "sw_new_manager"), (work[1], "manager", "sw_new_manager")]
    history = session.scalars(select(HistoryEntry).where(HistoryEntry.decision == "reassign")).all()
    assert len(history) == 2 and all("由 王美玲 改由 林志偉 辦理" in h.opinion for h in history)
    fired = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "timer_fired",
                                                    AuditEvent.subject_id == app.id))
    assert fired.payload["action"] == "manager_handover" and fired.payload["tasks_moved"] == work
    told = session.scalars(select(Notification).where(Notification.kind == "transfer")).all()
    assert {n.person.username for n in told} == {"manager", "sw_new_manager"}

    # The successor can act on the moved task; new manager steps go to the successor alone.
    complete_task(session, task_id=work[0], actor=person("sw_new_manager"), decision="approve",
                  data=granted(QUERIER_ADD["items"], "2027-03-01"), now=MIDNIGHT + MINUTE)
    [seal] = open_tasks(session, session.get(HumanTask, work[0]).application)  # the new manager's unit head
    complete_task(session, task_id=seal.id, actor=person(candidates(session, seal.id)[0]), decision="approve",
                  now=MIDNIGHT + MINUTE)
    later = submit_application(session, form_key="querier_account", actor=person("sw_staff"), now=MIDNIGHT + MINUTE,
                               data={**QUERIER_ADD, "request_type": "change_items", "items": ["C0101"]})
    decide(session, person, later, "sw_unit_head", when=MIDNIGHT + MINUTE)
    [step] = open_tasks(session, later)
    assert candidates(session, step.id) == ["sw_new_manager"]


def test_a_withdrawn_managers_transfer_never_fires(session, person, successor, clock):
    app = file(session, person, transfer(person="manager", kind="agency_manager", successor="sw_new_manager"))
    withdraw_application(session, application_id=app.id, actor=person("sw_head"), now=FILED, reason="異動取消")
    sweep_at(session, clock, MIDNIGHT + timedelta(days=2))
    assert active_account(session, person("manager").id, AccountKind.MANAGER) is not None


# ---------------------------------------------------------------- querier: before the date

def test_the_manager_narrows_a_queriers_account_before_the_date(session, person, clock):
    app = file(session, person, transfer())
    [task] = open_tasks(session, app)
    assert (task.step, task.role, candidates(session, task.id)) == ("transfer_account", "agency_manager", ["manager"])
    assert task.due_at == MIDNIGHT  # before the transfer date
    for data, field in (({"account_decision": "narrow"}, "account_items"),
                        ({"account_decision": "narrow", "account_items": ["C0101", "B0101", "B0201"]},
                         "account_items"),
                        ({"account_decision": "narrow", "account_items": ["P0501"]}, "account_items"),
                        ({}, "account_decision")):
        with pytest.raises(Invalid) as exc:
            decide(session, person, app, "manager", **data)
        assert set(exc.value.errors) == {field}

    app = decide(session, person, app, "manager", account_decision="narrow", account_items=["C0101"])
    assert app.state.value == "completed"
    account = active_account(session, person("applicant").id, AccountKind.QUERIER)
    assert account.item_codes == ["C0101"] and account.last_application_id == app.id
    event = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "account_narrowed"))
    assert event.payload["items_before"] == ["B0101", "B0201", "C0101"] and "會計室科員" in event.payload["reason"]


def test_the_manager_deletes_a_queriers_account(session, person, clock):
    app = file(session, person, transfer(new_position="退休"))
    decide(session, person, app, "manager", account_decision="delete")
    assert active_account(session, person("applicant").id, AccountKind.QUERIER) is None
    assert session.scalar(select(AuditEvent.payload).where(AuditEvent.event_type == "account_disabled"))[
        "person"] == "applicant"


def test_a_queriers_account_not_changed_by_the_date_is_escalated_to_the_agency_head(session, person, clock):
    file(session, person, transfer())
    sweep_at(session, clock, MIDNIGHT + MINUTE)
    notes = session.scalars(select(Notification).where(Notification.kind != "task_arrived")
                            .order_by(Notification.id)).all()
    # Reminded after three working days, escalated when the date came: the head who filed it is the superior.
    assert [(n.kind, n.person.username) for n in notes] == [("reminder", "manager"), ("escalation", "sw_head")]


def test_a_queriers_transfer_filed_after_its_date_is_escalated_at_once(session, person, clock):
    """Filed 12 days late: the step opens already overdue, and its escalation names the holder (was a 500)."""
    filed_late = MIDNIGHT + timedelta(days=12)  # 12 days after 00:00 on 1 March in Taipei
    clock.move_to(filed_late)
    app = file(session, person, transfer(), when=filed_late)
    assert app.state.value == "running"
    [task] = open_tasks(session, app)
    assert task.step == "transfer_account"
    [note] = session.scalars(select(Notification).where(Notification.application_id == app.id,
                                                         Notification.kind != "task_arrived")).all()
    assert (note.kind, note.person.username) == ("escalation", "sw_head")
    assert "由王美玲處理" in note.body


# ---------------------------------------------------------------- central manager's staff: 勞保局 within 7 days

def test_the_central_clerk_notifies_the_bureau_within_seven_days_or_it_escalates(session, person, clock):
    make_person(session, "it_liaison", agency="KHH-IT", unit="資訊服務科", name="陳聯絡")
    session.commit()
    app = file(session, person, transfer(person="it_liaison", kind="central_staff", new_position="秘書室"),
               filer="it_director")
    [task] = open_tasks(session, app)
    assert (task.step, candidates(session, task.id)) == ("notify_bureau", ["it_clerk"])
    due = datetime(2027, 3, 7, 16, 0, tzinfo=UTC)  # 7 calendar days after 1 March: 00:00 on 8 March in Taipei
    assert task.due_at == due

    assert sweep_at(session, clock, due - timedelta(days=2) - MINUTE).fired == 0
    assert sweep_at(session, clock, due - timedelta(days=2) + MINUTE).fired == 1  # reminded two days ahead
    assert sweep_at(session, clock, due - MINUTE).fired == 0
    assert sweep_at(session, clock, due + MINUTE).fired == 1
    notes = session.scalars(select(Notification).where(Notification.application_id == app.id,
                                                       Notification.kind != "task_arrived")
                            .order_by(Notification.id)).all()
    assert [(n.kind, n.person.username) for n in notes] == [("reminder", "it_clerk"), ("escalation", "it_chief")]

    app = decide(session, person, app, "it_clerk", when=due + MINUTE, notified_on="2027-03-08",
                 notice_reference="高市資處字第 1160000123 號函")
    assert app.state.value == "completed"
    changed = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "accounts_changed",
                                                      AuditEvent.subject_id == app.id))
    assert changed.payload == {"form": "role_transfer", "kind": "central_staff", "bureau_notified_on": "2027-03-08"}


def test_a_managers_transfer_filed_after_its_date_takes_effect_at_once(session, person, successor, clock):
    clock.move_to(MIDNIGHT + timedelta(days=3))
    app = file(session, person, transfer(person="manager", kind="agency_manager", successor="sw_new_manager"),
               when=MIDNIGHT + timedelta(days=3))
    assert app.state.value == "completed"
    assert active_account(session, person("manager").id, AccountKind.MANAGER) is None


def test_the_agency_head_files_on_the_page_and_the_manager_decides_on_the_task_page(app, session, person, clock):
    head = app.test_client()
    assert head.post("/login", data={"username": "sw_head", "password": "demo"}).status_code == 302
    page = head.get("/applications/new/role_transfer")
    assert page.status_code == 200 and "異動人員帳號" in page.text and "接任者須已取得有效的機關管理者帳號" in page.text
    refused = head.post("/applications/new/role_transfer", data={
        "person": "manager", "kind": "agency_manager", "effective_date": EFFECTIVE, "new_position": "人事室主任",
        "successor": "sw_staff", "reason": "調任"})
    assert refused.status_code == 200 and "接任者尚未取得有效的機關管理者帳號" in refused.text
    filed = head.post("/applications/new/role_transfer", data={
        "person": "applicant", "kind": "querier", "effective_date": EFFECTIVE, "new_position": "會計室科員",
        "reason": "調任"})
    assert filed.status_code == 302

    [task] = session.scalars(select(HumanTask).where(HumanTask.step == "transfer_account")).all()
    manager = app.test_client()
    assert manager.post("/login", data={"username": "manager", "password": "demo"}).status_code == 302
    page = manager.get(f"/tasks/{task.id}")
    assert page.status_code == 200 and "B0201 給付明細資料" in page.text and "P0501" not in page.text
    done = manager.post(f"/tasks/{task.id}", data={"decision": "approve", "account_decision": "delete"})
    assert done.status_code == 302
    assert active_account(session, person("applicant").id, AccountKind.QUERIER) is None
