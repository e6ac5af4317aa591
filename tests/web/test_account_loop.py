"""The loop closes: an account approved through its chain gives the role, and a deletion takes it on its date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.conftest import QUERIER_ADD, granted
from tests.conftest import registration as registration_data

# Tuesday 1 December 2026, 09:00 in Taipei.
FILED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def decide_next(api, username: str, application_id: int, data: dict | None = None) -> dict:
    """``username`` finds the application's step in their inbox through the API and approves it."""
    person = api.as_(username)
    [task] = [t for t in person.get("/api/v1/tasks").get_json() if t["application"] == application_id]
    response = person.post(f"/api/v1/tasks/{task['id']}/complete",
                           json={"decision": "approve", "opinion": "同意", "data": data or {}})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def file(api, username: str, form: str, data: dict):
    return api.as_(username).post("/api/v1/applications", json={"form": form, "data": data})


def registration(on: datetime) -> dict:
    return registration_data(query_date=on.date().isoformat())


def test_an_approved_querier_account_lets_the_person_file_at_once_and_a_deletion_ends_it_on_its_date(api, clock):
    refused = file(api, "sw_staff", "query_registration", registration(FILED))
    assert refused.status_code == 403  # no querier role yet

    filed = file(api, "sw_staff", "querier_account", QUERIER_ADD)
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    decide_next(api, "sw_unit_head", app_id)
    decide_next(api, "manager", app_id, granted(QUERIER_ADD["items"]))
    done = decide_next(api, "sw_it_head", app_id)  # the manager's unit head seals: the account takes effect
    assert done["state"] == "completed"

    forms = [f["key"] for f in api.as_("sw_staff").get("/api/v1/forms").get_json()]
    assert "query_registration" in forms
    allowed = file(api, "sw_staff", "query_registration", registration(FILED))
    assert allowed.status_code == 201, allowed.get_json()
    # ... with the items approved on the account, and only those.
    outside = file(api, "sw_staff", "query_registration", {**registration(FILED), "item": "B0201"})
    assert outside.status_code == 422 and "item" in outside.get_json()["errors"]

    # A deletion dated Tuesday 8 December: approved now, it takes effect on its date.
    clock.move_to(FILED + 2 * DAY)
    deletion = file(api, "sw_staff", "querier_account", {**QUERIER_ADD, "request_type": "delete", "items": []})
    assert deletion.status_code == 201, deletion.get_json()
    decide_next(api, "sw_unit_head", deletion.get_json()["id"])
    decide_next(api, "manager", deletion.get_json()["id"], {"effective_date": "2026-12-08"})
    decide_next(api, "sw_it_head", deletion.get_json()["id"])

    clock.move_to(FILED + 6 * DAY + timedelta(hours=14))  # Monday 7 December, 23:00 in Taipei: the last day
    assert file(api, "sw_staff", "query_registration", registration(FILED + 6 * DAY)).status_code == 201
    clock.move_to(FILED + 6 * DAY + timedelta(hours=15))  # Tuesday 8 December, 00:00 in Taipei
    after = file(api, "sw_staff", "query_registration", registration(FILED + 7 * DAY))
    assert after.status_code == 403
    assert "query_registration" not in [f["key"] for f in api.as_("sw_staff").get("/api/v1/forms").get_json()]
