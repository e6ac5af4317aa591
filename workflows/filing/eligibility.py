"""Who may be given WebIR use at all, and when a query may be registered: rules some cities' books add.

Both are off unless the deployment's rule book turns them on (``SETTINGS.contractor_rule``,
``SETTINGS.office_hours_only``), so a city without them files as before.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from models import Person

from ..calendar import is_working_day
from ..settings import SETTINGS

OFFICE_HOURS_CLAUSE = "002 第六點第三款"
# Forms that give their filer WebIR use: refused to a contractor where the rules say so (002 §5(5)).
ACCOUNT_FORMS = frozenset({"querier_account", "manager_account"})
# Forms that record a query to run: its day (and time, where the form asks it) must be office hours (002 §6(3)).
QUERY_FORMS = frozenset({"query_registration", "proxy_authorisation"})
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def contractor_refusal(person: Person, form_key: str, data: dict[str, Any]) -> str | None:
    """Why this person may not be given an account, or None; taking an account away is always allowed."""
    rule = SETTINGS.contractor_rule
    if not rule or not person.is_contractor or form_key not in ACCOUNT_FORMS or data.get("request_type") == "delete":
        return None
    return f"依{rule}，基於個人資料保護，不得授權委外廠商人員使用勞保 WebIR 系統"


def office_hours_errors(form_key: str, data: dict[str, Any]) -> dict[str, str]:
    """A query registered for a day off or a time outside office hours, where the rules forbid it, per field."""
    if not SETTINGS.office_hours_only or form_key not in QUERY_FORMS:
        return {}
    errors = {}
    at = data.get("query_time")
    if at and not _HHMM.fullmatch(at):
        return {"query_time": "請以 24 小時制 HH:MM 填寫，例如 09:30"}
    day = data.get("query_date")
    if day and not is_working_day(date.fromisoformat(day)):
        errors["query_date"] = f"依{OFFICE_HOURS_CLAUSE}，不得於非辦公時間查詢：該日非上班日"
    if at and not SETTINGS.office_hours_start <= at < SETTINGS.office_hours_end:
        errors["query_time"] = (f"依{OFFICE_HOURS_CLAUSE}，不得於非辦公時間查詢：辦公時間為 "
                                f"{SETTINGS.office_hours_start} 至 {SETTINGS.office_hours_end}")
    return errors
