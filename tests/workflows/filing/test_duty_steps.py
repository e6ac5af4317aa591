"""A duty's step in the person's own lane (the quarterly password reminder, 004 §7) is their task, not a return.

The reminder's diagram puts its one step in the ``applicant`` lane, the person it is for. Before, every open
step in that lane counted as a returned application: the state read 退回補正, the task page sent the person to
the amend form, and 已核閱 was refused as "not resubmit or withdraw".
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

