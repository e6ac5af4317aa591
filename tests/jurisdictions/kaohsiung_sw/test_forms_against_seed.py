"""社會局's four forms, field by field, against its rule book's official forms (003 附表1–4).

As tests/workflows/test_forms_against_seed.py does for the city's: every row is (the seed's label, where the form
keeps it) — ``field:<name>`` a field of the form as 社會局's layer defines it (bpmn/kaohsiung/agencies/KHH-SW/
pack.yaml), ``step:<step>[.<field>]`` a step of the layer's diagram (and a field of that step's form),
``auto:<what>`` kept by the application itself, ``missing:<why>`` not on the form and why. A label the seed does
not carry, a field or step the form lost, or a field of the form that neither a seed label nor a listed extra
accounts for fails. The seed file is a verbatim copy of 003_3c18a90f306508ef.txt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.seeds import check_labels
from workflows.agency_rules import LAYERS
from workflows.engine.diagrams import parse_diagram

SEED = (Path(__file__).resolve().parents[2] / "fixtures" / "seeds" / "003_3c18a90f306508ef.txt").read_text()
LAYER = LAYERS["KHH-SW"]
# Each 附表 starts at its title, after the rules' last clause (the clauses name the forms too).
TITLES = ("資料查詢者權限申請表", "查調資料登記表", "查調資料申請表", "稽核紀錄表")


def section(n: int) -> str:
    start = SEED.index("九、本要點未規定者")
    for title in TITLES[:n + 1]:
        start = SEED.index(title, start)
    end = SEED.index(TITLES[n + 1], start) if n + 1 < len(TITLES) else None
    return SEED[start:end]


PERMISSION = [  # 附表1 資料查詢者權限申請表 ↔ querier_account (社會局's)
    ("表單編號", "auto:application id"),
    ("申請日期", "auto:filing time"),
    ("申請單位", "auto:filer's agency and unit"),
    ("職稱及姓名", "field:job_title"),
    ("職稱及姓名", "field:name"),
    ("申請事項", "field:request_type"),
    ("新增權限", "field:request_type"),
    ("註銷權限", "field:request_type"),
    ("異動查調項目", "field:request_type"),
    ("職務異動", "field:request_type"),
    ("申請事由", "field:reason"),
    ("身分證字號", "field:national_id"),
    ("聯絡電話", "field:phone"),
    ("e-mail", "field:email"),
    ("E 政府帳號", "field:egov_account"),
    ("請勾選申請查調服務項目", "field:items"),
    *((f"{code} {name}", "field:items") for code, name in (
        ("C0101", "被保險人投保資料"), ("B0101", "給付簡要資料"), ("B0201", "給付明細資料"), ("B0301", "失業給付資格"),
        ("P0301", "勞工提繳退休金異動資料"), ("N0101", "國民年金給付資料"), ("T0101", "老年農民福利津貼發放查詢"),
        ("B0401", "勞保年金給付資料查詢"), ("P0401", "勞退請領資料查詢"))),
    ("□其他", "field:items"),  # the other WebIR items, after the nine
    ("已詳讀並熟悉個人資料保護法規定", "field:read_pdpa"),
    ("Windows XP/ WIN7/WIN10 使用 IE8 以上瀏覽器軟體", "field:meets_system_requirements"),
    ("需有自然人憑證，且已開通，並於 E政府平台完成憑證上傳作業", "field:has_citizen_certificate"),
    ("有讀卡機", "field:has_card_reader"),
    ("申請人", "auto:filing (提出申請)"),
    ("權限管理者核章", "step:permission_setting"),
    ("准予申請（生效日期", "step:permission_setting.effective_date"),
    ("不同意，原因", "step:permission_setting.refused_items"),  # per item: item_<code>, item_<code>_reason
    ("□其他：", "step:permission_setting.other_note"),
    ("申請使用單位主管核章", "step:unit_head_review"),
    ("權限管理單位主管核章", "step:permission_seal"),
]
REGISTRATION = [  # 附表2 查調資料登記表 ↔ query_registration (社會局's)
    ("編號", "field:rows"),  # the line, 1 to 10
    ("申請日期", "field:rows.query_date"),
    ("查調資料內容", "field:rows"),  # the heading over 姓名, 身分證字號 and 查調項目: the rows field's label
    ("姓名", "field:rows.subject_name"),
    ("身分證字號", "field:rows.subject_national_id"),
    ("查調項目", "field:rows.item"),
    ("查調事由", "field:rows.reason"),
    ("需要資料者", "field:data_requester"),
    ("資料查詢者", "auto:the filer (querier role)"),
    ("單位主管核章", "step:unit_head_review"),
    ("１０", "field:rows"),  # ten lines at most (max_rows); 需要資料者 stays one per sheet: the one colleague who
    # may see the application (003 §5 ¶2), while each line on paper has its own box
]
REQUEST = [  # 附表3 查調資料申請表 ↔ query_request
    ("申請單位", "field:requesting_unit"),
    ("申請日期", "auto:filing time"),
    ("申請人", "field:name"),
    ("職    稱", "field:job_title"),
    ("聯絡電話", "field:phone"),
    ("傳真號碼", "field:fax"),
    ("查調內容", "missing:the heading over 查調事由, 查調筆數 and the names, not a field of its own"),
    ("查調事由", "field:reason"),
    ("查調筆數", "field:record_count"),
    ("姓名", "field:subject_name"),
    ("ID", "field:subject_national_id"),
    ("業務權責單\n\n位審核意見", "step:responsible_review"),  # the opinion of the step
    ("資料查詢者核章", "step:responsible_review"),
    ("申請人單位主管核章", "step:unit_head_review"),
    ("使用單位主管核章", "step:responsible_unit_head_review"),
    ("申請人應表明相關法令依據", "field:legal_basis"),
    ("若未說明或說明不清，本案將不予受理", "step:responsible_review.basis_clear"),
]
AUDIT = [  # 附表4 稽核紀錄表 ↔ audit_record
    ("年  月  日～", "field:period_from"),
    ("～   年  月  日", "field:period_to"),
    ("稽核日期", "field:audit_date"),
    ("資料查詢者", "field:querier"),
    ("稽核單位", "field:audit_unit"),
    ("聯絡電話", "field:audit_unit_phone"),
    ("稽核人員", "field:auditors"),
    ("截止日期", "field:documents_due"),
    ("稽核明細", "field:details"),
    ("稽核案件數", "field:case_count"),
    ("稽核意見", "field:opinion"),
    ("資料查詢者 稽核人員", "step:querier_seal"),
    ("資料查詢者 稽核人員", "step:auditor_seal"),
    ("使用單位主管", "step:querier_unit_head_seal"),
    ("稽核單位主管", "step:audit_unit_head_seal"),
    ("將稽核資料依順序附於稽核紀錄表", "missing:the audited documents are attached on paper until applications "
                                       "carry attachments (issue 13)"),
]

CASES = {
    "附表1 querier_account": (0, "querier_account", PERMISSION, {}),
    "附表2 query_registration": (1, "query_registration", REGISTRATION, {
        "case_number": "001 第九點第二款 案號 (matched against the query log)",
        "legal_basis": "003 第五點第一項 (查調事由載明相關法令依據)", "use_until": "001 第十一點"}),
    "附表3 query_request": (2, "query_request", REQUEST, {
        f"subject_{n}_{part}": "the sheet's further 姓名／ID lines"
        for n in (2, 3) for part in ("name", "national_id")}),
    "附表4 audit_record": (3, "audit_record", AUDIT, {"violation_found": "003 第八點第二項"}),
}


def user_tasks(form_key: str):
    process = LAYER.processes[form_key]
    return parse_diagram((LAYER.directory / f"{process}.bpmn").read_bytes(), process).user_tasks


@pytest.mark.parametrize("case", CASES)
def test_each_seed_label_is_on_the_form_or_said_why_not(case):
    n, form_key, rows, _extras = CASES[case]
    check_labels(case, section(n), rows, form_key, names(form_key), user_tasks(form_key))


def names(form_key: str) -> set[str]:
    """The form's fields, and each rows field's columns as ``<field>.<column>``."""
    return {n for f in LAYER.forms[form_key].fields for n in (f.name, *(f"{f.name}.{c.name}" for c in f.columns))}


@pytest.mark.parametrize("case", CASES)
def test_every_field_of_the_form_comes_from_the_seed_or_is_a_listed_extra(case):
    _n, form_key, rows, extras = CASES[case]
    mapped = {where.partition(":")[2] for _label, where in rows if where.startswith("field:")}
    assert names(form_key) == mapped | set(extras)


def test_the_request_types_and_the_nine_items_read_as_附表1_has_them():
    fields = {f.name: f for f in LAYER.forms["querier_account"].fields}
    labels = [label for _code, label in fields["request_type"].choices]
    assert labels == ["新增權限", "註銷權限", "異動查調項目", "職務異動"]
    sheet = section(0)
    nine = [code for code, _label in fields["items"].choices[:9]]
    assert [sheet.index(f"□{code}") for code in nine] == sorted(sheet.index(f"□{code}") for code in nine)
    assert len(fields["items"].choices) == 20  # 其他: the remaining WebIR items follow the nine
