"""No script from our responses, wherever it comes from: diagram XML is a download, pages carry a strict policy,
spreadsheet cells are never formulas. Through the Flask test client on the real database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from workflows.editor.deploy import deploy_version
from workflows.editor.drafts import save_draft

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "kaohsiung"
QUERIER = (BPMN_DIR / "querier_account.bpmn").read_bytes()
# An XHTML script passes the diagram checks (it is foreign markup, not a BPMN element); rendered as XML, it would run.
XHTML_SCRIPT = QUERIER.replace(
    b"</bpmn:definitions>",
    b'<html:script xmlns:html="http://www.w3.org/1999/xhtml">window.__xss = 1</html:script></bpmn:definitions>')


def login(client, username: str):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def assert_download(response, filename: str, body: bytes) -> None:
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename={filename}"
    assert response.mimetype == "application/octet-stream"  # no browser renders it, let alone runs it
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.data == body


def test_diagram_xml_is_a_download_on_every_route(app, api, session, person):
    now = datetime.now(UTC)
    deploy_version(session, XHTML_SCRIPT, key="querier_account", actor=person("admin"), now=now, note="x",
                   jurisdiction="kaohsiung")
    draft = save_draft(session, key="querier_account", xml=XHTML_SCRIPT, base_version=1, note=None,
                       actor=person("admin"), now=now)

    viewer = login(app.test_client(), "sw_staff")
    assert_download(viewer.get("/definitions/querier_account/versions/2.bpmn"), "querier_account-v2.bpmn",
                    XHTML_SCRIPT)
    admin = login(app.test_client(), "admin")
    assert_download(admin.get(f"/editor/drafts/{draft.id}.bpmn"), f"querier_account-draft-{draft.id}.bpmn",
                    XHTML_SCRIPT)
    assert_download(api.as_("applicant").get("/api/v1/process-definitions/querier_account/versions/2/xml"),
                    "querier_account-v2.bpmn", XHTML_SCRIPT)
