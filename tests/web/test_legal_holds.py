"""Legal holds over HTTP: administrators and the agency's auditors; everyone else 403; bad input 422, never 5xx."""

from __future__ import annotations

from tests.conftest import REGISTRATION


def filed(api) -> int:
    response = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration", "data": REGISTRATION})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_the_auditor_holds_and_an_administrator_releases(api):
    app_id = filed(api)
    assert api.as_("sw_unit_head").post(f"/api/v1/applications/{app_id}/legal-hold",
                                        {"reason": "x"}).status_code == 403
    assert api.as_("sw_auditor").post(f"/api/v1/applications/{app_id}/legal-hold", {}).status_code == 422
    held = api.as_("sw_auditor").post(f"/api/v1/applications/{app_id}/legal-hold", {"reason": "訴願審理中"})
    assert held.status_code == 201
    assert held.get_json()["set_by"] == "sw_auditor" and held.get_json()["released_at"] is None
    assert api.as_("admin").post(f"/api/v1/applications/{app_id}/legal-hold",
                                 {"reason": "again"}).status_code == 409
    released = api.as_("admin").post(f"/api/v1/applications/{app_id}/legal-hold/release", {"reason": "已決定"})
    assert released.status_code == 200 and released.get_json()["released_by"] == "admin"
    assert api.as_("admin").post(f"/api/v1/applications/{app_id}/legal-hold/release",
                                 {"reason": "again"}).status_code == 409
    assert api.as_("admin").post("/api/v1/applications/999999/legal-hold", {"reason": "x"}).status_code == 404
