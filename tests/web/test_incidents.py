"""Incidents over HTTP: administrators see the error and retry it, on the page and through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import AuditEvent, Incident
from tests.workflows.timers.test_incidents import BROKEN, FILED, FIXED, LATER, file_on_versions, with_reminder_gateway
from workflows.editor.deploy import deploy
from workflows.editor.migration import migrate_application
from workflows.timers import sweep as timers


@pytest.fixture
def incident(session, person):
    """The timer sweep has failed on one application (its reminder path routes on a field it does not have)."""
    with time_machine.travel(FILED, tick=False) as clock:
        [broken] = file_on_versions(session, person, BROKEN)
        clock.move_to(LATER)
        assert timers.sweep(session, LATER).failed == 1
    return session.scalars(select(Incident)).one(), broken


def login(client, username):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def test_the_page_shows_the_error_to_administrators_only(client, app, incident):
    row, broken = incident
    page = login(client, "admin").get("/admin/incidents").text
    assert f'data-incident="{row.id}"' in page and f">{broken.id}</a>" in page
    assert "EngineError (NameError)" in page and "reminder_note" in page and "gw_reminded" in page
    assert "Traceback" in page and ">重試</button>" in page
    assert ">流程異常</a>" in page  # in the administrator's header
    assert login(app.test_client(), "sw_unit_head").get("/admin/incidents").status_code == 403


def test_the_retry_button_reports_a_failure_then_resolves_after_the_fix(client, session, person, incident):
    row, broken = incident
    with time_machine.travel(LATER + timedelta(hours=1), tick=False):  # the engine reads the wall clock
        admin = login(client, "admin")
        failed = admin.post(f"/admin/incidents/{row.id}/retry", follow_redirects=True).text
        assert "重試仍失敗" in failed and "reminder_note" in failed
        fixed = deploy(session, with_reminder_gateway(FIXED), actor=None, now=LATER, jurisdiction="kaohsiung")
        session.commit()
        migrate_application(session, application_id=broken.id, to_version=fixed.version, actor=person("admin"),
                            now=LATER)
        resolved = admin.post(f"/admin/incidents/{row.id}/retry", follow_redirects=True).text
        assert f"異常 {row.id} 已解除：重試成功" in resolved and "沒有流程異常。" in resolved
        assert f'data-incident="{row.id}"' in admin.get("/admin/incidents?state=resolved").text
    session.expire_all()
    events = session.scalars(select(AuditEvent.event_type).where(AuditEvent.subject_type == "incident")
                             .order_by(AuditEvent.id)).all()
    assert events == ["incident_opened", "incident_retried", "incident_retried", "incident_resolved"]


def test_the_api_lists_and_retries_incidents(api, incident):
    row, broken = incident
    with time_machine.travel(LATER + timedelta(hours=1), tick=False):
        admin, other = api.as_("admin"), api.as_("sw_unit_head")
        [listed] = admin.get("/api/v1/incidents").get_json()
        assert listed["id"] == row.id and listed["application"] == broken.id and listed["kind"] == "timer"
        assert listed["step"] == "gw_reminded" and "reminder_note" in listed["message"]
        assert listed["attempts"] == 1 and listed["resolved_at"] is None and "Traceback" in listed["traceback"]
        assert other.get("/api/v1/incidents").status_code == 403
        assert admin.get("/api/v1/incidents?state=nope").status_code == 422
        assert admin.get("/api/v1/incidents?state=resolved").get_json() == []

        retried = admin.post(f"/api/v1/incidents/{row.id}/retry")
        assert retried.status_code == 200
        assert (retried.get_json()["attempts"], retried.get_json()["resolved_at"]) == (2, None)
        assert other.post(f"/api/v1/incidents/{row.id}/retry").status_code == 403
        assert admin.post("/api/v1/incidents/999999/retry").status_code == 404
