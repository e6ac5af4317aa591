"""Role validity and "today" are Taipei dates: from 00:00 to 08:00 local time the UTC date is still yesterday."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import Role, RoleHolding
from tests.conftest import make_person
from tests.workflows.filing.test_chains import MANAGER_DELETE, MANAGER_DELETE_CHAIN
from workflows.filing import reads
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

LATE_UTC = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 1 December 2026, 07:30 in Taipei
TRANSFER = {"person": "applicant", "kind": "querier", "effective_date": "2026-12-15", "new_position": "會計室科員",
            "reason": "調任會計室"}


@pytest.fixture
def heads(session):
    """Two agency heads of 社會局: one whose role starts on 1 December, one whose role ended on 30 November."""
    starting = make_person(session, "head_from_dec", roles=("agency_head",))
    ended = make_person(session, "head_until_nov", roles=("agency_head",))
    starting.roles[0].valid_from = date(2026, 12, 1)
    ended.roles[0].valid_until = date(2026, 11, 30)
    for p in (starting, ended):
        p.set_password("demo")
    session.commit()


@pytest.mark.usefixtures("heads")
def test_the_forms_offered_follow_the_roles_held_on_the_taipei_date(api):
    with time_machine.travel(LATE_UTC, tick=False):
        starting = {f["key"] for f in api.as_("head_from_dec").get("/api/v1/forms").get_json()}
        ended = {f["key"] for f in api.as_("head_until_nov").get("/api/v1/forms").get_json()}
        assert api.as_("head_from_dec").get("/api/v1/forms/role_transfer").status_code == 200
        assert api.as_("head_until_nov").get("/api/v1/forms/role_transfer").status_code == 403
    assert "role_transfer" in starting  # the agency head's own form
    assert "role_transfer" not in ended


@pytest.mark.usefixtures("heads")
def test_filing_judges_the_filers_role_on_the_taipei_date(api):
    with time_machine.travel(LATE_UTC, tick=False):
        filed = api.as_("head_from_dec").post("/api/v1/applications", {"form": "role_transfer", "data": TRANSFER})
        refused = api.as_("head_until_nov").post("/api/v1/applications", {"form": "role_transfer", "data": TRANSFER})
    assert filed.status_code == 201, filed.get_json()
    assert refused.status_code == 403


def test_a_role_ended_by_an_approved_deletion_ends_on_the_taipei_date(session, person):
    app = submit_application(session, form_key="manager_account", data=dict(MANAGER_DELETE), actor=person("manager"),
                             now=LATE_UTC)
    for n, (username, step, data) in enumerate(MANAGER_DELETE_CHAIN):
        actor = person(username)
        [row] = [r for r in reads.list_inbox(session, actor) if r.application_id == app.id and r.step == step]
        app = complete_task(session, task_id=row.task_id, actor=actor, decision="approve", opinion="同意", data=data,
                            now=LATE_UTC + timedelta(minutes=n))
    assert app.state == "completed"
    holding = session.scalar(select(RoleHolding).where(RoleHolding.person_id == person("manager").id,
                                                       RoleHolding.role == Role.AGENCY_MANAGER))
    assert holding.valid_until == date(2026, 12, 1)
