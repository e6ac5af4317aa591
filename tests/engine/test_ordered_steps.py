"""A diagram's human steps in reading order (engine.ordered_steps), for the text version beside its picture."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.engine import ordered_steps, parse_diagram

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung"


@pytest.fixture(autouse=True)
def fresh_db():
    """Overrides the database fixture of tests/conftest.py: these tests need no database."""
    yield


def steps_of(xml: str, key: str) -> list[str]:
    return [s.step for s in ordered_steps(parse_diagram(xml.encode(), key))]


def test_a_returned_applicant_s_step_comes_right_after_the_first_step_that_can_return_to_it():
    """Breadth first: the amendment is one flow after the unit head's gateway, as near the start as the next
    approver, so a returned application reads in time order (the parser's own order puts it last)."""
    xml = (BPMN_DIR / "manager_account.bpmn").read_text(encoding="utf-8")
    assert list(parse_diagram(xml.encode(), "manager_account").user_tasks)[-1] == "amend"
    assert steps_of(xml, "manager_account") == [
        "unit_head_review", "amend", "agency_head_review", "authority_clerk_review", "authority_section_head_review",
        "authority_director_review", "central_clerk_setup", "central_section_head_review", "central_director_review"]


@pytest.mark.parametrize("path", sorted(BPMN_DIR.glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_shipped_diagram_lists_each_of_its_steps_once(path):
    diagram = parse_diagram(path.read_bytes(), path.stem)
    steps = [s.step for s in ordered_steps(diagram)]
    assert sorted(steps) == sorted(diagram.user_tasks) and len(set(steps)) == len(steps)
