"""The monthly sample of logged queries (001 §12(1)): at least 3 % and at least 10 a month, all when fewer.

The draw is reproducible: its seed is recorded, and the same seed over the same month's rows draws the same
rows. The checker ticks each drawn row OK or a problem with a note.
"""

from __future__ import annotations

import math
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Agency, Person, QueryLog, Role, SamplingDraw, SamplingItem, flag_names

from .. import audit
from ..calendar import TAIPEI, local_date
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..forms import mask_id
from ..runtime.visibility import agency_scope
from ..validators import text_problem

MIN_RATE = 0.03
MIN_COUNT = 10


def sample_size(population: int) -> int:
    """≥ 3 % and ≥ 10 records; every record when there are fewer than 10 (001 §12(1))."""
    if population <= MIN_COUNT:
        return population
    return max(MIN_COUNT, math.ceil(population * MIN_RATE - 1e-9))


def month_bounds(month: date) -> tuple[datetime, datetime]:
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(first, time(0), tzinfo=TAIPEI), datetime.combine(following, time(0), tzinfo=TAIPEI)


def draw_ids(ids: list[int], seed: int) -> list[int]:
    """The sample of ``ids`` (sorted) that ``seed`` picks, in id order."""
    ordered = sorted(ids)
    return sorted(random.Random(seed).sample(ordered, sample_size(len(ordered))))


@dataclass(frozen=True)
class Draw:
    id: int
    seed: int
    population: int
    log_ids: list[int]


def draw_sample(session: Session, *, agency: Agency, month: date, actor: Person | None, now: datetime,
                seed: int | None = None) -> Draw:
    """Draw the month's sample of the agency's imported rows once; the seed is kept with it."""
    first = month.replace(day=1)
    if actor is not None:
        check_checker(actor, agency.id, now)
    if session.scalar(select(SamplingDraw.id).where(SamplingDraw.agency_id == agency.id, SamplingDraw.month == first)):
        raise Conflict(f"{agency.name} {first:%Y-%m} 已抽樣")
    draw = record_draw(session, agency=agency, month=first, actor=actor, now=now, seed=seed)
    session.commit()
    return draw


def record_draw(session: Session, *, agency: Agency, month: date, actor: Person | None, now: datetime,
                seed: int | None = None) -> Draw:
    """The month's draw, made now or found made; the caller commits (the monthly duty does, with its start)."""
    first = month.replace(day=1)
    found = session.scalar(select(SamplingDraw).where(SamplingDraw.agency_id == agency.id,
                                                      SamplingDraw.month == first))
    if found:
        ids = list(session.scalars(select(SamplingItem.log_id).where(SamplingItem.draw_id == found.id)
                                  .order_by(SamplingItem.log_id)))
        return Draw(found.id, found.seed, found.population, ids)
    start, end = month_bounds(first)
    ids = list(session.scalars(select(QueryLog.id).where(
        QueryLog.agency_id == agency.id, QueryLog.queried_at >= start, QueryLog.queried_at < end)))
    seed = secrets.randbits(31) if seed is None else seed
    chosen = draw_ids(ids, seed)
    draw = SamplingDraw(agency_id=agency.id, month=first, seed=seed, population=len(ids), created_at=now)
    session.add(draw)
    session.flush()
    session.add_all(SamplingItem(draw_id=draw.id, log_id=i) for i in chosen)
    audit.record(session, "query_logs_sampled", actor=actor, subject_type="agency", subject_id=agency.id, now=now,
                 draw_id=draw.id, month=first.isoformat(), seed=seed, population=len(ids), drawn=len(chosen))
    return Draw(draw.id, seed, len(ids), chosen)


def previous_month(now: datetime) -> date:
    """The month before the one ``now`` falls in (Taipei): what the duty of the 3rd samples."""
    first = local_date(now).replace(day=1)
    return date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)


def duty_data(session: Session, agency_id: int, now: datetime) -> dict:
    """What the monthly sampling duty starts with: last month's draw and its figures (001 §12(1))."""
    agency = session.get(Agency, agency_id)
    draw = record_draw(session, agency=agency, month=previous_month(now), actor=None, now=now)
    return {"sampling_draw": draw.id, "sampling_month": previous_month(now).isoformat()[:7],
            "total_queries": draw.population, "sampled_records": len(draw.log_ids)}


def quarter_data(session: Session, agency_id: int, now: datetime) -> dict:
    """What the quarterly report to 勞工局 starts with: each month of last quarter, its draw and its checks.

    A month without a draw reads as not drawn (``drawn`` None), so a missed sample shows instead of vanishing.
    """
    first = local_date(now).replace(day=1)
    start_month = 3 * ((first.month - 1) // 3) + 1 - 3  # the first month of the quarter before this one
    year = first.year - (start_month < 1)
    months = [date(year, (start_month - 1) % 12 + 1 + k, 1) for k in range(3)]
    draws = {d.month: d for d in session.scalars(select(SamplingDraw).where(
        SamplingDraw.agency_id == agency_id, SamplingDraw.month.in_(months)))}
    rows = []
    for month in months:
        draw = draws.get(month)
        items = list(session.scalars(select(SamplingItem).where(SamplingItem.draw_id == draw.id))) if draw else []
        rows.append({"month": month.isoformat()[:7], "draw": draw.id if draw else None,
                     "population": draw.population if draw else None, "drawn": len(items) if draw else None,
                     "checked": sum(i.verdict is not None for i in items),
                     "problems": sum(i.verdict == "problem" for i in items)})
    return {"sampling_quarter": f"{year}-Q{(months[0].month - 1) // 3 + 1}", "sampling_months": rows}


@dataclass(frozen=True)
class SampleRow:
    log_id: int
    account: str
    queried_at: datetime
    item_code: str
    subject: str  # masked
    case_number: str | None
    flags: list[str]
    verdict: str | None
    note: str | None


@dataclass(frozen=True)
class SampleSheet:
    draw_id: int
    agency: str
    month: date
    seed: int
    population: int
    rows: list[SampleRow]


def get_sample_sheet(session: Session, draw_id: int, actor: Person, now: datetime) -> SampleSheet:
    """The month's print list: every drawn row with its check, for the agency's readers of the logs."""
    draw = session.get(SamplingDraw, draw_id)
    scope = agency_scope(session, actor, local_date(now))
    if draw is None or (scope is not None and draw.agency_id not in set(session.scalars(scope))):
        raise NotFound(f"沒有抽樣 {draw_id}")
    rows = session.execute(select(QueryLog, SamplingItem).join(SamplingItem, SamplingItem.log_id == QueryLog.id)
                           .where(SamplingItem.draw_id == draw_id).order_by(QueryLog.queried_at, QueryLog.id)).all()
    return SampleSheet(draw.id, session.get(Agency, draw.agency_id).name, draw.month, draw.seed, draw.population, [
        SampleRow(log.id, log.account, log.queried_at, log.item_code, mask_id(log.subject_id), log.case_number,
                  flag_names(log.flags), item.verdict, item.note) for log, item in rows])


def check_checker(actor: Person, agency_id: int, now: datetime) -> None:
    """The agency's auditor or manager samples and checks its records (001 §12(1)); administrators may too."""
    today = local_date(now)
    if not actor.is_admin and not any(h.role in (Role.AUDITOR, Role.AGENCY_MANAGER) and h.agency_id == agency_id
                                      and h.valid_on(today) for h in actor.roles):
        raise Forbidden("只有本機關的查核人員或機關管理者可以抽樣與勾稽查詢紀錄")


def check_sample_row(session: Session, *, draw_id: int, log_id: int, verdict: str, note: str, actor: Person,
                     now: datetime) -> SamplingItem:
    """The checker's tick on one drawn row: ok, or problem with a note."""
    item = session.get(SamplingItem, (draw_id, log_id))
    if item is None:
        raise NotFound("這筆紀錄不在抽樣名單中")
    draw = session.get(SamplingDraw, draw_id)
    check_checker(actor, draw.agency_id, now)
    if verdict not in ("ok", "problem"):
        raise Invalid({"verdict": "請選擇正常或有問題"})
    if verdict == "problem" and not (note or "").strip():
        raise Invalid({"note": "有問題時請說明"})
    if note and (text_problem(note) or len(note) > 2000):
        raise Invalid({"note": text_problem(note) or "超過 2000 字"})
    item.verdict, item.note, item.checked_by_id, item.checked_at = verdict, (note or "").strip() or None, actor.id, now
    audit.record(session, "sample_row_checked", actor=actor, subject_type="query_log", subject_id=log_id, now=now,
                 draw_id=draw_id, agency_id=draw.agency_id, verdict=verdict)
    session.commit()
    return item
