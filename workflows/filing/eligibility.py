"""Who may be given WebIR use at all, and when a query may be registered: rules some cities' books add.

Both are off unless the deployment's rule book turns them on (``SETTINGS.contractor_rule``,
``SETTINGS.office_hours_only``), so a city without them files as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AccountKind, Agency, AgencyKind, Person, Role

from ..accounts.records import active_account
from ..calendar import is_working_day
from ..forms import row_key
from ..settings import SETTINGS

OFFICE_HOURS_CLAUSE = "002 第六點第三款"
# Forms that give their filer WebIR use: refused to a contractor where the rules say so (002 §5(5)).
ACCOUNT_FORMS = frozenset({"querier_account", "manager_account"})
# Forms that record a query to run: its day (and time, where the form asks it) must be office hours (002 §6(3)).
QUERY_FORMS = frozenset({"query_registration", "proxy_authorisation"})
COMMISSIONING_FIELD = "commissioning_agency"
# Irregular audits, each city's form filed only by its auditors: who they are, and the refusal naming the clause.
_AUDITORS: dict[str, tuple[Callable[[Person, date], bool], str]] = {
    # Taipei 002 §2 ¶2, §8(2): the central manager's audit team (總稽核小組).
    "central_audit": (lambda person, on: person.agency.has_kind(AgencyKind.CENTRAL),
                      "不定期稽核由總管理機關之總稽核小組提出（002 第二點第二項、第八點第二款）"),
    # Taoyuan 004 §8(2)1: 勞保局 and the 最高管理機關 (資訊中心) may audit a using agency unscheduled; their staff
    # file it.
    "unscheduled_audit": (lambda person, on: any(person.holds(role, on)
                                                 for role in (Role.CENTRAL_CLERK, Role.BUREAU_LIAISON)),
                          "不定期稽核由勞保局或最高管理機關人員提出（004 第八點第二款第一目）"),
}
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def contractor_refusal(person: Person, form_key: str, data: dict[str, Any]) -> str | None:
    """Why this person may not be given an account, or None; taking an account away is always allowed."""
    rule = SETTINGS.contractor_rule
    if not rule or not person.is_contractor or form_key not in ACCOUNT_FORMS or data.get("request_type") == "delete":
        return None
    return f"依{rule}，基於個人資料保護，不得授權委外廠商人員使用勞保 WebIR 系統"


def auditor_refusal(person: Person, form_key: str, on: date) -> str | None:
    """Why this person may not file this irregular audit (``_AUDITORS``), or None; other forms: None."""
    rule = _AUDITORS.get(form_key)
    if rule is None or rule[0](person, on):
        return None
    return rule[1]


def central_audit_errors(session: Session, person: Person, data: dict[str, Any]) -> dict[str, str]:
    """The audited agency is a using agency of the auditor's own city."""
    audited = session.scalar(select(Agency).where(Agency.code == data.get("audited_agency"),
                                                  Agency.city == person.agency.city))
    if audited is None or not audited.has_kind(AgencyKind.REQUESTING):
        return {"audited_agency": "受稽核機關須為本市之使用機關（機關代碼）"}
    return {}


def office_hours_errors(form_key: str, data: dict[str, Any]) -> dict[str, str]:
    """A query registered for a day off or a time outside office hours, where the rules forbid it, per field."""
    if not SETTINGS.office_hours_only or form_key not in QUERY_FORMS:
        return {}
    errors = {}
    at = data.get("query_time")
    if at and not _HHMM.fullmatch(at):
        return {"query_time": "請以 24 小時制 HH:MM 填寫，例如 09:30"}
    days = {"query_date": data.get("query_date")} if "rows" not in data else {  # a sheet: each line's own date
        row_key("rows", line, "query_date"): row.get("query_date") for line, row in enumerate(data["rows"], start=1)}
    for name, day in days.items():
        if day and not is_working_day(date.fromisoformat(day)):
            errors[name] = f"依{OFFICE_HOURS_CLAUSE}，不得於非辦公時間查詢：該日非上班日"
    if at and not SETTINGS.office_hours_start <= at < SETTINGS.office_hours_end:
        errors["query_time"] = (f"依{OFFICE_HOURS_CLAUSE}，不得於非辦公時間查詢：辦公時間為 "
                                f"{SETTINGS.office_hours_start} 至 {SETTINGS.office_hours_end}")
    return errors


def with_commissioning_agency(field_names: set[str], data: dict[str, Any], person: Person) -> dict[str, Any]:
    """The form's commissioning agency as the records have it, never as typed (002 §5(2)).

    A form that asks it (``commissioning_agency``) routes a commissioned agency's filing through its commissioning
    agency's consent; the filer cannot skip the step by leaving it blank, nor invent one.
    """
    if COMMISSIONING_FIELD not in field_names:
        return data
    commissioning = person.agency.commissioned_by
    return {**data, COMMISSIONING_FIELD: commissioning.code if commissioning else None}


def proxy_errors(session: Session, person: Person, data: dict[str, Any]) -> dict[str, str]:
    """002 §6(2): the authoriser is another querier of the agency, and both accounts hold the item queried."""
    item = data.get("item")
    own = active_account(session, person.id, AccountKind.QUERIER)
    if own is None:
        return {"item": "您沒有有效的使用者帳號，不得代為查詢"}
    if item not in own.item_codes:
        return {"item": "您的帳號未獲准查詢此項目"}
    authoriser = session.scalar(select(Person).where(Person.username == (data.get("authoriser") or "").lower(),
                                                     Person.agency_id == person.agency_id, Person.active.is_(True)))
    if authoriser is None or authoriser.id == person.id:
        return {"authoriser": "授權人須為本機關之其他在職使用者"}
    theirs = active_account(session, authoriser.id, AccountKind.QUERIER)
    if theirs is None or item not in theirs.item_codes:
        return {"authoriser": "代查須在授權人核定之查詢業務範圍項目內（002 第六點第二款）"}
    return {}
