"""The printed sheet: every form the demo's people file, walked to its end, read back from its PDF as text.

Each chain is decided through the core, one step an hour, so every sign-off has its own ROC date and time; the
PDF comes from the API as the applicant would fetch it and is read with poppler's pdftotext. The first page of
each is also drawn (pdftoppm); with WEBIR_ARTIFACTS=1 the pictures are kept under artifacts/ for a person to see.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from models import HumanTask, TaskState
from tests.conftest import ITEMS_CHANGE, MANAGER_ADD, NOW, QUERIER_ADD, REGISTRATION
from tests.workflows.filing.test_chains import ITEMS_CHAIN, MANAGER_CHAIN, QUERIER_CHAIN, REGISTRATION_CHAIN
from workflows.filing.applications import submit_application
from workflows.filing.sheets import MAX_SHEETS
from workflows.filing.tasks import complete_task
from workflows.forms import FORMS, mask_id

ROOT = Path(__file__).resolve().parents[2]
HOUR = timedelta(hours=1)
ITEMS_DATA = {**ITEMS_CHANGE, "add_items": ["C0201", "F0101", "C0301"], "remove_items": ["B0201", "T0101"]}
TRANSFER = {"person": "applicant", "kind": "querier", "effective_date": "2026-12-15", "new_position": "會計室科員",
            "reason": "調任會計室"}
TRANSFER_CHAIN = [("manager", "transfer_account", {"account_decision": "narrow", "account_items": ["C0101"]})]

# form → (filer, data, chain, what the form's own fields must read as on paper)
CASES = {
    "querier_account": ("sw_staff", QUERIER_ADD, QUERIER_CHAIN,
                        ["新增資料查詢者", "吳佩珊", "A12****789", "C0101 被保險人投保資料", "B0101 給付簡要資料",
                         "peishan.wu", "辦理低收入戶審核需查詢投保資料"]),
    "manager_account": ("sw_staff", MANAGER_ADD, MANAGER_CHAIN,
                        ["申請機關管理者", "2.16.886.101.20002", "peishan.wu", "接任機關管理者"]),
    "query_items_change": ("manager", ITEMS_DATA, ITEMS_CHAIN,
                           ["10.20.30.40", "C0201 單位被保險人名冊", "T0101 老年農民福利津貼發放查詢",
                            "社會救助法第十八條"]),
    "query_registration": ("applicant", REGISTRATION, REGISTRATION_CHAIN,
                           ["115-社救-0001", "115年11月25日", "陳小明", "E12****783", "C0101 被保險人投保資料",
                            "低收入戶資格審查"]),
    "role_transfer": ("sw_head", TRANSFER, TRANSFER_CHAIN, ["applicant", "資料查詢者", "115年12月15日", "會計室科員"]),
}
# What the decided steps' own fields read as (labels, not keys; ROC dates; item names).
STEP_DATA = {
    "querier_account": ["帳號設定完成日期：115年12月01日", "准予之項目：C0101 被保險人投保資料、B0101 給付簡要資料"],
    "manager_account": ["帳號設定完成日期：115年12月01日"],
    "query_items_change": ["勞保局函文號：保費資字第11513000001號", "勞保局回復日期：115年12月20日",
                           "查調權限異動完成日期：115年12月22日", "C0301 勞保身心障礙政府補助費",
                           "完成新增/刪除勞保資料查詢服務項目日期：115年12月01日"],
    "query_registration": [],
    "role_transfer": ["帳號異動：縮減查調項目", "縮減後保留之查調項目：C0101 被保險人投保資料"],
}
ANNEX = {"querier_account": "附表三", "manager_account": "附表二", "query_items_change": "附表四",
         "query_registration": "附表一", "role_transfer": None}


def flat(text: str) -> str:
    """pdftotext breaks table cells where the layout wraps them: compare without any white space."""
    return re.sub(r"\s+", "", text)


def poppler(*argv: str) -> str:
    """Run one of poppler-utils' tools (pdftotext, pdftoppm, pdffonts) on our own file; its output."""
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout  # noqa: S603 - fixed tools


def pdf_text(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return poppler("pdftotext", "-enc", "UTF-8", str(path), "-")


def first_page_picture(pdf: bytes, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    poppler("pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(path), str(tmp_path / name))
    return tmp_path / f"{name}.png"


@pytest.fixture
def walk(session, person):
    """File a form and decide each step of its chain an hour apart, as the chain's people find it."""
    def _walk(form_key: str):
        filer, data, chain, _ = CASES[form_key]
        with time_machine.travel(NOW, tick=False):  # the engine reads the wall clock for its timers
            app = submit_application(session, form_key=form_key, data=dict(data), actor=person(filer), now=NOW)
            for n, (username, step, extra) in enumerate(chain, start=1):
                extra = extra(app) if callable(extra) else extra  # the manager decides the items asked
                task_id = session.scalar(select(HumanTask.id).where(
                    HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN, HumanTask.step == step))
                assert task_id, f"{form_key}: no open {step}"
                complete_task(session, task_id=task_id, actor=person(username), decision="approve",
                              opinion=f"第{n}關同意", data=dict(extra), now=NOW + n * HOUR)
        session.refresh(app)
        return app
    return _walk


@pytest.mark.parametrize("form_key", list(CASES))
def test_the_sheet_of_each_form_holds_its_fields_and_every_sign_off(form_key, walk, api, tmp_path):
    app = walk(form_key)
    assert app.state.value == "completed"
    filer = CASES[form_key][0]
    response = api.as_(filer).get(f"/api/v1/applications/{app.id}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = flat(pdf_text(response.data, tmp_path, form_key))

    spec = FORMS[form_key]
    assert flat(spec.title) in text and f"表單編號（案號）：{app.id}" in text
    if ANNEX[form_key]:
        assert ANNEX[form_key] in text
    for f in spec.fields:
        assert flat(f.label) in text, f.label
    for value in CASES[form_key][3] + STEP_DATA[form_key]:
        assert flat(value) in text, value
    # No key of the form, no whole ID number: labels and masked numbers only.
    for f in spec.fields:
        assert f"{f.name}：" not in text
    assert "A123456789" not in text and "E123456783" not in text
    if form_key in ("querier_account", "query_registration"):
        data = CASES[form_key][1]
        assert mask_id(data.get("national_id") or data["rows"][0]["subject_national_id"]) in text

    history = [h for h in app.history]
    assert len(history) == len(CASES[form_key][2]) + 1  # the filing and each step
    for n, h in enumerate(history):
        at = NOW + n * HOUR  # in Taipei: 10:00, 11:00, ... on 115年11月25日
        assert f"115年11月25日{at.hour + 8:02d}:00" in text, h.step_name
        assert flat(h.step_name) in text and h.actor.name in text
        if n:
            assert f"第{n}關同意" in text
    assert re.search(r"第1/\d+頁", text) and "列印時間" in text

    picture = first_page_picture(response.data, tmp_path, f"sheet-{form_key}")
    assert picture.stat().st_size > 20_000  # a drawn page of text, not a blank one (a blank A4 is ~2 KB)
    if os.environ.get("WEBIR_ARTIFACTS"):
        (ROOT / "artifacts").mkdir(exist_ok=True)
        shutil.copy(picture, ROOT / "artifacts" / picture.name)


def test_the_item_changes_setting_result_is_sealed_in_the_forms_order(walk, api, tmp_path):
    """000 附表四 設定結果: 資訊處's clerk, section head and director, for the setting and again for 勞保局's result."""
    app = walk("query_items_change")
    text = flat(pdf_text(api.as_("manager").get(f"/api/v1/applications/{app.id}/pdf").data, tmp_path, "seals"))
    seals = [("資訊處承辦人設定本府已有項目並向勞保局提報", "劉家豪"), ("資訊處單位主管核章（設定結果）", "郭怡萱"),
             ("資訊處機關首長核章（設定結果）", "謝文傑"), ("登錄勞保局逐項審核結果", "邱淑惠"),
             ("資訊處依勞保局審核結果設定", "劉家豪"), ("資訊處單位主管核章（勞保局審核結果設定）", "郭怡萱"),
             ("資訊處機關首長核章（勞保局審核結果設定）", "謝文傑")]
    at = [text.index(flat(step)) for step, _ in seals]  # each name once: the sealed steps, top to bottom
    assert at == sorted(at), at
    assert [h.actor.name for h in app.history][-7:] == [actor for _, actor in seals]


def test_the_sheet_embeds_a_cjk_font(walk, api, tmp_path):
    app = walk("query_registration")
    path = tmp_path / "sheet.pdf"
    path.write_bytes(api.as_("applicant").get(f"/api/v1/applications/{app.id}/pdf").data)
    fonts = poppler("pdffonts", str(path))
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded, so it prints the same anywhere


def test_a_reader_who_may_not_see_the_application_gets_404(walk, api, client):
    app = walk("query_registration")
    assert api.as_("sw_unit_head").get(f"/api/v1/applications/{app.id}/pdf").status_code == 200
    for outsider in ("sw_staff", "ep_querier"):  # a colleague who is not its approver; another agency
        response = api.as_(outsider).get(f"/api/v1/applications/{app.id}/pdf")
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/applications/{app.id}/pdf").status_code == 401
    login(client, "ep_querier")
    assert client.get(f"/applications/{app.id}/sheet.pdf").status_code == 404


def login(client, username: str):
    assert client.post("/login", data={"username": username, "password": "demo"}).status_code == 302
    return client


def test_the_application_page_offers_its_sheet(walk, client, tmp_path):
    app = walk("querier_account")
    page = login(client, "sw_staff").get(f"/applications/{app.id}").text
    assert f'href="/applications/{app.id}/sheet.pdf"' in page
    response = client.get(f"/applications/{app.id}/sheet.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "勞保WebIR資料查詢者帳號申請表" in flat(pdf_text(response.data, tmp_path, "page"))


def test_a_selection_prints_as_one_file_with_a_section_per_application(walk, client, tmp_path):
    apps = [walk("query_registration"), walk("querier_account"), walk("query_items_change")]
    login(client, "sw_head")  # the agency head sees the agency's applications
    search = client.get("/applications/").text
    assert all(f'name="id" value="{a.id}" form="sheets"' in search for a in apps)
    response = client.get("/applications/sheets.pdf?" + "&".join(f"id={a.id}" for a in apps))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path, "selection")
    pages = text.split("\f")
    sections = [i for i, page in enumerate(pages) if "表單編號（案號）" in flat(page)]
    assert [re.search(r"表單編號（案號）：(\d+)", flat(pages[i]))[1] for i in sections] == [str(a.id) for a in apps]
    for a, i in zip(apps, sections, strict=True):  # each section starts on its own page with its own form
        assert flat(FORMS[a.form_key].title) in flat(pages[i])
    # Every page's header names the application it belongs to, continuation pages too.
    ends = [*sections[1:], len([p for p in pages if p.strip()])]
    for a, start, end in zip(apps, sections, ends, strict=True):
        assert all(f"案號{a.id}" in flat(page) for page in pages[start:end])


def test_a_selection_is_bounded_with_a_message(client):
    login(client, "sw_head")
    too_many = client.get("/applications/sheets.pdf?" + "&".join(f"id={i}" for i in range(1, MAX_SHEETS + 2)))
    assert too_many.status_code == 302 and too_many.location.endswith("/applications/")
    assert f"一次最多列印 {MAX_SHEETS} 件，已勾選 {MAX_SHEETS + 1} 件" in client.get("/applications/").text
    none = client.get("/applications/sheets.pdf")
    assert none.status_code == 302 and "請先勾選要列印的案件" in client.get("/applications/").text
