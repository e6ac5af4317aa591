"""Each Taipei form against what the rules say it holds (002; the annexes 附件1-1 … 4 are named, not reproduced).

Every row is (the words of the seed, the clause they are in, where the pack keeps them): ``field:<name>`` a field of
the filed form, ``step:<step form>.<field>`` a field a step asks, ``auto:<what>`` kept by the application itself.
The seed file is a verbatim copy of 002_27e8ba07f4843455.txt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.forms import FORMS, STEP_FORMS

SEED = (Path(__file__).resolve().parents[2] / "fixtures" / "seeds" / "002_27e8ba07f4843455.txt").read_text()

ROWS = {
    "manager_account": [  # 附件1-1, §5(1)(2)
        ("我的 e 政府", "(一)", "field:has_egov_account"),
        ("自然人憑證", "(一)", "field:has_citizen_certificate"),
        ("申請目的", "(一)", "field:purpose"),
        ("法令依據", "(一)", "field:legal_basis"),
        ("委託機關同意", "(二)", "field:commissioning_agency"),
    ],
    "querier_account": [  # 附件1-2, §5(3)(4)
        ("我的 e 政府", "(三)", "field:egov_account"),
        ("本點第一款規定之網站申請帳號", "(三)", "field:has_egov_account"),
        # the site of (一), where the account is applied for with the citizen certificate uploaded
        ("申請公務人員帳號並上傳自然人憑證", "(一)", "field:has_citizen_certificate"),
        ("申請目的", "(三)", "field:purpose"),
        ("法令依據", "(三)", "field:legal_basis"),
        ("註銷日期", "(四)", "step:transfer_account.account_decision"),
        ("離職", "(四)", "field:request_type"),
    ],
    "query_registration": [  # 附件2, §6(1)
        ("案件編號", "(一)", "field:case_number"),
        ("查詢人員", "(一)", "auto:the filer"),
        ("查詢日期", "(一)", "field:query_date"),
        ("查詢目的", "(一)", "field:reason"),
        ("非辦公時間", "(三)", "field:query_time"),
    ],
    "proxy_authorisation": [  # 附件3, §6(2)
        ("代為查詢", "(二)", "field:authoriser"),
        ("急迫性需要", "(二)", "field:urgency"),
        ("核定的查詢業務範圍項目", "(二)", "field:item"),
        ("代查授權書", "(二)", "field:signed_authorisation"),
        ("代查授權書", "(二)", "step:proxy_review.authorisation_checked"),
    ],
    "internal_audit": [  # 附件4 查核項目表, §8(1)3-5
        ("查核項目表", "4.", "step:internal_audit.check_register"),
        ("簽報機關首長核定", "4.", "step:audit_approval"),
        ("燒成光碟", "5.", "step:internal_audit.archived_on_disc"),
    ],
}


def kept(where: str, form: str) -> bool:
    kind, _, name = where.partition(":")
    if kind == "field":
        return name in {f.name for f in FORMS[form].fields}
    if kind == "step":
        step, _, field = name.partition(".")
        return step in STEP_FORMS and (not field or field in {f.name for f in STEP_FORMS[step].fields})
    return kind == "auto"


@pytest.mark.parametrize("form", sorted(ROWS))
def test_what_the_rules_name_is_on_the_form(form):
    for words, clause, where in ROWS[form]:
        assert words in SEED, (form, words)
        assert clause in SEED, (form, clause)
        assert kept(where, form), (form, words, where)


@pytest.mark.parametrize("form", ["manager_account", "querier_account", "query_registration", "proxy_authorisation"])
def test_every_required_field_is_one_the_rules_ask_for(form):
    """A required field no row accounts for is a field the rules do not ask for (or a row is missing here)."""
    listed = {where.partition(":")[2] for _w, _c, where in ROWS[form] if where.startswith("field:")}
    # Fields every account or query form carries as the rules' common ground: who, how to reach them, what item.
    common = {"request_type", "name", "phone", "email", "job_title", "national_id", "items", "reason",
              "subject_name", "subject_national_id", "item", "legal_basis", "case_number", "query_date",
              "query_time", "egov_account"}
    required = {f.name for f in FORMS[form].fields if f.required}
    assert required <= listed | common, required - listed - common
