"""The password reminder (a duty step in the person's own lane) on the pages: a task to confirm, not a return."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select

from models import ApplicationState, HumanTask
from tests.conftest import NOW
from workflows.timers.duties import Target, start_duty


@pytest.fixture
def reminder(session, person):
    applicant = person("applicant")
    with time_machine.travel(NOW, tick=False):
        app = start_duty(session, process="password_reminder", target=Target(applicant.agency_id, applicant.id),
                         now=NOW)
        session.commit()
    return app


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
