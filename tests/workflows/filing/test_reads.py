"""Reads of an application never haul its engine state, and one read serves the task page and the API."""

from __future__ import annotations

from models import TaskCandidate, TaskState
from tests.conftest import NOW, QUERIER_ADD, REGISTRATION
from tests.statements import statements
from workflows.filing import reads
from workflows.filing.applications import submit_application


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


def test_inbox_counts_read_the_form_key_copied_onto_each_candidate_row(engine, session, person):
    submit_application(session, form_key="query_registration", data=dict(REGISTRATION), actor=person("applicant"),
                       now=NOW)
    app = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                             now=NOW)
    head = person("sw_unit_head")
    with statements(engine) as sql:
        counts = reads.inbox_counts(session, head)
    assert counts == {"query_registration": 1, "querier_account": 1}
    assert len(sql) == 1 and "human_task" not in sql[0] and "application" not in sql[0]

    # A candidate added without the key (another writer's code path) is given it when inserted.
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    session.add(TaskCandidate(human_task_id=task.id, person_id=person("manager").id, created_at=NOW))
    session.commit()
    assert session.get(TaskCandidate, (task.id, person("manager").id)).form_key == "querier_account"
    assert reads.inbox_counts(session, person("manager")).get("querier_account") == 1


def test_the_application_view_is_read_from_narrow_columns_as_the_objects_would_show_it(engine, session, person):
    from workflows.filing.tasks import complete_task

    app = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                             now=NOW)
    [task] = [t for t in app.tasks if t.state == TaskState.OPEN]
    complete_task(session, task_id=task.id, actor=person("sw_unit_head"), decision="approve", opinion="可", now=NOW)
    session.expunge_all()
    applicant = person("sw_staff")
    with statements(engine) as seen:
        view = reads.get_application_view(session, app.id, applicant)
    # Besides the viewer's roles and delegations (the visibility rule): the application, its steps with their
    # people, its history, its attached files.
    own = [s for s in seen if not s.startswith(("SELECT role_holding", "SELECT delegation"))]
    assert len(own) == 4 and not [s for s in seen if "workflow_state" in s]
    [through_objects] = [v for v in reads.list_my_applications(session, applicant) if v.id == app.id]
    assert view == through_objects
    assert [h.step for h in view.history] == ["start", task.step] and view.history[1].actor == "sw_unit_head"
    assert view.current_tasks and view.current_tasks[0].candidates == ["manager"]
    assert view.data["national_id"] != QUERIER_ADD["national_id"]  # masked as everywhere
