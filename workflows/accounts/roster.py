"""The WebIR account roster of an agency (001 §12(5)): who holds which items since when, through which application.

Seen by the agency's own managers, by 勞工局 and 資訊處 staff for every agency of their city, and by
administrators; exported as a spreadsheet for 勞保局's audit (the export is audited).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import CITY_WIDE_VIEWERS, QUERY_ITEMS, AccountStatus, Agency, Person, Role, WebirAccount

from .. import audit
from ..calendar import local_date
from ..errors import Forbidden, NotFound

KIND_LABELS = {"querier": "資料查詢者", "manager": "機關管理者"}
STATUS_LABELS = {"active": "使用中", "disabled": "已停用"}


@dataclass(frozen=True)
class RosterItem:
    code: str
    name: str
    since: date | None
    application_id: int | None


@dataclass(frozen=True)
class RosterRow:
    account_id: int
    username: str
    name: str
    unit: str | None
    kind: str
    egov_account: str
    status: str
    effective_on: date | None
    valid_until: date | None
    disabled_on: date | None
    application_id: int | None
    items: list[RosterItem] = field(default_factory=list)


@dataclass(frozen=True)
class Roster:
    agency_id: int
    agency_code: str
    agency_name: str
    rows: list[RosterRow]


def roster_agencies(session: Session, actor: Person, on: date) -> list[Agency]:
    """The agencies whose roster ``actor`` may read on ``on``; the one rule of who sees a roster."""
    query = select(Agency).order_by(Agency.code)
    if actor.is_admin:
        return list(session.scalars(query))
    held = [h for h in actor.roles if h.valid_on(on)]
    if any(h.role in CITY_WIDE_VIEWERS for h in held):
        return list(session.scalars(query.where(Agency.city == actor.agency.city)))
    managed = {h.agency_id for h in held if h.role == Role.AGENCY_MANAGER}
    return list(session.scalars(query.where(Agency.id.in_(managed)))) if managed else []


def _agency(session: Session, actor: Person, code: str | None, on: date) -> Agency:
    visible = roster_agencies(session, actor, on)
    if not visible:
        raise Forbidden("只有機關管理者、勞工局與資訊處人員可以查看帳號清冊")
    if not code:
        return next((a for a in visible if a.id == actor.agency_id), visible[0])
    agency = next((a for a in visible if a.code == code), None)
    if agency is None:
        if session.scalar(select(Agency.id).where(Agency.code == code)) is None:
            raise NotFound(f"沒有機關 {code}")
        raise Forbidden("您不能查看此機關的帳號清冊")
    return agency


def _row(account: WebirAccount) -> RosterRow:
    items = [RosterItem(i.item_code, QUERY_ITEMS.get(i.item_code, i.item_code), i.granted_on, i.application_id)
             for i in account.items]
    return RosterRow(account.id, account.person.username, account.person.name,
                     account.person.unit.name if account.person.unit else None, account.kind.value,
                     account.egov_account, account.status.value, account.effective_on, account.valid_until,
                     local_date(account.disabled_at) if account.disabled_at else None, account.last_application_id,
                     items)


def get_roster(session: Session, actor: Person, agency_code: str | None, now: datetime) -> Roster:
    """One agency's accounts, in use first, then disabled; 403 for an agency the actor may not see."""
    agency = _agency(session, actor, agency_code, local_date(now))
    accounts = session.scalars(select(WebirAccount).where(WebirAccount.agency_id == agency.id).options(
        joinedload(WebirAccount.person).joinedload(Person.unit), selectinload(WebirAccount.items))).unique().all()
    accounts = sorted(accounts, key=lambda a: (a.status != AccountStatus.ACTIVE, a.kind.value, a.person.username,
                                               a.id))
    return Roster(agency.id, agency.code, agency.name, [_row(a) for a in accounts])


def export_roster(session: Session, actor: Person, agency_code: str | None, now: datetime) -> Roster:
    """The roster for a spreadsheet (勞保局's audit, 001 §12(5)); the export is recorded."""
    roster = get_roster(session, actor, agency_code, now)
    audit.record(session, "account_roster_exported", actor=actor, subject_type="agency", subject_id=roster.agency_id,
                 now=now,
                 agency=roster.agency_code, accounts=len(roster.rows))
    session.commit()
    return roster
