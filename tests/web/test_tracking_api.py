"""Tracking over real HTTP: the list and dashboard API, CSV / Excel export, the diagram XML and trail.json.

The web layer reads the wall clock, so the applications are filed and decided at known offsets before the
real now (BASE); waits are then those offsets plus the few seconds the test takes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Agency, DefinitionVersion, HumanTask, Person, ProcessDefinition, TaskState
from tests.conftest import ITEMS_CHANGE, QUERIER_ADD, REGISTRATION, SUBJECT, registration
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

EXPORT_HEADER = ["案號", "表單", "申請人", "機關", "單位", "狀態", "目前步驟", "目前承辦人", "等待天數", "申請日期",
                 "結案日期", "附件（檔名 SHA-256）", "查調資料（逐筆；身分證字號遮蔽）"]
QUERIER_TITLE = "勞保 WebIR 資料查詢者帳號申請表"
NATIONAL_ID = re.compile(r"[A-Z][12]\d{8}")
APPROX = 0.01  # days: the seconds between seeding and the request


@dataclass
class Seeded:
    base: datetime
    a1: int  # querier_account at unit_head_review, 1 day
    a2: int  # querier_account at unit_head_review, 10 days
    b: int  # querier_account at agency_manager_setup for 5 days (filed 20 days ago)
    c: int  # query_registration by `applicant`, 2 days
    g: int  # query_items_change by `manager` (秘書室資訊小組), 8 days
    f: int  # query_registration by ep_querier (環保局), 40 days
    rejected: int  # querier_account rejected 29 days ago

    @property
    def social_welfare(self) -> set[int]:
        return {self.a1, self.a2, self.b, self.c, self.g, self.rejected}


@pytest.fixture
def seeded(session, person) -> Seeded:
    base = datetime.now(UTC)

    def file(username, form_key, data, days):
        return submit_application(session, form_key=form_key, data=dict(data), actor=person(username),
                                  now=base - timedelta(days=days)).id

    def decide(app_id, username, decision, days, opinion=""):
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id,
                                                            HumanTask.state == TaskState.OPEN))
        complete_task(session, task_id=task_id, actor=person(username), decision=decision, opinion=opinion,
                      now=base - timedelta(days=days))

    a1 = file("sw_staff", "querier_account", QUERIER_ADD, 1)
    a2 = file("sw_staff", "querier_account", QUERIER_ADD, 10)
    b = file("sw_staff", "querier_account", QUERIER_ADD, 20)
    decide(b, "sw_unit_head", "approve", 5)
    c = file("applicant", "query_registration", REGISTRATION, 2)
    g = file("manager", "query_items_change", ITEMS_CHANGE, 8)
    f = file("ep_querier", "query_registration", registration(
        case_number="115-環-0001", legal_basis="空氣污染防制法第三十二條及第六十七條"), 40)
    rejected = file("sw_staff", "querier_account", QUERIER_ADD, 30)
    decide(rejected, "sw_unit_head", "reject", 29, "無查詢需要")
    return Seeded(base, a1, a2, b, c, g, f, rejected)


def login(client, username: str):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302, response.text
    return client


def listed(api, username: str, query: str = "") -> list[int]:
    response = api.as_(username).get(f"/api/v1/applications?per_page=200{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["total"] == len(body["items"])
    return sorted(item["id"] for item in body["items"])


def agency_id(session, code: str) -> int:
    return session.scalar(select(Agency.id).where(Agency.code == code))


# --- GET /api/v1/applications ---------------------------------------------------------------------------------------

def test_application_list_shape(api, seeded):
    response = api.as_("sw_head").get("/api/v1/applications?sort=id")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"total", "page", "per_page", "items"}
    assert (body["total"], body["page"], body["per_page"]) == (6, 1, 50)
    assert [i["id"] for i in body["items"]] == sorted(seeded.social_welfare)
    item = next(i for i in body["items"] if i["id"] == seeded.b)
    assert set(item) == {"id", "form", "state", "applicant", "agency", "created_at", "waiting_since",
                         "current_tasks"}
    assert (item["form"], item["state"], item["applicant"], item["agency"]) == (
        "querier_account", "running", "吳佩珊", "高雄市政府社會局")
    assert datetime.fromisoformat(item["created_at"]) == seeded.base - timedelta(days=20)
    [task] = item["current_tasks"]
    assert (task["step"], task["name"], task["holders"]) == ("agency_manager_setup", "機關管理者設定帳號", ["王美玲"])
    assert datetime.fromisoformat(task["since"]) == seeded.base - timedelta(days=5)
    closed = next(i for i in body["items"] if i["id"] == seeded.rejected)
    assert (closed["state"], closed["current_tasks"], closed["waiting_since"]) == ("rejected", [], None)


def test_application_list_filters(api, session, seeded):
    s = seeded
    assert listed(api, "sw_head", "&form=query_registration") == [s.c]
    assert listed(api, "admin", "&form=query_registration") == sorted([s.c, s.f])
    assert listed(api, "sw_head", "&state=rejected") == [s.rejected]
    assert listed(api, "sw_head", "&state=running") == sorted([s.a1, s.a2, s.b, s.c, s.g])
    assert listed(api, "admin", f"&agency={agency_id(session, 'KHH-EP')}") == [s.f]
    assert listed(api, "sw_head", f"&agency={agency_id(session, 'KHH-EP')}") == []  # never widens
    assert listed(api, "sw_head", "&step=agency_manager_setup") == [s.b]
    assert listed(api, "sw_head", "&holder=manager") == [s.b]
    assert listed(api, "sw_head", "&holder=sw_it_head") == [s.g]
    assert listed(api, "sw_head", "&applicant=applicant") == [s.c]
    assert listed(api, "sw_head", "&applicant=吳佩珊&state=running&step=unit_head_review") == sorted([s.a1, s.a2])


def test_application_list_pages(api, seeded):
    head = api.as_("sw_head")
    pages = [head.get(f"/api/v1/applications?sort=id&per_page=4&page={n}").get_json() for n in (1, 2, 3)]
    assert [(p["total"], p["page"], p["per_page"], len(p["items"])) for p in pages] == [
        (6, 1, 4, 4), (6, 2, 4, 2), (6, 3, 4, 0)]
    assert [i["id"] for p in pages for i in p["items"]] == sorted(seeded.social_welfare)
    newest_first = head.get("/api/v1/applications?per_page=2").get_json()
    assert [i["id"] for i in newest_first["items"]] == sorted(seeded.social_welfare, reverse=True)[:2]
    clamped = head.get("/api/v1/applications?per_page=100000&page=0").get_json()
    assert (clamped["per_page"], clamped["page"]) == (200, 1)


def test_application_list_waiting_longer_than(api, seeded):
    s = seeded
    assert listed(api, "sw_head", "&waiting_longer_than=P7D") == sorted([s.a2, s.g])
    assert listed(api, "sw_head", "&waiting_longer_than=PT36H") == sorted([s.a2, s.b, s.c, s.g])
    assert listed(api, "admin", "&waiting_longer_than=P30D") == [s.f]
    item = api.as_("sw_head").get("/api/v1/applications?step=agency_manager_setup").get_json()["items"][0]
    assert datetime.fromisoformat(item["waiting_since"]) == s.base - timedelta(days=5)


@pytest.mark.parametrize("url, field", [
    ("/api/v1/applications?waiting_longer_than=P7X", "waiting_longer_than"),
    ("/api/v1/applications?waiting_longer_than=a%20week", "waiting_longer_than"),
    ("/api/v1/applications?waiting_longer_than=-1", "waiting_longer_than"),
    ("/api/v1/applications?form=nope", "form"),
    ("/api/v1/dashboard/steps?process=nope", "process"),
])
def test_bad_parameters_are_422_problems(api, url, field):
    response = api.as_("sw_head").get(url)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 422 and set(body["errors"]) == {field}


def test_tracking_api_needs_a_token(api):
    for url in ("/api/v1/applications", "/api/v1/dashboard/steps"):
        assert api.client.get(url).status_code == 401


@pytest.mark.parametrize("username, expected", [
    ("sw_staff", lambda s: {s.a1, s.a2, s.b, s.rejected}),
    ("applicant", lambda s: {s.c}),
    ("sw_unit_head", lambda s: s.social_welfare - {s.g}),
    ("manager", lambda s: s.social_welfare),
    ("sw_deputy", lambda s: s.social_welfare),
    ("labor_clerk", lambda s: s.social_welfare | {s.f}),
    ("it_clerk", lambda s: s.social_welfare | {s.f}),
    ("ep_head", lambda s: {s.f}),
    ("yb_querier", lambda s: set()),
])
def test_the_list_shows_each_person_their_share(api, seeded, username, expected):
    assert listed(api, username) == sorted(expected(seeded))


# --- GET /api/v1/dashboard/steps ----------------------------------------------------------------------------------

def test_dashboard_steps_figures(api, session, seeded):
    s = seeded
    head = api.as_("sw_head")
    before = datetime.now(UTC)
    body = head.get("/api/v1/dashboard/steps").get_json()
    after = datetime.now(UTC)
    assert set(body) == {"steps", "ageing", "stuck"}
    assert set(body["steps"][0]) == {"process", "version", "step", "name", "role", "waiting", "median_days",
                                     "p95_days", "oldest_days", "oldest_application"}
    got = [(x["process"], x["version"], x["step"], x["waiting"], x["oldest_application"]) for x in body["steps"]]
    assert got == [
        ("querier_account", 1, "agency_manager_setup", 1, s.b),
        ("querier_account", 1, "unit_head_review", 2, s.a2),
        ("query_items_change", 1, "unit_head_review", 1, s.g),
        ("query_registration", 1, "unit_head_review", 1, s.c),
    ]
    figures = [(x["median_days"], x["p95_days"], x["oldest_days"]) for x in body["steps"]]
    # unit_head_review of querier_account waits 1 and 10 days: median 5.5, p95 the 2nd of 2.
    assert figures == [(pytest.approx(5, abs=APPROX),) * 3,
                       (pytest.approx(5.5, abs=APPROX), pytest.approx(10, abs=APPROX), pytest.approx(10, abs=APPROX)),
                       (pytest.approx(8, abs=APPROX),) * 3, (pytest.approx(2, abs=APPROX),) * 3]
    assert body["ageing"] == {"<3": 2, "3-7": 1, "7-30": 2, ">30": 0}
    assert [x["application"] for x in body["stuck"]] == [s.a2, s.g, s.b, s.c, s.a1]
    assert [x["days"] for x in body["stuck"]] == [pytest.approx(d, abs=APPROX) for d in (10, 8, 5, 2, 1)]
    for entry in body["stuck"]:
        due = session.scalar(select(HumanTask.due_at).where(HumanTask.application_id == entry["application"],
                                                            HumanTask.state == TaskState.OPEN))
        late = (after - due).total_seconds() / 86400
        if due < before:
            assert entry["overdue_days"] == pytest.approx(late, abs=APPROX), entry
        elif due > after:
            assert entry["overdue_days"] is None, entry
    assert body["stuck"][-1]["overdue_days"] is None  # one day into a three-working-day step
    assert body["stuck"][0]["step_name"] == "單位主管核准"


def test_dashboard_steps_filters_and_visibility(api, session, seeded):
    s = seeded
    querier = api.as_("sw_head").get("/api/v1/dashboard/steps?process=querier_account").get_json()
    assert [(x["step"], x["waiting"]) for x in querier["steps"]] == [("agency_manager_setup", 1),
                                                                       ("unit_head_review", 2)]
    ep = agency_id(session, "KHH-EP")
    city = api.as_("labor_clerk").get(f"/api/v1/dashboard/steps?agency={ep}").get_json()
    assert [(x["process"], x["waiting"], x["oldest_application"]) for x in city["steps"]] == [
        ("query_registration", 1, s.f)]
    assert city["ageing"] == {"<3": 0, "3-7": 0, "7-30": 0, ">30": 1}
    assert api.as_("sw_head").get(f"/api/v1/dashboard/steps?agency={ep}").get_json()["steps"] == []
    unit = api.as_("sw_unit_head").get("/api/v1/dashboard/steps").get_json()
    assert s.g not in {x["application"] for x in unit["stuck"]}
    stranger = api.as_("yb_querier").get("/api/v1/dashboard/steps").get_json()
    assert stranger == {"steps": [], "ageing": {"<3": 0, "3-7": 0, "7-30": 0, ">30": 0}, "stuck": []}


# --- CSV and Excel export -----------------------------------------------------------------------------------------

def all_national_ids(session) -> set[str]:
    ids = {QUERIER_ADD["national_id"], SUBJECT}
    return ids | set(session.scalars(select(Person.national_id).where(Person.national_id.is_not(None))))


def test_csv_export(client, session, seeded):
    login(client, "sw_head")
    response = client.get("/applications/export.csv?sort=id")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=applications-")
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == EXPORT_HEADER
    assert [int(r[0]) for r in rows[1:]] == sorted(seeded.social_welfare)  # one row per visible application
    assert all(len(r) == len(EXPORT_HEADER) for r in rows)
    row = next(r for r in rows[1:] if int(r[0]) == seeded.b)
    assert row[1:8] == [QUERIER_TITLE, "吳佩珊", "高雄市政府社會局", "社會救助科", "審核中", "機關管理者設定帳號",
                        "王美玲"]
    assert re.fullmatch(r"1\d\d年\d\d月\d\d日", row[9]) and row[10] == ""
    assert row[12] == ""  # not a 查調資料登記表: no rows
    sheet = next(r for r in rows[1:] if int(r[0]) == seeded.c)  # its one row: line, date, subject, masked number, item
    assert sheet[12] == "1. 115年11月25日 陳小明 E12****783 C0101"
    closed = next(r for r in rows[1:] if int(r[0]) == seeded.rejected)
    assert (closed[5], closed[6], closed[7], closed[8]) == ("不同意結案", "", "", "")
    assert re.fullmatch(r"1\d\d年\d\d月\d\d日", closed[10])
    # No national ID of anyone, applicant or subject, in any cell.
    assert not NATIONAL_ID.search(text)
    assert not any(nid in text for nid in all_national_ids(session))


def test_csv_export_follows_the_search_filters_and_visibility(app, seeded):
    head = login(app.test_client(), "sw_head")
    rows = list(csv.reader(io.StringIO(head.get("/applications/export.csv?form=query_registration").text[1:])))
    assert [int(r[0]) for r in rows[1:]] == [seeded.c]
    stranger = login(app.test_client(), "yb_querier")
    assert list(csv.reader(io.StringIO(stranger.get("/applications/export.csv").text[1:]))) == [EXPORT_HEADER]
    ep = login(app.test_client(), "ep_head")
    assert [r[0] for r in csv.reader(io.StringIO(ep.get("/applications/export.csv").text[1:]))][1:] == [str(seeded.f)]


def test_export_gives_the_days_waited(client, seeded):
    login(client, "sw_head")
    rows = {int(r[0]): r for r in list(csv.reader(io.StringIO(client.get("/applications/export.csv").text[1:])))[1:]}
    assert (rows[seeded.b][8], rows[seeded.a2][8], rows[seeded.rejected][8]) == ("5.0", "10.0", "")


def test_xlsx_export(client, session, seeded):
    login(client, "sw_unit_head")
    response = client.get("/applications/export.xlsx?sort=id")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.active
    assert sheet.title == "申請案件"
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == EXPORT_HEADER
    # The unit head sees 社會救助科's applications, not manager's (秘書室資訊小組).
    assert [r[0] for r in rows[1:]] == sorted(seeded.social_welfare - {seeded.g})
    row = next(r for r in rows[1:] if r[0] == seeded.a2)
    assert row[1:8] == [QUERIER_TITLE, "吳佩珊", "高雄市政府社會局", "社會救助科", "審核中", "單位主管核准", "陳志明"]
    cells = " ".join(str(c) for r in rows for c in r if c is not None)
    assert not NATIONAL_ID.search(cells)
    assert not any(nid in cells for nid in all_national_ids(session))


# --- the diagram XML and the trail ---------------------------------------------------------------------------------

def test_diagram_xml_is_cached_by_etag(client, session):
    login(client, "sw_staff")
    stored = session.scalar(select(DefinitionVersion).join(ProcessDefinition).where(
        ProcessDefinition.key == "querier_account", DefinitionVersion.version == 1))
    first = client.get("/definitions/querier_account/versions/1.bpmn")
    assert first.status_code == 200 and first.mimetype == "application/octet-stream"
    assert first.data == stored.bpmn_xml and b'id="unit_head_review"' in first.data
    assert first.headers["ETag"] == f'"{stored.sha256}"'
    assert "private" in first.headers["Cache-Control"] and "max-age=86400" in first.headers["Cache-Control"]
    again = client.get("/definitions/querier_account/versions/1.bpmn", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    stale = client.get("/definitions/querier_account/versions/1.bpmn", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.data == stored.bpmn_xml
    assert client.get("/definitions/querier_account/versions/99.bpmn").status_code == 404
    assert client.get("/definitions/nope/versions/1.bpmn").status_code == 404


def test_trail_json(client, session, seeded):
    login(client, "sw_staff")
    before = datetime.now(UTC)
    body = client.get(f"/applications/{seeded.b}/trail.json").get_json()
    after = datetime.now(UTC)
    assert body["xml"] == "/definitions/querier_account/versions/1.bpmn"
    assert {"start", "unit_head_review"} <= set(body["done"]) and "agency_manager_setup" not in body["done"]
    assert all(isinstance(f, list) and len(f) == 2 for f in body["flows"])
    [current] = body["current"]
    assert (current["step"], current["name"], current["role"], current["holders"]) == (
        "agency_manager_setup", "機關管理者設定帳號", "機關管理者", ["王美玲"])
    assert datetime.fromisoformat(current["since"]) == seeded.base - timedelta(days=5)
    assert current["since_text"].endswith("（5 天）")
    due = session.scalar(select(HumanTask.due_at).where(HumanTask.application_id == seeded.b,
                                                        HumanTask.state == TaskState.OPEN))
    assert current["overdue_days"] in {(t - due).days if due < t else None for t in (before, after)}
    a1 = client.get(f"/applications/{seeded.a1}/trail.json").get_json()
    assert [(c["step"], c["holders"], c["overdue_days"]) for c in a1["current"]] == [
        ("unit_head_review", ["陳志明"], None)]
    assert set(a1["done"]) == {"start"}


def test_a_stranger_gets_404_for_trail_and_detail(app, seeded):
    for username in ("yb_querier", "ep_head", "sw_it_head"):
        stranger = login(app.test_client(), username)
        assert stranger.get(f"/applications/{seeded.a2}/trail.json").status_code == 404
        assert stranger.get(f"/applications/{seeded.a2}").status_code == 404
    assert login(app.test_client(), "sw_it_head").get(f"/applications/{seeded.g}/trail.json").status_code == 200
    assert login(app.test_client(), "sw_unit_head").get(f"/applications/{seeded.a2}").status_code == 200
    assert app.test_client().get(f"/applications/{seeded.a2}/trail.json").status_code == 302  # log in first


def test_search_and_dashboard_pages_leave_out_what_a_stranger_may_not_see(app, seeded):
    stranger = login(app.test_client(), "yb_querier")
    page = stranger.get("/applications/").text
    assert "共 0 件" in page and "沒有符合條件的案件。" in page
    board = stranger.get("/dashboard?form=querier_account").text
    assert "目前沒有等待中的步驟。" in board and 'class="count-badge' not in board
    assert f"案號 {seeded.a2}" not in board
    head = login(app.test_client(), "sw_head")
    page = head.get("/applications/").text
    assert "共 6 件" in page and f'href="/applications/{seeded.f}"' not in page
    board = head.get("/dashboard?form=querier_account").text
    assert f"案號 {seeded.a2}" in board and f"案號 {seeded.f}" not in board
