"""Leave substitutes (代理人) through the API: set, decide during the range, not after, on whose behalf."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import registration
from web.extensions import db
from workflows.personal.substitutes import refresh_all_substitutes

FILED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 09:00 in Taipei
DAY = timedelta(days=1)
LEAVE = {"substitute": "sw_it_head", "from": "2026-12-01", "to": "2026-12-02"}


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def put(api, username: str, body: dict):
    return api.client.put(f"/api/v1/people/{username}/substitute", json=body, headers=api.headers)


def file_registration(api, case: str) -> int:
    response = api.as_("applicant").post("/api/v1/applications", json={
        "form": "query_registration", "data": registration(case_number=case)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def task_of(api, username: str, application_id: int) -> int | None:
    return next((t["id"] for t in api.as_(username).get("/api/v1/tasks").get_json()
                 if t["application"] == application_id), None)


def approve(api, username: str, task_id: int):
    return api.as_(username).post(f"/api/v1/tasks/{task_id}/complete", json={"decision": "approve", "opinion": "同意"})


def history(api, application_id: int) -> list[tuple]:
    view = api.as_("admin").get(f"/api/v1/applications/{application_id}").get_json()
    return [(h["actor"], h["decision"], h["on_behalf_of"]) for h in view["history"]]


def test_a_substitute_decides_during_the_range_not_after_and_the_history_says_for_whom(app, api, clock):
    waiting = file_registration(api, "115-社救-0101")  # open before the leave is set
    assert task_of(api, "sw_it_head", waiting) is None

    response = put(api.as_("sw_unit_head"), "sw_unit_head", LEAVE)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"person": "sw_unit_head", "substitute": "sw_it_head", **{
        "from": "2026-12-01", "to": "2026-12-02"}}
    arriving = file_registration(api, "115-社救-0102")  # opens during the leave

    # Both steps are now also the substitute's; the holder keeps them too.
    for application_id in (waiting, arriving):
        assert task_of(api, "sw_it_head", application_id) is not None
        assert task_of(api, "sw_unit_head", application_id) is not None
    assert approve(api, "sw_it_head", task_of(api, "sw_it_head", waiting)).status_code == 200
    assert history(api, waiting) == [("applicant", "submit", None), ("sw_it_head", "approve", "sw_unit_head")]
    page = app.test_client()
    page.post("/login", data={"username": "sw_unit_head", "password": "demo"})
    assert "張國華 代 陳志明" in page.get(f"/applications/{waiting}").get_data(as_text=True)

    # Thursday 3 December: the leave is over.
    clock.move_to(FILED + 2 * DAY)
    late = task_of(api, "sw_it_head", arriving)
    assert late is not None  # the row stays until the day's refresh, but the substitute may no longer act
    assert approve(api, "sw_it_head", late).status_code == 403
    with app.app_context():
        assert refresh_all_substitutes(db.session, FILED + 2 * DAY) == 1
        db.session.remove()
    assert task_of(api, "sw_it_head", arriving) is None
    assert approve(api, "sw_unit_head", task_of(api, "sw_unit_head", arriving)).status_code == 200
    assert history(api, arriving)[-1] == ("sw_unit_head", "approve", None)


def test_who_may_set_a_substitute_and_whom(api, clock):
    assert put(api.as_("sw_staff"), "sw_unit_head", LEAVE).status_code == 403  # not their superior
    # The superior (the unit head of sw_staff's unit) may; the substitute must be of the same agency.
    other_agency = put(api.as_("sw_unit_head"), "sw_staff", {**LEAVE, "substitute": "ep_querier"})
    assert other_agency.status_code == 422 and "substitute" in other_agency.get_json()["errors"]
    backwards = put(api.as_("admin"), "sw_staff", {**LEAVE, "from": "2026-12-05", "to": "2026-12-04"})
    assert backwards.status_code == 422 and "to" in backwards.get_json()["errors"]
    assert put(api.as_("sw_unit_head"), "sw_staff", {**LEAVE, "substitute": "applicant"}).status_code == 200

    holder = api.as_("sw_staff")
    assert holder.client.delete("/api/v1/people/sw_staff/substitute", headers=holder.headers).status_code == 204
    assert holder.client.delete("/api/v1/people/sw_staff/substitute", headers=holder.headers).status_code == 404
