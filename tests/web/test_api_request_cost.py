"""What an authenticated API call says to the database before its view runs (a regression guard for issue 17).

The bearer token is checked by its signature (no statement); the person it names is then read once, by primary key.
Nothing else runs before the view: no roles, session, locale or password-age statement (the view reads the roles
it needs; joining them to the person's row was measured and gained nothing on SQLite, docs/benchmarks.md).
"""

from __future__ import annotations

import web.api.routes as api_routes
from tests.conftest import MANAGER_ADD
from tests.statements import shape, statements


def test_an_authenticated_get_reads_only_the_person_before_its_view(api, engine, monkeypatch):
    staff = api.as_("sw_staff")
    filed = staff.post("/api/v1/applications", json={"form": "manager_account", "data": MANAGER_ADD})
    assert filed.status_code == 201, filed.get_json()
    application_id = filed.get_json()["id"]

    marks: list[int] = []
    view = api_routes.get_application_view

    def marked(*args, **kwargs):
        marks.append(len(seen))  # how many statements ran before the view's use case
        return view(*args, **kwargs)

    monkeypatch.setattr(api_routes, "get_application_view", marked)
    with statements(engine) as seen:
        response = staff.get(f"/api/v1/applications/{application_id}")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == application_id

    assert [shape(s) for s in seen[:marks[0]]] == [
        "SELECT person",  # the token's person: active? issued in the current generation? password age (004 §7)?
    ]


def test_each_call_reads_its_person_anew(api, engine):
    """No person is kept between calls: a token revoked by log-out or deactivation is refused at the next one."""
    staff = api.as_("sw_staff")
    for _ in range(2):
        with statements(engine) as seen:
            assert staff.get("/api/v1/tasks").status_code == 200
        assert [shape(s) for s in seen][:1] == ["SELECT person"]
    assert staff.post("/api/v1/logout").status_code == 204
    assert staff.get("/api/v1/tasks").status_code == 401


def test_reading_an_application_never_reads_its_saved_engine_state(api, engine):
    """`GET /api/v1/applications/<id>` from narrow columns (issue 17): at most seven statements, none the state."""
    staff = api.as_("sw_staff")
    filed = staff.post("/api/v1/applications", json={"form": "manager_account", "data": MANAGER_ADD})
    assert filed.status_code == 201, filed.get_json()
    with statements(engine) as seen:
        response = staff.get(f"/api/v1/applications/{filed.get_json()['id']}")
    assert response.status_code == 200 and response.get_json()["current_tasks"], response.get_json()
    assert not [s for s in seen if "workflow_state" in s]
    # The person; the viewer's roles and delegations (the visibility rule); the application, its steps, history, files.
    assert len(seen) <= 7, [shape(s) for s in seen]


def test_a_served_decision_reads_its_step_and_application_in_one_statement(api, engine):
    """A request's session holds nothing yet: deciding a step reads the step with its application's saved state,
    diagram version, agency and applicant in one statement, not one lazy load after another."""
    staff = api.as_("sw_staff")
    filed = staff.post("/api/v1/applications", json={"form": "manager_account", "data": MANAGER_ADD})
    assert filed.status_code == 201, filed.get_json()
    task = staff.get(f"/api/v1/applications/{filed.get_json()['id']}").get_json()["current_tasks"][0]
    decider = api.as_(task["candidates"][0])
    assert decider.get("/api/v1/tasks").status_code == 200  # signed in before the statements are counted
    with statements(engine) as seen:
        decided = decider.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve", "opinion": "同意"})
    assert decided.status_code == 200, decided.get_json()
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
    state_reads = [s for s in reads if "workflow_state" in s]
    assert len(state_reads) == 1 and "FROM human_task" in state_reads[0], [shape(s) for s in reads]
    # the step's own read brought them: none of them is read again on its own; the agency's kinds, which a step
    # does not ask, are not read at all (they were a selectin load of their own)
    assert not {"SELECT application", "SELECT definition_version", "SELECT agency", "SELECT agency_kind"} & {
        shape(s) for s in reads}, [shape(s) for s in reads]
