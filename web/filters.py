"""Template filters: ROC dates in Taipei time (ISO dates in English), masked ID numbers, labels."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from models import QUERY_ITEMS, ROLE_LABELS
from workflows import jurisdiction
from workflows.calendar import roc_date_text
from workflows.forms import DECISION_LABELS, mask_id

from .i18n import _l, _lp, is_chinese, lazy_tr

TAIPEI = ZoneInfo("Asia/Taipei")
STATE_LABELS = {"running": _lp("state", "審核中"), "returned": _lp("state", "退回補正"),
                "completed": _lp("state", "核准結案"), "rejected": _lp("state", "不同意結案"),
                "withdrawn": _lp("state", "已撤回")}
DECISION_TEXT = {**{key: lazy_tr(label) for key, label in DECISION_LABELS.items()},
                 "submit": _l("提出申請"), "reassign": _l("職務異動改派")}


def roc_date(value: date | datetime | str | None) -> str:
    """民國 115 年 11 月 25 日 style, as the official forms print it; 2026-11-25 when the UI is in English."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(TAIPEI)
    if not is_chinese():
        return f"{value:%Y-%m-%d}"
    return roc_date_text(value)


def roc_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(TAIPEI)
    return f"{roc_date(local)} {local:%H:%M}"


def filesize(size: int | None) -> str:
    """1.2 MB, 35 KB: a file's size as people read it."""
    if size is None:
        return ""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{max(1, round(size / 1024))} KB"


def register(app) -> None:
    app.jinja_env.filters.update(roc_date=roc_date, roc_datetime=roc_datetime, mask_id=mask_id, filesize=filesize)
    app.jinja_env.globals.update(ROLE_LABELS={role: lazy_tr(label) for role, label in ROLE_LABELS.items()},
                                 STATE_LABELS=STATE_LABELS, DECISION_TEXT=DECISION_TEXT,
                                 QUERY_ITEMS={code: lazy_tr(name) for code, name in QUERY_ITEMS.items()},
                                 jurisdiction_name=lambda: lazy_tr(jurisdiction.active().name))  # the pack's city
