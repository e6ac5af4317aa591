"""A duty's step in the person's own lane (Taoyuan's quarterly password reminder, 004 §7) is their task, not a return.

The reminder's diagram puts its one step in the ``applicant`` lane, the person it is for. Before, every open
step in that lane counted as a returned application: the state read 退回補正, the task page sent the person to
the amend form, and 已核閱 was refused as "not resubmit or withdraw". The reminder is Taoyuan's rule only
(Kaohsiung's accounts follow 我的e政府's password rules, 001 §6(3)), so it is walked here on Taoyuan's app, as
Taoyuan's demo people, on the workflow and on the pages.
"""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from models import ApplicationState, HumanTask, TaskState
from tests.conftest import NOW
from workflows.errors import Conflict, Invalid
from workflows.filing import reads
from workflows.filing.applications import withdraw_application
from workflows.filing.tasks import complete_task
from workflows.timers.duties import Target, start_duty


@pytest.fixture
def reminder(session, person):
    applicant = person("applicant")
    with time_machine.travel(NOW, tick=False):
        app = start_duty(session, process="password_reminder", target=Target(applicant.agency_id, applicant.id),
                         now=NOW)
        session.commit()
    return app


def test_the_password_reminder_waits_as_a_running_task_not_a_returned_application(session, person, reminder):
    assert reminder.state == ApplicationState.RUNNING
    [row] = [r for r in reads.list_inbox(session, person("applicant")) if r.application_id == reminder.id]
    assert (row.step, row.step_name) == ("change_password", "請於「我的e政府」變更密碼並確認")
    view = reads.get_application_view(session, reminder.id, person("applicant"))
    assert view.state == "running" and view.history == []


def test_the_person_acknowledges_their_reminder_and_it_ends(session, person, reminder):
    applicant = person("applicant")
    [row] = [r for r in reads.list_inbox(session, applicant) if r.application_id == reminder.id]
    with time_machine.travel(NOW, tick=False):
        app = complete_task(session, task_id=row.task_id, actor=applicant, decision="approve", opinion="已變更",
                            now=NOW)
    assert app.state == ApplicationState.COMPLETED
    [entry] = reads.get_application_view(session, app.id, applicant).history
    assert (entry.step_name, entry.actor, entry.decision, entry.opinion) == (
        "請於「我的e政府」變更密碼並確認", "applicant", "approve", "已變更")


def test_a_reminder_cannot_be_withdrawn_or_amended(session, person, reminder):
    applicant = person("applicant")
    with pytest.raises(Conflict):
        withdraw_application(session, application_id=reminder.id, actor=applicant, now=NOW)
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == reminder.id,
                                                        HumanTask.state == TaskState.OPEN))
    with pytest.raises(Invalid) as refused:  # resubmitting is for returned applications only
        complete_task(session, task_id=task_id, actor=applicant, decision="resubmit", now=NOW)
    assert "decision" in refused.value.errors


def test_the_reminder_is_decided_on_its_task_page_not_the_amend_form(app, session, person, reminder):
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == reminder.id))
    client = app.test_client()
    with time_machine.travel(NOW, tick=False):  # the engine reads the wall clock for the step's timers
        assert client.post("/login", data={"username": "applicant", "password": "demo"}).status_code == 302
        page = client.get(f"/tasks/{task_id}")
        assert page.status_code == 200 and "已核閱／完成" in page.text and "補正後重新送出" not in page.text
        detail = client.get(f"/applications/{reminder.id}").text
        assert "state-running" in detail and "state-returned" not in detail and "撤回申請" not in detail
        done = client.post(f"/tasks/{task_id}", data={"decision": "approve", "opinion": "已變更"})
        assert done.status_code == 302 and done.location == "/", done.location
        history = client.get(f"/applications/{reminder.id}").text.split('<table class="history">')[1]
    # The history says what the person did (confirmed the change), not 同意 as if approving an application.
    assert '<td class="decision-approve">已核閱／完成</td>' in history and ">同意<" not in history
    session.rollback()  # end this session's read so it sees the page's commit
    assert session.get(type(reminder), reminder.id).state == ApplicationState.COMPLETED
