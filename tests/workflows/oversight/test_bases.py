"""The legal-basis table of 001 附表: seeded per agency, kept by administrators, read by law name."""

from __future__ import annotations

import pytest

from tests.conftest import NOW, registration
from workflows.errors import Conflict, Forbidden
from workflows.oversight.bases import add_basis, basis_listed, law_name, list_bases, listed_laws, retire_basis


def test_the_demo_city_holds_the_tables_counts_per_agency(session):
    counts = {}
    for row in list_bases(session):
        counts[row.agency_code] = counts.get(row.agency_code, 0) + 1
    assert counts == {"KHH-LAB": 12, "KHH-SW": 8, "KHH-EP": 3, "KHH-YB": 1, "KHH-HB": 1}


@pytest.mark.parametrize("basis, listed", [
    ("社會救助法第四十四條之三", True),
    ("依社會救助法第十八條", True),
    ("社會救助法施行細則第五條", False),  # another law, whose name only begins like a listed one
    ("老人福利法", True),
    ("公司法第三條", False),
    ("", False),
])
def test_a_registration_basis_is_compared_by_the_laws_name(session, basis, listed):
    laws = listed_laws(r.statute for r in list_bases(session, "KHH-SW"))
    assert law_name("社會救助法第十八條、第二十條") == "社會救助法"
    assert basis_listed(basis, laws) is listed


def test_administrators_add_and_retire_a_basis_others_may_not(session, person):
    with pytest.raises(Forbidden):
        add_basis(session, agency_code="KHH-SW", statute="公益勸募條例第六條", purpose="x", actor=person("manager"),
                  now=NOW)
    basis = add_basis(session, agency_code="KHH-SW", statute="公益勸募條例第六條", purpose="勸募案件查核",
                      actor=person("admin"), now=NOW)
    with pytest.raises(Conflict):
        add_basis(session, agency_code="KHH-SW", statute="公益勸募條例第六條", purpose="again",
                  actor=person("admin"), now=NOW)
    assert len(list_bases(session, "KHH-SW")) == 9

    retire_basis(session, basis_id=basis.id, actor=person("admin"), now=NOW)

    assert [r.active for r in list_bases(session, "KHH-SW") if r.id == basis.id] == [False]


LISTED_SW = "社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項"
LISTED_EP = "空氣污染防制法第三十二條及第六十七條"


def file_registration(session, person, who: str, basis: str, reason: str | None = None):
    from workflows.filing.applications import submit_application
    return submit_application(session, form_key="query_registration", actor=person(who), now=NOW,
                              data=registration(legal_basis=basis, legal_basis_reason=reason))


def test_a_registration_picks_its_basis_from_its_own_agencys_table(session, person):
    from workflows.errors import Invalid
    from workflows.oversight.bases import agency_statutes

    assert agency_statutes(session, person("applicant").agency_id)[0] == LISTED_SW
    listed = file_registration(session, person, "applicant", f" {LISTED_SW} ", reason="用不到")
    assert listed.data["legal_basis"] == LISTED_SW
    assert listed.data["legal_basis_reason"] is None and "legal_basis_not_listed" not in listed.data
    # 環保局's querier may not borrow 社會局's basis without a word: its own table lists other laws.
    with pytest.raises(Invalid) as refused:
        file_registration(session, person, "ep_querier", LISTED_SW)
    assert set(refused.value.errors) == {"legal_basis_reason"}
    assert "001 附表" in refused.value.errors["legal_basis_reason"]
    assert file_registration(session, person, "ep_querier", LISTED_EP).data.get("legal_basis_not_listed") is None
    # Another basis with a stated reason is filed, marked for the unit head's review.
    outside = file_registration(session, person, "ep_querier", LISTED_SW, reason="協助社會局辦理急難救助個案")
    assert outside.data["legal_basis_not_listed"] is True
    assert outside.data["legal_basis_reason"] == "協助社會局辦理急難救助個案"


def test_a_retired_basis_can_no_longer_be_picked(session, person):
    from workflows.errors import Invalid

    row = next(r for r in list_bases(session, "KHH-SW") if r.statute == LISTED_SW)
    retire_basis(session, basis_id=row.id, actor=person("admin"), now=NOW)
    with pytest.raises(Invalid):
        file_registration(session, person, "applicant", LISTED_SW)
