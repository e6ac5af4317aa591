"""The bottleneck dashboard: per process version and step, how long applications wait."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from models import Agency, Application, DefinitionVersion, HumanTask, Person, ProcessDefinition, TaskState

from ..forms import FORMS
from .search import Filters, _filtered

AGEING_BUCKETS = (("<3", 0, 3), ("3-7", 3, 7), ("7-30", 7, 30), (">30", 30, None))


@dataclass(frozen=True)
class StepFigures:
    process: str
    version: int
    step: str
    name: str
    role: str
    waiting: int
    median_days: float
    p95_days: float
    oldest_days: float
    oldest_application: int


@dataclass(frozen=True)
class StuckTask:
    application_id: int
    form_title: str
    step_name: str
    agency: str
    since: datetime
    days: float
    overdue_days: float | None


@dataclass(frozen=True)
class Dashboard:
    steps: list[StepFigures]
    ageing: dict[str, int]
    stuck: list[StuckTask]


def nearest_rank(size: int, q: int) -> int:
    """1-based rank of the nearest-rank q-th percentile among ``size`` values: ceil(q/100 × size)."""
    return max(1, (q * size + 99) // 100)


def percentile(sorted_values: list[float], q: int) -> float:
    """Nearest-rank percentile: the smallest value with at least q% of values at or below it."""
    return sorted_values[nearest_rank(len(sorted_values), q) - 1]


def ageing_bucket(days: float) -> str:
    return next(name for name, low, high in AGEING_BUCKETS if days >= low and (high is None or days < high))


def dashboard(session: Session, person: Person, *, now: datetime, process: str | None = None,
              agency_id: int | None = None, created_from: date | None = None, created_to: date | None = None,
              stuck_limit: int = 20) -> Dashboard:
    """Per process version and step: how many wait now, median / p95 / oldest wait in days; ageing; the stuck.

    The database ranks and counts (window functions on SQLite and PostgreSQL alike); Python only
    reads the handful of ranks it needs, so the cost stays flat as the open tasks grow.
    """
    where = and_(HumanTask.state == TaskState.OPEN, _filtered(session, person, Filters(
        form=process, agency_id=agency_id, created_from=created_from, created_to=created_to), now))
    figures, ageing = _step_figures(session, where, now)
    return Dashboard(figures, ageing, _stuck(session, where, now, stuck_limit))


def _open_steps(*columns):
    return (select(*columns).select_from(HumanTask)
            .join(Application, Application.id == HumanTask.application_id)
            .join(DefinitionVersion, DefinitionVersion.id == Application.definition_version_id))


def _step_figures(session: Session, where, now: datetime) -> tuple[list[StepFigures], dict[str, int]]:
    """One scan: ranks for median / p95 / oldest per step, and each step's ageing bucket counts."""
    group = (DefinitionVersion.id, HumanTask.step)
    buckets = [func.sum(case((bound, 1), else_=0)).over(partition_by=group) for bound in _bucket_bounds(now)]
    # Rank 1 is the shortest wait (newest task); ties resolve to the higher application id as the oldest.
    ranked = _open_steps(
        ProcessDefinition.key, DefinitionVersion.version, HumanTask.step, HumanTask.name, HumanTask.role,
        HumanTask.created_at, Application.id.label("app_id"),
        func.row_number().over(partition_by=group, order_by=(HumanTask.created_at.desc(), Application.id))
        .label("rn"),
        func.count().over(partition_by=group).label("n"),
        *(b.label(f"bucket{i}") for i, b in enumerate(buckets)),
    ).join(ProcessDefinition, ProcessDefinition.id == DefinitionVersion.definition_id).where(where).subquery()
    rn, n = ranked.c.rn, ranked.c.n
    wanted = or_(rn == (n + 1) // 2, rn == n // 2 + 1, rn == (95 * n + 99) // 100, rn == n)  # nearest_rank(n, 95)
    groups: dict[tuple, dict[int, tuple[float, int]]] = defaultdict(dict)
    sizes: dict[tuple, int] = {}
    ageing_by_group: dict[tuple, tuple[int, ...]] = {}
    for key, version, step, name, role, since, app_id, rank, size, *counts in session.execute(
            select(ranked).where(wanted)):
        group_key = (key, version, step, name, role)
        groups[group_key][rank] = ((now - since).total_seconds() / 86400, app_id)
        sizes[group_key] = size
        ageing_by_group[group_key] = tuple(int(c) for c in counts)
    figures = []
    for group_key, ranks in sorted(groups.items()):
        size = sizes[group_key]
        median = (ranks[(size + 1) // 2][0] + ranks[size // 2 + 1][0]) / 2
        oldest_days, oldest_app = ranks[size]
        figures.append(StepFigures(*group_key, size, median, ranks[nearest_rank(size, 95)][0],
                                   oldest_days, oldest_app))
    totals = [sum(counts[i] for counts in ageing_by_group.values()) for i in range(len(AGEING_BUCKETS))]
    return figures, {name: total for (name, _low, _high), total in zip(AGEING_BUCKETS, totals, strict=True)}


def _bucket_bounds(now: datetime) -> list:
    """Conditions on a step's start for each ageing bucket, lower bound inclusive (3 days is "3-7")."""
    since = HumanTask.created_at
    cuts = [now - timedelta(days=low) for _name, low, _high in AGEING_BUCKETS[1:]]  # 3, 7, 30 days ago
    return [since > cuts[0], and_(since <= cuts[0], since > cuts[1]), and_(since <= cuts[1], since > cuts[2]),
            since <= cuts[2]]


def _stuck(session: Session, where, now: datetime, limit: int) -> list[StuckTask]:
    rows = session.execute(
        _open_steps(Application.id, Application.form_key, HumanTask.name, Agency.name, HumanTask.created_at,
                    HumanTask.due_at)
        .join(Agency, Agency.id == Application.agency_id).where(where)
        .order_by(HumanTask.created_at, Application.id).limit(limit)).all()
    return [StuckTask(app_id, FORMS[form_key].title, name, agency, since, (now - since).total_seconds() / 86400,
                      (now - due).total_seconds() / 86400 if due and due < now else None)
            for app_id, form_key, name, agency, since, due in rows]
