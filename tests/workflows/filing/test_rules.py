"""Validation and authorization at the service level: what a form or a step refuses, and who may act."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import (
    AccountKind,
    AccountStatus,
    Application,
    AuditEvent,
    HumanTask,
    Role,
    RoleHolding,
    TaskCandidate,
    TaskState,
)
from tests.conftest import ITEMS_CHANGE, MANAGER_ADD, NOW, QUERIER_ADD, REGISTRATION, granted, registration
from workflows import validators
from workflows.accounts.effects import active_account
from workflows.errors import Conflict, Forbidden, Invalid, NotFound
from workflows.filing import reads
from workflows.filing.applications import amend_application, submit_application, withdraw_application
from workflows.filing.tasks import complete_task

APPLICANT_CHANGE = {
    "request_type": "change_items", "name": "林怡君", "job_title": "社會工作員", "national_id": "A123456789",
    "phone": "07-3368301", "email": "applicant@demo.kcg.gov.tw", "egov_account": "applicant.egov",
    "read_pdpa": True, "client_ip": "10.20.30.41", "items": ["C0101", "B0301"], "reason": "業務調整",
}


@pytest.fixture
def submit(session, person):
    def _submit(username: str, form_key: str, data: dict) -> Application:
        return submit_application(session, form_key=form_key, data=data, actor=person(username), now=NOW)
    return _submit


@pytest.fixture
def refused(session, submit):
    """Submit, expect Invalid, and check that nothing was stored; returns the error map."""
    def _refused(username: str, form_key: str, data: dict) -> dict[str, str]:
        before = session.scalar(select(func.count()).select_from(Application))
        with pytest.raises(Invalid) as exc:
            submit(username, form_key, data)
        assert session.scalar(select(func.count()).select_from(Application)) == before
        return exc.value.errors
    return _refused


def open_task(app: Application) -> HumanTask:
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    return task


def decide(session, person, username: str, app: Application, decision="approve", opinion="", **data):
    return complete_task(session, task_id=open_task(app).id, actor=person(username), decision=decision,
                         opinion=opinion, data=data, now=NOW)


# ---------------------------------------------------------------- field validators

@pytest.mark.parametrize("value", ["A123456789", "a123456789", " E123456783 ", "F234567898", "A280000007"])
def test_national_id_with_a_valid_checksum_is_accepted(value):
    assert validators.national_id(value) == value.strip().upper()


@pytest.mark.parametrize(("value", "message"), [
    ("A123456788", "檢查碼"), ("A123456780", "檢查碼"), ("E123456789", "檢查碼"),
    ("A12345678", "格式"), ("1234567890", "格式"), ("A323456789", "格式"), ("AB23456789", "格式"),
    ("A1234567890", "格式"), ("", "格式"),
])
def test_national_id_with_a_wrong_checksum_or_format_is_refused(value, message):
    with pytest.raises(validators.FieldError, match=message):
        validators.national_id(value)


@pytest.mark.parametrize(("value", "clean"), [
    ("07-3368333", "07-3368333"), ("07-3368333#1234", "07-3368333#1234"), ("(07)3368333", "(07)3368333"),
    ("02 2720 8889", "0227208889"), ("0912-345-678", "0912-345-678"), ("0912345678", "0912345678"),
])
def test_phone_numbers_accepted(value, clean):
    assert validators.phone(value) == clean


@pytest.mark.parametrize("value", ["12345", "07-33", "+886-7-3368333", "0912-345-67", "phone", "07-3368333#"])
def test_phone_numbers_refused(value):
    with pytest.raises(validators.FieldError):
        validators.phone(value)


def test_email_is_checked_and_normalised():
    assert validators.email(" peishan@Demo.KCG.gov.tw ") == "peishan@demo.kcg.gov.tw"
    for bad in ("peishan", "peishan@", "@demo.kcg.gov.tw", "a b@demo.kcg.gov.tw"):
        with pytest.raises(validators.FieldError):
            validators.email(bad)


def test_ipv4_is_checked():
    assert validators.ipv4(" 10.20.30.40 ") == "10.20.30.40"
    for bad in ("300.1.1.1", "10.0.0", "::1", "10.0.0.1/24", "localhost"):
        with pytest.raises(validators.FieldError):
            validators.ipv4(bad)


@pytest.mark.parametrize(("value", "iso"), [
    ("115/11/25", "2026-11-25"), ("115.1.5", "2026-01-05"), ("99-12-31", "2010-12-31"),
    ("2026-11-25", "2026-11-25"), ("113/02/29", "2024-02-29"),
])
def test_roc_and_iso_dates_are_stored_as_iso(value, iso):
    assert validators.iso_date(value) == iso


@pytest.mark.parametrize("value", ["115/13/01", "115/02/29", "2026/11/25x", "11/25", "tomorrow", "2026-02-30"])
def test_impossible_dates_are_refused(value):
    with pytest.raises(validators.FieldError):
        validators.iso_date(value)


# ---------------------------------------------------------------- form rules through submit_application

def test_a_valid_querier_application_is_stored_clean(submit):
    app = submit("sw_staff", "querier_account", {**QUERIER_ADD, "national_id": "a123456789", "items": ["B0101",
                                                                                                       "C0101"]})
    assert app.data["national_id"] == "A123456789"
    assert app.data["items"] == ["C0101", "B0101"]  # official item order, duplicates gone


@pytest.mark.parametrize(("field", "value"), [
    ("national_id", "A123456788"), ("national_id", "A12345"), ("phone", "12345"), ("email", "not-an-email"),
    ("name", ""), ("reason", "   "), ("request_type", "promote"), ("items", ["C0101", "ZZ999"]),
    ("items", "C0101"), ("has_egov_account", "yes"),
])
def test_querier_form_field_errors_name_the_field(refused, field, value):
    errors = refused("sw_staff", "querier_account", {**QUERIER_ADD, field: value})
    assert set(errors) == {field}


def test_roc_date_on_a_form_is_stored_as_iso(submit, refused):
    app = submit("applicant", "query_registration", registration(query_date="115/11/25"))
    assert app.data["rows"][0]["query_date"] == "2026-11-25"
    assert set(refused("applicant", "query_registration", registration(query_date="115/13/25"))) == {
        "rows[1].query_date"}


@pytest.mark.parametrize("attestation", ["has_egov_account", "has_citizen_certificate"])
def test_attestations_are_required_for_add(refused, attestation):
    assert set(refused("sw_staff", "querier_account", {**QUERIER_ADD, attestation: False})) == {attestation}
    missing = {k: v for k, v in QUERIER_ADD.items() if k != attestation}
    assert set(refused("sw_staff", "querier_account", missing)) == {attestation}
    assert set(refused("sw_staff", "manager_account", {**MANAGER_ADD, attestation: False})) == {attestation}


def test_attestations_are_not_required_for_other_request_types(submit):
    app = submit("applicant", "querier_account",
                 {**APPLICANT_CHANGE, "has_egov_account": False, "has_citizen_certificate": False})
    assert app.state == "running"
    deleted = submit("manager", "manager_account", {
        **{k: v for k, v in MANAGER_ADD.items() if not k.startswith("has_")}, "request_type": "delete",
        "name": "王美玲", "egov_account": "manager.egov"})
    assert deleted.state == "running"


def test_items_are_required_for_add_and_change(refused, submit):
    assert set(refused("sw_staff", "querier_account", {**QUERIER_ADD, "items": []})) == {"items"}
    assert set(refused("applicant", "querier_account", {**APPLICANT_CHANGE, "items": []})) == {"items"}
    # ... but not for a deletion.
    app = submit("applicant", "querier_account", {**APPLICANT_CHANGE, "request_type": "delete", "items": []})
    assert app.data["items"] == []


def test_items_outside_the_agencys_permitted_items_are_refused(refused):
    errors = refused("sw_staff", "querier_account", {**QUERIER_ADD, "items": ["C0101", "C0201", "F0101"]})
    assert set(errors) == {"items"}
    assert "C0201" in errors["items"] and "F0101" in errors["items"] and "C0101" not in errors["items"]
    # 環保局 may use C0101 and C0401 only.
    assert set(refused("ep_querier", "querier_account",
                       {**APPLICANT_CHANGE, "name": "洪俊傑", "items": ["B0101"]})) == {"items"}


def test_a_second_querier_add_is_refused(refused):
    assert set(refused("applicant", "querier_account", {**QUERIER_ADD, "name": "林怡君"})) == {"request_type"}


@pytest.mark.parametrize("request_type", ["change_items", "delete", "job_change"])
def test_changing_an_account_one_does_not_have_is_refused(refused, request_type):
    errors = refused("sw_staff", "querier_account", {**QUERIER_ADD, "request_type": request_type})
    assert set(errors) == {"request_type"}


def test_manager_account_add_by_a_manager_or_delete_by_a_non_manager_is_refused(refused):
    assert set(refused("manager", "manager_account", MANAGER_ADD)) == {"request_type"}
    assert set(refused("sw_staff", "manager_account", {**MANAGER_ADD, "request_type": "delete"})) == {
        "request_type"}


def test_query_items_change_rules(refused, submit):
    assert set(refused("manager", "query_items_change", {**ITEMS_CHANGE, "add_items": [], "remove_items": []})) == {
        "add_items"}
    no_lists = {k: v for k, v in ITEMS_CHANGE.items() if k not in ("add_items", "remove_items")}
    assert set(refused("manager", "query_items_change", no_lists)) == {"add_items"}
    both = refused("manager", "query_items_change", {**ITEMS_CHANGE, "add_items": ["C0201", "F0101"],
                                                     "remove_items": ["F0101"]})
    assert set(both) == {"remove_items"} and "F0101" in both["remove_items"]
    # Asking for an item the agency already holds, or removing one it never had.
    assert set(refused("manager", "query_items_change", {**ITEMS_CHANGE, "add_items": ["C0101"]})) == {"add_items"}
    assert set(refused("manager", "query_items_change", {**ITEMS_CHANGE, "remove_items": ["P0501"]})) == {
        "remove_items"}
    assert set(refused("manager", "query_items_change", {**ITEMS_CHANGE, "client_ip": "10.20.30"})) == {"client_ip"}
    assert set(refused("manager", "query_items_change", {**ITEMS_CHANGE, "legal_basis": ""})) == {"legal_basis"}
    # Removing only is fine.
    assert submit("manager", "query_items_change", {**ITEMS_CHANGE, "add_items": []}).state == "running"


def test_query_items_change_is_filed_only_by_an_agency_manager(session, submit):
    for username in ("sw_staff", "applicant", "sw_head"):
        with pytest.raises(Forbidden):
            submit(username, "query_items_change", ITEMS_CHANGE)
    assert session.scalar(select(func.count()).select_from(Application)) == 0


def test_query_registration_only_by_a_querier_for_an_item_on_their_account(session, person, submit, refused):
    with pytest.raises(Forbidden):
        submit("sw_staff", "query_registration", REGISTRATION)
    # 社會局 may use B0301, but the applicant's account holds C0101 B0101 B0201 only.
    assert set(refused("applicant", "query_registration", registration(item="B0301"))) == {"rows[1].item"}
    assert set(refused("applicant", "query_registration", registration(subject_national_id="E123456789"))
               ) == {"rows[1].subject_national_id"}
    assert submit("applicant", "query_registration", registration(item="B0201")).state == "running"
    # A querier whose account has been disabled may not register a query at all.
    account = active_account(session, person("applicant").id, AccountKind.QUERIER)
    account.status = AccountStatus.DISABLED
    session.commit()
    assert set(refused("applicant", "query_registration", REGISTRATION)) == {"rows"}


@pytest.mark.parametrize(("form_key", "username", "data"), [
    ("querier_account", "sw_staff", QUERIER_ADD), ("manager_account", "sw_staff", MANAGER_ADD),
    ("query_items_change", "manager", ITEMS_CHANGE), ("query_registration", "applicant", REGISTRATION),
])
def test_unknown_fields_are_refused(refused, form_key, username, data):
    errors = refused(username, form_key, {**data, "is_admin": True, "state": "completed"})
    assert set(errors) == {"is_admin", "state"}


def test_an_unknown_form_is_not_found(submit):
    with pytest.raises(NotFound):
        submit("sw_staff", "proxy_authorisation", {})


# ---------------------------------------------------------------- authorization on steps

def test_only_a_candidate_may_complete_a_step(session, person, submit):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    task = open_task(app)
    for outsider in ("sw_head", "sw_it_head", "manager", "labor_chief", "ep_unit_head", "admin"):
        with pytest.raises(Forbidden):
            complete_task(session, task_id=task.id, actor=person(outsider), decision="approve", now=NOW)
    assert task.state == TaskState.OPEN and app.state == "running"
    with pytest.raises(NotFound):
        complete_task(session, task_id=999_999, actor=person("sw_unit_head"), decision="approve", now=NOW)


def test_the_applicant_never_approves_their_own_application(session, person, submit):
    sw_staff = person("sw_staff")
    session.add(RoleHolding(person_id=sw_staff.id, role=Role.UNIT_HEAD, agency_id=sw_staff.agency_id,
                            unit_id=sw_staff.unit_id))
    session.commit()
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    task = open_task(app)

    assert [c.person_id for c in task.candidates] == [person("sw_unit_head").id]
    assert [r.step for r in reads.list_inbox(session, sw_staff)] == []
    with pytest.raises(Forbidden):
        complete_task(session, task_id=task.id, actor=sw_staff, decision="approve", now=NOW)
    # Even a candidate row slipped in by hand does not let the applicant sign.
    session.add(TaskCandidate(human_task_id=task.id, person_id=sw_staff.id, created_at=NOW))
    session.commit()
    with pytest.raises(Forbidden):
        complete_task(session, task_id=task.id, actor=sw_staff, decision="approve", now=NOW)
    assert task.state == TaskState.OPEN
    # The real unit head still can.
    assert decide(session, person, "sw_unit_head", app).state == "running"


def test_the_applicants_own_delegate_role_gives_no_way_round(session, person, submit):
    """The agency head filing a form does not see their own agency-head step, only their delegate does."""
    sw_head = person("sw_head")
    sw_head.unit_id = person("sw_staff").unit_id  # so sw_unit_head is their unit head
    session.commit()
    app = submit("sw_head", "manager_account", MANAGER_ADD)
    app = decide(session, person, "sw_unit_head", app)
    task = open_task(app)
    assert task.step == "agency_head_review"
    assert [c.person_id for c in task.candidates] == [person("sw_deputy").id]
    with pytest.raises(Forbidden):
        complete_task(session, task_id=task.id, actor=sw_head, decision="approve", now=NOW)


def test_completing_a_completed_task_is_a_conflict(session, person, submit):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    task = open_task(app)
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", now=NOW)
    with pytest.raises(Conflict):
        complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="reject", opinion="改判",
                      now=NOW)
    assert [h.decision for h in app.history] == ["submit", "approve"]
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event_type == "task_completed")) == 1


@pytest.mark.parametrize("decision", ["reject", "return"])
@pytest.mark.parametrize("opinion", ["", "   \n"])
def test_reject_or_return_without_an_opinion_is_invalid(session, person, submit, decision, opinion):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    with pytest.raises(Invalid) as exc:
        decide(session, person, "sw_unit_head", app, decision, opinion)
    assert set(exc.value.errors) == {"opinion"}
    assert app.state == "running" and open_task(app).step == "unit_head_review"


@pytest.mark.parametrize("decision", ["withdraw", "resubmit", "submit", "APPROVE", ""])
def test_decisions_outside_the_step_are_invalid(session, person, submit, decision):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    with pytest.raises(Invalid) as exc:
        decide(session, person, "sw_unit_head", app, decision, "意見")
    assert "decision" in exc.value.errors
    assert open_task(app).state == TaskState.OPEN


def test_step_fields_are_validated(session, person, submit):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    with pytest.raises(Invalid) as exc:
        decide(session, person, "sw_unit_head", app, "approve", secret="x")
    assert set(exc.value.errors) == {"secret"}
    app = decide(session, person, "sw_unit_head", app)

    # account_setup: the effective date and each item's answer are required to approve; the date must be one.
    with pytest.raises(Invalid) as exc:
        decide(session, person, "manager", app)
    assert set(exc.value.errors) == {"effective_date", "item_C0101", "item_B0101"}
    with pytest.raises(Invalid) as exc:
        decide(session, person, "manager", app, **granted(QUERIER_ADD["items"], "115/02/30"))
    assert set(exc.value.errors) == {"effective_date"}
    # Refusing needs no date, only a reason.
    assert decide(session, person, "manager", app, "reject", "查無此人").state == "rejected"


def test_item_review_and_bureau_answer_are_bound_to_the_application(session, person, submit):
    app = submit("manager", "query_items_change", ITEMS_CHANGE)  # add C0201 F0101, remove T0101
    for username in ("sw_it_head", "sw_head"):
        app = decide(session, person, username, app)

    for bad, field in ((["C0201", "P0501"], "approved_items"), ([], "approved_items")):
        with pytest.raises(Invalid) as exc:
            decide(session, person, "labor_clerk", app, approved_items=bad)
        assert set(exc.value.errors) == {field}
    app = decide(session, person, "labor_clerk", app, approved_items=["C0201", "F0101", "T0101"])
    for username in ("labor_chief", "labor_director"):
        app = decide(session, person, username, app)
    with pytest.raises(Invalid) as exc:  # 資訊處's setting carries its date (000 附表四 已於 年 月 日完成)
        decide(session, person, "it_clerk", app)
    assert set(exc.value.errors) == {"set_on"}
    with pytest.raises(Invalid) as exc:  # nor can it refuse what 勞工局 agreed to: it sets and files
        decide(session, person, "it_clerk", app, "reject", "不同意", set_on="2026-12-01")
    assert "decision" in exc.value.errors
    app = decide(session, person, "it_clerk", app, set_on="2026-12-01")
    for username in ("it_chief", "it_director"):
        app = decide(session, person, username, app)
    assert open_task(app).step == "bureau_answer"

    answer = {"bureau_letter_no": "保費資字第1號", "answered_on": "2026-12-20"}
    # Changed with issue 18 (000 附表四): 勞工局 holds C0201, so the city does not ask 勞保局 for it again.
    with pytest.raises(Invalid) as exc:
        decide(session, person, "bli_liaison", app, bureau_approved_items=["C0201"], **answer)
    assert set(exc.value.errors) == {"bureau_approved_items"}
    with pytest.raises(Invalid) as exc:
        decide(session, person, "bli_liaison", app, bureau_approved_items=["F0101"], answered_on="2026-12-20")
    assert set(exc.value.errors) == {"bureau_letter_no"}
    with pytest.raises(Invalid) as exc:  # 勞保局's answer is recorded, never rejected by the liaison
        decide(session, person, "bli_liaison", app, "reject", "不同意", bureau_approved_items=["F0101"], **answer)
    assert "decision" in exc.value.errors
    app = decide(session, person, "bli_liaison", app, bureau_approved_items=["F0101"], **answer)
    with pytest.raises(Invalid) as exc:
        decide(session, person, "it_clerk", app)
    assert set(exc.value.errors) == {"applied_on"}


# ---------------------------------------------------------------- amend and withdraw rules

def test_amend_and_withdraw_rules(session, person, submit):
    app = submit("sw_staff", "querier_account", QUERIER_ADD)
    with pytest.raises(Conflict):  # not returned
        amend_application(session, application_id=app.id, data=QUERIER_ADD, actor=person("sw_staff"), now=NOW)
    app = decide(session, person, "sw_unit_head", app, "return", "請補正")
    assert app.state == "returned"

    with pytest.raises(NotFound):  # someone else's application
        amend_application(session, application_id=app.id, data=QUERIER_ADD, actor=person("applicant"), now=NOW)
    with pytest.raises(NotFound):
        withdraw_application(session, application_id=app.id, actor=person("sw_unit_head"), now=NOW)
    with pytest.raises(Forbidden):  # nor through the amend task
        complete_task(session, task_id=open_task(app).id, actor=person("sw_unit_head"), decision="resubmit",
                      now=NOW)
    with pytest.raises(Invalid) as exc:  # amended data is validated like a new form
        amend_application(session, application_id=app.id, data={**QUERIER_ADD, "national_id": "A123456788"},
                          actor=person("sw_staff"), now=NOW)
    assert set(exc.value.errors) == {"national_id"}
    with pytest.raises(Invalid) as exc:
        complete_task(session, task_id=open_task(app).id, actor=person("sw_staff"), decision="approve", now=NOW)
    assert set(exc.value.errors) == {"decision"}
    assert app.state == "returned" and open_task(app).step == "amend"

    app = amend_application(session, application_id=app.id, data=QUERIER_ADD, actor=person("sw_staff"),
                            now=NOW + timedelta(minutes=5))
    app = decide(session, person, "sw_unit_head", app)
    app = decide(session, person, "manager", app, **granted(QUERIER_ADD["items"], "2026-11-25"))
    app = decide(session, person, "sw_it_head", app)
    assert app.state == "completed"
    with pytest.raises(Conflict):
        withdraw_application(session, application_id=app.id, actor=person("sw_staff"), now=NOW)
    with pytest.raises(Conflict):
        amend_application(session, application_id=app.id, data=QUERIER_ADD, actor=person("sw_staff"), now=NOW)
