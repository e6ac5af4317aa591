"""The audit trail through the API: each reader sees the agencies they answer for, no more."""

from tests.conftest import ITEMS_CHANGE, REGISTRATION

LABOUR_ITEMS = {**ITEMS_CHANGE, "name": "鄭羽彤", "add_items": ["C0301"], "remove_items": []}


def file_in_two_agencies(api) -> tuple[int, int]:
    """A 社會局 query registration and a 勞工局 query-item change, each with its own trail."""
    social = api.as_("applicant").post("/api/v1/applications", {"form": "query_registration", "data": REGISTRATION})
    labour = api.as_("labor_manager").post("/api/v1/applications",
                                           {"form": "query_items_change", "data": LABOUR_ITEMS})
    assert social.status_code == labour.status_code == 201, (social.get_json(), labour.get_json())
    return social.get_json()["id"], labour.get_json()["id"]


def subjects(page: dict) -> set[tuple[str, int | None]]:
    return {(e["subject_type"], e["subject_id"]) for e in page["items"]}


def test_an_agency_auditor_reads_only_their_agencys_events(api):
    social, labour = file_in_two_agencies(api)
    [task] = api.as_("sw_unit_head").get("/api/v1/tasks").get_json()
    assert api.as_("sw_unit_head").post(f"/api/v1/tasks/{task['id']}/complete",
                                        {"decision": "approve"}).status_code == 200

    page = api.as_("sw_auditor").get("/api/v1/audit-events?per_page=200").get_json()
    assert ("application", labour) not in subjects(page)
    assert {("application", social), ("human_task", task["id"])} <= subjects(page)
    assert page["total"] == len(page["items"])
    assert api.as_("sw_auditor").get(f"/api/v1/audit-events?subject_type=application&subject_id={labour}"
                                     ).get_json()["total"] == 0
    assert api.as_("sw_auditor").get("/api/v1/audit-events?event_type=definition_deployed").get_json()["total"] == 0

    city = subjects(api.as_("labor_clerk").get("/api/v1/audit-events?per_page=200").get_json())
    assert {("application", social), ("application", labour)} <= city  # 勞工局 staff: the whole city
    everything = api.as_("admin").get("/api/v1/audit-events?event_type=definition_deployed").get_json()
    assert everything["total"] > 0
    for outsider in ("manager", "applicant", "ep_unit_head"):
        assert api.as_(outsider).get("/api/v1/audit-events").status_code == 403
