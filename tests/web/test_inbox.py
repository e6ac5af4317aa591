"""The inbox over HTTP: rows that show the ask, bulk decisions, send-back and recall (API and pages)."""

from __future__ import annotations

from tests.conftest import MANAGER_ADD, registration

TO_DIRECTOR = ["sw_unit_head", "sw_head", "labor_clerk", "labor_chief"]


def login(client, username: str):
    response = client.post("/login", data={"username": username, "password": "demo"})
    assert response.status_code == 302
    return client


def file(api, username: str, form: str, data: dict) -> int:
    response = api.as_(username).post("/api/v1/applications", json={"form": form, "data": data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def task_of(api, username: str, application: int) -> int:
    rows = api.as_(username).get("/api/v1/tasks").get_json()
    return next(r["id"] for r in rows if r["application"] == application)


def approve(api, username: str, application: int):
    response = api.as_(username).post(f"/api/v1/tasks/{task_of(api, username, application)}/complete",
                                      json={"decision": "approve", "opinion": "同意"})
    assert response.status_code == 200, response.get_json()


def registrations(api, n: int) -> list[int]:
    return [file(api, "applicant", "query_registration", registration(case_number=f"115-社救-{i:04d}"))
            for i in range(1, n + 1)]


def test_the_task_list_shows_the_ask_masked_and_pages(api):
    apps = registrations(api, 3)
    head = api.as_("sw_unit_head")
    response = head.get("/api/v1/tasks?form=query_registration&per_page=2&sort=-id")
    rows = response.get_json()
    assert response.headers["X-Total-Count"] == "3" and [r["application"] for r in rows] == apps[:0:-1]
    key = {k["name"]: k["value"] for k in rows[0]["key"]}
    assert key["rows"] == "陳小明 E12****783 C0101 被保險人投保資料" and key["case_number"] == "115-社救-0003"
    assert "E123456783" not in response.get_data(as_text=True)
    assert rows[0]["bulk"] is True and rows[0]["due_at"]
    assert [r["application"] for r in head.get("/api/v1/tasks?q=115-社救-0002").get_json()] == [apps[1]]
    assert head.get("/api/v1/tasks?form=nope").status_code == 422
    assert head.get("/api/v1/tasks?page=x").status_code == 422


def test_bulk_decisions_report_each_row(api):
    apps = registrations(api, 3)
    head = api.as_("sw_unit_head")
    tasks = [task_of(api, "sw_unit_head", a) for a in apps]
    assert head.post(f"/api/v1/tasks/{tasks[2]}/complete", json={"decision": "approve"}).status_code == 200
    response = head.post("/api/v1/tasks/decisions", json={"task_ids": tasks, "decision": "approve",
                                                          "opinion": "核可"})
    body = response.get_json()
    assert response.status_code == 200 and body["decided"] == 2
    assert [r["status"] for r in body["results"]] == [200, 200, 409]
    for app in apps:
        assert api.as_("applicant").get(f"/api/v1/applications/{app}").get_json()["state"] == "completed"
    assert head.post("/api/v1/tasks/decisions", json={"task_ids": "1", "decision": "approve"}).status_code == 422
    assert head.post("/api/v1/tasks/decisions", json={"task_ids": [1], "decision": "return"}).status_code == 422


def test_send_back_over_the_api(api):
    app = file(api, "sw_staff", "manager_account", MANAGER_ADD)
    for username in TO_DIRECTOR:
        approve(api, username, app)
    director = api.as_("labor_director")
    task = task_of(api, "labor_director", app)
    page = director.get(f"/api/v1/tasks/{task}").get_json()
    assert [t["step"] for t in page["send_back_to"]][-2:] == ["authority_clerk_review",
                                                             "authority_section_head_review"]
    assert api.as_("labor_clerk").post(f"/api/v1/tasks/{task}/send-back", json={
        "to_step": "authority_clerk_review", "reason": "x"}).status_code == 403
    assert director.post(f"/api/v1/tasks/{task}/send-back", json={
        "to_step": "central_clerk_setup", "reason": "x"}).status_code == 422
    response = director.post(f"/api/v1/tasks/{task}/send-back", json={
        "to_step": "authority_clerk_review", "reason": "請補附佐證"})
    assert response.status_code == 200
    assert [t["step"] for t in response.get_json()["current_tasks"]] == ["authority_clerk_review"]
    assert director.post(f"/api/v1/tasks/{task}/send-back", json={
        "to_step": "authority_clerk_review", "reason": "again"}).status_code in (403, 409)
    history = api.as_("labor_clerk").get(f"/api/v1/applications/{app}").get_json()["history"]
    assert history[-1]["decision"] == "send_back" and history[-1]["data"]["round"] == 1


def test_recall_over_the_api_and_refused_once_the_next_person_acted(api):
    app = file(api, "sw_staff", "manager_account", MANAGER_ADD)
    approve(api, "sw_unit_head", app)
    assert api.as_("sw_head").post(f"/api/v1/applications/{app}/recall").status_code == 403
    response = api.as_("sw_unit_head").post(f"/api/v1/applications/{app}/recall", json={"reason": "漏看附件"})
    assert response.status_code == 200
    assert [t["step"] for t in response.get_json()["current_tasks"]] == ["unit_head_review"]
    approve(api, "sw_unit_head", app)
    approve(api, "sw_head", app)
    assert api.as_("sw_unit_head").post(f"/api/v1/applications/{app}/recall").status_code == 409


def test_the_inbox_page_shows_the_ask_and_decides_selected_rows(client, api):
    apps = registrations(api, 2)
    login(client, "sw_unit_head")
    page = client.get("/").get_data(as_text=True)
    assert "E12****783" in page and "E123456783" not in page and "115-社救-0001" in page
    assert 'id="bulk"' in page and 'form="bulk"' in page and "鍵盤快速鍵" in page
    assert "<caption" in page and 'scope="col"' in page
    found = client.get("/?q=115-社救-0002").get_data(as_text=True)
    assert "115-社救-0002" in found and "115-社救-0001" not in found
    tasks = [task_of(api, "sw_unit_head", a) for a in apps]
    response = client.post("/tasks/decisions", data={"task_ids": [str(t) for t in tasks], "decision": "approve",
                                                     "opinion": "核可", "next": "/?form=query_registration"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/?form=query_registration")
    assert "已批次決定 2 件" in client.get("/").get_data(as_text=True)


def test_the_task_and_application_pages_offer_send_back_and_recall(client, api):
    app = file(api, "sw_staff", "manager_account", MANAGER_ADD)
    for username in TO_DIRECTOR:
        approve(api, username, app)
    login(client, "labor_director")
    task = task_of(api, "labor_director", app)
    page = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'name="to_step"' in page and "勞工局承辦人審核" in page
    response = client.post(f"/tasks/{task}/send-back", data={"to_step": "authority_clerk_review", "reason": ""})
    assert response.status_code == 302  # back to the task page with the error
    assert "請說明退回理由" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(f"/tasks/{task}/send-back", data={"to_step": "authority_clerk_review", "reason": "請補件"})
    detail = client.get(f"/applications/{app}").get_data(as_text=True)
    assert "退回至「勞工局承辦人審核」（第 1 輪）" in detail and 'data-kind="send_back"' in detail

    clerk = login(client.application.test_client(), "labor_clerk")
    approve(api, "labor_clerk", app)
    page = clerk.get(f"/applications/{app}").get_data(as_text=True)
    assert "取回我的決定" in page
    response = clerk.post(f"/applications/{app}/recall", data={"reason": ""})
    assert response.status_code == 302
    assert "已取回" in clerk.get("/").get_data(as_text=True)


def test_each_inbox_row_prints_its_cells_in_chinese_and_in_english(client, api, monkeypatch):
    """The cells a row prints (formatted once per page in web.inbox.inbox_rows_html): the checkbox's label, the ask,
    the task link, the times as ROC dates (ISO in English), the days waited and, once past due, 逾期."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from web import clock

    app = registrations(api, 1)[0]
    row = next(r for r in api.as_("sw_unit_head").get("/api/v1/tasks?form=query_registration").get_json()
               if r["application"] == app)
    taipei = ZoneInfo("Asia/Taipei")
    since = datetime.fromisoformat(row["since"]).astimezone(taipei)
    due = datetime.fromisoformat(row["due_at"]).astimezone(taipei)
    later = datetime.fromisoformat(row["due_at"]) + timedelta(days=1, hours=1)
    waited = (later - datetime.fromisoformat(row["since"])).days
    monkeypatch.setattr(clock, "now", lambda: later)

    def cells(page: str) -> str:
        start = page.index(f'<tr class="inbox-row" data-task="{row["id"]}"')
        return page[start:page.index("</tr>", start)]

    login(client, "sw_unit_head")
    chinese = cells(client.get("/?form=query_registration").get_data(as_text=True))
    roc = f"{since.year - 1911}年{since.month:02d}月{since.day:02d}日"
    assert f'aria-label="選取案號 {app}"' in chinese and f'<a href="/tasks/{row["id"]}" class="task-link">' in chinese
    assert "<dt>案號</dt><dd>115-社救-0001</dd>" in chinese and "E12****783" in chinese
    assert f'<td data-label="收件時間">{roc} {since:%H:%M}</td>' in chinese
    assert f'<td data-label="已等待">{waited} 天</td>' in chinese
    assert (f'<td data-label="期限">{due.year - 1911}年{due.month:02d}月{due.day:02d}日 '
            '<strong class="late">逾期</strong></td>') in chinese
    english = cells(client.get("/lang/en?next=/?form=query_registration", follow_redirects=True)
                    .get_data(as_text=True))
    assert f'aria-label="Select application {app}"' in english
    assert f'<td data-label="Received">{since:%Y-%m-%d %H:%M}</td>' in english
    assert f"{waited} days</td>" in english and f"{due:%Y-%m-%d} <strong" in english


def test_the_header_reads_the_roles_once_for_its_links(app):
    """調閱紀錄 and 查詢紀錄勾稽 are asked of one read of the person's holdings and delegations per page: the
    deputy signs for the agency head (agency_head reads the agency's query logs, is no auditor); the auditor
    reads the audit trail and the query logs; the querier neither."""
    from tests.statements import statements
    from web.extensions import db

    def header(username: str) -> tuple[str, list[str]]:
        client = login(app.test_client(), username)
        client.get("/")
        with app.app_context():
            engine = db.engine
        with statements(engine) as seen:
            page = client.get("/").text
        return page[page.index('<div class="me">'):page.index("</header>")], seen

    links, seen = header("sw_deputy")
    assert "查詢紀錄勾稽" in links and "調閱紀錄" not in links
    assert sum("FROM delegation" in s for s in seen) == 1
    links, seen = header("sw_auditor")
    assert "查詢紀錄勾稽" in links and "調閱紀錄" in links and sum("FROM delegation" in s for s in seen) == 1
    links, _seen = header("applicant")
    assert "查詢紀錄勾稽" not in links and "調閱紀錄" not in links


def test_an_inbox_row_escapes_what_the_applicant_typed_and_keeps_its_markup(client, api):
    """The rows are built as markup in Python (web.inbox.inbox_rows_html): every value typed into the form is
    escaped as the template escaped it, and the row keeps its labelled cells and the checkbox of a bulk step."""
    typed = '115-<b>"社救"</b>&1'
    app = file(api, "applicant", "query_registration", registration(case_number=typed))
    task = task_of(api, "sw_unit_head", app)
    page = login(client, "sw_unit_head").get("/?form=query_registration").get_data(as_text=True)
    start = page.index(f'\n    <tr class="inbox-row" data-task="{task}" data-application="{app}">\n')
    row = page[start:page.index("</tr>", start) + len("</tr>\n  ")]
    assert typed not in page and "<dt>案號</dt><dd>115-&lt;b&gt;&#34;社救&#34;&lt;/b&gt;&amp;1</dd>" in row
    assert (f'\n      <td data-label="選取"><input type="checkbox" name="task_ids" value="{task}" form="bulk" '
            f'id="pick-{task}"\n            aria-label="選取案號 {app}"></td>\n      <td data-label="案號">{app}</td>\n'
            ) in row
    assert f'<td data-label="待辦步驟"><a href="/tasks/{task}" class="task-link">' in row
    assert row.endswith("</td>\n    </tr>\n  ") and row.count("<td data-label=") == 9


def test_the_header_names_the_agency_and_the_unit_in_one_read(client, session, person, app):
    """The name line (name（agency unit）, or name（agency） without a unit) reads both names in one statement,
    not the agency's row, its kinds and the unit's row one by one."""
    from tests.statements import statements
    from web.extensions import db

    login(client, "sw_unit_head")
    client.get("/")
    with app.app_context():
        engine = db.engine
    with statements(engine) as seen:
        page = client.get("/").text
    assert "<span>陳志明（高雄市政府社會局 社會救助科）</span>" in page
    assert not any("FROM agency_kind" in s or s.lstrip().startswith("SELECT agency.") for s in seen)
    clerk = person("sw_staff")
    clerk.unit_id = None
    session.commit()
    page = login(app.test_client(), "sw_staff").get("/").text
    assert f"<span>{clerk.name}（高雄市政府社會局）</span>" in page
