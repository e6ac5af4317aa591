"""Legal bases kept once: the registration page offers the filer's agency's table, a basis outside it needs a
reason and is marked for the unit head; the agency's page and the API read the same table."""

from __future__ import annotations

import re

from tests.conftest import REGISTRATION, page_registration, registration

LISTED_SW = "社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項"


def login(client, username):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302
    return client


def test_the_registration_page_offers_the_agencys_own_statutes(app):
    page = login(app.test_client(), "applicant").get("/applications/new/query_registration").text
    assert re.search(r'<input[^>]*id="legal_basis"[^>]*list="legal-basis-options"', page)
    offered = re.search(r'<datalist id="legal-basis-options">(.*?)</datalist>', page, re.S)[1]
    statutes = re.findall(r'<option value="([^"]+)">', offered)
    assert len(statutes) == 8 and statutes[0] == LISTED_SW  # 社會局's 8 statutes (001 附表)
    ep = login(app.test_client(), "ep_querier").get("/applications/new/query_registration").text
    assert "空氣污染防制法第三十二條及第六十七條" in ep and LISTED_SW not in ep


def test_a_basis_outside_the_table_asks_for_a_reason_then_shows_the_unit_head_the_mark(app):
    applicant = login(app.test_client(), "applicant")
    data = page_registration(registration(legal_basis="公益勸募條例第六條", legal_basis_reason=""))
    refused = applicant.post("/applications/new/query_registration", data=data)
    assert refused.status_code == 200
    assert re.search(r'id="legal_basis_reason-error-0" class="error" role="alert">這個法令依據不在本機關的法律依據表',
                     refused.text)

    filed = applicant.post("/applications/new/query_registration",
                           data={**data, "legal_basis_reason": "協助公益勸募案件查核"})
    assert filed.status_code == 302
    app_id = int(re.search(r"/applications/(\d+)", filed.headers["Location"])[1])
    head = login(app.test_client(), "sw_unit_head")
    shown = head.get(f"/applications/{app_id}").text
    assert "不在本機關的法律依據表（001 附表），請審核其理由" in shown and "協助公益勸募案件查核" in shown
    listed = applicant.post("/applications/new/query_registration", data=page_registration(REGISTRATION))
    listed_id = int(re.search(r"/applications/(\d+)", listed.headers["Location"])[1])
    assert "請審核其理由" not in head.get(f"/applications/{listed_id}").text


def test_the_agency_page_and_the_api_read_the_one_table(app, api):
    page = login(app.test_client(), "admin").get("/org/agencies/KHH-EP").text
    section = re.search(r'<section aria-labelledby="bases-heading">(.*?)</section>', page, re.S)[1]
    assert "空氣污染防制法第三十二條及第六十七條" in section and section.count("<tr>") == 1 + 3
    agency = api.as_("admin").get("/api/v1/org/agencies/KHH-EP").json
    assert [b["statute"] for b in agency["legal_bases"]] == [
        "空氣污染防制法第三十二條及第六十七條", "強制執行法第十九條及第一百十五條", "行政罰法第七條第二項"]
    assert all(b["active"] and b["admission"] is None for b in agency["legal_bases"])
