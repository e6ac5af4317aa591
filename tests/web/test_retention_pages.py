"""The destruction list and the deletion confirmation read like forms on their pages: what is listed, for whom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from models import Application, TaskState
from tests.conftest import NOW, registration
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.timers import deletions, duties

LATER = datetime(2031, 12, 1, 1, 0, tzinfo=UTC)


def login(client, username):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def approved_registration(session, person):
    app = submit_application(session, form_key="query_registration",
                             data=registration(use_until="2026-12-10"), actor=person("applicant"), now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve",
                  now=NOW + timedelta(hours=1))
    return app


def test_the_list_and_the_deletion_show_their_figures(session, person, client):
    with time_machine.travel(NOW, tick=False) as clock:
        registration = approved_registration(session, person)
        clock.move_to(datetime(2027, 1, 10, 1, 0, tzinfo=UTC))
        [deletion_id] = deletions.start_due_deletions(session, datetime(2027, 1, 10, 1, 0, tzinfo=UTC))
        clock.move_to(LATER)
        duties.run_schedule(session, duties.find_schedule("destruction"), LATER)
        listing = session.scalar(select(Application).where(Application.form_key == "destruction",
                                                           Application.agency_id == registration.agency_id))
        login(client, "applicant")
        deletion_page = client.get(f"/applications/{deletion_id}").get_data(as_text=True)
        assert "查調資料登記表申請編號" in deletion_page and "115-社救-0001" in deletion_page
        assert "115年12月10日" in deletion_page  # the use date, in ROC
        client.post("/logout")
        login(client, "manager")
        page = client.get(f"/applications/{listing.id}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "逾保存年限之案件數" in text and f"<li>{registration.id} " in text
