"""The yearly items review (001 §9(3)) has effects: walked as 資訊處, 勞保局 and the demo accounts.

資訊處 reviews each requesting agency's approved items; the ones marked not needed go to 勞保局 for termination,
and what 勞保局 terminated leaves the agency's items and every account of that agency when 資訊處 has applied it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from models import Agency
from tests.duties import approve, started
from workflows.accounts.effects import active_account, agency_items
from workflows.errors import Invalid

STARTED = datetime(2027, 2, 1, 1, 0, tzinfo=UTC)  # 1 February, 09:00 in Taipei: the duty's day
SW_ITEMS = {"C0101", "B0101", "B0201", "B0301", "P0301", "N0101", "T0101", "B0401", "P0401"}


@pytest.fixture
def reviews(session):
    """This year's review, started by the schedule: one per requesting agency (and 勞工局), by agency code."""
    return started(session, "items_review", STARTED)


@pytest.fixture
def decide(session, person):
    def _decide(username, app, step, **data):
        return approve(session, person(username), app, step, STARTED, **data)
    return _decide


def items_of(session, code):
    return agency_items(session, session.scalar(select(Agency.id).where(Agency.code == code)))


def test_each_requesting_agency_is_reviewed_on_its_own_items(session, person, reviews, decide):
    assert set(reviews) == {"KHH-LAB", "KHH-SW", "KHH-EP", "KHH-YB", "KHH-HB"}
    # The clerk is offered 社會局's own items only; another agency's item is refused.
    with pytest.raises(Invalid) as refused:
        decide("it_clerk", reviews["KHH-SW"], "central_review", request_termination=True,
               items_to_terminate=["C0201"], findings="x")
    assert set(refused.value.errors) == {"items_to_terminate"}
    with pytest.raises(Invalid) as refused:
        decide("it_clerk", reviews["KHH-SW"], "central_review", request_termination=True, findings="x")
    assert refused.value.errors == {"items_to_terminate": "請勾選函請勞保局終止之項目"}


def test_items_no_longer_needed_are_terminated_by_the_bureau_and_leave_the_agency_and_its_accounts(
        session, person, reviews, decide):
    sw = reviews["KHH-SW"]
    decide("it_clerk", sw, "central_review", request_termination=True, items_to_terminate=["B0201", "T0101"],
           findings="B0201、T0101 已無業務需求")
    decide("it_chief", sw, "central_section_head_ack")
    assert items_of(session, "KHH-SW") == SW_ITEMS  # nothing changes before 勞保局 has terminated
    # 勞保局 terminates B0201 only; T0101 stays.
    decide("bli_liaison", sw, "bureau_termination", terminated_items=["B0201"],
           bureau_letter_no="保費資字第11602000001號", answered_on="116/02/10")
    assert items_of(session, "KHH-SW") == SW_ITEMS
    app = decide("it_clerk", sw, "central_clerk_apply", applied_on="2027-02-11")
    assert app.state == "completed"
    assert items_of(session, "KHH-SW") == SW_ITEMS - {"B0201"}
    session.expire_all()
    querier = active_account(session, person("applicant").id, "querier")
    assert querier.item_codes == ["B0101", "C0101"]  # B0201 taken from 林怡君's account
    assert items_of(session, "KHH-EP") == {"C0101", "C0401"}  # other agencies untouched


def test_an_agency_whose_items_are_all_still_needed_ends_after_the_acknowledgement(session, reviews, decide):
    ep = reviews["KHH-EP"]
    decide("it_clerk", ep, "central_review", findings="兩項均仍需使用")
    app = decide("it_chief", ep, "central_section_head_ack")
    assert app.state == "completed" and items_of(session, "KHH-EP") == {"C0101", "C0401"}
    assert [t.step for t in app.tasks] == ["central_review", "central_section_head_ack"]  # 勞保局 never asked
