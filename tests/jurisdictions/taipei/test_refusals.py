"""What Taipei's rules refuse, through the JSON API: contractors (002 §5(5)), queries outside office hours (§6(3)),
proxies outside the authoriser's items (§6(2)), and irregular audits by anyone but 勞動局's audit team (§8(2))."""

from __future__ import annotations

import pytest

from tests.files import pdf
from tests.jurisdictions.taipei.test_chains import (
    CENTRAL_AUDIT,
    MANAGER_ADD,
    PROXY,
    QUERIER_ADD,
    REGISTRATION,
    signed_authorisation,
)

CONTRACTOR_QUERIER = {**QUERIER_ADD, "name": "吳冠廷", "email": "sw_contractor@demo.gov.taipei",
                      "egov_account": "kuanting.wu"}


def file(api, username, form, data):
    return api.as_(username).post("/api/v1/applications", json={"form": form, "data": data})


@pytest.mark.parametrize("form, data", [("querier_account", CONTRACTOR_QUERIER),
                                        ("manager_account", {**MANAGER_ADD, "name": "吳冠廷"})])
def test_a_contractor_is_refused_an_account_with_the_clause(api, form, data):
    refused = file(api, "sw_contractor", form, data)
    assert refused.status_code == 403
    assert "002 第五點第五款" in refused.get_json()["detail"]
    assert api.as_("admin").get("/api/v1/applications?form=" + form).get_json()["total"] == 0


def test_the_same_filing_by_staff_not_flagged_goes_through(api):
    assert file(api, "sw_staff", "querier_account", QUERIER_ADD).status_code == 201


def test_flagging_a_person_a_contractor_in_the_org_admin_refuses_their_next_filing(api):
    admin = api.as_("admin")
    flagged = admin.client.patch("/api/v1/org/people/sw_staff", json={"is_contractor": True}, headers=admin.headers)
    assert flagged.status_code == 200 and flagged.get_json()["is_contractor"] is True
    assert file(api, "sw_staff", "querier_account", QUERIER_ADD).status_code == 403


@pytest.mark.parametrize("change, field", [
    ({"query_date": "2026-11-28"}, "query_date"),  # a Saturday
    ({"query_date": "2026-10-10"}, "query_date"),  # 國慶日, a national holiday
    ({"query_time": "19:30"}, "query_time"),  # after 17:30
    ({"query_time": "08:00"}, "query_time"),  # before 08:30
    ({"query_time": "9:5"}, "query_time"),  # not a time
])
def test_a_registration_outside_office_hours_is_refused_with_the_clause(api, change, field):
    refused = file(api, "applicant", "query_registration", {**REGISTRATION, **change})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == [field]


def test_a_registration_in_office_hours_is_accepted(api):
    assert file(api, "applicant", "query_registration", {**REGISTRATION, "query_time": "17:29"}).status_code == 201


def test_a_proxy_query_outside_office_hours_is_refused_too(api):
    refused = file(api, "applicant", "proxy_authorisation",
                   {**PROXY, "query_time": "22:00", "signed_authorisation": signed_authorisation(api)})
    assert refused.status_code == 422 and "query_time" in refused.get_json()["errors"]


@pytest.mark.parametrize("change, field", [
    ({"authoriser": "applicant"}, "authoriser"),  # oneself
    ({"authoriser": "da_querier"}, "authoriser"),  # another agency's querier
    ({"authoriser": "sw_staff"}, "authoriser"),  # no account
    ({"item": "B0201"}, "authoriser"),  # the proxy may query it, the authoriser may not
    ({"item": "P0301"}, "item"),  # not on the proxy's own account
])
def test_a_proxy_query_stays_within_both_accounts(api, change, field):
    refused = file(api, "applicant", "proxy_authorisation",
                   {**PROXY, **change, "signed_authorisation": signed_authorisation(api)})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == [field]


def test_a_proxy_query_without_the_signed_authorisation_is_refused(api):
    refused = file(api, "applicant", "proxy_authorisation", PROXY)
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["signed_authorisation"]
    assert api.as_("admin").get("/api/v1/applications?form=proxy_authorisation").get_json()["total"] == 0


def test_the_signed_proxy_authorisation_is_kept_with_the_records(api):
    filed = file(api, "applicant", "proxy_authorisation",
                 {**PROXY, "signed_authorisation": signed_authorisation(api)})
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    view = api.as_("sw_unit_head").get(f"/api/v1/applications/{app_id}").get_json()
    assert view["data"]["authoriser"] == "sw_querier2"
    assert view["data"]["subject_national_id"] == "A12****789"  # masked for every reader
    head = api.as_("sw_unit_head")
    [paper] = head.get(f"/api/v1/applications/{app_id}/attachments").get_json()
    assert paper["field"] == "signed_authorisation" and paper["media_type"] == "application/pdf"
    got = head.client.get(f"/api/v1/applications/{app_id}/attachments/{paper['id']}", headers=head.headers)
    assert got.status_code == 200 and got.data == pdf("signed authorisation")


def test_the_unit_head_confirms_the_authorisations_content_before_sealing(api):
    app_id = file(api, "applicant", "proxy_authorisation",
                  {**PROXY, "signed_authorisation": signed_authorisation(api)}).get_json()["id"]
    head = api.as_("sw_unit_head")
    [task] = head.get(f"/api/v1/applications/{app_id}").get_json()["current_tasks"]
    unchecked = head.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve", "data": {}})
    assert unchecked.status_code == 422 and "authorisation_checked" in unchecked.get_json()["errors"]
    sealed = head.post(f"/api/v1/tasks/{task['id']}/complete",
                       json={"decision": "approve", "data": {"authorisation_checked": True}})
    assert sealed.status_code == 200, sealed.get_json()
    view = api.as_("admin").get(f"/api/v1/applications/{app_id}").get_json()
    assert [t["step"] for t in view["current_tasks"]] == ["unit_manager_file"]


def test_an_irregular_audit_is_the_central_audit_teams(api):
    offered = {f["key"] for f in api.as_("sw_ethics_auditor").get("/api/v1/forms").get_json()}
    assert "central_audit" not in offered
    assert "central_audit" in {f["key"] for f in api.as_("lab_ethics_auditor").get("/api/v1/forms").get_json()}
    refused = file(api, "sw_ethics_auditor", "central_audit", CENTRAL_AUDIT)
    assert refused.status_code == 403
    assert "002 第二點第二項" in refused.get_json()["detail"]


def test_an_irregular_audit_names_a_using_agency_of_the_city(api):
    refused = file(api, "lab_it_auditor", "central_audit", {**CENTRAL_AUDIT, "audited_agency": "BLI"})
    assert refused.status_code == 422 and "audited_agency" in refused.get_json()["errors"]
