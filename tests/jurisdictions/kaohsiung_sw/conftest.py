"""社會局's own rules (003) switched on in the demo city, as a deploy of the Kaohsiung pack does for `make run`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Application
from tests.conftest import NOW
from workflows.editor.deploy import map_layer_chains
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

# Everyone who might find a step of these chains in their inbox.
WATCHERS = ["applicant", "sw_staff", "sw_unit_head", "manager", "sw_it_head", "sw_head", "sw_deputy", "sw_auditor",
            "sw_it_staff", "labor_clerk", "it_clerk", "ep_unit_head", "ep_manager", "fs_staff", "fs_unit_head"]
DELEGATES = {"sw_head": {"sw_deputy"}}


@pytest.fixture
def sw_rules(session):
    """社會局's filers get its own 附表1 and 附表2 chains (the shared test demo keeps the city's for them)."""
    map_layer_chains(session, "KHH-SW")
    session.commit()


@pytest.fixture
def submit(session, person):
    def _submit(username: str, form_key: str, data: dict, now=NOW) -> Application:
        return submit_application(session, form_key=form_key, data=dict(data), actor=person(username), now=now)
    return _submit


@pytest.fixture
def seen_by(session, person):
    def _seen_by(app: Application) -> set[str]:
        return {u for u in WATCHERS if any(r.application_id == app.id for r in reads.list_inbox(session, person(u)))}
    return _seen_by


@pytest.fixture
def decide(session, person, seen_by):
    """The step's holders (and only they) find it; one of them decides it."""
    def _decide(app: Application, username: str, step: str, decision: str = "approve", opinion: str = "", *,
                minutes: int = 0, **data) -> Application:
        assert seen_by(app) == {username, *DELEGATES.get(username, ())}, f"before {step}"
        actor = person(username)
        row = next(r for r in reads.list_inbox(session, actor) if r.application_id == app.id)
        assert row.step == step
        return complete_task(session, task_id=row.task_id, actor=actor, decision=decision,
                             opinion=opinion or f"{actor.name} {decision}", data=data,
                             now=NOW + timedelta(minutes=minutes))
    return _decide
