"""Attachments over HTTP: the JSON API and the pages, real files made in the test, content-checked, size-limited,
downloaded as attachments of their detected type by whoever may see the application, never in an export."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from dataclasses import replace

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests import files
from tests.conftest import REGISTRATION, registration
from tests.web.test_pages import form_data, login
from tests.web.test_sheets import pdf_text
from workflows import forms, settings


def draft(api_user, data: bytes, name: str):
    return api_user.client.post(f"/api/v1/attachments?name={name}", data=data, headers=api_user.headers,
                                content_type="application/octet-stream")


def file_with(api_user, ids):
    filed = api_user.post("/api/v1/applications", {"form": "query_registration", "data": REGISTRATION,
                                                   "attachments": ids})
    assert filed.status_code == 201, filed.get_json()
    return filed.get_json()["id"]


@pytest.fixture
def filed(api):
    """A registration filed with a signed consent (PDF) uploaded as a draft first."""
    applicant = api.as_("applicant")
    content = files.pdf("consent")
    uploaded = draft(applicant, content, "同意書.pdf")
    assert uploaded.status_code == 201, uploaded.get_json()
    return applicant, file_with(applicant, [uploaded.get_json()["id"]]), uploaded.get_json(), content


def test_a_filing_carries_its_draft_and_the_application_names_it_by_name_and_hash(filed, api):
    applicant, app_id, uploaded, content = filed
    assert uploaded["media_type"] == "application/pdf" and uploaded["sha256"] == hashlib.sha256(content).hexdigest()
    assert uploaded["url"] is None  # a draft is fetched by nobody but its uploader, through the filing
    body = applicant.get(f"/api/v1/applications/{app_id}").get_json()
    [listed] = body["attachments"]
    assert (listed["name"], listed["sha256"], listed["size"]) == ("同意書.pdf", uploaded["sha256"], len(content))
    assert listed["url"] == f"/api/v1/applications/{app_id}/attachments/{uploaded['id']}"
    text = applicant.get(f"/api/v1/applications/{app_id}").text
    assert "%PDF" not in text and base64.b64encode(content).decode()[:40] not in text
    assert applicant.get("/api/v1/attachments").get_json() == []  # no longer a draft


def test_whoever_may_see_it_downloads_it_as_an_attachment_of_its_type_and_others_get_404(filed, api):
    _, app_id, uploaded, content = filed
    url = f"/api/v1/applications/{app_id}/attachments/{uploaded['id']}"
    got = api.as_("sw_unit_head").get(url)
    assert got.status_code == 200 and got.data == content
    assert got.mimetype == "application/pdf" and got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%90%8C%E6%84%8F%E6%9B%B8.pdf" in got.headers["Content-Disposition"]
    for outsider in ("ep_querier", "sw_staff"):
        assert api.as_(outsider).get(url).status_code == 404
        assert api.as_(outsider).get(f"/api/v1/applications/{app_id}/attachments").status_code == 404
    events = api.as_("admin").get("/api/v1/audit-events?event_type=attachment_read").get_json()["items"]
    assert [(e["actor"], e["payload"]["sha256"]) for e in events] == [("sw_unit_head", uploaded["sha256"])]


def test_a_renamed_program_is_refused_with_the_reason_in_chinese(api):
    refused = draft(api.as_("applicant"), files.exe(), "consent.pdf")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "application/x-msdownload" in refused.get_json()["errors"]["file"]
    assert "只接受 PDF、JPEG 或 PNG" in refused.get_json()["errors"]["file"]


def test_over_the_limit_is_a_422_naming_it_and_far_over_a_413(app, api, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)
    monkeypatch.setattr(settings.SETTINGS, "attachment_max_bytes", 4096)
    applicant = api.as_("applicant")
    over = draft(applicant, files.pdf("x" * 5000), "big.pdf")
    assert over.status_code == 422 and "超過上限" in over.get_json()["errors"]["file"]
    far = draft(applicant, files.pdf("x" * 200_000), "huge.pdf")
    assert far.status_code == 413 and far.get_json()["detail"] == "送出的檔案超過上限 4 KB，請壓縮或分頁掃描後再上傳"
    page = login(app.test_client(), "applicant").post(
        "/applications/1/attachments", **multipart({"file": FileStorage(io.BytesIO(b"x" * 200_000), "a.pdf")}))
    assert page.status_code == 413 and "送出的檔案超過上限 4 KB" in page.text
    # Only the upload routes take more than MAX_CONTENT_LENGTH: filing JSON of 2 MB is still refused.
    big_json = applicant.post("/api/v1/applications", {"form": "query_registration",
                                                        "data": registration(reason="x" * 2_000_000)})
    assert big_json.status_code == 413


def test_the_step_holder_uploads_at_the_step_as_multipart_and_withdraws_before_deciding(filed, api):
    _, app_id, _, _ = filed
    head = api.as_("sw_unit_head")
    sent = head.client.post(f"/api/v1/applications/{app_id}/attachments?label=核章",
                            data={"file": (io.BytesIO(files.jpeg()), "stamp.jpg")}, headers=head.headers,
                            content_type="multipart/form-data")
    assert sent.status_code == 201, sent.get_json()
    added = sent.get_json()
    assert (added["media_type"], added["step"], added["removable"]) == ("image/jpeg", "單位主管核可", True)
    applicant = api.as_("applicant")
    not_now = applicant.client.post(f"/api/v1/applications/{app_id}/attachments?name=a.png", data=files.png(),
                                    headers=applicant.headers, content_type="image/png")
    assert not_now.status_code == 403  # the chain is running: not theirs to amend
    url = f"/api/v1/applications/{app_id}/attachments/{added['id']}"
    assert applicant.client.delete(url, headers=applicant.headers).status_code == 403
    assert head.client.delete(url, headers=head.headers).status_code == 204
    assert head.client.delete(url, headers=head.headers).status_code == 409
    assert head.get(url).status_code == 404
    [_, withdrawn] = head.get(f"/api/v1/applications/{app_id}/attachments").get_json()
    assert withdrawn["removed_at"] and withdrawn["url"] is None


def test_exports_list_name_and_hash_never_the_content(filed, app, tmp_path):
    _, app_id, uploaded, content = filed
    head = login(app.test_client(), "sw_unit_head")
    text = head.get("/applications/export.csv?sort=id").text.lstrip("\ufeff")
    rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
    assert rows[str(app_id)][-2] == f"同意書.pdf {uploaded['sha256']}"  # the last column: the sheet's rows
    assert "%PDF" not in text
    xlsx = head.get("/applications/export.xlsx").data
    assert b"%PDF" not in xlsx
    sheet = head.get(f"/applications/{app_id}/sheet.pdf")
    printed = "".join(pdf_text(sheet.data, tmp_path, "sheet").split())
    assert "同意書.pdf" in printed and uploaded["sha256"] in printed
    assert "consent" not in printed  # the file's own text is never printed


@pytest.fixture
def consent_form(monkeypatch):
    spec = forms.FORMS["query_registration"]
    field = forms.Field("consent", "當事人同意書", "attachment", required=True, required_when=("item", ("C0101",)))
    monkeypatch.setitem(forms.FORMS, "query_registration", replace(spec, fields=(*spec.fields, field)))


def test_the_filing_page_takes_the_file_with_the_form_and_keeps_it_across_a_refusal(app, api, consent_form):
    client = login(app.test_client(), "applicant")
    page = client.get("/applications/new/query_registration").text
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page and 'name="consent"' in page
    refused = client.post("/applications/new/query_registration", content_type="multipart/form-data", data={
        **form_data(registration(reason="")), "consent": (io.BytesIO(files.pdf()), "同意書.pdf")})
    assert refused.status_code == 200 and "同意書.pdf" in refused.text  # the file is kept, the form asks again
    kept = refused.text.split('name="consent__kept" value="')[1].split('"')[0]
    sent = client.post("/applications/new/query_registration", content_type="multipart/form-data",
                       data={**form_data(REGISTRATION), "consent__kept": kept,
                             "attachments": (io.BytesIO(files.png()), "photo.png")})
    assert sent.status_code == 302, sent.text
    app_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    listed = api.as_("applicant").get(f"/api/v1/applications/{app_id}").get_json()
    assert {(a["name"], a["field"]) for a in listed["attachments"]} == {("同意書.pdf", "consent"),
                                                                         ("photo.png", None)}
    assert listed["data"]["consent"] == [int(kept)]
    detail = client.get(f"/applications/{app_id}").text
    assert "同意書.pdf" in detail and f"/applications/{app_id}/attachments/" in detail


def test_a_program_on_the_filing_page_is_refused_and_nothing_is_filed(app, api, consent_form):
    client = login(app.test_client(), "applicant")
    refused = client.post("/applications/new/query_registration", content_type="multipart/form-data", data={
        **form_data(REGISTRATION), "consent": (io.BytesIO(files.exe()), "consent.pdf")})
    assert refused.status_code == 200 and "只接受 PDF、JPEG 或 PNG" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert api.as_("applicant").get("/api/v1/applications?form=query_registration").get_json()["total"] == 0


def test_the_step_page_uploads_at_the_step_and_the_download_page_route_follows_visibility(filed, app):
    _, app_id, uploaded, content = filed
    head = login(app.test_client(), "sw_unit_head")
    task_id = api_task(app, app_id)
    page = head.get(f"/tasks/{task_id}").text
    assert f'action="/applications/{app_id}/attachments"' in page and 'for="attachment-file"' in page
    sent = head.post(f"/applications/{app_id}/attachments", content_type="multipart/form-data", data={
        "file": (io.BytesIO(files.png()), "scan.png"), "label": "補件", "task": str(task_id),
        "next": f"/tasks/{task_id}"})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/tasks/{task_id}")
    assert "scan.png" in head.get(f"/tasks/{task_id}").text
    got = head.get(f"/applications/{app_id}/attachments/{uploaded['id']}")
    assert got.data == content and got.headers["Content-Disposition"].startswith("attachment;")
    outsider = login(app.test_client(), "ep_querier")
    assert outsider.get(f"/applications/{app_id}/attachments/{uploaded['id']}").status_code == 404


def api_task(app, app_id: int) -> int:
    from tests.conftest import ApiClient

    body = ApiClient(app).as_("sw_unit_head").get(f"/api/v1/applications/{app_id}").get_json()
    return body["current_tasks"][0]["id"]


def multipart(values: dict) -> dict:
    """A large multipart body encoded in memory (the test client would spool it to a file it never closes)."""
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def test_the_filing_page_takes_a_large_body_only_as_files(app, consent_form):
    client = login(app.test_client(), "applicant")
    url = "/applications/new/query_registration"
    as_text = client.post(url, **multipart(form_data(registration(reason="x" * 2_000_000))))
    assert as_text.status_code == 413  # beside the files, the fields keep the form limit
    scan = files.pdf("y" * 1_500_000)  # over the 1 MB of any other body, within ATTACHMENT_MAX_BYTES
    as_file = client.post(url, **multipart({**form_data(REGISTRATION),
                                            "consent": FileStorage(io.BytesIO(scan), "scan.pdf")}))
    assert as_file.status_code == 302, as_file.text


@pytest.fixture
def scan_step(monkeypatch):
    review = forms.STEP_FORMS["review"]
    field = forms.Field("scan", "核章掃描檔", "attachment", required=True, required_when=("decision", ("approve",)))
    monkeypatch.setitem(forms.STEP_FORMS, "review", replace(review, fields=(field,)))


def test_the_task_page_takes_the_steps_file_with_the_decision(filed, app, api, scan_step):
    _, app_id, _, _ = filed
    task_id = api_task(app, app_id)
    head = login(app.test_client(), "sw_unit_head")
    page = head.get(f"/tasks/{task_id}").text
    assert 'enctype="multipart/form-data"' in page and 'name="scan"' in page
    decided = head.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "decision": "approve", "opinion": "", "scan": (io.BytesIO(files.png()), "核章.png")})
    assert decided.status_code == 302, decided.text
    body = api.as_("sw_unit_head").get(f"/api/v1/applications/{app_id}").get_json()
    scan = next(a for a in body["attachments"] if a["name"] == "核章.png")
    assert scan["field"] == "scan" and body["history"][-1]["data"]["scan"] == [scan["id"]]
