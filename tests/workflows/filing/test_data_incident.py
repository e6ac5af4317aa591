"""A personal-data incident (001 §12(10)) walked through the JSON API as the demo people.

The agency records it; 勞保局 has it in its inbox at once (通報), while the agency manager investigates
(責任釐清, 防免損害擴大之對策, 調查報告); the agency head reviews the report and 勞保局 receives it (提供相關資料).
"""

from __future__ import annotations

from workflows.forms import FORMS

INCIDENT = {
    "occurred_on": "2026-11-24", "suspected": True, "description": "列印之查詢結果遺留於影印機，經他科同仁拾獲",
    "data_involved": "C0101 被保險人投保資料 1 筆", "people_affected": 1,
    "emergency_measures": "立即收回文件並確認無複製，通知當事人",
}
INVESTIGATION = {
    "cause": "列印後未即時取件", "responsibility": "查詢者未依 001 第九點第一款第三目密件保存",
    "countermeasures": "改為電子檔加密保存，停用共用影印機列印", "report": "詳如調查報告", "closed_on": "2026-12-01",
}


def task_of(client, app_id):
    return next(t for t in client.get("/api/v1/tasks").get_json() if t["application"] == app_id)


def approve(client, app_id, step, data=None):
    task = task_of(client, app_id)
    assert task["step"] == step
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", {"decision": "approve", "data": data or {}})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_form_cites_its_clause():
    assert FORMS["data_incident"].source == "001 第十二點第十款"


def test_an_incident_reaches_the_bureau_at_once_and_closes_with_the_investigation_report(api):
    filed = api.as_("applicant").post("/api/v1/applications", {"form": "data_incident", "data": INCIDENT})
    assert filed.status_code == 201, filed.get_json()
    app_id = filed.get_json()["id"]
    bureau, manager = api.as_("bli_liaison"), api.as_("manager")
    # At once: 勞保局's liaison and the agency manager each hold a step; nobody waits for the other.
    assert task_of(bureau, app_id)["step"] == "bureau_notified"
    assert task_of(manager, app_id)["step"] == "manager_investigation"
    # The investigation cannot close without its report.
    task = task_of(manager, app_id)
    missing = manager.post(f"/api/v1/tasks/{task['id']}/complete",
                           {"decision": "approve", "data": {**INVESTIGATION, "report": ""}})
    assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"report"}
    approve(bureau, app_id, "bureau_notified")
    approve(manager, app_id, "manager_investigation", INVESTIGATION)
    approve(api.as_("sw_head"), app_id, "agency_head_ack")
    done = approve(bureau, app_id, "bureau_report")
    assert done["state"] == "completed"
    history = api.as_("applicant").get(f"/api/v1/applications/{app_id}").get_json()["history"]
    assert [(h["actor"], h["step"]) for h in history] == [
        ("applicant", "start"), ("bli_liaison", "bureau_notified"), ("manager", "manager_investigation"),
        ("sw_head", "agency_head_ack"), ("bli_liaison", "bureau_report")]
    assert history[2]["data"]["report"] == "詳如調查報告"


def test_another_agency_does_not_see_the_incident(api):
    app_id = api.as_("applicant").post("/api/v1/applications",
                                       {"form": "data_incident", "data": INCIDENT}).get_json()["id"]
    assert api.as_("ep_manager").get(f"/api/v1/applications/{app_id}").status_code == 404
    assert not [t for t in api.as_("ep_manager").get("/api/v1/tasks").get_json() if t["application"] == app_id]
