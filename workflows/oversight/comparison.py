"""The manager's comparison of the query logs with the registrations, put before the agency head (000 第六點第一款).

「機關管理者應不定期比對稽核資料查詢者使用紀錄與查調資料登記表，並將稽核結果陳報機關首長或其授權人員核閱」:
reconciliation flags each imported log row against the registrations (``reconcile.py``) and the manager answers each
flag (``flags.py``); the report (form ``log_comparison``) carries the period's figures from those records, set by the
code at filing and never as typed, beside the manager's own conclusion, to the head (or delegate) who reads it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import FLAG_NAMES, FlagAction, QueryLog, QueryLogFlagNote

from ..calendar import TAIPEI
from .flags import FLAG_WORDS

FORM = "log_comparison"
# The flags as the report names them (the log pages' words).

def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def period_errors(data: dict[str, Any]) -> dict[str, str]:
    first, last = _day(data.get("period_from")), _day(data.get("period_to"))
    if first and last and first > last:
        return {"period_to": "比對期間迄日不得早於起日"}
    return {}


def figures(session: Session, agency_id: int, first: date, last: date) -> dict[str, Any]:
    """The period's logged queries of the agency, each flag's count, and the flags answered and not."""
    since = datetime.combine(first, time(0), tzinfo=TAIPEI)
    until = datetime.combine(last + timedelta(days=1), time(0), tzinfo=TAIPEI)
    in_period = (QueryLog.agency_id == agency_id, QueryLog.queried_at >= since, QueryLog.queried_at < until)
    counts = [func.count().filter(QueryLog.flags.op("&")(int(flag)) != 0) for flag in FLAG_NAMES.values()]
    total, flagged, *per_flag = session.execute(select(
        func.count(), func.count().filter(QueryLog.flags != 0), *counts).where(*in_period)).one()
    answered = dict(session.execute(select(QueryLogFlagNote.action, func.count()).join(
        QueryLog, QueryLog.id == QueryLogFlagNote.log_id).where(*in_period).group_by(QueryLogFlagNote.action)).all())
    raised = sum(per_flag)
    explained, violation = answered.get(FlagAction.EXPLAINED.value, 0), answered.get(FlagAction.VIOLATION.value, 0)
    lines = [f"{FLAG_WORDS.get(name, name)}：{n} 筆" for name, n in zip(FLAG_NAMES, per_flag, strict=True) if n]
    return {"logged_queries": total, "flagged_queries": flagged, "flag_counts": "\n".join(lines) or "無註記",
            "flags_explained": explained, "flags_violation": violation,
            "flags_unanswered": max(raised - explained - violation, 0)}


def with_figures(session: Session, form_key: str, data: dict[str, Any], agency_id: int) -> dict[str, Any]:
    """The report's figures from the records for the period filed (left out while the period is not valid dates:
    the form's own checks then name the field)."""
    if form_key != FORM:
        return data
    first, last = _day(data.get("period_from")), _day(data.get("period_to"))
    if first is None or last is None or first > last:
        return data
    return {**data, **figures(session, agency_id, first, last)}
