"""Retention and destruction (001 §11, 002 §7, 檔案法 §12): a yearly list, approved by the agency head, then erased."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import (
    Application,
    ApplicationState,
    AuditEvent,
    DestructionRecord,
    HistoryEntry,
    QueryLog,
    TaskState,
    sealing,
)
from tests.conftest import NOW
from tests.conftest import registration as registration_data
from tests.workflows.oversight.logfiles import csv_bytes
from workflows.demo import valid_national_id
from workflows.errors import Conflict, Forbidden, Invalid
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.oversight.imports import import_query_logs
from workflows.retention import destruction, holds
from workflows.timers import duties

APPROVED = NOW + timedelta(hours=1)
LIST_DAY = datetime(2031, 12, 1, 1, 0, tzinfo=UTC)  # the duty's day five years on, 09:00 in Taipei


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def registration(session, person, clock, case):
    clock.move_to(NOW)
    app = submit_application(session, form_key="query_registration", data=registration_data(case_number=case),
                             actor=person("applicant"), now=NOW)
    clock.move_to(APPROVED)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", now=APPROVED)
    return app


def the_list(session, clock):
    clock.move_to(LIST_DAY)
    run = duties.run_schedule(session, duties.find_schedule("destruction"), LIST_DAY)
    assert run.result == "ok"
    lists = [session.get(Application, i) for i in run.detail["applications"]]
    return next(a for a in lists if a.agency.code == "KHH-SW")


def decide(session, person, listing, step, who, decision="approve", opinion=""):
    session.refresh(listing)
    [task] = [t for t in listing.tasks if t.state == TaskState.OPEN and t.step == step]
    complete_task(session, task_id=task.id, actor=person(who), decision=decision, opinion=opinion, now=LIST_DAY)


def test_an_approved_list_is_carried_out_and_the_sign_offs_stay_readable(session, person, clock):
    old = registration(session, person, clock, "115-社救-0101")
    held = registration(session, person, clock, "115-社救-0102")
    holds.set_hold(session, application_id=held.id, reason="訴願審理中", actor=person("sw_auditor"), now=APPROVED)

    listing = the_list(session, clock)
    assert old.id in listing.data["applications"] and held.id not in listing.data["applications"]
    assert listing.data["retention_years"]["applications"] == 5

    # Nothing is destroyed before the agency head approves: not at the list, not after the manager's review.
    assert destruction.carry_out_destructions(session, LIST_DAY) == []
    decide(session, person, listing, "manager_list", "manager")
    assert destruction.carry_out_destructions(session, LIST_DAY) == []
    session.refresh(old)
    assert old.data["rows"][0]["subject_national_id"] == "E123456783"

    decide(session, person, listing, "agency_head_approval", "sw_head")
    assert destruction.carry_out_destructions(session, LIST_DAY) == [listing.id]
    assert destruction.carry_out_destructions(session, LIST_DAY) == []  # once
    session.expire_all()
    erased, kept = session.get(Application, old.id), session.get(Application, held.id)
    [line] = erased.data["rows"]
    assert line["subject_national_id"] == line["subject_name"] == destruction.TOMBSTONE
    assert erased.data["case_number"] == "115-社救-0101" and erased.national_id_hash is None
    # Its line in registration_row goes too: no logged query is matched to it, no search by number finds it.
    assert [(r.subject_id, r.subject_hash) for r in erased.registration_rows] == [(destruction.TOMBSTONE, "")]
    assert kept.data["rows"][0]["subject_national_id"] == "E123456783"
    assert kept.data["rows"][0]["subject_name"] == "陳小明"
    assert kept.registration_rows[0].subject_hash == sealing.digest("E123456783")

    # The sign-off history and the audit trail of the erased case are still there and readable.
    [signed] = session.scalars(select(HistoryEntry).where(HistoryEntry.application_id == old.id,
                                                          HistoryEntry.step == "unit_head_review")).all()
    assert (signed.actor.username, signed.decision) == ("sw_unit_head", "approve")
    view = reads.get_application_view(session, old.id, person("admin"))
    assert [h.decision for h in view.history][-1] == "approve"
    assert session.scalars(select(AuditEvent).where(AuditEvent.subject_type == "application",
                                                    AuditEvent.subject_id == old.id)).first() is not None

    records = {r.record_type: r for r in destruction.destruction_records(session, listing.id)}
    assert old.id in records["applications"].ids and held.id not in records["applications"].ids
    assert records["applications"].count == len(records["applications"].ids)
    assert records["applications"].approved_by.username == "sw_head"
    event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "records_destroyed")).one()
    assert event.subject_id == listing.id and old.id in event.payload["applications"]


def test_a_rejected_list_destroys_nothing(session, person, clock):
    old = registration(session, person, clock, "115-社救-0201")
    listing = the_list(session, clock)
    decide(session, person, listing, "manager_list", "manager")
    decide(session, person, listing, "agency_head_approval", "sw_head", "reject", "尚有訴訟")
    session.refresh(listing)
    assert listing.state == ApplicationState.REJECTED
    assert destruction.carry_out_destructions(session, LIST_DAY) == []
    session.expire_all()
    assert session.get(Application, old.id).data["rows"][0]["subject_name"] == "陳小明"
    assert session.scalars(select(DestructionRecord)).all() == []


def test_a_hold_set_after_the_list_was_drawn_still_keeps_the_case(session, person, clock):
    old = registration(session, person, clock, "115-社救-0301")
    listing = the_list(session, clock)
    assert old.id in listing.data["applications"]
    holds.set_hold(session, application_id=old.id, reason="監察院調查", actor=person("admin"), now=LIST_DAY)
    decide(session, person, listing, "manager_list", "manager")
    decide(session, person, listing, "agency_head_approval", "sw_head")
    destruction.carry_out_destructions(session, LIST_DAY)
    session.expire_all()
    assert session.get(Application, old.id).data["rows"][0]["subject_name"] == "陳小明"


def test_a_case_within_its_period_is_not_listed(session, person, clock):
    old = registration(session, person, clock, "115-社救-0401")
    clock.move_to(LIST_DAY - timedelta(days=365 * 2))
    assert old.id not in destruction.due_applications(session, old.agency_id, LIST_DAY - timedelta(days=365 * 2))


def test_only_administrators_and_the_agencys_auditors_set_holds_and_each_is_audited(session, person, clock):
    app = registration(session, person, clock, "115-社救-0501")
    for who in ("applicant", "sw_unit_head", "manager"):
        with pytest.raises(Forbidden):
            holds.set_hold(session, application_id=app.id, reason="x", actor=person(who), now=APPROVED)
    with pytest.raises(Invalid):
        holds.set_hold(session, application_id=app.id, reason=" ", actor=person("admin"), now=APPROVED)
    holds.set_hold(session, application_id=app.id, reason="訴願審理中", actor=person("sw_auditor"), now=APPROVED)
    with pytest.raises(Conflict):
        holds.set_hold(session, application_id=app.id, reason="再一次", actor=person("admin"), now=APPROVED)
    assert app.id not in destruction.due_applications(session, app.agency_id, LIST_DAY)
    holds.release_hold(session, application_id=app.id, reason="訴願已決定", actor=person("admin"), now=APPROVED)
    assert app.id in destruction.due_applications(session, app.agency_id, LIST_DAY)
    events = session.scalars(select(AuditEvent.event_type).where(AuditEvent.subject_id == app.id,
                                                                 AuditEvent.event_type.like("legal_hold_%"))
                            .order_by(AuditEvent.id)).all()
    assert events == ["legal_hold_set", "legal_hold_released"]


def test_query_logs_past_their_period_lose_their_subject_only_after_approval(session, person, clock):
    rows = [["applicant.egov", f"115/11/{1 + n:02d}", "10:00:00", "C0101", valid_national_id("F", f"1{n:07d}"),
             f"case-{n}", "審查", "成功"] for n in range(3)]
    import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(csv_bytes(rows)), file_name="old.csv",
                      actor=person("manager"), now=NOW)
    listing = the_list(session, clock)
    assert listing.data["query_log_count"] == 3

    # Rows imported after the list was drawn, even of old queries, are not on it.
    late = [["applicant.egov", "115/11/20", "11:00:00", "C0101", valid_national_id("F", "29999999"), "case-x",
             "審查", "成功"]]
    import_query_logs(session, agency_code="KHH-SW", stream=io.BytesIO(csv_bytes(late)), file_name="late.csv",
                      actor=person("manager"), now=LIST_DAY)
    assert {log.subject_hash != "" for log in session.scalars(select(QueryLog))} == {True}
    decide(session, person, listing, "manager_list", "manager")
    decide(session, person, listing, "agency_head_approval", "sw_head")
    destruction.carry_out_destructions(session, LIST_DAY)
    session.expire_all()
    logs = session.scalars(select(QueryLog).order_by(QueryLog.id)).all()
    assert [(log.subject_id, log.subject_hash) for log in logs[:3]] == [(destruction.TOMBSTONE, "")] * 3
    assert logs[3].subject_id == valid_national_id("F", "29999999") and logs[3].subject_hash
    assert [(log.account, log.item_code) for log in logs[:3]] == [("applicant.egov", "C0101")] * 3  # the row stays
    records = {r.record_type: r for r in destruction.destruction_records(session, listing.id)}
    assert records["query_logs"].ids == [log.id for log in logs[:3]] and records["query_logs"].count == 3
