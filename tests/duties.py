"""Walking a recurring duty (workflows/timers/duties.py) as its real people, on the days it runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from models import Application, Person
from workflows.filing import reads
from workflows.filing.tasks import complete_task
from workflows.timers import duties


def started(session, name: str, when: datetime) -> dict[str, Application]:
    """The duty ``name`` started by its schedule at ``when``: its applications, by agency code."""
    with time_machine.travel(when, tick=False):
        run = duties.run_schedule(session, duties.find_schedule(name), when)
    return {app.agency.code: app for app in (session.get(Application, i) for i in run.detail["applications"])}


def approve(session, actor: Person, app: Application, step: str, when: datetime, **data) -> Application:
    """``actor`` finds ``app`` in their inbox at ``step`` and approves it an hour after ``when``."""
    row = next(r for r in reads.list_inbox(session, actor) if r.application_id == app.id)
    assert row.step == step
    with time_machine.travel(when + timedelta(hours=1), tick=False):
        return complete_task(session, task_id=row.task_id, actor=actor, decision="approve", opinion="", data=data,
                             now=when + timedelta(hours=1))
