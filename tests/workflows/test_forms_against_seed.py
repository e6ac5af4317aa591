"""Each Kaohsiung form, field by field, against the official form in the seed (000 附表一–四 and the item sheet).

Every row is (the seed's label, where the form keeps it). Where is one of:
  ``field:<name>``            a field of the filed form (workflows/forms.py FORMS),
  ``step:<step>[.<field>]``   a step of the shipped diagram, and a field of that step's form (STEP_FORMS),
  ``auto:<what>``             kept by the application itself (its id, its filing time, the filer's agency and unit),
  ``missing:<why>``           not on the form, and why.
A label the seed does not carry, a field or step the form lost, or a required field of the form that no seed
label (nor a listed extra) accounts for fails the test. The seed file is a verbatim copy of
000_847d99bbd62f1c61.txt (高雄市政府應用勞動部勞工保險局資訊作業管理要點, 106-02-06).
For 附表二, 附表四 and the item sheet every cell of the sheet is listed in the seed's order as well (SHEETS), so a
cell the seed adds or a repeated seal (單位主管核章 of each block) without its own step fails too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models import QUERY_ITEMS
from tests.conftest import ROOT
from tests.seeds import check_labels
from workflows.engine.diagrams import parse_diagram
from workflows.forms import FORMS

SEED = (Path(__file__).resolve().parents[1] / "fixtures" / "seeds" / "000_847d99bbd62f1c61.txt").read_text()
SECTIONS = ("附表一 查調資料登記表", "附表二 勞保 WebIR 機關管理者帳號申請表", "附表三 勞保 WebIR 資料查詢者帳號申請表",
            "附表四 勞保 WebIR 查調服務項目異動申請表", "\n勞保 WebIR 查調服務項目申請表", None)


def section(n: int) -> str:
    start = SEED.index(SECTIONS[n])
    return SEED[start:SEED.index(SECTIONS[n + 1]) if SECTIONS[n + 1] else None]


# (seed label, where the form keeps it)
REGISTRATION = [  # 附表一 查調資料登記表 ↔ query_registration: a table, one row per subject and item
    ("編號", "field:rows"),  # the row's line, 1 to 10 (registration_row.line)
    ("查調資料內容", "field:rows"),  # the heading over the row's subject, item and reason
    ("申請日期", "field:rows.query_date"),  # each row's own date, as on the sheet
    ("姓名", "field:rows.subject_name"),
    ("身分證字號", "field:rows.subject_national_id"),
    ("查調類別", "field:rows.item"),
    ("查調事由", "field:rows.reason"),
    ("法令依據", "field:legal_basis"),  # 說明 2: 查調事由應表明相關法令依據
    ("資料查詢者", "auto:the filer (querier role)"),
    ("單位主管核章", "step:unit_head_review"),  # the unit head approves the sheet as a whole
]
MANAGER = [  # 附表二 機關管理者帳號申請表 ↔ manager_account
    ("表單編號", "auto:application id"),
    ("申請日期", "auto:filing time"),
    ("申請機關", "auto:filer's agency"),
    ("機關 OID", "field:agency_oid"),
    ("科室", "auto:filer's unit"),
    ("姓名", "field:name"),
    ("公務電話", "field:phone"),
    ("E-mail", "field:email"),
    ("申請機關管理者", "field:request_type"),
    ("已於「我的 e 政府」平台完成公務帳號申請", "field:has_egov_account"),
    ("帳號", "field:egov_account"),
    ("刪除機關管理者", "field:request_type"),
    ("申請人核章", "auto:filing (提出申請)"),
    ("單位主管核章", "step:unit_head_review"),
    ("機關首長核章", "step:agency_head_review"),
    ("審核意見", "step:authority_clerk_review"),
    ("同意", "step:authority_clerk_review"),
    ("不同意", "step:authority_clerk_review"),
    ("審核機關承辦人核章", "step:authority_clerk_review"),
    ("帳號設定處理結果", "step:central_clerk_setup.effective_date"),
    ("總管理機關承辦人核章", "step:central_clerk_setup"),
    ("勞保 WebIR 查調服務項目申請表", "missing:the item sheet the 備註 attaches is not part of this form: an agency "
                                      "manager's items are the agency's (query_items_change)"),
]
MANAGER_EXTRAS = {"has_citizen_certificate": "000 第四點 (自然人憑證)", "succeeds": "003 第七點; 001 第六點第四款",
                  "reason": "申請說明"}
QUERIER = [  # 附表三 資料查詢者帳號申請表 ↔ querier_account
    ("表單編號", "auto:application id"),
    ("申請日期", "auto:filing time"),
    ("申請科室", "auto:filer's unit"),
    ("姓名", "field:name"),
    ("公務電話", "field:phone"),
    ("E-mail", "field:email"),
    ("申請資料查詢者", "field:request_type"),
    ("已於「我的 e 政府」平台完成公務帳號申請", "field:has_egov_account"),
    ("帳號", "field:egov_account"),
    ("已上傳自然人憑證", "field:has_citizen_certificate"),
    ("已詳讀並熟悉個人資料保護法規定", "field:read_pdpa"),
    ("勾選勞保 WebIR 查調服務項目", "field:items"),
    ("異動勞保 WebIR 查調服務項目", "field:request_type"),
    ("刪除資料查詢者", "field:request_type"),
    ("刪除資料查詢者，帳號", "field:departed_querier"),  # an agency manager's deletion for someone who left
    ("申請人核章", "auto:filing (提出申請)"),
    ("單位主管核章", "step:unit_head_review"),
    ("機關首長核章", "missing:001 第五點第二款 但書 lets the responsible supervisor approve a querier account alone; "
                     "the 2017 chain (bpmn/kaohsiung/history/2017) keeps the agency head's step"),
    ("處理結果", "step:agency_manager_setup.effective_date"),
    ("機關管理者核章", "step:agency_manager_setup"),
    ("機關管理者核章\t單位主管核章", "step:manager_unit_head_seal"),  # 設定結果's 單位主管: the manager's unit head
]
QUERIER_EXTRAS = {"job_title": "003 附表1", "national_id": "003 附表1", "reason": "003 附表1 申請事由"}
ITEMS = [  # 附表四 查調服務項目異動申請表 ↔ query_items_change
    ("表單編號", "auto:application id"),
    ("申請日期", "auto:filing time"),
    ("申請機關", "auto:filer's agency"),
    ("科室", "auto:filer's unit"),
    ("姓名", "field:name"),
    ("公務電話", "field:phone"),
    ("E-mail", "field:email"),
    ("勾選異動勞保 WebIR 查調服務項目", "field:add_items"),
    ("法令依據", "field:legal_basis"),
    ("申請人核章", "auto:filing (提出申請)"),
    ("單位主管核章", "step:unit_head_review"),
    ("機關首長核章", "step:agency_head_review"),
    ("審核意見", "step:authority_clerk_review.approved_items"),
    ("審核機關承辦人核章", "step:authority_clerk_review"),
    ("完成新增/刪除勞保資料查詢服務項目", "step:central_clerk_set.set_on"),
    ("本府尚未申請之項目", "step:bureau_answer.bureau_approved_items"),
    ("本府尚未申請之項目", "field:bureau_items"),  # set from the records at filing (issue 18)
    ("總管理機關承辦人核章", "step:central_clerk_set"),
]
ITEM_SHEET = [  # 勞保 WebIR 查調服務項目申請表 ↔ query_items_change (and querier_account's items)
    ("連線勞保查詢系統之電腦合法 IP", "field:client_ip"),
    ("欲新增項目，請於", "field:add_items"),
    ("欲刪除項目請於", "field:remove_items"),
    ("審核結果", "step:authority_clerk_review.approved_items"),
    ("本表申請人為機關管理者，則審核單位為權責管理機關", "step:authority_clerk_review"),
    *((f"{code} {name}", "field:add_items") for code, name in QUERY_ITEMS.items()),
]
QUERIER_ITEM_SHEET = [  # the same sheet with a querier's 附表三 (備註 (2)) ↔ querier_account
    ("連線勞保查詢系統之電腦合法 IP", "field:client_ip"),
    ("欲新增項目，請於", "field:items"),
    ("審核結果", "step:agency_manager_setup.granted_items"),  # per item: item_<code> grant / refuse
    ("不同意", "step:agency_manager_setup.refused_items"),  # with the reason of each refused item
    ("本表申請人為資料查詢者，則審核單位為機關管理者", "step:agency_manager_setup"),
    *((f"{code} {name}", "field:items") for code, name in QUERY_ITEMS.items()),
]

CASES = {
    "附表一 query_registration": (0, "query_registration", REGISTRATION, {
        "case_number": "001 第九點第二款 案號", "use_until": "001 第十一點 (使用後一個月內刪除)",
        "legal_basis_reason": "001 第四點附表 (a basis outside the agency's legal-basis table needs a reason)"}),
    "附表二 manager_account": (1, "manager_account", MANAGER, MANAGER_EXTRAS),
    "附表三 querier_account": (2, "querier_account", QUERIER, QUERIER_EXTRAS),
    "附表四 query_items_change": (3, "query_items_change", ITEMS, {
        "to_bureau": "000 附表四 設定結果 (set from the records: whether 本府尚未申請之項目 go to 勞保局)"}),
    "查調服務項目申請表 query_items_change": (4, "query_items_change", ITEM_SHEET, {}),
    "查調服務項目申請表 querier_account": (4, "querier_account", QUERIER_ITEM_SHEET, {}),
}


def user_tasks(form_key):
    return parse_diagram((ROOT / "bpmn" / "kaohsiung" / f"{form_key}.bpmn").read_bytes()).user_tasks


@pytest.mark.parametrize("case", CASES)
def test_each_seed_label_is_on_the_form_or_said_why_not(case):
    n, form_key, rows, _extras = CASES[case]
    check_labels(case, section(n), rows, form_key, names(form_key), user_tasks(form_key))


def names(form_key: str) -> set[str]:
    """The form's fields, and each rows field's columns as ``<field>.<column>``."""
    return {n for f in FORMS[form_key].fields for n in (f.name, *(f"{f.name}.{c.name}" for c in f.columns))}


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][0] < 4])
def test_every_field_of_the_form_comes_from_the_seed_or_is_a_listed_extra(case):
    _n, form_key, rows, extras = CASES[case]
    mapped = {where.partition(":")[2] for _label, where in rows if where.startswith("field:")}
    mapped |= {where.partition(":")[2] for c in CASES.values() if c[1] == form_key for _l, where in c[2]
               if where.startswith("field:")}
    assert names(form_key) == mapped | set(extras)


def test_the_registration_sheets_columns_are_the_seeds_in_its_order():
    """000 附表一: 編號, 申請日期, then under 查調資料內容 姓名, 身分證字號, 查調類別, 查調事由, one row each."""
    header = next(line for line in section(0).splitlines() if line.startswith("編號"))
    subheader = section(0).splitlines()[section(0).splitlines().index(header) + 1]
    seed_columns = [header.split("\t")[1], *subheader.split()]
    [rows] = [f for f in FORMS["query_registration"].fields if f.type == "rows"]
    assert [c.label.split("（")[0].removeprefix("被查詢人") for c in rows.columns] == [
        "申請日期", "姓名", "身分證字號", "查調類別", "查調事由"] == seed_columns
    assert [c.required for c in rows.columns] == [True] * 5
    assert [c.name for c in rows.columns if c.sensitive] == ["subject_national_id"]
    assert (rows.required, rows.min_rows, rows.max_rows) == (True, 1, 10)


def test_the_item_sheet_lists_the_twenty_items_in_the_seeds_order():
    sheet = section(4)
    positions = [sheet.index(f"{code} {name}") for code, name in QUERY_ITEMS.items()]
    assert len(positions) == 20 and positions == sorted(positions)


# Every cell of the official sheet, in the seed's order, with where the form keeps it (附表二, 附表四 and the item
# sheet; 附表一 and 附表三 are being rebuilt and keep the label lists above). A cell is a table cell or a check box's
# text, split before "(1)", "(2)" …; a cell may be kept in more than one place. Unlike the label lists, a repeated
# label (three 單位主管核章 on 附表二) is matched by its position, so each seal names its own step.
def cells(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        for cell in re.split(r"\t|<input[^>]*>|\s(?=\(\d\))", line):
            cell = re.sub(r"_+", "", cell).strip()
            if cell:
                found.append(cell)
    return found


TITLE = "auto:the form's title (FORMS[form].title, checked below)"
MANAGER_SHEET = [
    ("附表二 勞保 WebIR 機關管理者帳號申請表", TITLE),
    ("勞保 WebIR 機關管理者帳號申請表", TITLE),
    ("表單編號： 申請日期： 年 月 日", "auto:application id", "auto:filing time"),
    ("申請機關", "auto:filer's agency"),
    ("機關 OID", "field:agency_oid"),
    ("科室", "auto:filer's unit"),
    ("姓名", "field:name"),
    ("公務電話", "field:phone"),
    ("E-mail", "field:email"),
    ("申請事項", "field:request_type"),
    ("申請機關管理者", "field:request_type"),
    ("(1)已於「我的 e 政府」平台完成公務帳號申請，帳號：", "field:has_egov_account", "field:egov_account"),
    ("刪除機關管理者，帳號：", "field:request_type", "field:egov_account"),
    ("申請人核章", "auto:filing (提出申請)"),
    ("單位主管核章", "step:unit_head_review"),
    ("機關首長核章", "step:agency_head_review"),
    ("帳號申請審核結果(由權責管理機關填寫)", "step:authority_clerk_review"),
    ("審核意見：", "step:authority_clerk_review"),
    ("同意", "step:authority_clerk_review"),
    ("不同意", "step:authority_clerk_review"),
    ("審核機關承辦人核章", "step:authority_clerk_review"),
    ("單位主管核章", "step:authority_section_head_review"),
    ("機關首長核章", "step:authority_director_review"),
    ("帳號設定結果(由總管理機關填寫)", "step:central_clerk_setup"),
    ("帳號設定處理結果：已於 年 月 日完成新增/刪除機關管理者帳號", "step:central_clerk_setup.effective_date"),
    ("總管理機關承辦人核章", "step:central_clerk_setup"),
    ("單位主管核章", "step:central_section_head_review"),
    ("機關首長核章", "step:central_director_review"),
    ("備註：本申請表及勞保 WebIR 查調服務項目申請表，各檢附正本一式三份送權責管理機關審核，並於帳號設定後，"
     "分別由總管理機關、權責管理機關及資訊需求機關各自留存一份。",
     dict(MANAGER)["勞保 WebIR 查調服務項目申請表"],
     "auto:one record that 資訊處, 勞工局 and the agency each read (runtime.visibility) instead of three copies"),
]
ITEMS_SHEET = [
    ("附表四 勞保 WebIR 查調服務項目異動申請表", TITLE),
    ("勞保 WebIR 查調服務項目異動申請表", TITLE),
    ("表單編號： 申請日期： 年 月 日", "auto:application id", "auto:filing time"),
    ("申請機關", "auto:filer's agency"),
    ("科室", "auto:filer's unit"),
    ("姓名", "field:name"),
    ("公務電話", "field:phone"),
    ("E-mail", "field:email"),
    ("申請事項", "auto:the form's one request (異動)"),
    ("異動勞保資料查詢服務項目", "auto:the form's one request (異動)"),
    ("(1)勞保 WebIR 查調服務項目申請表(請至本府資訊中心網站下載，並勾選異動勞保 WebIR 查調服務項目)",
     "field:add_items", "field:remove_items", "field:client_ip"),
    ("(2)法令依據", "field:legal_basis"),
    ("申請人核章", "auto:filing (提出申請)"),
    ("單位主管核章", "step:unit_head_review"),
    ("機關首長核章", "step:agency_head_review"),
    ("勞保 WebIR 查調服務項目申請審核結果(由權責管理機關填寫)", "step:authority_clerk_review"),
    ("審核意見：", "step:authority_clerk_review"),
    ("同意", "step:authority_clerk_review.approved_items"),
    ("不同意", "step:authority_clerk_review.approved_items"),
    ("審核機關承辦人核章", "step:authority_clerk_review"),
    ("單位主管核章", "step:authority_section_head_review"),
    ("機關首長核章", "step:authority_director_review"),
    ("勞保 WebIR 查調服務項目設定結果(由總管理機關填寫)", "step:central_clerk_set", "step:central_clerk_apply"),
    ("處理結果：", "step:central_clerk_set", "step:central_clerk_apply"),
    ("已於 年 月 日完成新增/刪除勞保資料查詢服務項目。", "step:central_clerk_set.set_on"),
    ("本府尚未申請之項目，經總管理者提報申請，勞保局審核結果：", "field:bureau_items", "field:to_bureau",
     "step:central_clerk_set", "step:bureau_answer", "step:central_clerk_apply.applied_on"),
    ("同意", "step:bureau_answer.bureau_approved_items"),
    ("不同意", "step:bureau_answer.bureau_approved_items"),
    # The setting result is sealed when 資訊處 sets the local part, and again when it sets 勞保局's answer.
    ("總管理機關承辦人核章", "step:central_clerk_set", "step:central_clerk_apply"),
    ("單位主管核章", "step:central_section_head_seal", "step:central_section_head_result_seal"),
    ("機關首長核章", "step:central_director_seal", "step:central_director_result_seal"),
    ("備註：本申請表及勞保 WebIR 查調服務項目申請表，各檢附正本一式三份送權責管理機關審核，並於勞保資料查詢服務項目"
     "異動設定後，分別由總管理機關、權責管理機關及資訊需求機關各自留存一份。",
     "auto:the item sheet is part of this form (add_items, remove_items, client_ip)",
     "auto:one record that 資訊處, 勞工局 and the agency each read (runtime.visibility) instead of three copies"),
]
ITEM_SHEET_CELLS = [
    ("勞保 WebIR 查調服務項目申請表", "auto:the item sheet's title (part of query_items_change and querier_account)"),
    ("連線勞保查詢系統之電腦合法 IP", "field:client_ip"),
    ("勞保 WebIR 查調服務項目：資訊需求機關欲新增項目，請於", "field:add_items"),
    ("打勾", "field:add_items"),
    ("，欲刪除項目請於", "field:remove_items"),
    ("打叉", "field:remove_items"),
    ("審核結果 (由審核單位*填寫)", "step:authority_clerk_review.approved_items"),
    *(cell for n, (code, name) in enumerate(QUERY_ITEMS.items(), 1) for cell in (
        (f"{n}. {code} {name}", "field:add_items", "field:remove_items"),
        ("同意", "step:authority_clerk_review.approved_items"),
        ("不同意", "step:authority_clerk_review.approved_items"))),
    ("申請人核章", "auto:filing (提出申請)"),
    ("單位主管核章", "step:unit_head_review"),
    ("機關首長核章", "step:agency_head_review"),
    ("*備註：", "auto:the notes below"),
    ("(1)本表申請人為機關管理者，則審核單位為權責管理機關。", "step:authority_clerk_review.approved_items"),
    ("(2)本表申請人為資料查詢者，則審核單位為機關管理者。",
     "auto:a querier's item sheet is part of querier_account, decided item by item at its agency_manager_setup "
     "(QUERIER_ITEM_SHEET)"),
]
SHEETS = {
    "附表二 manager_account": (1, "manager_account", MANAGER_SHEET),
    "附表四 query_items_change": (3, "query_items_change", ITEMS_SHEET),
    "查調服務項目申請表 query_items_change": (4, "query_items_change", ITEM_SHEET_CELLS),
}


@pytest.mark.parametrize("case", SHEETS)
def test_every_cell_of_the_sheet_in_order_is_kept_on_the_form_or_said_why_not(case):
    n, form_key, rows = SHEETS[case]
    assert [row[0] for row in rows] == cells(section(n))
    check_labels(case, section(n), [(row[0], where) for row in rows for where in row[1:]], form_key,
                 {f.name for f in FORMS[form_key].fields}, user_tasks(form_key))


@pytest.mark.parametrize("n, form_key", [(0, "query_registration"), (1, "manager_account"), (2, "querier_account"),
                                         (3, "query_items_change")])
def test_each_form_carries_its_sheets_title(n, form_key):
    assert cells(section(n))[:2] == [SECTIONS[n], FORMS[form_key].title]
