"""社會局's own chains (003_3c18a90f306508ef.txt) walked by its people, through the real engine and database:
附表1 with the 權限管理者's per-item decision and the 權限管理單位主管's seal (§2), 附表2 with a 需要資料者 (§5 ¶2),
a district office's 附表3 approved and refused (§5 ¶3), the 稽核紀錄表 to the director-general (§8 ¶1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AccountKind, Agency, HistoryEntry
from models.personal import Substitution
from tests.conftest import NOW
from tests.conftest import REGISTRATION as CITY_REGISTRATION
from workflows.accounts.effects import active_account
from workflows.errors import Forbidden, Invalid
from workflows.filing import reads
from workflows.filing.sheets import get_sheets
from workflows.filing.tasks import complete_task
from workflows.oversight.violations import report_days
from workflows.runtime.visibility import may_view
from workflows.settings import configure

SW_QUERIER_ADD = {
    "request_type": "add", "job_title": "科員", "name": "吳佩珊", "reason": "辦理低收入戶審核需查詢投保及給付資料",
    "national_id": "A123456789", "phone": "07-3368333#1234", "email": "peishan@demo.kcg.gov.tw",
    "egov_account": "peishan.wu", "items": ["C0101", "B0101", "B0201"], "read_pdpa": True,
    "meets_system_requirements": True, "has_citizen_certificate": True, "has_card_reader": True,
}
REGISTRATION = {  # 附表2: a sheet of lines, here one
    "case_number": "115-社救-0107", "rows": [{
        "query_date": "2026-11-25", "subject_name": "陳小明", "subject_national_id": "E123456783", "item": "C0101",
        "reason": "中低收入戶資格審查，需核對投保薪資"}],
    "legal_basis": "社會救助法第十八條、第二十條、第二十一條及第四十四條之三第一項",  # 社會局's table, 001 附表
}
QUERY_REQUEST = {
    "requesting_unit": "高雄市鳳山區公所社會課", "name": "莊雅雯", "job_title": "社會課課員", "phone": "07-7460101",
    "fax": "07-7460199", "reason": "辦理急難救助訪視，需確認申請人之投保狀況", "legal_basis": "社會救助法第二十一條",
    "record_count": 2, "subject_name": "黃大同", "subject_national_id": "E123456783",
    "subject_2_name": "黃小美", "subject_2_national_id": "A123456789",
}
AUDIT_RECORD = {
    "period_from": "2026-07-01", "period_to": "2026-09-30", "audit_date": "2026-11-20", "querier": "applicant",
    "audit_unit": "秘書室資訊小組、政風室", "audit_unit_phone": "07-3343259", "auditors": "王美玲、周志豪",
    "documents_due": "2026-11-27", "case_count": 12,
    "details": "抽核 12 件查調紀錄，均有查調資料登記表並經單位主管核可", "opinion": "查調作業符合本要點規定",
}


def test_sw_staff_files_附表1_and_the_manager_decides_each_item_then_the_it_unit_head_seals(
        sw_rules, session, person, submit, decide):
    app = submit("sw_staff", "querier_account", SW_QUERIER_ADD)
    assert app.definition_version.definition.key == "querier_account_khh_sw"
    app = decide(app, "sw_unit_head", "unit_head_review")
    # The manager must answer every item; refusing one needs its reason; refusing them all is 不同意.
    with pytest.raises(Invalid) as missing:
        decide(app, "manager", "permission_setting", effective_date="115/12/01", item_C0101="grant")
    assert set(missing.value.errors) == {"item_B0101", "item_B0201"}
    session.rollback()
    with pytest.raises(Invalid) as no_reason:
        decide(app, "manager", "permission_setting", effective_date="115/12/01", item_C0101="grant",
               item_B0101="grant", item_B0201="refuse")
    assert set(no_reason.value.errors) == {"item_B0201_reason"}
    session.rollback()
    with pytest.raises(Invalid) as none_granted:
        decide(app, "manager", "permission_setting", effective_date="115/12/01", **{
            f"item_{c}": "refuse" for c in ("C0101", "B0101", "B0201")}, **{
            f"item_{c}_reason": "無業務需要" for c in ("C0101", "B0101", "B0201")})
    assert "不同意" in none_granted.value.errors["item_C0101"]
    session.rollback()
    app = decide(app, "manager", "permission_setting", effective_date="115/12/01", item_C0101="grant",
                 item_B0101="grant", item_B0201="refuse", item_B0201_reason="給付明細非本科業務所需", minutes=1)
    assert active_account(session, person("sw_staff").id, AccountKind.QUERIER) is None  # not before the seal
    # The 權限管理單位主管 is the head of the manager's unit (秘書室資訊小組), not the applicant's.
    app = decide(app, "sw_it_head", "permission_seal", minutes=2)
    assert app.state == "completed"
    account = active_account(session, person("sw_staff").id, AccountKind.QUERIER)
    assert sorted(account.item_codes) == ["B0101", "C0101"] and account.effective_on.isoformat() == "2026-12-01"
    setting = session.scalar(select(HistoryEntry).where(HistoryEntry.application_id == app.id,
                                                        HistoryEntry.step == "permission_setting"))
    assert setting.data["granted_items"] == ["C0101", "B0101"]
    assert setting.data["refused_items"] == "B0201 給付明細資料：給付明細非本科業務所需"
    seal = reads.get_application_view(session, app.id, person("admin")).history[-1]
    assert (seal.step, seal.actor_name, seal.decision) == ("permission_seal", "張國華", "approve")
    # The printed sheet is 社會局's 附表1, the seal with the signer's title.
    [sheet] = get_sheets(session, [app.id], person("admin"), app.closed_at)
    assert (sheet.annex, sheet.form.source) == ("附表1", "003 第二點；附表1")
    assert sheet.view.form_title == "高雄市政府社會局應用勞動部勞工保險局資訊中介服務系統資料查詢者權限申請表"
    assert sheet.view.history[-1].actor_title == "秘書室主任"


def test_a_leave_substitute_seals_a_layer_lane_step_on_the_holders_behalf(sw_rules, session, person, submit, decide):
    # sw_it_head (the 權限管理單位主管, a lane of the layer) is on leave; sw_it_staff stands in (代理人)
    session.add(Substitution(principal_id=person("sw_it_head").id, substitute_id=person("sw_it_staff").id,
                             valid_from=NOW.date(), valid_until=NOW.date() + timedelta(days=7)))
    session.commit()
    app = submit("sw_staff", "querier_account", SW_QUERIER_ADD)
    app = decide(app, "sw_unit_head", "unit_head_review")
    app = decide(app, "manager", "permission_setting", effective_date="115/12/01", item_C0101="grant",
                 item_B0101="grant", item_B0201="grant", minutes=1)
    row = next(r for r in reads.list_inbox(session, person("sw_it_staff")) if r.application_id == app.id)
    app = complete_task(session, task_id=row.task_id, actor=person("sw_it_staff"), decision="approve",
                        opinion="代為核章", data={}, now=NOW + timedelta(minutes=2))
    seal = session.scalar(select(HistoryEntry).where(HistoryEntry.application_id == app.id,
                                                     HistoryEntry.step == "permission_seal"))
    assert (seal.actor_id, seal.on_behalf_of_id) == (person("sw_it_staff").id, person("sw_it_head").id)


def test_the_manager_may_refuse_the_whole_附表1_with_its_reason(sw_rules, session, person, submit, decide):
    app = submit("sw_staff", "querier_account", SW_QUERIER_ADD)
    app = decide(app, "sw_unit_head", "unit_head_review")
    app = decide(app, "manager", "permission_setting", "reject", "本科已有資料查詢者，請洽其協助查調",
                 item_C0101="refuse", item_C0101_reason="已有資料查詢者")  # answers given or not, 不同意 ends it
    assert app.state == "rejected" and app.outcome_reason == "本科已有資料查詢者，請洽其協助查調"
    assert active_account(session, person("sw_staff").id, AccountKind.QUERIER) is None


def test_the_city_form_is_refused_for_社會局_while_other_agencies_keep_the_city_chain(
        sw_rules, session, person, submit, decide):
    from tests.conftest import QUERIER_ADD
    with pytest.raises(Invalid) as city_form:  # 社會局's people fill 附表1: 讀卡機 and the system needs are asked
        submit("sw_staff", "querier_account", QUERIER_ADD)
    assert {"has_egov_account", "has_card_reader"} <= set(city_form.value.errors)
    session.rollback()
    # 環保局's querier changes items on the city's 附表三: unit head, the agency manager decides each item, the head of
    # the manager's unit seals.
    change = {**QUERIER_ADD, "request_type": "change_items", "name": "洪俊傑", "egov_account": "ep_querier.egov",
              "items": ["C0101", "C0401"]}
    app = submit("ep_querier", "querier_account", change)
    assert app.definition_version.definition.key == "querier_account"
    app = decide(app, "ep_unit_head", "unit_head_review")
    app = decide(app, "ep_manager", "agency_manager_setup", effective_date="115/12/01", item_C0101="grant",
                 item_C0401="grant")
    app = decide(app, "ep_unit_head", "manager_unit_head_seal")
    assert app.state == "completed"
    account = active_account(session, person("ep_querier").id, AccountKind.QUERIER)
    assert sorted(account.item_codes) == ["C0101", "C0401"]


def test_附表2_names_the_colleague_who_needs_the_data_and_the_unit_head_consents(
        sw_rules, session, person, submit, decide):
    with pytest.raises(Invalid) as other_unit:  # §5 ¶2: 同業務單位之人員
        submit("applicant", "query_registration", {**REGISTRATION, "data_requester": "manager"})
    assert "003 第五點第二項" in other_unit.value.errors["data_requester"]
    session.rollback()
    app = submit("applicant", "query_registration", {**REGISTRATION, "data_requester": "sw_staff"})
    assert app.definition_version.definition.key == "query_registration_khh_sw"
    assert app.requester.username == "sw_staff"
    today = app.created_at.date()
    assert may_view(session, app.id, person("sw_staff"), today)  # the 需要資料者 follows it
    assert not may_view(session, app.id, person("fs_staff"), today)
    # The unit head's inbox row shows 附表2's key fields (the layer's form), the 需要資料者 among them.
    [row] = [r for r in reads.list_inbox(session, person("sw_unit_head")) if r.application_id == app.id]
    shown = {k.name: k.value for k in row.key}
    assert shown["data_requester"] == "sw_staff" and shown["rows"] == "陳小明 E12****783 C0101 被保險人投保資料"
    app = decide(app, "sw_unit_head", "unit_head_review")  # the supervisor's consent
    assert app.state == "completed"
    own = submit("applicant", "query_registration", {**REGISTRATION, "case_number": "115-社救-0108"})
    assert own.requester is None and not may_view(session, own.id, person("sw_staff"), today)


def test_a_district_office_request_is_approved_by_社會局s_responsible_unit(session, person, submit, decide):
    app = submit("fs_staff", "query_request", QUERY_REQUEST)
    assert app.agency.code == "KHH-FS"
    app = decide(app, "fs_unit_head", "unit_head_review")
    # 社會局's responsible unit (社會救助科): its querier reviews, its unit head seals.
    with pytest.raises(Invalid) as unclear:
        decide(app, "applicant", "responsible_review")
    assert set(unclear.value.errors) == {"basis_clear"}
    session.rollback()
    app = decide(app, "applicant", "responsible_review", basis_clear=True, minutes=1)
    app = decide(app, "sw_unit_head", "responsible_unit_head_review", minutes=2)
    assert app.state == "completed"
    assert may_view(session, app.id, person("fs_staff"), app.created_at.date())
    shown = reads.get_application_view(session, app.id, person("applicant"))
    assert "A12****789" in str(shown.data) and "A123456789" not in str(shown.data)


def test_a_request_without_a_clear_basis_is_refused(session, submit, decide):
    app = submit("fs_staff", "query_request", {**QUERY_REQUEST, "legal_basis": "業務需要", "record_count": 2})
    app = decide(app, "fs_unit_head", "unit_head_review")
    app = decide(app, "applicant", "responsible_review", "reject", "未表明法令依據，亦未釋明與業務之關聯性，不予受理")
    assert app.state == "rejected" and "不予受理" in app.outcome_reason


def test_only_the_agencies_社會局_commissions_file_附表3(session, submit):
    for username in ("sw_staff", "ep_querier"):
        with pytest.raises(Forbidden):
            submit(username, "query_request", QUERY_REQUEST)
        session.rollback()
    with pytest.raises(Invalid) as count:
        submit("fs_staff", "query_request", {**QUERY_REQUEST, "record_count": 1})
    assert set(count.value.errors) == {"record_count"}


def test_the_audit_record_collects_the_four_seals_and_reaches_the_director_general(session, person, submit, decide):
    with pytest.raises(Forbidden):  # 環保局's manager has no 稽核紀錄表: it is 社會局's form
        submit("ep_manager", "audit_record", {**AUDIT_RECORD, "querier": "ep_querier"})
    session.rollback()
    app = submit("manager", "audit_record", AUDIT_RECORD)
    app = decide(app, "sw_auditor", "auditor_seal")  # 政風室's 稽核人員
    app = decide(app, "applicant", "querier_seal", minutes=1)  # the querier audited
    app = decide(app, "sw_unit_head", "querier_unit_head_seal", minutes=2)  # 使用單位主管
    app = decide(app, "sw_it_head", "audit_unit_head_seal", minutes=3)  # 稽核單位主管 (資訊小組)
    app = decide(app, "sw_head", "director_review", minutes=4)  # 局長核閱後存查
    assert app.state == "completed"
    signers = [h.actor_name for h in reads.get_application_view(session, app.id, person("admin")).history]
    assert signers == ["王美玲", "周志豪", "林怡君", "陳志明", "張國華", "李文彬"]


def test_a_violating_querier_reports_within_the_layers_ten_days(session):
    configure(violation_report_days=14)  # the city's default moved; 社會局's own rule stays (003 §8 ¶2)
    sw, ep = (session.scalar(select(Agency).where(Agency.code == c)) for c in ("KHH-SW", "KHH-EP"))
    assert (report_days(sw), report_days(ep)) == (10, 14)


def test_the_form_chains_show_社會局s_own_chain_and_switch_it_back_to_the_citys(sw_rules, api, session, submit):
    admin = api.as_("admin")
    chains = admin.get("/api/v1/form-chains").get_json()
    city = next(c for c in chains if c["form"] == "querier_account" and c["agency"] is None)
    own = next(c for c in chains if c["form"] == "querier_account" and c["agency"] == "KHH-SW")
    assert city["live"] == "querier_account" and [p["key"] for p in city["processes"]] == ["querier_account"]
    assert (own["live"], own["chosen"]) == ("querier_account_khh_sw", False)
    assert own["title"].startswith("高雄市政府社會局")
    refused = admin.post("/api/v1/form-chains/querier_account", {"process": "querier_account_khh_sw", "note": "試辦"})
    assert refused.status_code == 422  # the city's row never runs an agency's own chain
    switched = admin.post("/api/v1/form-chains/querier_account",
                          {"process": "querier_account", "agency": "KHH-SW", "note": "社會局暫依市府附表三辦理"})
    assert switched.status_code == 200, switched.get_json()
    assert (switched.get_json()["agency"], switched.get_json()["live"]) == ("KHH-SW", "querier_account")
    from tests.conftest import QUERIER_ADD
    session.expire_all()
    assert submit("sw_staff", "querier_account", QUERIER_ADD).definition_version.definition.key == "querier_account"
    # Its people then read the city's 附表三 (the form goes with the chain that runs it).
    form = api.as_("sw_staff").get("/api/v1/forms/querier_account").get_json()
    assert "has_egov_account" in {f["name"] for f in form["fields"]}


def test_the_chains_page_switches_社會局s_own_row(sw_rules, client, session, submit):
    client.post("/login", data={"username": "admin", "password": "demo"})
    page = client.get("/admin/chains").text
    assert 'data-agency="KHH-SW"' in page and '<label for="process-querier_account-KHH-SW">' in page
    done = client.post("/admin/chains/query_registration", data={
        "process": "query_registration", "agency": "KHH-SW", "note": "暫依市府附表一"}, follow_redirects=True).text
    assert "今後由流程「query_registration」辦理" in done
    session.expire_all()
    app = submit("applicant", "query_registration", CITY_REGISTRATION)  # the city's 附表一 again: a sheet of rows
    assert app.definition_version.definition.key == "query_registration"
