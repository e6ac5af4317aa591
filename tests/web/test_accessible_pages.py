"""What a screen reader and a keyboard need from the server-rendered pages (WCAG 2.2 AA), read from the HTML.

axe-core checks the pages as drawn (tests/browser/test_accessibility.py); these check what axe cannot judge:
the text version of each diagram says the right steps in the right state, a field's error is read with the
field, and every page has the same skip link and landmarks in both languages.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from models import HumanTask, TaskState
from tests.conftest import NOW, QUERIER_ADD
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task

OUTLINE = "//ol[@class='outline']"
OUTLINE_ITEMS = OUTLINE + "/li"


def login(client, username):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def page(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml_html.fromstring(response.text)


def outline(doc) -> list[tuple[str, str, str]]:
    """(step, state, text) of each step in the page's text version of the diagram."""
    return [(li.get("data-step"), li.get("data-state"), " ".join(li.text_content().split()))
            for li in doc.xpath(OUTLINE_ITEMS)]


@pytest.fixture
def approved_once(session, person) -> int:
    """A querier_account decided by its unit head and now waiting at the agency manager."""
    app_id = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                actor=person("sw_staff"), now=NOW - timedelta(days=2)).id
    task = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id,
                                                     HumanTask.state == TaskState.OPEN))
    complete_task(session, task_id=task, actor=person("sw_unit_head"), decision="approve", opinion="同意",
                  now=NOW - timedelta(days=1))
    return app_id


def test_the_application_page_says_in_words_where_the_application_stands(client, approved_once):
    doc = page(login(client, "sw_staff"), f"/applications/{approved_once}")
    steps = outline(doc)
    assert [(step, state) for step, state, _text in steps] == [
        ("unit_head_review", "done"), ("amend", "not_reached"), ("agency_manager_setup", "current"),
        ("manager_unit_head_seal", "not_reached")]
    assert steps[0][2] == "單位主管核准 （單位主管） 已完成：陳志明，115年11月24日 10:00"
    assert steps[1][2] == "申請人補正或撤回 （申請人） 尚未到達"
    assert steps[2][2] == "機關管理者設定帳號 （機關管理者） 目前步驟：王美玲，自 115年11月24日 10:00 起"
    # beside the picture, in the same section
    assert doc.get_element_by_id("diagram").getparent() is doc.xpath(OUTLINE)[0].getparent()


def test_the_text_version_reads_in_english_too(client, approved_once):
    login(client, "sw_staff").get("/lang/en")
    steps = outline(page(client, f"/applications/{approved_once}"))
    assert steps[0][2] == "單位主管核准 (Unit head) Done: 陳志明, 2026-11-24 10:00"
    assert steps[1][2].endswith("not reached yet")
    assert steps[2][2].endswith(": 王美玲, since 2026-11-24 10:00")


def test_the_dashboard_lists_the_steps_with_how_many_wait(client, approved_once):
    doc = page(login(client, "admin"), "/dashboard?form=querier_account")
    assert [(step, text.rsplit(" ", 1)[-1]) for step, _state, text in outline(doc)] == [
        ("unit_head_review", "件"), ("amend", "件"), ("agency_manager_setup", "件"), ("manager_unit_head_seal", "件")]
    counts = {li.get("data-step"): li.xpath("span[@class='waiting']")[0].text for li in doc.xpath(OUTLINE_ITEMS)}
    assert counts == {"unit_head_review": "等待 0 件", "amend": "等待 0 件", "agency_manager_setup": "等待 1 件",
                      "manager_unit_head_seal": "等待 0 件"}


def test_the_editor_history_lists_the_steps_of_each_version(client):
    doc = page(login(client, "admin"), "/editor/")
    rows = doc.get_element_by_id("process-querier_account").xpath(".//tr[@data-version]")
    assert rows
    for row in rows:
        assert [li.get("data-step") for li in row.xpath(".//details[@class='outline']" + OUTLINE_ITEMS[1:])] == [
            "unit_head_review", "amend", "agency_manager_setup", "manager_unit_head_seal"]


def test_a_field_error_is_read_with_its_field(client):
    response = login(client, "applicant").post("/applications/new/query_registration", data={"case_number": ""})
    doc = lxml_html.fromstring(response.text)
    field = doc.get_element_by_id("case_number")
    assert field.get("aria-invalid") == "true"
    described = field.get("aria-describedby").split()
    assert described
    messages = [doc.get_element_by_id(i) for i in described]
    assert all("error" in m.get("class") for m in messages)
    assert messages[0].text_content().strip()


@pytest.mark.parametrize(("switch", "lang"), [(None, "zh-Hant-TW"), ("/lang/en", "en")])
def test_every_page_has_a_skip_link_landmarks_and_its_language(client, switch, lang):
    login(client, "sw_unit_head")
    if switch:
        client.get(switch)
    for url in ("/", "/applications/mine", "/applications/", "/dashboard", "/notifications/"):
        doc = page(client, url)
        assert doc.get("lang") == lang
        skip = doc.xpath("body/a")[0]
        assert (skip.get("class"), skip.get("href")) == ("skip-link", "#main"), url
        assert doc.xpath("body/main[@id='main']") and doc.xpath("body/header") and doc.xpath("body/footer")
        assert all(nav.get("aria-label") for nav in doc.xpath("body/header//nav")), url
        assert doc.findtext(".//title").strip(), url
