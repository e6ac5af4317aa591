"""The official forms and the per-step forms, described once as data.

The web layer builds WTForms classes from these descriptions and the API
publishes them; both validate through ``clean_fields`` so a rule lives once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models import QUERY_ITEMS

from . import validators as v

FIELD_TYPES = ("string", "text", "email", "phone", "date", "boolean", "choice", "multichoice",
               "national_id", "ipv4", "integer")
ITEM_CHOICES = tuple((code, f"{code} {name}") for code, name in QUERY_ITEMS.items())


def item_choices(codes) -> tuple[tuple[str, str], ...]:
    """Choices for some of the 20 items, in the order given."""
    return tuple((c, f"{c} {QUERY_ITEMS[c]}") for c in codes if c in QUERY_ITEMS)

MAX_TEXT = 2000


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    # Required only when another field holds one of these values, e.g. {"request_type": ("add",)}.
    required_when: tuple[str, tuple[str, ...]] | None = None
    sensitive: bool = False  # personal data: masked where not needed
    max_length: int | None = None  # when a column keeps it: shorter than text (2000) or a line (200)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "label": self.label, "type": self.type,
                               "required": self.required}
        if self.choices:
            out["choices"] = [{"value": c, "label": label} for c, label in self.choices]
        if self.help:
            out["help"] = self.help
        return out


@dataclass(frozen=True)
class FormSpec:
    key: str
    title: str
    source: str
    fields: tuple[Field, ...]
    filer_role: str | None = None  # None: any staff member may file
    check: Callable[[dict[str, Any]], dict[str, str]] | None = None
    summary_fields: tuple[str, ...] = ()
    # What an approver must see in the inbox row to know what is asked without opening it (ID numbers masked).
    key_fields: tuple[str, ...] = ()
    # A field naming (by username) a colleague the application is filed for, who may then see it (003 §5 ¶2).
    requester_field: str | None = None


DECISION_LABELS = {
    "approve": "同意",
    "reject": "不同意",
    "return": "退回補正",
    "resubmit": "補正後重新送出",
    "withdraw": "撤回申請",
    "send_back": "退回前關",
    "recall": "取回",
}


@dataclass(frozen=True)
class StepForm:
    """What a step asks beyond the opinion: its decisions and extra fields."""

    key: str
    decisions: tuple[str, ...]
    fields: tuple[Field, ...] = ()
    approve_label: str = "同意"
    check: Callable[[dict[str, Any]], dict[str, str]] | None = None


_ATTEST_EGOV = Field("has_egov_account", "已於「我的e政府」平台完成公務帳號申請", "boolean", required=True,
                     required_when=("request_type", ("add",)))
_ATTEST_CERT = Field("has_citizen_certificate", "已於「我的e政府」綁定並上傳自然人憑證", "boolean", required=True,
                     required_when=("request_type", ("add",)))
_PHONE = Field("phone", "公務電話", "phone", required=True)
_EMAIL = Field("email", "E-mail", "email", required=True)
_NAME = Field("name", "姓名", "string", required=True)
_EGOV_ACCOUNT = Field("egov_account", "「我的e政府」公務帳號", "string", required=True, max_length=80)  # webir_account


def _items_change_check(data: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if not data.get("add_items") and not data.get("remove_items"):
        errors["add_items"] = "請至少勾選一項新增或刪除的查調項目"
    both = set(data.get("add_items") or ()) & set(data.get("remove_items") or ())
    if both:
        errors["remove_items"] = f"同一項目不可同時新增與刪除：{', '.join(sorted(both))}"
    return errors


def registration_check(data: dict[str, Any]) -> dict[str, str]:
    """001 §11: the data is used after the query, so its use cannot end before the registration's date."""
    if data.get("use_until") and data.get("query_date") and data["use_until"] < data["query_date"]:
        return {"use_until": "資料使用期限不可早於申請日期"}
    return {}


FORMS: dict[str, FormSpec] = {f.key: f for f in (
    FormSpec(
        "manager_account", "勞保 WebIR 機關管理者帳號申請表", "000 附表二；001 第五點",
        (
            Field("request_type", "申請事項", "choice", required=True,
                  choices=(("add", "申請機關管理者"), ("delete", "刪除機關管理者"))),
            _NAME,
            Field("agency_oid", "機關 OID", "string", required=True),
            _PHONE, _EMAIL,
            _EGOV_ACCOUNT,
            _ATTEST_EGOV, _ATTEST_CERT,
            Field("succeeds", "接任之現任機關管理者帳號", "string", max_length=60,
                  help="接任現任機關管理者時填寫其登入帳號；僅設一名管理者之機關（如社會局，003 第七點）必填"),
            Field("reason", "申請說明", "text"),
        ),
        summary_fields=("request_type", "name"),
        key_fields=("request_type", "name", "reason"),
    ),
    FormSpec(
        "querier_account", "勞保 WebIR 資料查詢者帳號申請表", "000 附表三；003 附表1；001 第五點第二款",
        (
            Field("request_type", "申請事項", "choice", required=True, choices=(
                ("add", "新增資料查詢者"), ("change_items", "異動查調項目"),
                ("delete", "刪除資料查詢者"), ("job_change", "職務異動"))),
            _NAME,
            Field("job_title", "職稱", "string", required=True),
            Field("national_id", "身分證字號", "national_id", required=True, sensitive=True),
            _PHONE, _EMAIL,
            _EGOV_ACCOUNT,
            _ATTEST_EGOV, _ATTEST_CERT,
            Field("read_pdpa", "已詳讀並熟悉個人資料保護法規定，並依要點規定進行資料查詢作業", "boolean",
                  required=True, required_when=("request_type", ("add", "change_items", "job_change"))),
            Field("items", "申請查調服務項目", "multichoice", required=True, choices=ITEM_CHOICES,
                  required_when=("request_type", ("add", "change_items"))),
            Field("reason", "申請事由", "text", required=True),
        ),
        summary_fields=("request_type", "name"),
        key_fields=("request_type", "name", "national_id", "items", "reason"),
    ),
    FormSpec(
        "query_items_change", "勞保 WebIR 查調服務項目異動申請表", "000 附表四及查調服務項目申請表；001 第五點",
        (
            _NAME, _PHONE, _EMAIL,
            Field("client_ip", "連線勞保查詢系統之電腦合法 IP", "ipv4", required=True),
            Field("add_items", "欲新增項目（打勾）", "multichoice", choices=ITEM_CHOICES),
            Field("remove_items", "欲刪除項目（打叉）", "multichoice", choices=ITEM_CHOICES),
            Field("legal_basis", "法令依據", "text", required=True),
        ),
        filer_role="agency_manager",
        check=_items_change_check,
        summary_fields=("add_items", "remove_items"),
        key_fields=("add_items", "remove_items", "legal_basis"),
    ),
    FormSpec(
        "query_registration", "查調資料登記表", "000 附表一；001 第九點第一款；003 附表2",
        (
            Field("case_number", "案號", "string", required=True),
            Field("query_date", "申請日期", "date", required=True),
            Field("subject_name", "被查詢人姓名", "string", required=True),
            Field("subject_national_id", "被查詢人身分證字號", "national_id", required=True, sensitive=True),
            Field("item", "查調類別", "choice", required=True, choices=ITEM_CHOICES),
            Field("reason", "查調事由（釋明業務執行與查詢之關聯性）", "text", required=True),
            Field("legal_basis", "法令依據", "text", required=True),
            Field("use_until", "資料使用期限", "date",
                  help="001 第十一點：查得資料於使用完畢後一個月內刪除；未填者以核准日為使用完畢日"),
        ),
        filer_role="querier",
        check=registration_check,
        summary_fields=("case_number", "item"),
        key_fields=("case_number", "subject_name", "subject_national_id", "item", "reason"),
    ),
    FormSpec(
        "role_transfer", "職務異動", "001 第六點第四款、第五款、第七點；000 第四點末段",
        (
            Field("person", "異動人員帳號", "string", required=True, help="本機關人員的登入帳號，例如 manager"),
            Field("kind", "異動人員類別", "choice", required=True, choices=(
                ("querier", "資料查詢者"), ("agency_manager", "機關管理者"),
                ("central_staff", "總管理機關聯繫窗口、專責人員或單位主管"))),
            Field("effective_date", "異動生效日期", "date", required=True),
            Field("new_position", "新職務", "string", required=True),
            Field("successor", "接任者帳號", "string", required=True, required_when=("kind", ("agency_manager",)),
                  help="機關管理者異動時必填；接任者須已取得有效的機關管理者帳號"),
            Field("reason", "異動原因", "text", required=True),
        ),
        filer_role="agency_head",
        summary_fields=("person", "kind"),
        key_fields=("person", "kind", "effective_date", "reason"),
    ),
)}

FORMS["data_incident"] = FormSpec(
    "data_incident", "個人資料安全事故通報", "001 第十二點第十款",
    (
        Field("occurred_on", "事故發生或發現日期", "date", required=True),
        Field("suspected", "疑似事故（尚待確認）", "boolean"),
        Field("description", "事故經過", "text", required=True),
        Field("data_involved", "涉及之勞保局資料及影響範圍", "text", required=True),
        Field("people_affected", "受影響當事人人數（約）", "integer"),
        Field("emergency_measures", "已採取之緊急應變措施", "text", required=True),
    ),
    summary_fields=("occurred_on",),
)

FORMS["agency_admission"] = FormSpec(
    "agency_admission", "資料需求機關申請使用勞保 WebIR",
    "000 第二點第三款；001 第二點第三款、第四點附表、第十二點第七款",
    (
        Field("request_type", "申請事項", "choice", required=True, choices=(
            ("admit", "申請使用勞保 WebIR"), ("readmit", "改善完成後重新申請"))),
        Field("legal_bases", "法律依據", "text", required=True),
        Field("purposes", "業務範圍及使用目的", "text", required=True),
        Field("improvement_evidence", "改善完成之佐證資料", "text", required=True,
              required_when=("request_type", ("readmit",))),
    ),
    filer_role="agency_head",
    summary_fields=("request_type",),
)
FORMS["agency_suspension"] = FormSpec(
    "agency_suspension", "勞保局暫停或終止資料提供作業", "001 第十二點第六款",
    (
        Field("agency_code", "資料需求機關代碼", "string", required=True, max_length=40),
        Field("measure", "處置", "choice", required=True, choices=(("suspend", "暫停"), ("terminate", "終止"))),
        Field("effective_date", "暫停或終止日期", "date", required=True),
        Field("bureau_letter_no", "勞保局函文號", "string", required=True),
        Field("reason", "違反情形及屆期未完成改善之事由", "text", required=True),
    ),
    filer_role="bureau_liaison",
    summary_fields=("agency_code", "measure"),
)

SCHEDULER = "scheduler"  # no person holds this role: duties are started by the scheduler, never filed


def _duty(key: str, title: str, source: str) -> FormSpec:
    return FormSpec(key, title, source, (), filer_role=SCHEDULER)


for _duty_form in (
    _duty("account_review", "年度使用者帳號權限清查", "001 第六點第六款"),
    _duty("usage_check", "每三個月使用紀錄檢查", "000 第三點第四款第三目；003 第七點"),
    _duty("monthly_sampling", "每月查詢紀錄抽查", "001 第十二點第一款"),
    _duty("agency_audit", "年度稽核", "001 第十二點第三款；000 第六點第二款"),
    _duty("items_review", "年度查調項目需求檢視", "001 第九點第三款"),
    _duty("password_reminder", "定期變更密碼提醒", "004 第七點"),
    _duty("sampling_report", "每三個月抽查紀錄送勞工局備查", "001 第十二點第一款"),
):
    FORMS[_duty_form.key] = _duty_form

# A violation case is opened by the core (a flag raised as a violation, a sampled row found a problem), never filed.
FORMS["violation"] = FormSpec(
    "violation", "違規案件改正及檢討報告", "000 第六點第三款；001 第十二點第四款；003 第八點",
    (
        Field("source", "發現來源", "choice", choices=(("flag", "查詢紀錄勾稽註記"), ("sampling", "每月抽查"))),
        Field("flag", "註記", "string"),
        Field("query_log_id", "查詢紀錄編號", "integer"),
        Field("sampling_draw", "抽樣編號", "integer"),
        Field("account", "使用者帳號", "string"),
        Field("description", "違規情形", "text"),
        Field("report_due", "檢討報告期限", "date"),
    ),
    filer_role=SCHEDULER,
    summary_fields=("source", "report_due"),
    key_fields=("source", "account", "description", "report_due"),
)
# A major anomaly's joint audit (001 §12(2)): started from a violation case, never filed.
FORMS["joint_audit"] = FormSpec(
    "joint_audit", "重大異常共同稽核", "001 第十二點第二款",
    (
        Field("violation_case", "違規案件編號", "integer"),
        Field("query_log_id", "查詢紀錄編號", "integer"),
        Field("account", "使用者帳號", "string"),
        Field("reason", "列為重大異常之理由", "text"),
    ),
    filer_role=SCHEDULER,
    summary_fields=("account",),
    key_fields=("account", "reason"),
)

# Duties whose instance carries figures to read on its pages: shown as fields (never filed, so never validated).
for _duty_form in (
    FormSpec("data_deletion", "查調資料刪除確認", "001 第十一點", (
        Field("registration", "查調資料登記表申請編號", "integer"),
        Field("case_number", "案號", "string"),
        Field("item", "查調類別", "choice", choices=ITEM_CHOICES),
        Field("use_until", "資料使用期限", "date"),
        Field("deletion_due", "應確認刪除日期", "date"),
    ), filer_role=SCHEDULER),
    FormSpec("destruction", "逾保存年限資料銷毀清冊", "001 第十一點；002 第七點；檔案法第十二條", (
        Field("proposed_on", "清冊產製日期", "date"),
        Field("application_count", "逾保存年限之案件數（不含保全中案件）", "integer"),
        Field("applications", "擬銷毀個人資料之案件申請編號", "multichoice"),
        Field("query_log_count", "逾保存年限之查詢紀錄筆數", "integer"),
    ), filer_role=SCHEDULER),
):
    FORMS[_duty_form.key] = _duty_form


def _sampling_check(data: dict[str, Any]) -> dict[str, str]:
    """001 §12(1): at least 3 % and at least 10 records a month; all of them when fewer than 10."""
    total, sampled = data.get("total_queries"), data.get("sampled_records")
    if total is None or sampled is None:
        return {}
    if sampled > total:
        return {"sampled_records": "抽查筆數不可多於查詢總筆數"}
    needed = total if total < 10 else max(10, -(-3 * total // 100))
    if sampled < needed:
        return {"sampled_records": f"本月應至少抽查 {needed} 筆（3% 以上且不少於 10 筆；不足 10 筆者全數查核）"}
    return {}


def _termination_check(data: dict[str, Any]) -> dict[str, str]:
    """001 §9(3): the items marked not needed are the ones put to 勞保局, and only when termination is asked."""
    if data.get("request_termination") and not data.get("items_to_terminate"):
        return {"items_to_terminate": "請勾選函請勞保局終止之項目"}
    if data.get("items_to_terminate") and not data.get("request_termination"):
        return {"request_termination": "勾選已無需求之項目時，請一併勾選函請勞保局終止"}
    return {}


_REVIEW = ("approve", "reject", "return")
STEP_FORMS: dict[str, StepForm] = {s.key: s for s in (
    StepForm("review", _REVIEW),
    StepForm("account_setup", _REVIEW, (
        Field("effective_date", "帳號設定完成日期", "date", required=True, required_when=("decision", ("approve",))),
    ), approve_label="同意並完成設定"),
    StepForm("item_review", _REVIEW, (
        Field("approved_items", "同意之項目（未勾選者為不同意）", "multichoice"),
    )),
    StepForm("bureau_answer", ("approve",), (
        Field("bureau_approved_items", "勞保局同意之項目（未勾選者為不同意）", "multichoice"),
        Field("bureau_letter_no", "勞保局函文號", "string", required=True),
        Field("answered_on", "勞保局回復日期", "date", required=True),
    ), approve_label="登錄審核結果"),
    StepForm("apply_items", ("approve",), (
        Field("applied_on", "查調權限異動完成日期", "date", required=True),
    ), approve_label="完成設定"),
    StepForm("amend", ("resubmit", "withdraw")),
    StepForm("acknowledge", ("approve",), approve_label="已核閱／完成"),
    # The per-account fields (account_<id>_decision / _items / _reason) are bound in tasks.step_fields.
    StepForm("account_review", ("approve",), (
        Field("findings", "清查說明（整體）", "text"),
    ), approve_label="完成清查"),
    StepForm("transfer_account", ("approve",), (
        Field("account_decision", "帳號異動", "choice", required=True,
              choices=(("narrow", "縮減查調項目"), ("delete", "刪除（停用）帳號"))),
        Field("account_items", "縮減後保留之查調項目", "multichoice", required=True,
              required_when=("account_decision", ("narrow",))),
    ), approve_label="完成帳號異動"),
    # 001 §12(10): 事故調查、責任釐清及研擬防免損害擴大之對策, then the report to 勞保局.
    StepForm("incident_investigation", ("approve",), (
        Field("cause", "事故原因", "text", required=True),
        Field("responsibility", "責任釐清", "text", required=True),
        Field("countermeasures", "防免損害擴大之對策", "text", required=True),
        Field("report", "調查報告", "text", required=True),
        Field("closed_on", "調查完成日期", "date", required=True),
    ), approve_label="提出調查報告"),
    StepForm("bureau_notice", ("approve",), (
        Field("notified_on", "通知勞保局日期", "date", required=True),
        Field("notice_reference", "通知方式或文號", "string", required=True),
    ), approve_label="已通知勞保局"),
    StepForm("usage_check", ("approve",), (
        Field("period_from", "檢查期間起", "date", required=True),
        Field("period_to", "檢查期間迄", "date", required=True),
        Field("anomalies_found", "發現異常情形", "boolean"),
        Field("findings", "檢查結果", "text", required=True),
    ), approve_label="送勞工局備查"),
    StepForm("sampling", ("approve",), (
        Field("total_queries", "當月查詢總筆數", "integer", required=True),
        Field("sampled_records", "抽查筆數", "integer", required=True),
        Field("anomalies_found", "發現重大異常", "boolean"),
        Field("findings", "查核紀錄", "text", required=True),
    ), approve_label="完成抽查", check=_sampling_check),
    StepForm("agency_audit", ("approve",), (
        Field("audit_date", "稽核日期", "date", required=True),
        Field("violations_found", "發現違反要點情形", "boolean"),
        Field("findings", "稽核紀錄", "text", required=True),
        Field("recommendation", "獎懲或改善建議", "text"),
    ), approve_label="完成稽核"),
    StepForm("violation_correction", ("approve",), (
        Field("corrected_on", "改正日期", "date", required=True),
        Field("correction", "改正情形", "text", required=True),
    ), approve_label="完成改正"),
    StepForm("violation_report", ("approve",), (
        Field("cause", "違規原因", "text", required=True),
        Field("review", "檢討及防範措施", "text", required=True),
    ), approve_label="提出檢討報告"),
    StepForm("sampling_report", ("approve",), (
        Field("anomalies_found", "發現異常情形", "boolean"),
        Field("findings", "抽查結果摘要", "text", required=True),
    ), approve_label="送勞工局備查"),
    StepForm("joint_audit", ("approve",), (
        Field("audit_date", "稽核日期", "date", required=True),
        Field("ethics_unit", "會同之政風單位人員", "string", required=True),
        Field("findings", "稽核發現", "text", required=True),
    ), approve_label="完成稽核"),
    StepForm("joint_audit_it", ("approve",), (
        Field("it_findings", "資訊單位稽核意見（系統紀錄、帳號、連線）", "text", required=True),
    ), approve_label="送出稽核意見"),
    StepForm("joint_audit_report", ("approve",), (
        Field("violations_found", "發現違反要點情形", "boolean"),
        Field("conclusion", "稽核結論", "text", required=True),
        Field("improvements", "改善措施及追蹤", "text", required=True),
    ), approve_label="作成稽核報告"),
    # Bound to one agency's items in tasks.step_fields: the ones not ticked are still needed.
    StepForm("items_review", ("approve",), (
        Field("request_termination", "有已無需求之項目，函請勞保局終止", "boolean"),
        Field("items_to_terminate", "已無需求、應函請勞保局終止之項目", "multichoice", choices=ITEM_CHOICES),
        Field("findings", "檢視紀錄", "text", required=True),
    ), approve_label="完成檢視", check=_termination_check),
    StepForm("bureau_termination", ("approve",), (
        Field("terminated_items", "勞保局已終止之項目（未勾選者仍保留）", "multichoice"),
        Field("bureau_letter_no", "勞保局函文號", "string", required=True),
        Field("answered_on", "勞保局回復日期", "date", required=True),
    ), approve_label="登錄終止結果"),
    # 001 §11: what was deleted, how and when; the finished step is the proof, kept DELETION_PROOF retention.
    StepForm("deletion_proof", ("approve",), (
        Field("deleted_items", "刪除之資料（紙本、檔案或畫面截圖等）", "text", required=True),
        Field("deletion_method", "刪除方式", "choice", required=True, choices=(
            ("erase", "電子檔刪除"), ("shred", "紙本碎紙銷毀"), ("both", "電子檔刪除及紙本銷毀"),
            ("none_kept", "未留存任何資料"))),
        Field("deleted_on", "刪除日期", "date", required=True),
    ), approve_label="確認已刪除"),
    StepForm("destruction_list", ("approve",), (
        Field("findings", "清冊檢視意見（應保留者請先設定保全）", "text"),
    ), approve_label="送機關首長核定"),
    StepForm("destruction_approval", ("approve", "reject"), approve_label="核定銷毀"),
)}

_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "email": v.email, "phone": v.phone, "date": v.iso_date, "national_id": v.national_id,
    "ipv4": v.ipv4, "integer": v.integer,
}


def _is_blank(value: Any) -> bool:
    # Whitespace only counts as empty, so a required field cannot be satisfied by spaces.
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value is False


def _required(f: Field, data: dict[str, Any]) -> bool:
    if not f.required:
        return False
    if f.required_when is None:
        return True
    other, values = f.required_when
    return data.get(other) in values


def _clean_one(f: Field, value: Any, choices: tuple[tuple[str, str], ...]) -> Any:
    allowed = {c for c, _ in choices}
    if f.type == "boolean":
        if not isinstance(value, bool):
            raise v.FieldError("請勾選或取消勾選")
        return value
    if f.type == "multichoice":
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise v.FieldError("請提供選項清單")
        bad = [x for x in value if x not in allowed]
        if bad:
            raise v.FieldError(f"不在可選範圍內：{', '.join(bad)}")
        order = [c for c, _ in choices]
        return sorted(set(value), key=order.index)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise v.FieldError("格式不正確")
    if f.type == "choice":
        if value not in allowed:
            raise v.FieldError("不在可選範圍內")
        return value
    if f.type in _CLEANERS:  # a JSON number where text is due (a phone, a date) is read as its text
        return _CLEANERS[f.type](value if f.type == "integer" else str(value))
    text = str(value).strip()
    if len(text) > (f.max_length or (MAX_TEXT if f.type == "text" else 200)):
        raise v.FieldError("內容過長")
    return text


def clean_fields(fields: tuple[Field, ...], data: dict[str, Any],
                 choices: dict[str, tuple[tuple[str, str], ...]] | None = None,
                 context: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate raw values; return the cleaned data and {field name: message}."""
    choices = choices or {}
    ctx = {**(context or {}), **data}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in fields:
        value = data.get(f.name)
        if _is_blank(value) and f.type != "boolean":
            if _required(f, ctx):
                errors[f.name] = f"「{f.label}」為必填"
            clean[f.name] = [] if f.type == "multichoice" else None
            continue
        try:
            clean[f.name] = _clean_one(f, False if value is None else value, choices.get(f.name, f.choices))
        except v.FieldError as exc:
            errors[f.name] = f"「{f.label}」{exc}"
            continue
        if f.type == "boolean" and _required(f, ctx) and not clean[f.name]:
            errors[f.name] = f"「{f.label}」須勾選確認"
    unknown = set(data) - {f.name for f in fields}
    for name in sorted(unknown):
        errors[name] = f"未知的欄位：{name}"
    return clean, errors


def engine_values(form: FormSpec, data: dict[str, Any]) -> dict[str, Any]:
    """What a chain's engine keeps of a form: everything but ID numbers, which no diagram reads.

    The engine's saved state is not sealed; the number stays only in the application's own (sealed) data.
    """
    ids = {f.name for f in form.fields if f.type == "national_id"}
    return {k: value for k, value in data.items() if k not in ids}


def clean_form(form: FormSpec, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    clean, errors = clean_fields(form.fields, data)
    if not errors and form.check:
        errors.update(form.check(clean))
    return clean, errors


@dataclass(frozen=True)
class KeyValue:
    """One key field of a filed form as a row shows it: its label, its type and its value made readable."""

    name: str
    label: str
    type: str
    value: Any


def key_values(form_key: str, data: dict[str, Any] | None) -> list[KeyValue]:
    """The form's key fields from its data, ID numbers masked, choices as their labels, item codes as codes."""
    form = FORMS.get(form_key)
    if form is None or not data:
        return []
    fields = {f.name: f for f in form.fields}
    out = []
    for name in form.key_fields:
        f, value = fields[name], data.get(name)
        if value in (None, "", []):
            continue
        if f.type == "national_id" and isinstance(value, str):
            value = mask_id(value)
        elif f.type == "choice" and f.choices:
            value = dict(f.choices).get(value, value)
        elif f.type == "multichoice" and isinstance(value, list):
            value = "、".join(str(v) for v in value)
        out.append(KeyValue(name, f.label.split("（")[0], f.type, value))  # the label without its explanation
    return out


def decision_label(step: StepForm, decision: str) -> str:
    return step.approve_label if decision == "approve" else DECISION_LABELS[decision]


# ---------------------------------------------------------------- personal numbers

def mask_id(value: str | None) -> str:
    """A123456789 → A12****789: enough to recognise, not enough to misuse.

    The one masking rule: pages (the ``mask_id`` filter), the JSON API and exports all show this.
    """
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 6) + value[-3:] if len(value) > 6 else "*" * len(value)


def sensitive_fields(form_key: str) -> tuple[Field, ...]:
    """The fields of a form holding personal numbers (national ID numbers)."""
    form = FORMS.get(form_key)
    return tuple(f for f in form.fields if f.sensitive) if form else ()


def masked(form_key: str, data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a form's data (or a step's, filed on that form) with its personal numbers masked."""
    names = {f.name for f in sensitive_fields(form_key)}
    if not data or not names:
        return data
    return {k: mask_id(v) if k in names and isinstance(v, str) else v for k, v in data.items()}


def keep_masked(form_key: str, data: dict[str, Any], filed: dict[str, Any]) -> dict[str, Any]:
    """Corrected data where a personal number left as shown (masked) keeps the number filed before."""
    out = dict(data)
    for f in sensitive_fields(form_key):
        if filed.get(f.name) and out.get(f.name) == mask_id(filed[f.name]):
            out[f.name] = filed[f.name]
    return out


# ---------------------------------------------------------------- one agency's own rules

# An agency layer's version of a city form, filled by its agency's process (agency code → form key → (the layer's
# process key, the form)): from ``agency_rules`` (``bpmn/<city>/agencies/<code>/pack.yaml``); the forms a layer adds
# are in FORMS itself.
AGENCY_FORMS: dict[str, dict[str, tuple[str, FormSpec]]] = {}


def form_for(form_key: str, agency_code: str | None = None, process: str | None = None) -> FormSpec:
    """The form as filed through ``process`` by a person of this agency: the agency layer's version where the
    process is the layer's own (an administrator may switch the agency back to the city's chain, and with it to
    the city's form), else the city's."""
    for code, forms in AGENCY_FORMS.items():  # process keys are unique: the process alone names the version
        own = forms.get(form_key)
        if own and own[0] == process and agency_code in (None, code):
            return own[1]
    return FORMS[form_key]


def application_form(app: Any) -> FormSpec:
    """The form an application was filed on: its agency's version when its process is the agency layer's."""
    return form_for(app.form_key, app.agency.code if app.agency else None,
                    app.definition_version.definition.key if app.definition_version else None)


def form_title(form_key: str, agency_code: str | None = None, process: str | None = None) -> str:
    return form_for(form_key, agency_code, process).title if form_key in FORMS else form_key


from . import agency_rules  # noqa: E402, F401 - the agencies' own forms and step forms join the catalogue
