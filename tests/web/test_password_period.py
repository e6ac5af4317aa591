"""A password period (Taoyuan 004 §7: at least every three months): past it, the person changes it first."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEvent, Person
from workflows import settings
from workflows.identity.passwords import months_before, password_expired

# Tuesday 1 December 2026, 09:00 in Taipei.
TODAY = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def period():
    """This test's city changes passwords every three months (each test starts from the app's own settings)."""
    settings.configure(password_change_months=3)


@pytest.fixture
def clock():
    with time_machine.travel(TODAY, tick=False) as traveller:
        yield traveller


def changed(session, username: str, at: datetime | None) -> None:
    session.scalar(select(Person).where(Person.username == username)).password_changed_at = at
    session.commit()


def test_three_months_counts_calendar_months_in_taipei():
    # 31 May 2027 in Taipei, three months back: 28 February (no 31st in February).
    assert months_before(datetime(2027, 5, 31, 2, 0, tzinfo=UTC), 3).date().isoformat() == "2027-02-28"
    person = Person(password_changed_at=datetime(2026, 9, 1, 1, 0, tzinfo=UTC))
    settings.configure(password_change_months=3)
    assert password_expired(person, datetime(2026, 12, 1, 0, 59, tzinfo=UTC)) is False
    assert password_expired(person, datetime(2026, 12, 1, 1, 0, tzinfo=UTC)) is True
    assert password_expired(Person(password_changed_at=None), TODAY) is True  # age unknown: cannot be shown fresh
    settings.configure(password_change_months=None)
    assert password_expired(Person(password_changed_at=None), TODAY) is False  # no period in this city


def test_a_stale_password_sends_the_person_to_change_it_before_any_page(app, client, session, period, clock):
    changed(session, "applicant", datetime(2026, 8, 31, 1, 0, tzinfo=UTC))
    response = client.post("/login", data={"username": "applicant", "password": "demo"})
    assert response.status_code == 302
    inbox = client.get("/")
    assert inbox.status_code == 302 and inbox.headers["Location"].endswith("/password")
    page = client.get("/password")
    assert "您的密碼已逾變更期限" in page.get_data(as_text=True)

    refused = client.post("/password", data={"current_password": "demo", "new_password": "demo",
                                             "confirm": "demo"})
    assert refused.status_code == 422 and "新密碼至少 8 個字元" in refused.get_data(as_text=True)
    done = client.post("/password", data={"current_password": "demo", "new_password": "桃園-new-pass-1",
                                          "confirm": "桃園-new-pass-1"})
    assert done.status_code == 302
    assert client.get("/").status_code == 200  # the same browser goes on under the new password
    person = session.scalar(select(Person).where(Person.username == "applicant").execution_options(
        populate_existing=True))
    assert person.password_changed_at == TODAY and person.check_password("桃園-new-pass-1")
    assert session.scalar(select(AuditEvent.event_type).where(
        AuditEvent.subject_type == "person", AuditEvent.subject_id == person.id).order_by(
        AuditEvent.id.desc()).limit(1)) == "person_password_changed"


def test_a_fresh_password_is_left_alone(client, session, period, clock):
    changed(session, "applicant", datetime(2026, 9, 2, 1, 0, tzinfo=UTC))
    client.post("/login", data={"username": "applicant", "password": "demo"})
    assert client.get("/").status_code == 200


def test_the_api_answers_a_stale_password_with_its_own_problem_until_it_is_changed(api, session, period, clock):
    changed(session, "manager", datetime(2026, 6, 1, 1, 0, tzinfo=UTC))
    manager = api.as_("manager")
    refused = manager.get("/api/v1/tasks")
    assert refused.status_code == 403
    assert refused.get_json()["type"] == "urn:webir:problem:password-expired"
    wrong = manager.post("/api/v1/password", json={"current_password": "nope", "new_password": "another-pass-9"})
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]) == {"current_password"}
    answer = manager.post("/api/v1/password", json={"current_password": "demo", "new_password": "another-pass-9"})
    assert answer.status_code == 200
    assert manager.get("/api/v1/tasks").status_code == 401  # the old token ended with the old password
    fresh = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    assert manager.client.get("/api/v1/tasks", headers=fresh).status_code == 200


def test_without_a_period_nothing_expires(api, session, clock):
    changed(session, "manager", None)
    assert api.as_("manager").get("/api/v1/tasks").status_code == 200
