"""Answering a reconciliation flag: explained with a reason (kept), or raised as a violation (000 §6(1), §6(3)).

A violation opens its case at once (``violations.open_case``): the chain of correction and review report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FLAG_NAMES, Agency, FlagAction, Person, QueryLog, QueryLogFlagNote

from .. import audit
from ..errors import Conflict, Invalid, NotFound
from ..validators import text_problem
from .imports import check_may_import
from .violations import open_case

# What each reconciliation flag means, as the log pages and 比對紀錄表 say it.
FLAG_WORDS = {
    "no_registration": "無查調登記", "registered_after_query": "查詢後才登記", "item_not_granted": "帳號未具此查調項目",
    "account_unknown": "帳號不明", "account_disabled": "帳號已停用", "self_query": "查詢本人資料",
    "colleague_query": "查詢同機關同仁", "outside_office_hours": "非上班時間查詢",
    "basis_not_listed": "法律依據不在附表",
}


def answer_flag(session: Session, *, log_id: int, flag: str, action: str, reason: str, actor: Person,
                now: datetime, major: bool = False) -> QueryLogFlagNote:
    """The agency manager explains one flag of one row, or raises it as a violation (``major``: a major anomaly,
    whose joint audit starts too); audited."""
    log = session.get(QueryLog, log_id)
    if log is None:
        raise NotFound(f"沒有查詢紀錄 {log_id}")
    check_may_import(actor, session.get(Agency, log.agency_id), now)
    problems = _problems(log, flag, action, reason)
    if major and action != FlagAction.VIOLATION:
        problems["major"] = "只有列為違規的註記可以列為重大異常"
    if problems:
        raise Invalid(problems)
    if session.scalar(select(QueryLogFlagNote.id).where(QueryLogFlagNote.log_id == log_id,
                                                        QueryLogFlagNote.flag == flag)):
        raise Conflict("這個註記已處理過")
    note = QueryLogFlagNote(log_id=log_id, flag=flag, action=action, reason=reason.strip(), actor_id=actor.id,
                            created_at=now)
    session.add(note)
    event = "query_log_flag_explained" if action == FlagAction.EXPLAINED else "query_log_violation_raised"
    audit.record(session, event, actor=actor, subject_type="query_log", subject_id=log_id, now=now, flag=flag,
                 agency_id=log.agency_id, reason=note.reason)
    if action == FlagAction.VIOLATION:
        open_case(session, log=log, source="flag", flag=flag, description=note.reason, actor=actor, now=now,
                  major=major)
    session.commit()
    return note


def _problems(log: QueryLog, flag: str, action: str, reason: str) -> dict[str, str]:
    problems = {}
    if flag not in FLAG_NAMES or not log.flags & FLAG_NAMES[flag]:
        problems["flag"] = "這筆紀錄沒有這個註記"
    if action not in {a.value for a in FlagAction}:
        problems["action"] = "請選擇說明或列為違規"
    if not (reason or "").strip():
        problems["reason"] = "請填寫理由"
    elif text_problem(reason) or len(reason) > 2000:
        problems["reason"] = text_problem(reason) or "超過 2000 字"
    return problems
