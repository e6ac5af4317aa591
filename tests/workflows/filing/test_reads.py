"""Reads of an application never haul its engine state, and one read serves the task page and the API."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from tests.conftest import NOW, REGISTRATION
from workflows.filing import reads
from workflows.filing.applications import submit_application


@contextmanager
def statements(engine):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_application_reads_leave_the_saved_engine_state_in_the_database(engine, session, person):
    app = submit_application(session, form_key="query_registration", data=REGISTRATION, actor=person("applicant"),
                             now=NOW)
    session.expunge_all()  # read as a new request would, with nothing loaded
    head = person("sw_unit_head")
    with statements(engine) as seen:
        view = reads.get_application_view(session, app.id, head)
        mine = reads.list_my_applications(session, person("applicant"))
        task = next(t for t in reads.list_inbox(session, head) if t.application_id == app.id)
        page = reads.get_task_page(session, task.task_id, head, NOW)
    assert view.id == app.id and [a.id for a in mine] == [app.id] and page.view.id == app.id
    assert page.fields.step.decisions and page.task.application_id == app.id
    assert seen and not [s for s in seen if "workflow_state" in s]
