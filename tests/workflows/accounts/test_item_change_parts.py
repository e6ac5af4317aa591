"""000 附表四's 設定結果 in two parts, walked as the chain's people (000 §5, 附表四; 001 §5).

社會局's manager asks to remove T0101 (社會局 holds it), to add C0201 (勞工局 holds it: the city has applied for it)
and to add F0101 (no agency of the city holds it). After 勞工局 agrees to all three, 資訊處's clerk sets the first
two at once, with the date, and files F0101 with 勞保局; 資訊處's section head and director seal that result;
勞保局's per-item answer is recorded, the clerk sets the granted F0101 with its date, and the section head and
the director seal that result too. Each part is applied once (accounts.effects.apply_items_part).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from models import AccountKind, AgencyQueryItem, AuditEvent, TaskState
from tests.conftest import ITEMS_CHANGE, NOW, ROOT
from workflows.accounts.effects import active_account, agency_items, apply_items_part, apply_step_effects
from workflows.editor.deploy import deploy
from workflows.errors import Conflict
from workflows.filing import reads
from workflows.filing.applications import submit_application, withdraw_application
from workflows.filing.tasks import complete_task
from workflows.runtime.diagrams import latest_version

SW_ITEMS = {"C0101", "B0101", "B0201", "B0301", "P0301", "N0101", "T0101", "B0401", "P0401"}
ANSWER = {"bureau_letter_no": "保費資字第11600000001號", "answered_on": "2026-12-20"}


@pytest.fixture
def decide(session, person):
    """``username`` finds the application in their inbox at ``step`` and approves it, an hour after the last."""
    clock = {"now": NOW}

    def _decide(username, app, step, **data):
        actor = person(username)
        row = next(r for r in reads.list_inbox(session, actor) if r.application_id == app.id)
        assert row.step == step
        clock["now"] += timedelta(hours=1)
        with time_machine.travel(clock["now"], tick=False):
            return complete_task(session, task_id=row.task_id, actor=actor, decision="approve", opinion="",
                                 data=data, now=clock["now"])
    return _decide


@pytest.fixture
def set_by_the_clerk(session, person, decide):
    """The mixed application, walked up to 資訊處's clerk's setting."""
    with time_machine.travel(NOW, tick=False):
        app = submit_application(session, form_key="query_items_change", data=dict(ITEMS_CHANGE),
                                 actor=person("manager"), now=NOW)
    assert (app.data["bureau_items"], app.data["to_bureau"]) == (["F0101"], True)
    app = decide("sw_it_head", app, "unit_head_review")
    app = decide("sw_head", app, "agency_head_review")
    app = decide("labor_clerk", app, "authority_clerk_review", approved_items=["C0201", "F0101", "T0101"])
    app = decide("labor_chief", app, "authority_section_head_review")
    app = decide("labor_director", app, "authority_director_review")
    assert items(session, app) == SW_ITEMS  # nothing changes before 資訊處 sets it
    return decide("it_clerk", app, "central_clerk_set", set_on="2026-12-01")


def items(session, app):
    session.expire_all()
    return agency_items(session, app.agency_id)


def changes(session, app):
    return [e.payload for e in session.scalars(select(AuditEvent).where(
        AuditEvent.event_type == "accounts_changed", AuditEvent.subject_id == app.id).order_by(AuditEvent.id))]


def test_removals_and_the_citys_items_take_effect_at_the_setting_and_the_lacking_one_after_a_granted_answer(
        session, person, decide, set_by_the_clerk):
    app = set_by_the_clerk
    # Set by the clerk, before 勞保局 answers: T0101 is gone (from the agency and its accounts), C0201 is granted.
    assert items(session, app) == SW_ITEMS - {"T0101"} | {"C0201"}
    assert "T0101" not in active_account(session, person("applicant").id, AccountKind.QUERIER).item_codes
    granted = session.scalar(select(AgencyQueryItem).where(AgencyQueryItem.agency_id == app.agency_id,
                                                           AgencyQueryItem.item_code == "C0201"))
    assert granted.application_id == app.id
    assert app.data["items_set"] == {"local": "2026-12-01"}
    assert app.agency.client_ip == "10.20.30.40"

    app = decide("it_chief", app, "central_section_head_seal")
    app = decide("it_director", app, "central_director_seal")
    assert [t.step for t in app.tasks if t.state == TaskState.OPEN] == ["bureau_answer"]
    app = decide("bli_liaison", app, "bureau_answer", bureau_approved_items=["F0101"], **ANSWER)
    assert "F0101" not in items(session, app)  # granted, not yet set by 資訊處
    app = decide("it_clerk", app, "central_clerk_apply", applied_on="2026-12-22")
    assert "F0101" in items(session, app)
    assert app.data["items_set"] == {"local": "2026-12-01", "bureau": "2026-12-22"}
    app = decide("it_chief", app, "central_section_head_result_seal")
    app = decide("it_director", app, "central_director_result_seal")

    assert app.state == "completed"
    assert items(session, app) == SW_ITEMS - {"T0101"} | {"C0201", "F0101"}
    # The sign-offs in the form's order: 設定結果 sealed by the clerk, the section head and the director, twice.
    assert [(h.step, h.actor.username) for h in app.history][6:] == [
        ("central_clerk_set", "it_clerk"), ("central_section_head_seal", "it_chief"),
        ("central_director_seal", "it_director"), ("bureau_answer", "bli_liaison"),
        ("central_clerk_apply", "it_clerk"), ("central_section_head_result_seal", "it_chief"),
        ("central_director_result_seal", "it_director")]
    assert changes(session, app) == [
        {"form": "query_items_change", "part": "local", "on": "2026-12-01", "added": ["C0201"],
         "removed": ["T0101"], "client_ip": "10.20.30.40"},
        {"form": "query_items_change", "part": "bureau", "on": "2026-12-22", "added": ["F0101"], "removed": [],
         "client_ip": "10.20.30.40"}]  # and nothing again at the chain's end


def test_an_item_the_bureau_refuses_is_never_set_and_the_local_part_stays(session, decide, set_by_the_clerk):
    app = decide("it_chief", set_by_the_clerk, "central_section_head_seal")
    app = decide("it_director", app, "central_director_seal")
    app = decide("bli_liaison", app, "bureau_answer", bureau_approved_items=[], **ANSWER)
    app = decide("it_clerk", app, "central_clerk_apply", applied_on="2026-12-22")
    app = decide("it_chief", app, "central_section_head_result_seal")
    app = decide("it_director", app, "central_director_result_seal")
    assert app.state == "completed"
    assert items(session, app) == SW_ITEMS - {"T0101"} | {"C0201"}


def test_once_the_information_department_has_set_it_the_change_cannot_be_withdrawn(session, person,
                                                                                   set_by_the_clerk):
    with pytest.raises(Conflict) as refused:
        withdraw_application(session, application_id=set_by_the_clerk.id, actor=person("manager"), now=NOW)
    assert "無法撤回" in str(refused.value)
    assert set_by_the_clerk.state == "running"


def test_each_part_is_applied_once_however_often_it_is_asked(session, person, set_by_the_clerk):
    app = set_by_the_clerk
    before = items(session, app)
    assert apply_items_part(session, app, {**app.data, "approved_items": ["C0201", "T0101"]}, NOW, "local") is None
    apply_step_effects(session, app, "set_items", NOW, app.data, {"approved_items": ["C0201", "T0101"],
                                                                  "set_on": "2026-12-05"})
    session.commit()
    assert items(session, app) == before
    assert [c["part"] for c in changes(session, app)] == ["local"]
    assert app.data["items_set"] == {"local": "2026-12-01"}  # the first setting's date stays


def test_without_items_the_city_lacks_the_chain_ends_at_the_directors_seal(session, person, decide):
    with time_machine.travel(NOW, tick=False):
        app = submit_application(session, form_key="query_items_change",
                                 data={**ITEMS_CHANGE, "add_items": ["C0201"]}, actor=person("manager"), now=NOW)
    assert app.data["to_bureau"] is False
    for username, step, data in [("sw_it_head", "unit_head_review", {}), ("sw_head", "agency_head_review", {}),
                                 ("labor_clerk", "authority_clerk_review", {"approved_items": ["C0201", "T0101"]}),
                                 ("labor_chief", "authority_section_head_review", {}),
                                 ("labor_director", "authority_director_review", {}),
                                 ("it_clerk", "central_clerk_set", {"set_on": "2026-12-01"}),
                                 ("it_chief", "central_section_head_seal", {})]:
        app = decide(username, app, step, **data)
    assert items(session, app) == SW_ITEMS - {"T0101"} | {"C0201"}
    app = decide("it_director", app, "central_director_seal")
    assert app.state == "completed"
    assert [h.step for h in app.history][-3:] == ["central_clerk_set", "central_section_head_seal",
                                                  "central_director_seal"]
    assert [c["part"] for c in changes(session, app)] == ["local"]


def test_an_application_running_on_the_earlier_diagram_finishes_on_it_with_everything_set_at_its_end(
        session, person, decide):
    """The diagram before this change (kept in tests/fixtures/diagrams/): 資訊處 reviewed before filing and set
    everything at the end. An application started on it keeps it after the current one is deployed again."""
    current = latest_version(session, "query_items_change")
    before = (ROOT / "tests" / "fixtures" / "diagrams" / "query_items_change_before_issue18.bpmn").read_bytes()
    earlier = deploy(session, before, actor=person("admin"), now=NOW, jurisdiction="kaohsiung", note="2026 版")
    session.commit()
    with time_machine.travel(NOW, tick=False):
        app = submit_application(session, form_key="query_items_change", data=dict(ITEMS_CHANGE),
                                 actor=person("manager"), now=NOW)
    assert app.definition_version_id == earlier.id
    # The current chain deployed after it (its note changed, so a version of its own): new filings run on it.
    redrawn = current.bpmn_xml.replace(b"</bpmn:documentation>", " (重新部署)</bpmn:documentation>".encode(), 1)
    again = deploy(session, redrawn, actor=person("admin"), now=NOW, jurisdiction="kaohsiung")
    session.commit()
    assert again.version > earlier.version
    with time_machine.travel(NOW, tick=False):
        new = submit_application(session, form_key="query_items_change", data={**ITEMS_CHANGE, "remove_items": []},
                                 actor=person("manager"), now=NOW)
    assert new.definition_version_id == again.id

    for username, step, data in [("sw_it_head", "unit_head_review", {}), ("sw_head", "agency_head_review", {}),
                                 ("labor_clerk", "authority_clerk_review",
                                  {"approved_items": ["C0201", "F0101", "T0101"]}),
                                 ("labor_chief", "authority_section_head_review", {}),
                                 ("labor_director", "authority_director_review", {}),
                                 ("it_clerk", "central_clerk_filing", {}),
                                 ("it_chief", "central_section_head_review", {}),
                                 ("it_director", "central_director_review", {}),
                                 ("bli_liaison", "bureau_answer", {"bureau_approved_items": ["F0101"], **ANSWER})]:
        app = decide(username, app, step, **data)
        assert items(session, app) == SW_ITEMS  # nothing set before the end, as that diagram had it
    app = decide("it_clerk", app, "central_clerk_apply", applied_on="2026-12-22")
    assert app.state == "completed" and app.definition_version_id == earlier.id
    assert items(session, app) == SW_ITEMS - {"T0101"} | {"C0201", "F0101"}
    # 勞保局's part when the clerk set its answer, the rest at the chain's end, which that diagram reaches at once.
    assert [(c.get("part"), c.get("parts"), c["added"], c["removed"]) for c in changes(session, app)] == [
        ("bureau", None, ["F0101"], []), (None, ["local"], ["C0201"], ["T0101"])]
