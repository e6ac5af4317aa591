"""Field validators shared by the HTML forms and the JSON API."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from email_validator import EmailNotValidError, validate_email

_LETTER_CODES = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO", range(10, 36), strict=True))
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 1)
_PHONE = re.compile(r"^(?:\(0\d{1,2}\)|0\d{1,2})-?\d{3,4}-?\d{4}(?:#\d{1,6})?$|^09\d{2}-?\d{3}-?\d{3}$")
_ROC_DATE = re.compile(r"^(\d{2,3})[/.-](\d{1,2})[/.-](\d{1,2})$")
# C0 control characters other than tab, line feed and carriage return, and lone UTF-16 surrogates: no
# database, XML export or UTF-8 page can hold them (PostgreSQL refuses NUL, UTF-8 refuses surrogates).
UNSAFE_TEXT_PATTERN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
UNSAFE_TEXT = "含有無法處理的字元（控制字元或不成對的 Unicode 代理字元）"
# Dates on a form fall in the Republic's calendar and this century; counts are whole and not absurd.
FIRST_DATE, LAST_DATE = date(1912, 1, 1), date(2099, 12, 31)
MAX_COUNT = 1_000_000_000


class FieldError(ValueError):
    """A value does not fit its field; the message is shown to the person."""


def text_problem(value: str) -> str | None:
    """Why a piece of text cannot be kept as it is, or None."""
    return UNSAFE_TEXT if UNSAFE_TEXT_PATTERN.search(value) else None


def national_id(value: str) -> str:
    """Check a Taiwan national ID (or new-style resident certificate) and its checksum."""
    v = value.strip().upper()
    if not re.fullmatch(r"[A-Z][1289]\d{8}", v):
        raise FieldError("格式不正確（1 個英文字母加 9 個數字）")
    code = _LETTER_CODES[v[0]]
    total = code // 10 + (code % 10) * 9 + sum(int(d) * w for d, w in zip(v[1:9], _WEIGHTS, strict=True)) + int(v[9])
    if total % 10:
        raise FieldError("檢查碼不正確")
    return v


def email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldError("格式不正確") from None


def phone(value: str) -> str:
    v = re.sub(r"\s+", "", value)
    if not _PHONE.match(v):
        raise FieldError("格式不正確，例如 07-3368333#1234 或 0912-345-678")
    return v


def ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise FieldError("格式不正確，例如 10.1.2.3") from None


def iso_date(value: str | date) -> str:
    """Accept ISO dates and ROC dates (115/11/25) from 1912 to 2099; store ISO."""
    if isinstance(value, date):
        return bounded_date(value).isoformat()
    v = str(value).strip()
    roc = _ROC_DATE.match(v)
    try:
        day = date(int(roc[1]) + 1911, int(roc[2]), int(roc[3])) if roc else date.fromisoformat(v)
    except ValueError:
        raise FieldError("格式不正確，例如 2026-11-25 或 115/11/25") from None
    return bounded_date(day).isoformat()


def bounded_date(day: date) -> date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise FieldError("須介於 1912-01-01 與 2099-12-31 之間")
    return day


def integer(value) -> int:
    """A whole number from 0 to MAX_COUNT (a count of queries or records)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError("請輸入整數") from None
    if not 0 <= number <= MAX_COUNT:
        raise FieldError("須為 0 至 1000000000 之間的整數")
    return number


# ---------------------------------------------------------------- whole-form checks
# A pack's form or step form names one of these by its key (``check: items_change``): the rule stays code.

def items_change_check(data: dict[str, Any]) -> dict[str, str]:
    errors = {}
    if not data.get("add_items") and not data.get("remove_items"):
        errors["add_items"] = "請至少勾選一項新增或刪除的查調項目"
    both = set(data.get("add_items") or ()) & set(data.get("remove_items") or ())
    if both:
        errors["remove_items"] = f"同一項目不可同時新增與刪除：{', '.join(sorted(both))}"
    return errors


def registration_check(data: dict[str, Any]) -> dict[str, str]:
    """001 §11: the data is used after the query, so its use cannot end before the registration's date."""
    dates = [r["query_date"] for r in data.get("rows") or () if isinstance(r, dict) and r.get("query_date")]
    last = max(dates, default=data.get("query_date"))  # a sheet of rows: its latest line's date
    if data.get("use_until") and last and data["use_until"] < last:
        return {"use_until": "資料使用期限不可早於申請日期"}
    return {}


def sampling_check(data: dict[str, Any]) -> dict[str, str]:
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


def termination_check(data: dict[str, Any]) -> dict[str, str]:
    """001 §9(3): the items marked not needed are the ones put to 勞保局, and only when termination is asked."""
    if data.get("request_termination") and not data.get("items_to_terminate"):
        return {"items_to_terminate": "請勾選函請勞保局終止之項目"}
    if data.get("items_to_terminate") and not data.get("request_termination"):
        return {"request_termination": "勾選已無需求之項目時，請一併勾選函請勞保局終止"}
    return {}


def query_request_check(data: dict[str, Any]) -> dict[str, str]:
    """003 附表3: each listed subject has a name and an ID number; the count covers everyone listed."""
    errors: dict[str, str] = {}
    listed = 0
    for prefix in ("subject", "subject_2", "subject_3"):
        name, number = data.get(f"{prefix}_name"), data.get(f"{prefix}_national_id")
        if bool(name) != bool(number):
            errors[f"{prefix}_national_id" if name else f"{prefix}_name"] = "姓名與 ID 須成對填寫"
        listed += bool(name and number)
    if not errors and (data.get("record_count") or 0) < max(listed, 1):
        errors["record_count"] = f"查調筆數不可少於列出之 {max(listed, 1)} 筆"
    return errors


def audit_record_check(data: dict[str, Any]) -> dict[str, str]:
    """003 附表4: the audit period runs forward."""
    if data.get("period_from") and data.get("period_to") and data["period_to"] < data["period_from"]:
        return {"period_to": "稽核期間迄日不可早於起日"}
    return {}


FORM_CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, str]]] = {
    "items_change": items_change_check,  # 000 附表四: at least one item added or removed, none both
    "registration": registration_check,  # 001 §11: use ends no earlier than the registration
    "sampling": sampling_check,  # 001 §12(1): 3 % and at least 10 records
    "termination": termination_check,  # 001 §9(3): items to terminate and the request go together
    "query_request": query_request_check,  # 003 附表3: names and ID numbers in pairs, counted
    "audit_record": audit_record_check,  # 003 附表4: the audit period
}
