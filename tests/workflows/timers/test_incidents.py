"""An instance whose engine fails during the timer sweep gets an incident; the sweep goes on with the others."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from models import Application, AuditEvent, Incident, Notification
from tests.conftest import QUERIER_ADD
from workflows.editor.deploy import _store, deploy
from workflows.editor.migration import migrate_application
from workflows.engine import parse_diagram
from workflows.errors import Conflict, Forbidden
from workflows.filing.applications import submit_application
from workflows.runtime import incidents
from workflows.timers import sweep as timers

BPMN = Path(__file__).resolve().parents[3] / "bpmn" / "kaohsiung" / "querier_account.bpmn"
FILED = datetime(2026, 12, 31, 1, 0, tzinfo=UTC)  # Thursday, 09:00 in Taipei
REMINDER_DUE = datetime(2027, 1, 6, 1, 0, tzinfo=UTC)  # 3 working days later (1 January is a holiday)
LATER = REMINDER_DUE + timedelta(minutes=1)
# No such data field, so the engine fails when the reminder path is reached. Today's deploy refuses it (the
# simulation finds the name); versions stored by an earlier release, before deploys simulated, may hold one.
BROKEN = 'reminder_note == "urgent"'
FIXED = "len(items) > 99"


def with_reminder_gateway(condition: str) -> bytes:
    """The shipped querier chain with a gateway after the unit head's reminder, routed by ``condition``."""
    xml = BPMN.read_text(encoding="utf-8")
    for old, new in [
        ('<bpmn:flowNodeRef>reminded_unit_head_review</bpmn:flowNodeRef>',
         '<bpmn:flowNodeRef>reminded_unit_head_review</bpmn:flowNodeRef><bpmn:flowNodeRef>gw_reminded</bpmn:flowNodeRef>'),
        ('<bpmn:endEvent id="reminded_unit_head_review" name="已提醒"></bpmn:endEvent>',
         '<bpmn:exclusiveGateway id="gw_reminded" name="提醒後？" default="flow_reminded_default">'
         '</bpmn:exclusiveGateway>'
         '<bpmn:endEvent id="reminded_unit_head_review" name="已提醒"></bpmn:endEvent>'),
        ('sourceRef="remind_unit_head_review" targetRef="reminded_unit_head_review"></bpmn:sequenceFlow>',
         'sourceRef="remind_unit_head_review" targetRef="gw_reminded"></bpmn:sequenceFlow>'
         '<bpmn:sequenceFlow id="flow_reminded_check" sourceRef="gw_reminded" targetRef="reminded_unit_head_review">'
         f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
         '</bpmn:sequenceFlow><bpmn:sequenceFlow id="flow_reminded_default" sourceRef="gw_reminded" '
         'targetRef="escalated_unit_head_review"></bpmn:sequenceFlow>'),
        ('</bpmndi:BPMNPlane>',
         '<bpmndi:BPMNShape id="gw_reminded_di" bpmnElement="gw_reminded"><dc:Bounds x="540" y="385" width="50" '
         'height="50" /></bpmndi:BPMNShape>'
         '<bpmndi:BPMNEdge id="flow_reminded_check_di" bpmnElement="flow_reminded_check"><di:waypoint x="540" '
         'y="410" /><di:waypoint x="524" y="410" /></bpmndi:BPMNEdge>'
         '<bpmndi:BPMNEdge id="flow_reminded_default_di" bpmnElement="flow_reminded_default"><di:waypoint x="590" '
         'y="410" /><di:waypoint x="600" y="410" /></bpmndi:BPMNEdge></bpmndi:BPMNPlane>'),
    ]:
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml.encode()


@pytest.fixture
def clock():
    with time_machine.travel(FILED, tick=False) as traveller:
        yield traveller


def file_on_versions(session, person, *conditions: str | None) -> list[Application]:
    """One querier application per version: the shipped chain (None) or one with the reminder gateway."""
    apps = []
    for condition in conditions:
        if condition is not None:
            store_unchecked(session, with_reminder_gateway(condition), now=FILED)
            session.commit()
        apps.append(submit_application(session, form_key="querier_account", data=QUERIER_ADD,
                                       actor=person("sw_staff"), now=FILED))
    return apps


def store_unchecked(session, xml: bytes, *, now):
    """Store a version as a release before the path simulation did: parsed, never simulated."""
    return _store(session, parse_diagram(xml, "querier_account"), xml, actor=None, now=now,
                  jurisdiction="kaohsiung", note=None).version


@pytest.fixture
def broken_and_healthy(session, person, clock):
    """Three querier applications on three versions: the middle one's reminder path fails when it is reached."""
    first, broken, last = file_on_versions(session, person, None, BROKEN, FIXED)
    assert broken.definition_version_id not in (first.definition_version_id, last.definition_version_id)
    return first, broken, last


def sweep_at(session, clock, when):
    clock.move_to(when)
    session.expire_all()
    return timers.sweep(session, when)


def audit(session, *types):
    return session.scalars(select(AuditEvent).where(AuditEvent.event_type.in_(types))
                           .order_by(AuditEvent.id)).all()


def test_a_failing_instance_gets_an_incident_and_the_others_still_fire(session, clock, broken_and_healthy, caplog):
    first, broken, last = broken_and_healthy
    with caplog.at_level(logging.ERROR, logger="workflows.timers.sweep"):
        result = sweep_at(session, clock, LATER)
    assert (result.woken, result.fired, result.failed) == (2, 2, 1)
    reminders = select(Notification).where(Notification.kind == "reminder")
    reminded = {n.application_id for n in session.scalars(reminders).all()}
    assert reminded == {first.id, last.id}

    [incident] = session.scalars(select(Incident)).all()
    assert incident.application_id == broken.id and incident.kind == "timer"
    assert incident.step == "gw_reminded"
    assert "reminder_note" in incident.message and incident.error_type == "EngineError (NameError)"
    assert "Traceback" in incident.traceback and "reminder_note" in incident.traceback
    assert incident.first_occurred_at == incident.last_occurred_at == LATER
    assert incident.attempts == 1 and incident.resolved_at is None
    [opened] = audit(session, "incident_opened")
    assert opened.subject_type == "incident" and opened.subject_id == incident.id
    assert opened.payload["application"] == broken.id
    assert any(r.exc_info and f"application {broken.id}" in r.getMessage() for r in caplog.records)


def test_the_sweep_leaves_an_instance_with_an_open_incident_alone(session, clock, broken_and_healthy):
    sweep_at(session, clock, LATER)
    broken = broken_and_healthy[1]
    for hours in (1, 24, 24 * 10):  # well past the claim lease: still not retried on its own
        when = LATER + timedelta(hours=hours)
        assert broken.id not in timers.due_application_ids(session, when)
        result = sweep_at(session, clock, when)
        assert result.failed == 0
    [incident] = session.scalars(select(Incident)).all()
    assert incident.attempts == 1
    assert len(audit(session, "incident_opened")) == 1


def test_a_retry_that_fails_again_keeps_the_incident_open_and_counts_it(session, person, clock, broken_and_healthy):
    sweep_at(session, clock, LATER)
    [incident] = session.scalars(select(Incident)).all()
    again = LATER + timedelta(hours=2)
    clock.move_to(again)
    retried = incidents.retry_incident(session, incident_id=incident.id, actor=person("admin"), now=again)
    assert retried.resolved_at is None and retried.attempts == 2
    assert retried.first_occurred_at == LATER and retried.last_occurred_at == again
    [event] = audit(session, "incident_retried")
    assert event.actor_id == person("admin").id and event.payload["outcome"] == "failed"


def test_after_a_fix_the_retry_runs_the_wake_and_resolves_the_incident(session, person, clock, broken_and_healthy):
    _, broken, _ = broken_and_healthy
    sweep_at(session, clock, LATER)
    [incident] = session.scalars(select(Incident)).all()
    admin = person("admin")
    fixed = deploy(session, with_reminder_gateway(FIXED), actor=admin, now=LATER, jurisdiction="kaohsiung")
    session.commit()
    migrate_application(session, application_id=broken.id, to_version=fixed.version, actor=admin, now=LATER)

    done = LATER + timedelta(hours=1)
    clock.move_to(done)
    retried = incidents.retry_incident(session, incident_id=incident.id, actor=admin, now=done)
    assert retried.resolved_at == done and retried.resolved_by_id == admin.id
    assert [e.event_type for e in audit(session, "incident_opened", "incident_retried", "incident_resolved")] == [
        "incident_opened", "incident_retried", "incident_resolved"]
    assert audit(session, "incident_retried")[0].payload["outcome"] == "resolved"
    app = session.get(Application, broken.id)
    assert app.updated_at == done  # the engine ran and was written back in the retry
    # Moving it re-armed its timers from the migration; the sweep wakes it again when they are due.
    assert app.next_timer_at is not None and app.next_timer_at > done
    assert broken.id in timers.due_application_ids(session, app.next_timer_at)
    with pytest.raises(Conflict):
        incidents.retry_incident(session, incident_id=incident.id, actor=admin, now=done)


def test_only_administrators_see_and_retry_incidents(session, person, clock, broken_and_healthy):
    sweep_at(session, clock, LATER)
    [incident] = session.scalars(select(Incident)).all()
    with pytest.raises(Forbidden):
        incidents.retry_incident(session, incident_id=incident.id, actor=person("sw_unit_head"), now=LATER)
    with pytest.raises(Forbidden):
        incidents.list_incidents(session, actor=person("sw_unit_head"))
    [row] = incidents.list_incidents(session, actor=person("admin"))
    assert row.id == incident.id and row.form_key == "querier_account" and row.attempts == 1
