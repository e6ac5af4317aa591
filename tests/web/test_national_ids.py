"""National ID numbers: masked in every API answer, revealed only to a step's people with a recorded reason."""

from tests.conftest import QUERIER_ADD, REGISTRATION

SUBJECT = REGISTRATION["subject_national_id"]  # E123456783
MASKED = "E12****783"


def file_registration(api) -> int:
    filed = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration", "data": REGISTRATION})
    assert filed.status_code == 201
    return filed.get_json()["id"]


def test_the_api_masks_id_numbers_for_every_viewer_as_the_pages_do(api):
    app_id = file_registration(api)
    for username in ("labor_clerk", "it_clerk", "sw_auditor", "applicant", "admin"):  # city-wide clerks too
        response = api.as_(username).get(f"/api/v1/applications/{app_id}")
        assert response.status_code == 200
        assert response.get_json()["data"]["subject_national_id"] == MASKED
        assert SUBJECT not in response.get_data(as_text=True)
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    detail = api.as_("sw_unit_head").get(f"/api/v1/tasks/{task['id']}")
    assert detail.get_json()["application"]["data"]["subject_national_id"] == MASKED
    assert SUBJECT not in detail.get_data(as_text=True)
    listed = api.as_("labor_clerk").get("/api/v1/applications?per_page=200").get_data(as_text=True)
    assert SUBJECT not in listed


def test_an_amendment_that_leaves_the_masked_number_keeps_the_filed_one(api, session):
    filed = api.as_("sw_staff").post("/api/v1/applications", {"form": "querier_account", "data": QUERIER_ADD})
    app_id = filed.get_json()["id"]
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    api.as_("sw_unit_head").post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "return", "opinion": "請補正"})
    data = api.as_("sw_staff").get(f"/api/v1/applications/{app_id}").get_json()["data"]
    assert data["national_id"] == "A12****789"
    amended = api.as_("sw_staff").post(f"/api/v1/applications/{app_id}/amend",
                                       {"data": {**data, "phone": "07-3368334"}})
    assert amended.status_code == 200, amended.get_json()
    from models import Application
    stored = session.get(Application, app_id).data
    assert (stored["national_id"], stored["phone"]) == ("A123456789", "07-3368334")
