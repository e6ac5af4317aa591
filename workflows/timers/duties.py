"""Recurring duties: schedules that start their own BPMN process, one fresh instance per period.

A schedule names its process, its rhythm (monthly, quarterly, half-yearly, yearly on a given day) and whom
each period's instances are for. The schedules are the active jurisdiction pack's duties (``duties:`` in
bpmn/<key>/pack.yaml); whom they are for is code, named there (``TARGETS``). ``schedule_run`` has a unique
(schedule, period) key, so a second scheduler, a restart or a "run now" in the same period starts nothing twice.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    AccountKind,
    AccountStatus,
    Agency,
    AgencyKind,
    AgencyQueryItem,
    Application,
    Person,
    Role,
    RoleHolding,
    ScheduleRun,
    WebirAccount,
)

from .. import audit, jurisdiction
from ..calendar import TAIPEI, local_date
from ..engine import SERIALIZER_VERSION, Run
from ..oversight.reads import comparison_data, usage_data
from ..oversight.sampling import duty_data, quarter_data
from ..retention.destruction import proposal_data
from ..runtime.diagrams import live_version, load_diagram
from ..runtime.sync import sync
from ..settings import timer_data

_MONTHS = jurisdiction.MONTHS
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One instance to start: for which agency, and (for personal duties) which person."""

    agency_id: int
    person_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    unit_id: int | None = None  # a personal duty in a unit: its late step escalates to that unit's head


@dataclass(frozen=True)
class Schedule:
    name: str
    process: str
    every: str  # month, quarter, half_year, year
    day: int
    month: int = 1  # for yearly schedules
    hour: int = 9
    title: str = ""
    source: str = ""
    # Whom this period's instances are for, as of the run's `now` (never the wall clock: a catch-up or a test runs
    # on its own date).
    targets: Callable[[Session, datetime], list[Target]] = field(default=lambda session, now: [], compare=False)
    # Off unless a deployment names it in DUTY_SCHEDULES: a duty of another city's rules shipped with this pack.
    off_unless_named: bool = False
    due_day: int | None = None  # its steps are due by this day of the start month (the pack's `due_day`)

    def months(self) -> tuple[int, ...]:
        return _MONTHS[self.every] or (self.month,)

    def cron(self) -> dict[str, Any]:
        """APScheduler CronTrigger arguments (Asia/Taipei)."""
        return {"month": ",".join(map(str, self.months())), "day": self.day, "hour": self.hour, "minute": 0}

    def period(self, now: datetime) -> str:
        local = now.astimezone(TAIPEI)
        if self.every == "month":
            return f"{local.year}-{local.month:02d}"
        if self.every == "quarter":
            return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
        if self.every == "half_year":
            return f"{local.year}-H{(local.month - 1) // 6 + 1}"
        return str(local.year)

    def period_start(self, now: datetime) -> datetime:
        local = now.astimezone(TAIPEI)
        month = {"month": local.month, "quarter": 3 * ((local.month - 1) // 3) + 1,
                 "half_year": 6 * ((local.month - 1) // 6) + 1, "year": self.month}[self.every]
        return local.replace(month=month, day=self.day, hour=self.hour, minute=0, second=0, microsecond=0)

    def due_in_period(self, now: datetime) -> bool:
        """Has this period's start passed (so a run missed during downtime should catch up)?"""
        return now >= self.period_start(now)


def requesting_agencies(session: Session, now: datetime) -> list[Target]:
    """The agencies using WebIR: not a district office that only asks its commissioning agency to query for it
    (003 §5 ¶3: commissioned, no items of its own); the commissioning agency's duties cover those queries."""
    own_items = select(AgencyQueryItem.agency_id).where(AgencyQueryItem.agency_id == Agency.id).exists()
    return [Target(a.id) for a in session.scalars(select(Agency).where(
        Agency.has_kind(AgencyKind.REQUESTING) | Agency.has_kind(AgencyKind.AUTHORITY),
        Agency.commissioned_by_id.is_(None) | own_items).order_by(Agency.id))]


def self_auditing_agencies(session: Session, now: datetime) -> list[Target]:
    """001 §12(3)a: 總管理機關、權責管理機關及各資訊需求機關 each audit their own security yearly, WebIR included: the
    requesting agencies and 勞工局 as ``requesting_agencies`` has them, and the central agency (資訊處), whose
    instance says so (``central_agency``: its clerk records it, as it has no agency manager)."""
    return [*(replace(t, data={**t.data, "central_agency": False}) for t in requesting_agencies(session, now)),
            *(replace(t, data={**t.data, "central_agency": True}) for t in central_agencies(session, now))]


def central_agencies(session: Session, now: datetime) -> list[Target]:
    """The city's central manager (資訊處): its own yearly audit of the WebIR accounts (001 §3(1)3)."""
    return [Target(agency_id) for agency_id in session.scalars(
        select(Agency.id).where(Agency.has_kind(AgencyKind.CENTRAL)).order_by(Agency.id))]


def start_duty(session: Session, *, process: str, target: Target, now: datetime, run_id: int | None = None
               ) -> Application:
    """Start one duty instance (no applicant unless the duty is personal); the caller commits."""
    version = live_version(session, process, target.agency_id)
    prepare = PREPARED_DATA.get(process)
    target = replace(target, data={**target.data, **prepare(session, target.agency_id, now)}) if prepare else target
    prepare_unit = PREPARED_UNIT_DATA.get(process)
    if prepare_unit and target.unit_id is not None:
        target = replace(target, data={**target.data, **prepare_unit(session, target.unit_id, now)})
    data = {**target.data, **timer_data(), "schedule_run": run_id}
    run = Run.start(load_diagram(version), data)
    app = Application(form_key=process, definition_version=version, applicant_id=target.person_id,
                      agency_id=target.agency_id, unit_id=target.unit_id, data=target.data, workflow_state="",
                      serializer_version=SERIALIZER_VERSION, created_at=now, updated_at=now)
    session.add(app)
    session.flush()
    sync(session, app, run, now)
    audit.record(session, "duty_started", actor=None, subject_type="application", subject_id=app.id, now=now,
                 process=process, schedule_run=run_id)
    return app


# Duties whose instance starts with figures from the records: the monthly sampling draws last month's sample of
# the imported query logs (001 §12(1)) and starts with its draw and counts; the quarterly usage check starts with
# last quarter's logged and flagged queries (000 §3(4)3); the quarterly sampling report with last quarter's draws and
# checks, for 勞工局 (001 §12(1)).
PREPARED_DATA: dict[str, Callable[[Session, int, datetime], dict[str, Any]]] = {
    "monthly_sampling": duty_data, "usage_check": usage_data, "sampling_report": quarter_data,
    "destruction": proposal_data}
# Duties held in a unit whose instance starts with that unit's figures: the unit manager's monthly comparison of
# the registration book with the system's count (Taipei 002 §3 ¶2, §8(1)2).
PREPARED_UNIT_DATA: dict[str, Callable[[Session, int, datetime], dict[str, Any]]] = {
    "registration_comparison": comparison_data}


def claim(session: Session, schedule: str, period: str, now: datetime) -> ScheduleRun | None:
    """The schedule's run for this period, flushed; None (rolled back) when another run already claimed it.

    The unique (schedule, period) key is the claim: a second scheduler, a restart or a "run now" stops here.
    """
    run = ScheduleRun(schedule=schedule, period=period, started_at=now)
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return run


def run_schedule(session: Session, schedule: Schedule, now: datetime, actor: Person | None = None
                 ) -> ScheduleRun | None:
    """Start this period's instances once; None when the period already ran (or is running elsewhere)."""
    run = claim(session, schedule.name, schedule.period(now), now)
    if run is None:
        return None
    due = {"due_on": schedule.period_start(now).replace(day=schedule.due_day).date().isoformat()} \
        if schedule.due_day else {}
    try:
        started = [start_duty(session, process=schedule.process, target=replace(t, data={**t.data, **due}), now=now,
                              run_id=run.id).id
                   for t in schedule.targets(session, now)]
    except Exception as exc:  # noqa: BLE001 - a failed run is recorded and shown on the admin page
        log.exception("duty %s for %s failed; recorded as failed", schedule.name, schedule.period(now))
        session.rollback()
        run = ScheduleRun(schedule=schedule.name, period=schedule.period(now), started_at=now, finished_at=now,
                          result="failed", detail={"error": f"{type(exc).__name__}: {exc}"[:1000]})
        session.add(run)
        session.commit()
        return run
    run.finished_at, run.result, run.detail = now, "ok", {"applications": started}
    audit.record(session, "schedule_ran", actor=actor, subject_type="schedule_run", subject_id=run.id, now=now,
                 schedule=schedule.name, period=run.period, applications=started)
    session.commit()
    return run


def catch_up(session: Session, schedules: list[Schedule], now: datetime) -> list[ScheduleRun]:
    """On start-up: run every schedule whose current period started while nothing was running.

    One schedule that raises (its claim or its commit) is logged with the traceback; the others still run.
    """
    ran = []
    for schedule in (s for s in schedules if s.due_in_period(now)):
        try:
            run = run_schedule(session, schedule, now)
        except Exception:
            session.rollback()
            log.exception("catching up duty %s failed", schedule.name)
            continue
        if run is not None:
            ran.append(run)
    return ran


def last_runs(session: Session) -> dict[str, ScheduleRun]:
    latest: dict[str, ScheduleRun] = {}
    for run in session.scalars(select(ScheduleRun).order_by(ScheduleRun.started_at, ScheduleRun.id)):
        latest[run.schedule] = run
    return latest


def querier_accounts(session: Session, now: datetime) -> list[Target]:
    """Every person with an active querier account: their own reminder (004 §7)."""
    rows = session.execute(select(WebirAccount.agency_id, WebirAccount.person_id).where(
        WebirAccount.kind == AccountKind.QUERIER, WebirAccount.status == AccountStatus.ACTIVE)
        .order_by(WebirAccount.person_id)).all()
    return [Target(agency_id, person_id) for agency_id, person_id in rows]


def unit_managers(session: Session, now: datetime) -> list[Target]:
    """Every unit with a unit manager (使用單位管理者) on the run's day: its monthly comparison (Taipei 002 §3,
    §8(1)2)."""
    today = local_date(now)
    rows = session.execute(select(RoleHolding.agency_id, RoleHolding.unit_id).where(
        RoleHolding.role == Role.UNIT_MANAGER, RoleHolding.unit_id.is_not(None), RoleHolding.valid_on(today))
        .distinct().order_by(RoleHolding.agency_id, RoleHolding.unit_id)).all()
    return [Target(agency_id, unit_id=unit_id) for agency_id, unit_id in rows]


def webir_account_holders(session: Session, now: datetime) -> list[Target]:
    """Every person with an active WebIR account, manager or querier, once: their own reminder (004 §7 names both)."""
    rows = session.execute(select(WebirAccount.agency_id, WebirAccount.person_id).where(
        WebirAccount.status == AccountStatus.ACTIVE).distinct().order_by(WebirAccount.person_id)).all()
    seen: set[int] = set()
    return [Target(agency_id, person_id) for agency_id, person_id in rows
            if not (person_id in seen or seen.add(person_id))]


def commissioned_agencies(session: Session, now: datetime) -> list[Target]:
    """Every agency whose queries another agency commissioned (a district office): that agency audits it (004 §9)."""
    return [Target(a.id) for a in session.scalars(select(Agency).where(Agency.commissioned_by_id.is_not(None))
                                                 .order_by(Agency.id))]


# Whom a duty's instances are for, by the name a pack's duty gives in `targets` (jurisdiction.TARGET_NAMES).
TARGETS: dict[str, Callable[[Session, datetime], list[Target]]] = {
    "requesting_agencies": requesting_agencies,
    "self_auditing_agencies": self_auditing_agencies,
    "central_agencies": central_agencies,
    "querier_accounts": querier_accounts,
    "unit_managers": unit_managers,
    "webir_account_holders": webir_account_holders,
    "commissioned_agencies": commissioned_agencies,
}


def schedule_of(duty: jurisdiction.Duty) -> Schedule:
    return Schedule(duty.name, duty.process, duty.every, day=duty.day, month=duty.month, hour=duty.hour,
                    title=duty.title, source=duty.source, targets=TARGETS[duty.targets], off_unless_named=duty.off,
                    due_day=duty.due_day)


# The active pack's duties (Kaohsiung's: shared/domain.md "Recurring duties"); a deployment can override days and
# hours (DUTY_SCHEDULES). Filled in place whenever a pack is activated.
SCHEDULES: list[Schedule] = []


def _refresh(pack: jurisdiction.Pack) -> None:
    SCHEDULES[:] = [schedule_of(d) for d in pack.duties.values()]


jurisdiction.on_activate(_refresh)


def find_schedule(name: str, schedules: list[Schedule] | None = None) -> Schedule | None:
    return next((s for s in (SCHEDULES if schedules is None else schedules) if s.name == name), None)


def list_schedules(changes: Mapping[str, Any] | None, schedules: list[Schedule] | None = None) -> list[Schedule]:
    """The schedules with a deployment's changes: a duty mapped to None is off, to a mapping is moved.

    A duty shipped off (``off_unless_named``: the password reminder, 004 §7, not Kaohsiung's rule) runs only when
    mapped to a mapping (``{}`` keeps its day and hour).

    A mapping may set ``day``, ``hour`` and, for yearly duties, ``month``. Anything else raises ValueError
    naming the duty and the field: a typo must not leave a duty running on its old date unnoticed.
    """
    schedules = SCHEDULES if schedules is None else schedules
    changes = changes or {}
    if not isinstance(changes, Mapping):
        raise ValueError(f"expected a mapping of duty name to null (off) or {{day, hour, month}}, got {changes!r}")
    names = [s.name for s in schedules]
    unknown = [name for name in changes if name not in names]
    if unknown:
        raise ValueError(f"unknown duty {', '.join(map(repr, unknown))}; the duties are {', '.join(names)}")
    return [_moved(s, changes.get(s.name, {})) for s in schedules
            if changes.get(s.name, None if s.off_unless_named else {}) is not None]


def _moved(schedule: Schedule, change: Any) -> Schedule:
    """One schedule on its new day, hour or month, checked so that its every period has that date."""
    fields = ("day", "hour", "month") if schedule.every == "year" else ("day", "hour")
    listed = f"{', '.join(fields[:-1])} and {fields[-1]}"
    if not isinstance(change, Mapping):
        raise ValueError(f"{schedule.name}: expected null (off) or a mapping of {listed}, got {change!r}")
    for name in change:
        if name not in fields:
            why = f"it runs every {schedule.every}: only its " if name == "month" else "only its "
            raise ValueError(f"{schedule.name}: cannot change {name!r}; {why}{listed} can be changed")
    _check_whole(schedule.name, "month", change.get("month", schedule.month), 1, 12)
    _check_whole(schedule.name, "hour", change.get("hour", schedule.hour), 0, 23)
    result = replace(schedule, **change)
    # The day must exist in every month the duty runs in: a 31 would skip April, a 29 February most years.
    last = min(calendar.monthrange(2027, m)[1] for m in result.months())  # 2027: a common year
    _check_whole(schedule.name, "day", result.day, 1, last)
    return result


def _check_whole(duty: str, name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{duty}: {name} must be a whole number from {low} to {high}, got {value!r}")
