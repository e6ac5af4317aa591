"""History that reads like the form: labels, not keys; ROC dates and item names; steps by the names people see."""

from __future__ import annotations

import re

import time_machine
from sqlalchemy import select

from models import Application, HumanTask, TaskState
from tests.conftest import NOW, QUERIER_ADD, granted
from tests.web.test_sheets import flat, pdf_text
from tests.workflows.filing.test_chains import ITEMS_CHAIN
from workflows.filing.applications import submit_application
from workflows.filing.tasks import complete_task
from workflows.tracking.search import Filters, list_step_names, search_applications


def login(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def decide(session, person, app_id: int, username: str, step: str, **data) -> None:
    task_id = session.scalar(select(HumanTask.id).where(HumanTask.application_id == app_id, HumanTask.step == step,
                                                        HumanTask.state == TaskState.OPEN))
    with time_machine.travel(NOW, tick=False):
        complete_task(session, task_id=task_id, actor=person(username), decision="approve", data=data, now=NOW)


def history_text(html: str) -> str:
    table = html.split('<table class="history">', 1)[1].split("</table>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table))


def test_a_steps_fields_read_with_their_labels_roc_dates_and_item_names(app, session, person):
    filed = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                               now=NOW)
    decide(session, person, filed.id, "sw_unit_head", "unit_head_review")
    decide(session, person, filed.id, "manager", "agency_manager_setup", **granted(QUERIER_ADD["items"], "2026-11-30"))
    text = history_text(login(app, "sw_staff").get(f"/applications/{filed.id}").text)
    assert "帳號設定完成日期：115年11月30日" in text
    assert "effective_date" not in text and "2026-11-30" not in text


def test_item_decisions_read_as_item_names(app, session, person):
    data = {"name": "王美玲", "phone": "07-3368333", "email": "manager@demo.kcg.gov.tw", "client_ip": "10.20.30.40",
            "add_items": ["C0201", "F0101"], "remove_items": [], "legal_basis": "社會救助法第十八條"}
    filed = submit_application(session, form_key="query_items_change", data=data, actor=person("manager"), now=NOW)
    for username, step, extra in ITEMS_CHAIN[:3]:
        decide(session, person, filed.id, username, step, **({"approved_items": ["C0201"]} if extra else {}))
    text = history_text(login(app, "manager").get(f"/applications/{filed.id}").text)
    assert "同意之項目（未勾選者為不同意）：C0201 單位被保險人名冊" in text and "approved_items" not in text


def test_the_english_page_translates_the_labels_and_shows_iso_dates(app, session, person):
    filed = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                               now=NOW)
    decide(session, person, filed.id, "sw_unit_head", "unit_head_review")
    decide(session, person, filed.id, "manager", "agency_manager_setup", **granted(QUERIER_ADD["items"], "2026-11-30"))
    client = login(app, "sw_staff")
    client.get("/lang/en?next=/")
    text = history_text(client.get(f"/applications/{filed.id}").text)
    assert "2026-11-30" in text and "effective_date" not in text and "帳號設定完成日期" not in text


def test_the_step_filter_lists_the_names_people_see_and_filters_by_them(app, session, person):
    names = list_step_names(session)
    assert {"單位主管核准", "機關管理者設定帳號", "申請人補正或撤回"} <= set(names)
    assert not any(re.fullmatch(r"[a-z_]+", n) for n in names)  # no diagram ids
    waiting = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                                 actor=person("sw_staff"), now=NOW)
    moved = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD),
                               actor=person("sw_staff"), now=NOW)
    decide(session, person, moved.id, "sw_unit_head", "unit_head_review")

    page = login(app, "sw_head").get("/applications/").text
    select_html = page.split('name="step"', 1)[1].split("</select>", 1)[0]
    assert '<option value="機關管理者設定帳號">機關管理者設定帳號</option>' in select_html
    assert "agency_manager_setup" not in select_html
    registrations = login(app, "sw_head").get("/applications/?form=query_registration").text
    steps = re.findall(r'<option value="([^"]*)"', registrations.split('name="step"', 1)[1].split("</select>")[0])
    assert steps == ["", *list_step_names(session, "query_registration")] and "機關管理者設定帳號" not in steps
    assert {"單位主管核可", "申請人補正或撤回"} <= set(steps)
    found = login(app, "sw_head").get("/applications/?step=機關管理者設定帳號").text
    assert f'value="{moved.id}" form="sheets"' in found and f'value="{waiting.id}" form="sheets"' not in found
    # The API's filter by the diagram's id still works, and the core takes either.
    for step in ("agency_manager_setup", "機關管理者設定帳號"):
        items = search_applications(session, person("sw_head"), Filters(step=step), now=NOW).items
        assert [i.id for i in items] == [moved.id]


def test_a_substitutes_sign_off_reads_substitute_for_holder(app, session, person, tmp_path):
    """Where the history records whom a substitute signed for (HistoryEntry.on_behalf_of_id), page and sheet say so."""
    filed = submit_application(session, form_key="querier_account", data=dict(QUERIER_ADD), actor=person("sw_staff"),
                               now=NOW)
    decide(session, person, filed.id, "sw_unit_head", "unit_head_review")
    entry = next(h for h in session.get(Application, filed.id).history if h.step == "unit_head_review")
    entry.on_behalf_of_id = person("sw_head").id  # as a decision by a leave substitute records it
    session.commit()
    client = login(app, "sw_staff")
    assert "陳志明 代 李文彬" in history_text(client.get(f"/applications/{filed.id}").text)
    assert "陳志明代李文彬" in flat(pdf_text(client.get(f"/applications/{filed.id}/sheet.pdf").data, tmp_path, "x"))
