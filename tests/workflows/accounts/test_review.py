"""The yearly account permission review (001 §6(6)): what the manager sees, decides, and what it changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import AccountKind, AccountStatus, Application, AuditEvent, HumanTask, Notification, TaskState
from tests.conftest import REGISTRATION, make_account, make_person
from workflows.accounts.records import active_account
from workflows.accounts.review import list_reviewed_accounts
from workflows.errors import Invalid
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task, step_fields
from workflows.settings import SETTINGS
from workflows.timers import duties
from workflows.timers import sweep as timers

# Friday 15 January 2027, 09:00 in Taipei: the review's scheduled start.
STARTED = datetime(2027, 1, 15, 1, 0, tzinfo=UTC)
IDLE_SINCE = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)  # more than 180 days before the review
DUPLICATE_ID = "A123456789"


@pytest.fixture
def clock():
    with time_machine.travel(STARTED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def staff(session, person):
    """社會局's querier accounts, one for each thing the review must notice, plus 林怡君's demo account."""
    idle = make_person(session, "sw_idle", name="久未查詢", unit="社會救助科", roles=("querier",))
    never = make_person(session, "sw_never", name="從未查詢")
    twin = make_person(session, "sw_twin", name="重複者", national_id=DUPLICATE_ID)
    other_twin = make_person(session, "ep_twin", name="重複者", agency="KHH-EP", national_id=DUPLICATE_ID)
    retired = make_person(session, "sw_retired", name="已退休", active=False)
    accounts = {
        "applicant": active_account(session, person("applicant").id, AccountKind.QUERIER),
        "sw_idle": make_account(session, idle, items=("C0101", "B0101"), effective_on=IDLE_SINCE.date()),
        "sw_never": make_account(session, never, items=("C0101",), effective_on=IDLE_SINCE.date()),
        "sw_twin": make_account(session, twin, items=("C0101",)),
        "sw_retired": make_account(session, retired, items=("B0101",)),
    }
    make_account(session, other_twin, items=("C0101",))  # same national ID, another agency's account
    session.commit()
    return accounts


def registered(session, person, username: str, when: datetime) -> Application:
    """A query registration approved at ``when``: the querier's last use."""
    app = submit_application(session, form_key="query_registration", data=REGISTRATION, actor=person(username),
                             now=when)
    [task] = app.tasks
    return complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", now=when)


def start_review(session, person) -> Application:
    app = duties.start_duty(session, process="account_review", target=duties.Target(person("manager").agency_id),
                            now=STARTED)
    session.commit()
    return app


def open_task(session, app: Application) -> HumanTask:
    session.refresh(app)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    return task


def decide(session, person, app, username, data, when=STARTED, opinion=""):
    return complete_task(session, task_id=open_task(session, app).id, actor=person(username), decision="approve",
                         opinion=opinion, data=data, now=when)


def keep_all(accounts) -> dict:
    return {f"account_{a.id}_decision": "keep" for a in accounts.values()}


def test_every_querier_account_is_listed_with_its_items_last_use_and_flags(session, person, staff, clock):
    registered(session, person, "applicant", datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    registered(session, person, "applicant", datetime(2026, 12, 20, 17, 0, tzinfo=UTC))  # 21 December in Taipei
    registered(session, person, "sw_idle", IDLE_SINCE + timedelta(days=10))
    # A role transfer under way for 林怡君: her job is changing.
    submit_application(session, form_key="role_transfer", actor=person("sw_head"), now=STARTED, data={
        "person": "applicant", "kind": "querier", "effective_date": "2027-02-01", "new_position": "會計室科員",
        "reason": "調任會計室"})

    listed = {a.username: a for a in list_reviewed_accounts(session, person("manager").agency_id, STARTED)}

    assert set(listed) == set(staff)  # 社會局's own querier accounts only: not 環保局's twin, no manager accounts
    assert listed["applicant"].items == ("B0101", "B0201", "C0101")
    assert listed["applicant"].last_used.isoformat() == "2026-12-21"
    assert listed["sw_idle"].last_used.isoformat() == "2026-05-14"
    assert listed["sw_never"].last_used is None
    assert {u: a.flags for u, a in listed.items()} == {
        "applicant": ("job_changed",),
        "sw_idle": ("idle",),  # last used 246 days ago
        "sw_never": ("idle",),  # never used, granted 256 days ago
        "sw_twin": ("duplicate",),  # the same national ID holds an account at 環保局 too
        "sw_retired": ("inactive",),
    }


def test_the_idle_period_is_a_setting(session, person, staff, clock):
    before = SETTINGS.idle_days
    try:
        SETTINGS.idle_days = 365
        listed = {a.username: a for a in list_reviewed_accounts(session, person("manager").agency_id, STARTED)}
    finally:
        SETTINGS.idle_days = before
    assert "idle" not in listed["sw_idle"].flags + listed["sw_never"].flags


def test_the_managers_step_asks_one_decision_per_account_with_items_limited_to_that_account(
        session, person, staff, clock):
    app = start_review(session, person)
    task = open_task(session, app)
    assert (task.step, task.role, [c.person.username for c in task.candidates]) == (
        "manager_review", "agency_manager", ["manager"])
    fields = {f.name: f for f in step_fields(session, app, task, STARTED).fields}
    idle = staff["sw_idle"].id
    assert {f"account_{idle}_decision", f"account_{idle}_items", f"account_{idle}_reason"} <= set(fields)
    assert [c for c, _ in fields[f"account_{idle}_items"].choices] == ["B0101", "C0101"]
    assert [c for c, _ in fields[f"account_{idle}_decision"].choices] == ["keep", "narrow", "delete"]
    assert "久未查詢" in fields[f"account_{idle}_decision"].label
    assert "長期閒置" in fields[f"account_{idle}_decision"].help
    assert "從未使用" in fields[f"account_{staff['sw_never'].id}_decision"].help
    assert len(fields) == 3 * len(staff) + 1  # and the overall findings


def test_keep_narrow_and_delete_take_effect_when_the_agency_head_has_acknowledged(session, person, staff, clock):
    app = start_review(session, person)
    decisions = {
        **keep_all(staff),
        f"account_{staff['applicant'].id}_decision": "narrow",
        f"account_{staff['applicant'].id}_items": ["C0101"],
        f"account_{staff['applicant'].id}_reason": "業務僅需投保資料",
        f"account_{staff['sw_never'].id}_decision": "delete",
        f"account_{staff['sw_never'].id}_reason": "長期閒置",
        f"account_{staff['sw_retired'].id}_decision": "delete",
        f"account_{staff['sw_retired'].id}_reason": "已退休",
        "findings": "依 001 第六點第六款清查完畢",
    }
    app = decide(session, person, app, "manager", decisions)
    assert app.state.value == "running"
    assert staff["applicant"].item_codes == ["B0101", "B0201", "C0101"]  # nothing changes before the head signs
    assert open_task(session, app).step == "agency_head_ack"

    app = decide(session, person, app, "sw_head", {}, opinion="已核閱")
    assert app.state.value == "completed"
    for account in staff.values():
        session.refresh(account)
    assert staff["applicant"].item_codes == ["C0101"] and staff["applicant"].status == AccountStatus.ACTIVE
    assert staff["sw_never"].status == AccountStatus.DISABLED and staff["sw_never"].last_application_id == app.id
    assert staff["sw_retired"].status == AccountStatus.DISABLED
    assert staff["sw_idle"].status == AccountStatus.ACTIVE and staff["sw_idle"].item_codes == ["B0101", "C0101"]

    events = {e.subject_id: e for e in session.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "webir_account", AuditEvent.payload["application"].as_integer() == app.id))}
    assert {a: events[a.id].event_type for a in staff.values()} == {
        staff["applicant"]: "account_narrowed", staff["sw_idle"]: "account_kept", staff["sw_never"]: "account_disabled",
        staff["sw_twin"]: "account_kept", staff["sw_retired"]: "account_disabled"}
    narrowed = events[staff["applicant"].id].payload
    assert (narrowed["items_before"], narrowed["items_after"], narrowed["reason"]) == (
        ["B0101", "B0201", "C0101"], ["C0101"], "業務僅需投保資料")

    # The record kept five years: the manager's decisions with what they saw, readable on the application page.
    view = reads.get_application_view(session, app.id, person("sw_head"))
    [review] = [h for h in view.history if h.step == "manager_review"]
    assert len(review.data["account_decisions"]) == len(staff) and review.data["findings"]
    assert ("林怡君（applicant）原項目 B0101、B0201、C0101，最後使用 從未使用："
            "縮減查調項目為 C0101（理由：業務僅需投保資料）") in review.details
    assert any(line.startswith("已退休（sw_retired）") and "離職或退休" in line for line in review.details)


def test_narrowing_or_deleting_needs_a_reason_and_a_narrower_item_list(session, person, staff, clock):
    app = start_review(session, person)
    applicant = f"account_{staff['applicant'].id}"
    cases = [
        ({f"{applicant}_decision": "delete"}, f"{applicant}_reason"),
        ({f"{applicant}_decision": "narrow", f"{applicant}_items": ["C0101"]}, f"{applicant}_reason"),
        ({f"{applicant}_decision": "narrow", f"{applicant}_reason": "x"}, f"{applicant}_items"),
        ({f"{applicant}_decision": "narrow", f"{applicant}_items": ["C0101", "B0101", "B0201"],
          f"{applicant}_reason": "x"}, f"{applicant}_items"),  # narrowing that keeps everything
        ({f"{applicant}_decision": "narrow", f"{applicant}_items": ["P0501"], f"{applicant}_reason": "x"},
         f"{applicant}_items"),  # an item the account never had
        ({f"{applicant}_decision": "maybe"}, f"{applicant}_decision"),
    ]
    for data, field in cases:
        with pytest.raises(Invalid) as exc:
            decide(session, person, app, "manager", {**keep_all(staff), **data})
        assert set(exc.value.errors) == {field}, data
    missing = keep_all(staff)
    del missing[f"{applicant}_decision"]
    with pytest.raises(Invalid) as exc:
        decide(session, person, app, "manager", missing)
    assert set(exc.value.errors) == {f"{applicant}_decision"}  # every account must be decided
    assert open_task(session, app).step == "manager_review"


def test_an_account_disabled_meanwhile_is_skipped_not_revived(session, person, staff, clock):
    app = start_review(session, person)
    idle = staff["sw_idle"]
    app = decide(session, person, app, "manager", {
        **keep_all(staff), f"account_{idle.id}_decision": "narrow", f"account_{idle.id}_items": ["C0101"],
        f"account_{idle.id}_reason": "縮減"})
    idle.status = AccountStatus.DISABLED  # deleted through its own chain before the head acknowledged
    session.commit()
    decide(session, person, app, "sw_head", {})
    session.refresh(idle)
    assert idle.status == AccountStatus.DISABLED and idle.item_codes == ["B0101", "C0101"]
    assert session.scalar(select(AuditEvent.event_type).where(
        AuditEvent.subject_type == "webir_account", AuditEvent.subject_id == idle.id)) == "account_skipped"


def test_an_overdue_review_reminds_the_manager_then_escalates_to_the_agency_head(session, person, staff, clock):
    app = start_review(session, person)
    reminder_due = datetime(2027, 1, 20, 1, 0, tzinfo=UTC)  # 3 working days after Friday 15 January
    escalation_due = datetime(2027, 1, 22, 1, 0, tzinfo=UTC)  # 5 working days
    assert app.next_timer_at == reminder_due
    for when, fired in ((reminder_due - timedelta(minutes=1), 0), (reminder_due + timedelta(minutes=1), 1),
                        (escalation_due - timedelta(minutes=1), 0), (escalation_due + timedelta(minutes=1), 1)):
        clock.move_to(when)
        session.expire_all()
        assert timers.sweep(session, when).fired == fired, when
    notes = session.scalars(select(Notification).where(Notification.application_id == app.id,
                                                       Notification.kind != "task_arrived")
                            .order_by(Notification.id)).all()
    assert [(n.kind, n.person.username) for n in notes] == [("reminder", "manager"), ("escalation", "sw_head")]
    assert "機關管理者清查使用者帳號權限" in notes[1].subject
    assert open_task(session, app).step == "manager_review"  # still the manager's to do


def test_the_manager_sees_the_review_in_the_inbox_and_on_the_task_page(app, session, person, staff, clock):
    review = start_review(session, person)
    task = open_task(session, review)
    client = app.test_client()
    assert client.post("/login", data={"username": "manager", "password": "demo"}).status_code == 302
    inbox = client.get("/")
    assert inbox.status_code == 200 and "年度使用者帳號權限清查" in inbox.text and "排程自動啟動" in inbox.text
    page = client.get(f"/tasks/{task.id}")
    assert page.status_code == 200
    assert "久未查詢（sw_idle" in page.text and "長期閒置" in page.text and "縮減後保留之查調項目" in page.text


def test_the_review_is_decided_on_the_pages_and_readable_on_the_application_page(app, session, person, staff, clock):
    review = start_review(session, person)
    manager, head = app.test_client(), app.test_client()
    for client, username in ((manager, "manager"), (head, "sw_head")):
        assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    never, idle = staff["sw_never"].id, staff["sw_idle"].id
    form = {**keep_all(staff), "decision": "approve", f"account_{never}_decision": "delete",
            f"account_{idle}_decision": "narrow", f"account_{idle}_items": ["C0101"]}
    refused = manager.post(f"/tasks/{open_task(session, review).id}", data=form)
    assert refused.status_code == 200 and "「久未查詢：縮減或刪除理由」為必填" in refused.text
    form.update({f"account_{never}_reason": "從未使用", f"account_{idle}_reason": "只需投保資料"})
    assert manager.post(f"/tasks/{open_task(session, review).id}", data=form).status_code == 302
    assert head.post(f"/tasks/{open_task(session, review).id}", data={"decision": "approve"}).status_code == 302

    page = head.get(f"/applications/{review.id}")
    assert page.status_code == 200 and "核准結案" in page.text
    assert ("從未查詢（sw_never）原項目 C0101，最後使用 從未使用，提示 長期閒置："
            "刪除（停用）帳號（理由：從未使用）") in page.text
    assert "久未查詢（sw_idle）原項目 B0101、C0101" in page.text and "縮減查調項目為 C0101" in page.text
    session.expire_all()
    assert staff["sw_never"].status == AccountStatus.DISABLED and staff["sw_idle"].item_codes == ["C0101"]


def test_the_api_publishes_the_per_account_fields_and_takes_the_decisions(api, session, person, staff, clock):
    review = start_review(session, person)
    task_id = open_task(session, review).id
    manager = api.as_("manager")
    body = manager.get(f"/api/v1/tasks/{task_id}").get_json()
    idle = staff["sw_idle"].id
    fields = {f["name"]: f for f in body["fields"]}
    assert [c["value"] for c in fields[f"account_{idle}_items"]["choices"]] == ["B0101", "C0101"]
    assert "長期閒置" in fields[f"account_{idle}_decision"]["help"]
    response = manager.post(f"/api/v1/tasks/{task_id}/complete", {"decision": "approve", "data": {
        **keep_all(staff), f"account_{idle}_decision": "narrow", f"account_{idle}_items": ["B0101"],
        f"account_{idle}_reason": "只需給付資料"}})
    assert response.status_code == 200, response.get_json()
    history = api.as_("sw_head").get(f"/api/v1/applications/{review.id}").get_json()["history"]
    [entry] = [h for h in history if h["step"] == "manager_review"]
    assert [d["new_items"] for d in entry["data"]["account_decisions"] if d["account"] == idle] == [["B0101"]]
