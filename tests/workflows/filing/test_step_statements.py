"""What one filing and one decided step say to the database, statement by statement (a regression guard).

Every statement of these two use cases is listed with its reason; a new read or write on this path shows here
first. The counts are exact: ids and values vary, the shape does not.
"""

from __future__ import annotations

from sqlalchemy import select

from models import HumanTask, TaskState
from tests.conftest import MANAGER_ADD, NOW
from tests.statements import shape, statements
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.runtime.diagrams import live_version, load_diagram


def test_a_filing_and_a_decided_step_statement_by_statement(engine, session, person):
    staff, head = person("sw_staff"), person("sw_unit_head")
    load_diagram(live_version(session, "manager_account", staff.agency_id))  # parsed once per process, as running
    with statements(engine) as filing:
        app = submit_application(session, form_key="manager_account", data=dict(MANAGER_ADD), actor=staff, now=NOW)
    assert [shape(s) for s in filing] == [
        "SELECT agency",  # the filer's agency with its kinds (the admission rules ask them), for the form's rules:
        # one statement (filing.applications._load_agency), the agency and then its kinds' selectin load before
        "SELECT agency_query_item",  # the items the agency holds (the form's item checks)
        "SELECT webir_account",  # the applicant's accounts and the one manager there (003 §7)
        "SELECT webir_account",
        "SELECT person",  # the manager it succeeds (`succeeds`)
        "SELECT definition_version",  # the live process's latest version, with its process: one statement
        "SELECT substitution",  # the first step's people, with whom each substitutes among them and how they want
        # to hear of it (runtime.candidates.resolve_told: one statement, its first FROM the substitution subquery)
        "INSERT application",  # the unit of work's one flush (its number goes in the messages; no files named: no
        # attachment read)
        "INSERT human_task",  # the prepared writes queued for the commit: the first step (its id read back),
        "INSERT task_candidate",  # its people (one INSERT for all), then what names the step's id
        "INSERT notification",
        "INSERT history_entry",
        "UPDATE audit_chain",  # the audit head: locked and read, the event, the head moved on
        "INSERT audit_event",
        "UPDATE audit_chain",
    ]
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app.id,
                                                        HumanTask.state == TaskState.OPEN))
    with statements(engine) as step:
        complete_task(session, task_id=task_id, actor=head, decision="approve", opinion="ok", now=NOW)
    assert [shape(s) for s in step] == [
        "SELECT incident",  # the task, if the decider is one of its candidates, the open decision incident of the
        # step to resolve (its id only; the statement's first FROM is that subquery's), and — the session holding
        # the step and its application, so their role and scope are known before the read — may the decider hold
        # the step today and on whose behalf (runtime.candidates.standing's two columns): one statement, two before
        "SELECT substitution",  # the next step's people (社會局's head and the delegate), whether one of them is the
        # other's leave substitute and how they want to hear of it: one statement (resolve_told), three before
        "UPDATE application",  # at the commit: the version check first (a second writer gets 409 here), one prepared
        # UPDATE (writes._write_versioned), not the unit of work
        "UPDATE human_task",  # then the queue: the decided step closed, and its candidates' rows
        "UPDATE task_candidate",
        "INSERT history_entry",
        "INSERT human_task",  # the next step (its id read back) and its people, prepared INSERTs, no unit of work
        "INSERT task_candidate",
        "INSERT notification",  # names the new step's id
        "UPDATE audit_chain",
        "INSERT audit_event",
        "UPDATE audit_chain",
    ]
