"""The inbox shows what is asked, searches, filters, sorts and pages in a fixed number of statements;
bulk decisions decide each row on its own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import QUERY_ITEMS, Application, AuditEvent, HistoryEntry, HumanTask, TaskCandidate, TaskState
from tests.conftest import MANAGER_ADD, NOW, QUERIER_ADD, registration
from tests.workflows.filing.test_reads import statements
from workflows.errors import Invalid
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.bulk import decide_many
from workflows.filing.reads import InboxQuery, search_inbox
from workflows.filing.tasks import complete_task


def register(session, person, n: int, **changes):
    data = registration(case_number=f"115-社救-{n:04d}", **changes)
    return submit_application(session, form_key="query_registration", data=data, actor=person("applicant"),
                              now=NOW + timedelta(minutes=n))


def test_a_row_says_what_is_asked_with_the_id_number_masked(session, person):
    app = register(session, person, 1)
    row = next(r for r in reads.list_inbox(session, person("sw_unit_head")) if r.application_id == app.id)
    shown = {k.name: k.value for k in row.key}
    assert shown == {"case_number": "115-社救-0001", "rows": f"陳小明 E12****783 C0101 {QUERY_ITEMS['C0101']}"}
    assert row.bulk and row.due_at is not None
    assert "E123456783" not in repr(row)


def test_search_filter_sort_and_page_in_three_statements_at_most_however_many_rows(engine, session, person):
    apps = [register(session, person, n, subject_name=name) for n, name in enumerate(
        ["王小華", "李大同", "陳小明", "張三", "林四"], 1)]
    other = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                               now=NOW)
    head = person("sw_unit_head")
    session.expunge_all()
    head = person("sw_unit_head")
    with statements(engine) as seen:
        page = search_inbox(session, head, InboxQuery(form="query_registration", sort="-since", per_page=2), NOW)
    assert len(seen) == 2  # the rows; counts per form and step (which give the total)
    with statements(engine) as searched:
        search_inbox(session, head, InboxQuery(q="陳", overdue=True, step="unit_head_review"), NOW)
    assert len(searched) == 3  # and the total of what matches
    assert page.total == 5 and [r.application_id for r in page.rows] == [apps[4].id, apps[3].id]
    assert page.counts["query_registration"] == 5 and page.counts["querier_account"] >= 1
    assert "單位主管核可" in dict(page.steps)["unit_head_review"].split("／")  # one entry per step id
    second = search_inbox(session, head, InboxQuery(form="query_registration", sort="-since", per_page=2, page=3),
                          NOW)
    assert [r.application_id for r in second.rows] == [apps[0].id]

    def found(**q):
        return {r.application_id for r in search_inbox(session, head, InboxQuery(**q), NOW).rows}

    assert found(q="李大同") == {apps[1].id}  # text in the form (stored escaped)
    assert found(q=str(other.id)) >= {other.id}  # application number
    assert apps[0].id in found(q="林怡君") and other.id not in found(q="林怡君")  # applicant
    assert found(q="E123456783") >= {a.id for a in apps}  # the whole ID number, matched by its hash
    assert found(q="E12****783") == set()  # never the mask
    assert found(q="100%_") == set()
    assert other.id in found(form="querier_account") and not found(form="querier_account") & {a.id for a in apps}
    assert other.id not in found(step="unit_head_review", form="query_registration")
    assert found(overdue=True) == set()
    late = {r.application_id for r in search_inbox(session, head, InboxQuery(overdue=True),
                                                   NOW + timedelta(days=30)).rows}
    assert {a.id for a in apps} <= late
    by_due = search_inbox(session, head, InboxQuery(sort="due"), NOW).rows
    dues = [r.due_at for r in by_due if r.due_at]
    assert dues == sorted(dues)


def test_bulk_decides_each_row_on_its_own_and_reports_a_conflicting_one(session, person):
    apps = [register(session, person, n) for n in (1, 2, 3)]
    head = person("sw_unit_head")
    ids = {r.application_id: r.task_id for r in reads.list_inbox(session, head)}
    tasks = [ids[a.id] for a in apps]
    # Someone decided the second one first (a delegate, another tab).
    complete_task(session, task_id=tasks[1], actor=head, decision="reject", opinion="重複", now=NOW)
    outcomes = decide_many(session, task_ids=tasks, actor=head, decision="approve", opinion="核可",
                           now=NOW + timedelta(minutes=5))
    assert [o.status for o in outcomes] == [200, 409, 200]
    for app in apps:
        session.refresh(app)
    assert [a.state for a in apps] == ["completed", "rejected", "completed"]
    decided = session.scalars(select(HistoryEntry).where(HistoryEntry.opinion == "核可")).all()
    assert sorted(h.application_id for h in decided) == sorted([apps[0].id, apps[2].id])
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event_type == "task_completed", AuditEvent.payload["decision"].as_string() == "approve")) >= 2


def test_bulk_is_only_for_steps_that_allow_it(session, person):
    app = submit_application(session, form_key="manager_account", data=MANAGER_ADD, actor=person("sw_staff"),
                             now=NOW)
    head = person("sw_unit_head")
    task = next(r.task_id for r in reads.list_inbox(session, head) if r.application_id == app.id)
    [outcome] = decide_many(session, task_ids=[task], actor=head, decision="approve", opinion="", now=NOW)
    assert outcome.status == 422
    session.refresh(app)
    assert app.state == "running" and [h.decision for h in app.history if h.role != "applicant"] == []
    [foreign] = decide_many(session, task_ids=[task], actor=person("labor_clerk"), decision="approve", opinion="",
                            now=NOW)
    assert foreign.status == 403
    with pytest.raises(Invalid):
        decide_many(session, task_ids=[task], actor=head, decision="return", opinion="x", now=NOW)
    with pytest.raises(Invalid):
        decide_many(session, task_ids=[], actor=head, decision="approve", opinion="", now=NOW)


def test_the_counts_per_form_and_step_read_the_candidate_rows_alone(engine, session, person):
    """The grouped count behind the page's form counts, step filter and total reads only task_candidate (its
    index on person, open, form, step and step name), and counts what a join through the tasks counts."""
    for n in range(1, 4):
        register(session, person, n)
    submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"), now=NOW)
    head = person("sw_unit_head")
    with statements(engine) as seen:
        page = search_inbox(session, head, InboxQuery(), NOW)
    counting = seen[1]
    assert "count(" in counting and "FROM task_candidate" in counting
    assert "human_task" not in counting and "application" not in counting
    joined = session.execute(
        select(Application.form_key, HumanTask.step, HumanTask.name, func.count())
        .select_from(TaskCandidate).join(HumanTask, HumanTask.id == TaskCandidate.human_task_id)
        .join(Application, Application.id == HumanTask.application_id)
        .where(TaskCandidate.person_id == head.id, HumanTask.state == TaskState.OPEN)
        .group_by(Application.form_key, HumanTask.step, HumanTask.name)).all()
    by_form: dict[str, int] = {}
    for form, _step, _name, n in joined:
        by_form[form] = by_form.get(form, 0) + n
    assert page.counts == by_form and page.total == sum(by_form.values()) >= 4
    assert {step for _form, step, _name, _n in joined} == {step for step, _name in page.steps}
    if engine.dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + counting, (head.id,)))
        assert "COVERING INDEX ix_task_candidate_person_open_step" in plan


def test_a_candidate_row_added_without_its_step_takes_the_tasks(session, person):
    """Rows added outside the engine's sync (a handover, a leave substitute, a reassignment) leave the copied
    columns out: they are looked up from the task when the row is written."""
    app = register(session, person, 1)
    task = session.scalar(select(HumanTask).where(HumanTask.application_id == app.id,
                                                  HumanTask.state == TaskState.OPEN))
    extra = TaskCandidate(human_task_id=task.id, person_id=person("admin").id, created_at=NOW)
    session.add(extra)
    session.flush()
    assert (extra.form_key, extra.step, extra.step_name) == ("query_registration", task.step, task.name)
    assert (extra.step, extra.step_name) == ("unit_head_review", "單位主管核可")


def test_one_statement_per_filter_shape_binds_each_pages_holder_form_step_and_time(session, person):
    """The rows' statement is built once per filter shape and reused: the holder, the form, the step and the time
    of each page are bound to it, never kept from the page that built it."""
    app = register(session, person, 1)
    other = submit_application(session, form_key="querier_account", data=QUERIER_ADD, actor=person("sw_staff"),
                               now=NOW)
    head, clerk = person("sw_unit_head"), person("labor_clerk")

    def found(holder, now=NOW, **q):
        return {r.application_id for r in search_inbox(session, holder, InboxQuery(**q), now).rows}

    assert app.id in found(head, form="query_registration") and app.id not in found(clerk, form="query_registration")
    assert other.id in found(head, form="querier_account") and app.id not in found(head, form="querier_account")
    assert {app.id, other.id} <= found(head, step="unit_head_review") and found(head, step="no_such_step") == set()
    assert app.id not in found(head, overdue=True) and app.id in found(head, NOW + timedelta(days=30), overdue=True)
