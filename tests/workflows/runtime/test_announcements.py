"""Everyone told: candidates when a step arrives, the applicant when the application ends or comes back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import Notification
from tests.conftest import NOW, QUERIER_ADD, granted
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

MINUTE = timedelta(minutes=1)


def told(session, kind: str) -> list[tuple[str, str, str]]:
    return [(n.person.username, n.subject, n.body) for n in session.scalars(
        select(Notification).where(Notification.kind == kind).order_by(Notification.id))]


def decide(session, person, username, decision, opinion="", when=NOW + MINUTE, **data):
    actor = person(username)
    [row] = reads.list_inbox(session, actor)
    return complete_task(session, task_id=row.task_id, actor=actor, decision=decision, opinion=opinion, data=data,
                         now=when)


def file(session, person):
    return submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                              now=NOW)


def test_each_candidate_is_told_when_a_step_arrives(session, person):
    app = file(session, person)
    [(who, subject, body)] = told(session, "task_arrived")
    assert (who, subject) == ("sw_unit_head", f"【待辦】單位主管核准（案號 {app.id}）")
    assert body.splitlines()[:4] == [
        f"表單：勞保 WebIR 資料查詢者帳號申請表（案號 {app.id}）", "申請人：吳佩珊（高雄市政府社會局）",
        "步驟：單位主管核准", "辦理期限：民國115年11月30日 10:00（臺北時間）"]
    assert "A123456789" not in body  # the applicant's ID number never leaves the form
    [note] = session.scalars(select(Notification).where(Notification.kind == "task_arrived"))
    assert note.link == f"/tasks/{app.tasks[0].id}"

    decide(session, person, "sw_unit_head", "approve")
    assert [t[0] for t in told(session, "task_arrived")] == ["sw_unit_head", "manager"]


def test_the_applicant_is_told_of_approval_rejection_with_the_reason_and_a_return_with_what_to_correct(
        session, person):
    returned = file(session, person)
    decide(session, person, "sw_unit_head", "return", "請補附我的e政府帳號證明")
    [(who, subject, body)] = told(session, "returned")
    assert (who, subject) == ("sw_staff", f"【退回補正】勞保 WebIR 資料查詢者帳號申請表（案號 {returned.id}）")
    assert "應補正事項：請補附我的e政府帳號證明" in body

    decide(session, person, "sw_staff", "withdraw", "改日再申請", when=NOW + 2 * MINUTE)
    assert told(session, "outcome") == []  # the applicant withdrew it: nothing to tell them

    rejected = file(session, person)
    decide(session, person, "sw_unit_head", "reject", "業務上無查詢需要", when=NOW + 3 * MINUTE)
    approved = file(session, person)
    decide(session, person, "sw_unit_head", "approve", when=NOW + 4 * MINUTE)
    decide(session, person, "manager", "approve", when=NOW + 5 * MINUTE, **granted(QUERIER_ADD["items"]))
    decide(session, person, "sw_it_head", "approve", when=NOW + 6 * MINUTE)  # the manager's unit head seals
    outcomes = told(session, "outcome")
    assert [(who, subject) for who, subject, _ in outcomes] == [
        ("sw_staff", f"【不同意】勞保 WebIR 資料查詢者帳號申請表（案號 {rejected.id}）"),
        ("sw_staff", f"【核准】勞保 WebIR 資料查詢者帳號申請表（案號 {approved.id}）")]
    assert outcomes[0][2].endswith("您的申請未獲同意，理由：業務上無查詢需要")
