"""Every Kaohsiung chain walked end to end by the demo people, through the real engine and database.

Each step is found the way an approver finds it, in ``list_inbox``, and decided with ``complete_task``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import (
    AccountItem,
    AccountKind,
    AccountStatus,
    Agency,
    AgencyQueryItem,
    Application,
    AuditEvent,
    Delegation,
    HumanTask,
    Role,
    RoleHolding,
    TaskState,
    WebirAccount,
)
from tests.conftest import ITEMS_CHANGE, MANAGER_ADD, NOW, QUERIER_ADD, REGISTRATION, granted, registration
from workflows.accounts.effects import active_account, agency_items
from workflows.accounts.records import disable_ended_accounts
from workflows.demo import PEOPLE
from workflows.editor.deploy import deploy
from workflows.errors import Conflict
from workflows.filing import reads
from workflows.filing.applications import amend_application, submit_application, withdraw_application
from workflows.filing.tasks import complete_task, step_fields
from workflows.runtime.candidates import role_holders
from workflows.runtime.diagrams import latest_version

USERNAMES = [p[0] for p in PEOPLE]
# Who else may sign a step in place of its holder (demo Delegation rows).
DELEGATES = {"sw_head": {"sw_deputy"}}

# (decider, step, extra step data) in chain order; the filer is not part of the list.
# The manager decides each requested item (000 附表三's item sheet: 審核結果); the head of the manager's unit
# (秘書室資訊小組: sw_it_head, not the applicant's unit head) seals the setting.
QUERIER_CHAIN = [
    ("sw_unit_head", "unit_head_review", {}),
    ("manager", "agency_manager_setup", lambda app: granted(app.data["items"], "115/12/01")),
    ("sw_it_head", "manager_unit_head_seal", {}),
]
MANAGER_CHAIN = [
    ("sw_unit_head", "unit_head_review", {}),
    ("sw_head", "agency_head_review", {}),
    ("labor_clerk", "authority_clerk_review", {}),
    ("labor_chief", "authority_section_head_review", {}),
    ("labor_director", "authority_director_review", {}),
    ("it_clerk", "central_clerk_setup", {"effective_date": "2026-12-01"}),
    ("it_chief", "central_section_head_review", {}),
    ("it_director", "central_director_review", {}),
]
# The manager sits in 秘書室資訊小組, so the unit head is sw_it_head.
MANAGER_DELETE_CHAIN = [("sw_it_head", "unit_head_review", {}), *MANAGER_CHAIN[1:]]
# 社會局 holds C0101 B0101 B0201 B0301 P0301 N0101 T0101 B0401 P0401; applicant's account C0101 B0101 B0201.
ITEMS_DATA = {**ITEMS_CHANGE, "add_items": ["C0201", "F0101", "C0301"], "remove_items": ["B0201", "T0101"]}
LABOR_AGREED = ["C0201", "C0301", "B0201", "T0101"]  # not F0101
# 000 附表四: only C0301 and F0101 go to 勞保局 (勞工局 holds C0201; removals do not go): it refuses C0301.
BUREAU_AGREED: list[str] = []
ITEMS_CHAIN = [
    ("sw_it_head", "unit_head_review", {}),
    ("sw_head", "agency_head_review", {}),
    ("labor_clerk", "authority_clerk_review", {"approved_items": LABOR_AGREED}),
    ("labor_chief", "authority_section_head_review", {}),
    ("labor_director", "authority_director_review", {}),
    # 000 附表四 設定結果: 資訊處's clerk sets the local part and files the rest with 勞保局; the section head and
    # the director seal that; 勞保局's answer is recorded, the granted items set, and that result sealed again.
    ("it_clerk", "central_clerk_set", {"set_on": "2026-12-01"}),
    ("it_chief", "central_section_head_seal", {}),
    ("it_director", "central_director_seal", {}),
    ("bli_liaison", "bureau_answer", {"bureau_approved_items": BUREAU_AGREED,
                                      "bureau_letter_no": "保費資字第11513000001號", "answered_on": "115/12/20"}),
    ("it_clerk", "central_clerk_apply", {"applied_on": "2026-12-22"}),
    ("it_chief", "central_section_head_result_seal", {}),
    ("it_director", "central_director_result_seal", {}),
]
REGISTRATION_CHAIN = [("sw_unit_head", "unit_head_review", {})]

# The applicant (林怡君) already holds a querier account; these are her own forms.
APPLICANT_FORM = {
    "name": "林怡君", "job_title": "社會工作員", "national_id": "A123456789", "phone": "07-3368301",
    "email": "applicant@demo.kcg.gov.tw", "egov_account": "applicant.egov", "reason": "業務調整",
}
MANAGER_DELETE = {
    "request_type": "delete", "name": "王美玲", "agency_oid": "2.16.886.101.20002", "phone": "07-3368304",
    "email": "manager@demo.kcg.gov.tw", "egov_account": "manager.egov", "reason": "調離資訊業務",
}


# ---------------------------------------------------------------- helpers

@pytest.fixture
def submit(session, person):
    def _submit(username: str, form_key: str, data: dict, now=NOW) -> Application:
        return submit_application(session, form_key=form_key, data=dict(data), actor=person(username), now=now)
    return _submit


@pytest.fixture
def decide(session, person):
    """Find the person's oldest inbox task (for ``app`` if given) and decide it."""
    def _decide(username: str, decision: str = "approve", opinion: str = "", *, app: Application | None = None,
                step: str | None = None, now=NOW, **data) -> Application:
        actor = person(username)
        rows = [r for r in reads.list_inbox(session, actor) if app is None or r.application_id == app.id]
        assert rows, f"{username} finds nothing to decide"
        if step is not None:
            assert rows[0].step == step, f"{username} finds {rows[0].step}, expected {step}"
        return complete_task(session, task_id=rows[0].task_id, actor=actor, decision=decision, opinion=opinion,
                             data=data, now=now)
    return _decide


@pytest.fixture
def seen_by(session, person):
    """Usernames whose inbox holds a task of this application."""
    def _seen_by(app: Application) -> set[str]:
        return {u for u in USERNAMES if any(r.application_id == app.id for r in reads.list_inbox(session, person(u)))}
    return _seen_by


@pytest.fixture
def walk(decide, seen_by):
    """Approve each step in turn, checking before each that exactly its holders see it."""
    def _walk(app: Application, chain, now=NOW) -> Application:
        for n, (username, step, data) in enumerate(chain):
            assert app.state == "running"
            assert seen_by(app) == {username, *DELEGATES.get(username, ())}, f"before {step}"
            data = data(app) if callable(data) else data  # a step deciding the application's own items
            app = decide(username, app=app, step=step, opinion=f"{username} 同意", now=now + timedelta(minutes=n),
                         **data)
        return app
    return _walk


@pytest.fixture
def view(session, person):
    def _view(app: Application) -> reads.ApplicationView:
        return reads.get_application_view(session, app.id, person("admin"))
    return _view


def history(view_: reads.ApplicationView) -> list[tuple]:
    return [(h.step, h.actor, h.role, h.decision) for h in view_.history]


def events(session, app: Application) -> list[str]:
    """Audit event types about this application or its tasks, in order."""
    task_ids = [t.id for t in app.tasks]
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    return [e.event_type for e in rows
            if (e.subject_type == "application" and e.subject_id == app.id)
            or (e.subject_type == "human_task" and e.subject_id in task_ids)]


def records(session) -> dict:
    """Everything an approved application may change, for before/after comparison."""
    return {
        "accounts": sorted(session.execute(select(WebirAccount.person_id, WebirAccount.kind, WebirAccount.status,
                                                  WebirAccount.effective_on)).all()),
        "account_items": sorted(session.execute(select(AccountItem.account_id, AccountItem.item_code)).all()),
        "agency_items": sorted(session.execute(select(AgencyQueryItem.agency_id, AgencyQueryItem.item_code)).all()),
        "roles": sorted(session.execute(select(RoleHolding.person_id, RoleHolding.role, RoleHolding.valid_from,
                                               RoleHolding.valid_until)).all()),
        "client_ips": sorted(session.execute(select(Agency.code, Agency.client_ip)).all(), key=str),
    }


def agency(session, code: str) -> Agency:
    return session.scalar(select(Agency).where(Agency.code == code))


# ---------------------------------------------------------------- approval to completion

def test_querier_account_add_is_approved_and_the_account_is_created(session, person, submit, walk, view, seen_by):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    assert app.state == "running"
    assert active_account(session, person("sw_staff").id, AccountKind.QUERIER) is None

    app = walk(app, QUERIER_CHAIN)

    assert app.state == "completed"
    assert app.closed_at is not None and app.outcome_reason is None
    assert seen_by(app) == set()
    assert all(t.state == TaskState.COMPLETED for t in app.tasks)
    account = active_account(session, person("sw_staff").id, AccountKind.QUERIER)
    assert account is not None
    assert account.item_codes == ["B0101", "C0101"]
    assert account.egov_account == "peishan.wu"
    assert account.agency_id == person("sw_staff").agency_id
    assert account.effective_on == date(2026, 12, 1)  # 115/12/01 entered at the setup step
    assert account.last_application_id == app.id

    v = view(app)
    assert history(v) == [
        ("start", "sw_staff", "applicant", "submit"),
        ("unit_head_review", "sw_unit_head", "unit_head", "approve"),
        ("agency_manager_setup", "manager", "agency_manager", "approve"),
        ("manager_unit_head_seal", "sw_it_head", "manager_unit_head", "approve"),
    ]
    assert [h.opinion for h in v.history] == [None, "sw_unit_head 同意", "manager 同意", "sw_it_head 同意"]
    assert v.history[-2].data == {"effective_date": "2026-12-01", "granted_items": ["C0101", "B0101"]}
    assert v.current_tasks == []

    assert events(session, app) == ["application_submitted", "task_completed", "task_completed", "task_completed",
                                    "accounts_changed", "application_completed"]
    changed = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "accounts_changed"))
    assert changed.payload == {"form": "querier_account", "account": account.id, "status": "active",
                               "items": ["C0101", "B0101"], "client_ip": "10.20.30.40"}
    completed_tasks = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "task_completed")
                                      .order_by(AuditEvent.id)).all()
    assert [(e.actor_id, e.payload["step"], e.payload["decision"]) for e in completed_tasks] == [
        (person("sw_unit_head").id, "unit_head_review", "approve"),
        (person("manager").id, "agency_manager_setup", "approve"),
        (person("sw_it_head").id, "manager_unit_head_seal", "approve"),
    ]
    submitted = session.scalar(select(AuditEvent).where(AuditEvent.event_type == "application_submitted"))
    assert submitted.actor_id == person("sw_staff").id
    assert submitted.payload == {"form": "querier_account", "version": 1}


def test_querier_change_items_replaces_the_items_of_the_same_account(session, person, submit, walk):
    before = active_account(session, person("applicant").id, AccountKind.QUERIER)
    assert before.item_codes == ["B0101", "B0201", "C0101"]
    app = submit("applicant", "querier_account",
                 {**APPLICANT_FORM, "request_type": "change_items", "read_pdpa": True, "items": ["C0101", "B0301"],
                  "client_ip": "10.20.30.41"})
    app = walk(app, QUERIER_CHAIN)

    assert app.state == "completed"
    session.expire_all()  # the session keeps objects across commits; read what was stored
    after = active_account(session, person("applicant").id, AccountKind.QUERIER)
    assert after.id == before.id
    assert after.item_codes == ["B0301", "C0101"]
    assert session.scalar(select(func.count()).select_from(WebirAccount).where(
        WebirAccount.person_id == person("applicant").id)) == 1


@pytest.mark.parametrize("request_type", ["delete", "job_change"])
def test_querier_delete_or_job_change_without_items_disables_the_account(session, person, submit, walk,
                                                                         request_type):
    account_id = active_account(session, person("applicant").id, AccountKind.QUERIER).id
    data = {**APPLICANT_FORM, "request_type": request_type}
    if request_type == "job_change":
        data["read_pdpa"] = True
    app = walk(submit("applicant", "querier_account", data), QUERIER_CHAIN)

    assert app.state == "completed"
    # Dated 115/12/01 at the setup step: usable (and a querier) until 30 November, stopped on 1 December.
    account = session.get(WebirAccount, account_id)
    assert (account.status, account.valid_until) == (AccountStatus.ACTIVE, date(2026, 11, 30))
    assert account.last_application_id == app.id
    applicant = person("applicant")
    assert applicant.holds(Role.QUERIER, date(2026, 11, 30)) and not applicant.holds(Role.QUERIER, date(2026, 12, 1))
    assert disable_ended_accounts(session, datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) == []  # 23:00 Taipei
    stopped_at = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # 00:00 on 1 December in Taipei
    assert disable_ended_accounts(session, stopped_at) == [account_id]
    assert active_account(session, applicant.id, AccountKind.QUERIER) is None
    assert (account.status, account.disabled_at) == (AccountStatus.DISABLED, stopped_at)
    assert disable_ended_accounts(session, stopped_at + timedelta(days=1)) == []  # once


def test_manager_account_add_walks_nine_desks_and_makes_an_agency_manager(session, person, submit, walk, view):
    sw_staff = person("sw_staff")
    app = submit("sw_staff", "manager_account", MANAGER_ADD)
    app = walk(app, MANAGER_CHAIN)

    assert app.state == "completed"
    account = active_account(session, sw_staff.id, AccountKind.MANAGER)
    assert account is not None and account.effective_on == date(2026, 12, 1)
    assert account.egov_account == "peishan.wu"
    holding = session.scalar(select(RoleHolding).where(RoleHolding.person_id == sw_staff.id,
                                                       RoleHolding.role == Role.AGENCY_MANAGER))
    assert holding.agency_id == sw_staff.agency_id
    assert (holding.valid_from, holding.valid_until) == (date(2026, 12, 1), None)
    # The new manager takes agency-manager steps from the effective date on, not before.
    assert [p.username for p in role_holders(session, Role.AGENCY_MANAGER, app, date(2026, 11, 30))] == ["manager"]
    assert {p.username for p in role_holders(session, Role.AGENCY_MANAGER, app, date(2026, 12, 1))} == {
        "manager", "sw_staff"}

    assert history(view(app)) == [("start", "sw_staff", "applicant", "submit")] + [
        (step, who, role, "approve") for (who, step, _), role in zip(MANAGER_CHAIN, [
            "unit_head", "agency_head", "authority_clerk", "authority_section_head", "authority_director",
            "central_clerk", "central_section_head", "central_director"], strict=True)]
    assert events(session, app).count("task_completed") == 8
    assert events(session, app)[-2:] == ["accounts_changed", "application_completed"]


def test_manager_account_delete_disables_the_account_and_ends_the_role(session, person, submit, walk):
    manager = person("manager")
    account_id = active_account(session, manager.id, AccountKind.MANAGER).id
    app = walk(submit("manager", "manager_account", MANAGER_DELETE), MANAGER_DELETE_CHAIN)

    assert app.state == "completed"
    assert active_account(session, manager.id, AccountKind.MANAGER) is None
    assert session.get(WebirAccount, account_id).status == AccountStatus.DISABLED
    holding = session.scalar(select(RoleHolding).where(RoleHolding.person_id == manager.id,
                                                       RoleHolding.role == Role.AGENCY_MANAGER))
    assert holding.valid_until == NOW.date()
    assert role_holders(session, Role.AGENCY_MANAGER, app, NOW.date() + timedelta(days=1)) == []
    # Her querier-side permissions are untouched: she never had a querier account.
    assert active_account(session, manager.id, AccountKind.QUERIER) is None


def test_query_items_change_grants_only_what_both_labour_bureau_and_bli_agreed(session, person, submit, walk, view):
    """Changed with issue 18 (000 附表四): removals and items the city already holds no longer wait for 勞保局, so
    the removal of T0101 勞保局 "did not agree to" now takes effect, and 勞保局 answers only on C0301 and F0101."""
    sw = agency(session, "KHH-SW")
    labour = agency(session, "KHH-LAB")
    labour_items = agency_items(session, labour.id)
    assert sw.client_ip is None
    app = submit("manager", "query_items_change", ITEMS_DATA)
    assert app.data["add_items"] == ["C0201", "C0301", "F0101"]  # stored in the official item order
    assert (app.data["bureau_items"], app.data["to_bureau"]) == (["C0301", "F0101"], True)

    app = walk(app, ITEMS_CHAIN)

    assert app.state == "completed"
    session.expire_all()
    items = agency_items(session, sw.id)
    assert "C0201" in items  # both agreed
    assert "F0101" not in items  # 勞工局 disagreed
    assert "C0301" not in items  # 勞保局 disagreed
    assert "B0201" not in items  # removal both agreed
    assert "T0101" not in items  # a removal takes effect after 資訊處, 勞保局's answer or not
    assert items == {"C0101", "B0101", "B0301", "P0301", "N0101", "B0401", "P0401", "C0201"}
    granted = session.scalar(select(AgencyQueryItem).where(AgencyQueryItem.agency_id == sw.id,
                                                           AgencyQueryItem.item_code == "C0201"))
    assert granted.application_id == app.id
    # The removed item is taken from the agency's accounts too, and only from this agency.
    assert active_account(session, person("applicant").id, AccountKind.QUERIER).item_codes == ["B0101", "C0101"]
    assert agency_items(session, labour.id) == labour_items
    session.refresh(sw)
    assert sw.client_ip == "10.20.30.40"

    v = view(app)
    assert [h.step for h in v.history] == ["start"] + [step for _, step, _ in ITEMS_CHAIN]
    # 勞工局 agreed to C0301, which the city lacks: the record of its step says 勞保局 is asked.
    assert v.history[3].data == {"approved_items": ["C0201", "C0301", "B0201", "T0101"], "to_bureau": True}
    assert v.history[9].data == {"bureau_letter_no": "保費資字第11513000001號", "answered_on": "2026-12-20"}
    assert v.history[9].role == "bureau_liaison"
    # Two parts, each applied once on its own step with its date: the local part at 資訊處's setting, 勞保局's part
    # (nothing granted here) at the setting of its answer; nothing is left for the chain's end.
    changed = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "accounts_changed")
                              .order_by(AuditEvent.id)).all()
    assert [e.payload for e in changed] == [
        {"form": "query_items_change", "part": "local", "on": "2026-12-01", "added": ["C0201"],
         "removed": ["B0201", "T0101"], "client_ip": "10.20.30.40"},
        {"form": "query_items_change", "part": "bureau", "on": "2026-12-22", "added": [], "removed": [],
         "client_ip": "10.20.30.40"}]
    assert app.data["items_set"] == {"local": "2026-12-01", "bureau": "2026-12-22"}


# 000 附表四: only items the city has not yet applied for go to 勞保局; the rest take effect after 資訊處.
LOCAL_CHAIN = ITEMS_CHAIN[:8]  # ends with 資訊處's director's seal on the setting


def step_choices(session, app: Application, step: str, field: str) -> tuple:
    task = next(t for t in app.tasks if t.step == step and t.state == TaskState.OPEN)
    return next(f.choices for f in step_fields(session, app, task, NOW).fields if f.name == field)


def test_removals_and_items_the_city_holds_take_effect_after_the_information_department(session, person, submit,
                                                                                          walk, view):
    sw = agency(session, "KHH-SW")
    # C0401 is 勞工局's (and 環保局's), C0201 勞工局's: the city holds both; removals never go to 勞保局.
    typed = {**ITEMS_CHANGE, "add_items": ["C0401", "C0201"], "remove_items": ["T0101"],
             "bureau_items": ["C0401"], "to_bureau": True}  # typed values are ignored: the records decide
    app = submit("manager", "query_items_change", typed)
    assert (app.data.get("bureau_items") or [], app.data["to_bureau"]) == ([], False)

    chain = [*LOCAL_CHAIN[:2], ("labor_clerk", "authority_clerk_review", {"approved_items": ["C0401", "T0101"]}),
             *LOCAL_CHAIN[3:]]
    app = walk(app, chain)

    assert app.state == "completed"
    assert [h.step for h in view(app).history] == ["start"] + [step for _, step, _ in chain]  # no bureau_answer
    session.expire_all()
    items = agency_items(session, sw.id)
    assert "C0401" in items and "T0101" not in items
    assert "C0201" not in items  # 勞工局 did not agree to it


def test_an_item_the_city_lacks_waits_for_the_bureau_unless_the_labour_bureau_refused_it(session, submit, walk,
                                                                                          decide):
    data = {**ITEMS_CHANGE, "add_items": ["C0401", "F0101"], "remove_items": []}
    waits = submit("manager", "query_items_change", data)
    assert (waits.data["bureau_items"], waits.data["to_bureau"]) == (["F0101"], True)
    waits = walk(waits, [*ITEMS_CHAIN[:2], ("labor_clerk", "authority_clerk_review",
                                            {"approved_items": ["C0401", "F0101"]}), *ITEMS_CHAIN[3:8]])
    assert [t.step for t in waits.tasks if t.state == TaskState.OPEN] == ["bureau_answer"]
    assert [c for c, _ in step_choices(session, waits, "bureau_answer", "bureau_approved_items")] == ["F0101"]
    session.expire_all()
    held = agency_items(session, waits.agency_id)
    assert "C0401" in held and "F0101" not in held  # the city's item is set already; F0101 waits for 勞保局

    # (C0401 is 社會局's now, so it cannot be asked again: C0201, which 勞工局 holds.)
    refused = submit("manager", "query_items_change", {**data, "add_items": ["C0201", "F0101"]})
    refused = walk(refused, [*ITEMS_CHAIN[:2], ("labor_clerk", "authority_clerk_review",
                                                {"approved_items": ["C0201"]}), *LOCAL_CHAIN[3:]])
    assert refused.state == "completed"  # 勞工局 refused F0101: nothing is put to 勞保局


def test_query_registration_is_permitted_by_the_unit_head_and_changes_no_account(session, submit, walk, view):
    before = records(session)
    app = submit("applicant", "query_registration", registration(query_date="115/11/25"))
    app = walk(app, REGISTRATION_CHAIN)

    assert app.state == "completed"
    assert app.data["rows"][0]["query_date"] == "2026-11-25"
    assert records(session) == before
    assert history(view(app)) == [("start", "applicant", "applicant", "submit"),
                                  ("unit_head_review", "sw_unit_head", "unit_head", "approve")]
    assert events(session, app) == ["application_submitted", "task_completed", "application_completed"]


# ---------------------------------------------------------------- rejection

REJECT_CASES = {
    "querier at the manager's setup": ("sw_staff", "querier_account", QUERIER_ADD, QUERIER_CHAIN, 1),
    "manager account at 勞工局's section head": ("sw_staff", "manager_account", MANAGER_ADD, MANAGER_CHAIN, 3),
    "manager account at 資訊處's director": ("sw_staff", "manager_account", MANAGER_ADD, MANAGER_CHAIN, 7),
    "items at 勞工局's clerk": ("manager", "query_items_change", ITEMS_DATA, ITEMS_CHAIN, 2),
    # 資訊處 no longer signs before its setting (000 附表四: it seals the setting result, refusing nothing).
    "items at 勞工局's director": ("manager", "query_items_change", ITEMS_DATA, ITEMS_CHAIN, 4),
    "registration at the unit head": ("applicant", "query_registration", REGISTRATION, REGISTRATION_CHAIN, 0),
}


@pytest.mark.parametrize("case", REJECT_CASES.values(), ids=REJECT_CASES.keys())
def test_rejection_in_the_chain_ends_it_with_the_reason_and_no_account_change(session, submit, walk, decide,
                                                                             seen_by, view, case):
    filer, form_key, data, chain, at = case
    before = records(session)
    app = walk(submit(filer, form_key, data), chain[:at])
    rejecter, step, _ = chain[at]
    reason = "與業務無直接關聯，不予同意"

    app = decide(rejecter, "reject", reason, app=app, step=step)

    assert app.state == "rejected"
    assert app.outcome_reason == reason
    assert app.closed_at is not None
    assert seen_by(app) == set()
    assert not [t for t in app.tasks if t.state == TaskState.OPEN]
    assert records(session) == before
    v = view(app)
    assert (v.history[-1].actor, v.history[-1].decision, v.history[-1].opinion) == (rejecter, "reject", reason)
    assert len(v.history) == at + 2
    assert events(session, app)[-2:] == ["task_completed", "application_rejected"]
    assert "accounts_changed" not in events(session, app)


# ---------------------------------------------------------------- return and amend

def test_return_amend_and_go_through_the_whole_chain_again(session, person, submit, walk, decide, seen_by, view):
    app = walk(submit("sw_staff", "manager_account", MANAGER_ADD), MANAGER_CHAIN[:4])
    app = decide("labor_director", "return", "請補正公務電話", app=app, step="authority_director_review")

    assert app.state == "returned"
    assert app.outcome_reason is None and app.closed_at is None
    assert seen_by(app) == {"sw_staff"}
    row = reads.list_inbox(session, person("sw_staff"))[0]
    assert (row.step, row.role) == ("amend", "applicant")
    assert active_account(session, person("sw_staff").id, AccountKind.MANAGER) is None

    app = amend_application(session, application_id=app.id, data={**MANAGER_ADD, "phone": "07-3368333#2201"},
                            actor=person("sw_staff"), now=NOW + timedelta(hours=1), note="已補正電話")

    assert app.state == "running"
    assert app.data["phone"] == "07-3368333#2201"
    # Back to the start of the chain: every desk signs again.
    app = walk(app, MANAGER_CHAIN, now=NOW + timedelta(hours=2))
    assert app.state == "completed"
    assert active_account(session, person("sw_staff").id, AccountKind.MANAGER) is not None

    v = view(app)
    assert [(h.step, h.actor, h.decision, h.opinion) for h in v.history[4:7]] == [
        ("authority_section_head_review", "labor_chief", "approve", "labor_chief 同意"),
        ("authority_director_review", "labor_director", "return", "請補正公務電話"),
        ("amend", "sw_staff", "resubmit", "已補正電話"),
    ]
    assert [h.step for h in v.history[7:]] == [step for _, step, _ in MANAGER_CHAIN]
    assert "application_amended" in events(session, app)
    assert events(session, app)[-1] == "application_completed"


def test_the_applicant_resubmits_through_the_amend_task(session, person, submit, decide, walk, seen_by):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    app = decide("sw_unit_head", "return", "事由請具體說明", app=app)
    assert app.state == "returned"

    better = {**QUERIER_ADD, "reason": "辦理低收入戶資格審核，需查詢申請人投保資料"}
    app = decide("sw_staff", "resubmit", "已補充事由", app=app, step="amend", **better)

    assert app.state == "running"
    assert app.data["reason"] == better["reason"]
    assert seen_by(app) == {"sw_unit_head"}
    app = walk(app, QUERIER_CHAIN)
    assert app.state == "completed"


def test_return_from_the_last_desk_then_reject_after_amend(session, person, submit, walk, decide):
    """A returned application that comes back round can still be refused; nothing changes. (The last desk that
    can return an item change is 勞工局's director: 資訊處 seals its setting result, 000 附表四.)"""
    before = records(session)
    app = walk(submit("manager", "query_items_change", ITEMS_DATA), ITEMS_CHAIN[:4])
    app = decide("labor_director", "return", "請補附法令依據", app=app, step="authority_director_review")
    assert app.state == "returned"
    app = amend_application(session, application_id=app.id,
                            data={**ITEMS_DATA, "legal_basis": "社會救助法第十八條、第四十四條之三"},
                            actor=person("manager"), now=NOW)
    app = walk(app, ITEMS_CHAIN[:1])
    app = decide("sw_head", "reject", "本局暫不擴充查調項目", app=app)
    assert app.state == "rejected"
    assert app.outcome_reason == "本局暫不擴充查調項目"
    assert records(session) == before


# ---------------------------------------------------------------- withdrawal

def test_withdraw_while_returned(session, person, submit, decide, seen_by, view):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    app = decide("sw_unit_head", "return", "請補正", app=app)
    amend_task = next(t for t in app.tasks if t.state == TaskState.OPEN)

    app = withdraw_application(session, application_id=app.id, actor=person("sw_staff"), now=NOW, reason="不需要了")

    assert app.state == "withdrawn"
    assert app.closed_at is not None
    assert seen_by(app) == set()
    assert amend_task.state == TaskState.COMPLETED and amend_task.completed_by_id == person("sw_staff").id
    assert not [t for t in app.tasks if t.state == TaskState.OPEN]
    last = view(app).history[-1]
    assert (last.actor, last.decision, last.opinion) == ("sw_staff", "withdraw", "不需要了")
    withdrawn = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "application_withdrawn")).all()
    assert [(e.subject_id, e.actor_id) for e in withdrawn] == [(app.id, person("sw_staff").id)]
    assert active_account(session, person("sw_staff").id, AccountKind.QUERIER) is None


def test_withdraw_while_running_cancels_the_open_step(session, person, submit, walk, seen_by, view):
    before = records(session)
    app = walk(submit("sw_staff", "manager_account", MANAGER_ADD), MANAGER_CHAIN[:2])
    assert seen_by(app) == {"labor_clerk"}
    open_task = next(t for t in app.tasks if t.state == TaskState.OPEN)

    app = withdraw_application(session, application_id=app.id, actor=person("sw_staff"), now=NOW, reason="改由他人申請")

    assert app.state == "withdrawn"
    assert seen_by(app) == set()
    assert open_task.state == TaskState.CANCELLED
    assert open_task.completed_by_id is None
    assert all(not c.is_open for t in app.tasks for c in t.candidates)
    assert records(session) == before
    last = view(app).history[-1]
    assert (last.actor, last.decision, last.opinion) == ("sw_staff", "withdraw", "改由他人申請")
    withdrawn = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "application_withdrawn")).all()
    assert [(e.subject_id, e.actor_id) for e in withdrawn] == [(app.id, person("sw_staff").id)]
    # The clerk who had it open can no longer decide it.
    with pytest.raises(Conflict):
        complete_task(session, task_id=open_task.id, actor=person("labor_clerk"), decision="approve", now=NOW)
    # ... and a withdrawn application cannot be withdrawn again.
    with pytest.raises(Conflict):
        withdraw_application(session, application_id=app.id, actor=person("sw_staff"), now=NOW)


# ---------------------------------------------------------------- delegates

def test_the_delegate_signs_the_agency_head_step(session, person, submit, walk, decide, seen_by, view):
    app = walk(submit("sw_staff", "manager_account", MANAGER_ADD), MANAGER_CHAIN[:1])
    assert seen_by(app) == {"sw_head", "sw_deputy"}

    app = decide("sw_deputy", "approve", "代為決行", app=app, step="agency_head_review")

    assert seen_by(app) == {"labor_clerk"}
    assert not [r for r in reads.list_inbox(session, person("sw_head")) if r.application_id == app.id]
    entry = view(app).history[-1]
    assert (entry.step, entry.actor, entry.role, entry.opinion) == ("agency_head_review", "sw_deputy",
                                                                   "agency_head", "代為決行")
    assert (entry.on_behalf_of, entry.on_behalf_of_name) == ("sw_head", "李文彬")  # 黃淑芬 代 李文彬
    assert view(app).history[-2].on_behalf_of is None  # the unit head signed in their own right
    app = walk(app, MANAGER_CHAIN[2:])
    assert app.state == "completed"


def test_an_expired_delegation_gives_no_task(session, person, submit, walk, seen_by):
    delegation = session.scalar(select(Delegation))
    delegation.valid_until = NOW.date() - timedelta(days=1)
    session.commit()
    app = walk(submit("sw_staff", "manager_account", MANAGER_ADD), MANAGER_CHAIN[:1])
    assert seen_by(app) == {"sw_head"}


# ---------------------------------------------------------------- diagram versions

def test_a_running_application_keeps_its_diagram_version_after_a_redeploy(session, person, submit, walk, decide,
                                                                           view):
    old = submit("sw_staff", "querier_account", QUERIER_ADD)
    v1 = latest_version(session, "querier_account")
    xml = v1.bpmn_xml.decode()
    assert xml.count("agency_manager_setup") > 1
    renamed = xml.replace("agency_manager_setup", "manager_sets_account").replace("機關管理者設定帳號",
                                                                                   "機關管理者建立帳號")
    v2 = deploy(session, renamed.encode(), actor=person("admin"), now=NOW, jurisdiction="kaohsiung",
                note="rename the setup step")
    session.commit()
    assert (v1.version, v2.version) == (1, 2)
    assert latest_version(session, "querier_account").id == v2.id
    # Deploying identical content again keeps the version.
    assert deploy(session, renamed.encode(), actor=None, now=NOW, jurisdiction="kaohsiung").id == v2.id

    new = submit("applicant", "query_registration", REGISTRATION)  # unrelated form stays on its version 1
    assert new.definition_version.version == 1
    new = submit("yb_querier", "querier_account",
                 {**QUERIER_ADD, "request_type": "change_items", "items": ["C0101"], "name": "潘冠宇"})
    assert new.definition_version_id == v2.id

    old = decide("sw_unit_head", app=old, step="unit_head_review")
    assert [(t.step, t.name) for t in old.tasks if t.state == TaskState.OPEN] == [
        ("agency_manager_setup", "機關管理者設定帳號")]
    new = decide("yb_unit_head", app=new, step="unit_head_review")
    assert [(t.step, t.name) for t in new.tasks if t.state == TaskState.OPEN] == [
        ("manager_sets_account", "機關管理者建立帳號")]

    old = decide("manager", app=old, step="agency_manager_setup", **granted(["C0101", "B0101"], "2026-11-25"))
    new = decide("yb_manager", app=new, step="manager_sets_account", **granted(["C0101"], "2026-11-25"))
    old = decide("sw_it_head", app=old, step="manager_unit_head_seal")
    new = decide("yb_unit_head", app=new, step="manager_unit_head_seal")
    assert (old.state, new.state) == ("completed", "completed")
    assert (view(old).definition_version, view(new).definition_version) == (1, 2)
    assert session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.application_id == old.id, HumanTask.step == "manager_sets_account")) == 0
