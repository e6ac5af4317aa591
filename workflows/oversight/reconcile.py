"""Reconciliation: each logged query against the approved 查調資料登記表 and the account that ran it.

000 §6(1) and 002 §8(1) ask the manager to compare the logs with the registrations. ``Reconciler`` loads
what one agency's rows are judged against once (its accounts, approved registrations, staff ID hashes and
legal-basis table: proportional to the organisation, not to the log) and then judges rows one by one.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import JSON, Column, Integer, MetaData, Table, select, type_coerce, update
from sqlalchemy.orm import Session

from models import (
    AccountStatus,
    Agency,
    Application,
    ApplicationState,
    LegalBasis,
    LogFlag,
    Person,
    QueryLog,
    RegistrationRow,
    WebirAccount,
)

from ..calendar import TAIPEI, is_working_day
from ..settings import SETTINGS
from .bases import basis_listed, listed_laws
from .bulk import write_rows

REGISTRATION = "query_registration"
# The flags as plain ints: judging a million rows with IntFlag arithmetic spends its time making enum members.
(_NO_REGISTRATION, _REGISTERED_AFTER_QUERY, _ITEM_NOT_GRANTED, _ACCOUNT_UNKNOWN, _ACCOUNT_DISABLED, _SELF_QUERY,
 _COLLEAGUE_QUERY, _OUTSIDE_OFFICE_HOURS, _BASIS_NOT_LISTED) = (int(f) for f in LogFlag)
_ALWAYS = datetime.min.replace(tzinfo=UTC)  # disabled without a date: disabled for every query


@dataclass(frozen=True)
class _Account:
    person_id: int
    person_hash: str | None
    active_from: datetime | None  # start of the effective day (Taipei)
    disabled_at: datetime | None
    items: frozenset[str]


@dataclass(frozen=True)
class Verdict:
    flags: int
    person_id: int | None
    registration_id: int | None
    registration_line: int | None = None  # the line of the registration's sheet the query matched


class Reconciler:
    """What one agency's logged queries are judged against, loaded once."""

    def __init__(self, session: Session, agency: Agency):
        self.accounts = self._accounts(session, agency.id)
        self.colleagues = set(session.scalars(select(Person.national_id_hash).where(
            Person.agency_id == agency.id, Person.national_id_hash.is_not(None))))
        self.laws = listed_laws(session.scalars(select(LegalBasis.statute).where(
            LegalBasis.agency_id == agency.id, LegalBasis.active)))
        self.registrations = self._registrations(session, agency.id, self.laws)
        self.hours = (_hhmm(SETTINGS.office_hours_start), _hhmm(SETTINGS.office_hours_end)) \
            if SETTINGS.office_hours_only else None

    @staticmethod
    def _accounts(session: Session, agency_id: int) -> dict[str, list[_Account]]:
        found: dict[str, list[_Account]] = defaultdict(list)
        for a in session.scalars(select(WebirAccount).where(WebirAccount.agency_id == agency_id)
                                 .order_by(WebirAccount.id)):
            start = datetime.combine(a.effective_on, time(0), tzinfo=TAIPEI) if a.effective_on else None
            disabled = (a.disabled_at or _ALWAYS) if a.status == AccountStatus.DISABLED \
                else None
            found[a.egov_account.strip()].append(_Account(a.person_id, a.person.national_id_hash, start, disabled,
                                                          frozenset(a.item_codes)))
        return dict(found)

    @staticmethod
    def _registrations(session: Session, agency_id: int, laws: set[str]) -> dict[tuple, tuple[list[datetime], list]]:
        """(querier, subject hash, item) → approval times (sorted) and (registration id, line, whether its legal basis
        is outside the agency's table) alongside: judged once per registration line, not per logged query."""
        # The lines (registration_row) hold the subject's keyed hash and the item; the legal basis is read from the
        # form's data as plain JSON: it is not sealed, and unsealing the subjects' numbers would only cost time.
        rows = session.execute(select(
            Application.id, Application.applicant_id, RegistrationRow.subject_hash, RegistrationRow.item,
            RegistrationRow.line, Application.closed_at, type_coerce(Application.data, JSON))
            .join(RegistrationRow, RegistrationRow.application_id == Application.id).where(
            Application.agency_id == agency_id, Application.form_key == REGISTRATION,
            Application.state == ApplicationState.COMPLETED, RegistrationRow.subject_hash != "")
            .order_by(Application.closed_at, Application.id, RegistrationRow.line))
        found: dict[tuple, tuple[list[datetime], list]] = {}
        unlisted_of: dict[int, bool] = {}
        for app_id, applicant_id, subject_hash, item, line, closed_at, data in rows:
            times, details = found.setdefault((applicant_id, subject_hash, item), ([], []))
            if app_id not in unlisted_of:
                # A basis filed outside the agency's table (with a reason) is flagged whatever its law's name; one
                # filed before the basis was bound to the table, by its law's name.
                data = data or {}
                unlisted_of[app_id] = bool(data.get("legal_basis_not_listed")) or bool(
                    laws and not basis_listed(data.get("legal_basis"), laws))
            if times and times[-1] == closed_at and details[-1][0] == app_id:
                continue  # the same subject and item twice on one sheet: its first line answers
            times.append(closed_at)
            details.append((app_id, line, unlisted_of[app_id]))
        return found

    def judge(self, account: str, queried_at: datetime, item: str, subject_hash: str) -> Verdict:
        flags = 0
        if self.hours and self._outside_hours(queried_at):
            flags |= _OUTSIDE_OFFICE_HOURS
        if subject_hash in self.colleagues:
            flags |= _COLLEAGUE_QUERY
        holder = self._account_at(account, queried_at)
        if holder is None:
            return Verdict(flags | _ACCOUNT_UNKNOWN, None, None)
        if (holder.disabled_at and holder.disabled_at <= queried_at) or \
                (holder.active_from and queried_at < holder.active_from):
            flags |= _ACCOUNT_DISABLED
        if item not in holder.items:
            flags |= _ITEM_NOT_GRANTED
        if holder.person_hash and holder.person_hash == subject_hash:
            flags |= _SELF_QUERY
            flags &= ~_COLLEAGUE_QUERY
        registration_id = line = None
        found = self.registrations.get((holder.person_id, subject_hash, item))
        if found is None:
            flags |= _NO_REGISTRATION
        else:
            times, details = found
            i = bisect.bisect_right(times, queried_at)
            if i == 0:
                flags |= _REGISTERED_AFTER_QUERY
                registration_id, line, unlisted = details[0]
            else:
                registration_id, line, unlisted = details[i - 1]
            if unlisted:
                flags |= _BASIS_NOT_LISTED
        return Verdict(flags, holder.person_id, registration_id, line)

    def _account_at(self, account: str, at: datetime) -> _Account | None:
        """The account of that name in use at the time, else the latest of that name."""
        candidates = self.accounts.get(account)
        if not candidates:
            return None
        if len(candidates) == 1:  # the usual case: the one account of that name, in use or not
            return candidates[0]
        for a in reversed(candidates):
            if (a.active_from is None or a.active_from <= at) and (a.disabled_at is None or at < a.disabled_at):
                return a
        return candidates[-1]

    def _outside_hours(self, at: datetime) -> bool:
        local = at.astimezone(TAIPEI)
        start, end = self.hours  # type: ignore[misc]
        return not is_working_day(local.date()) or not (start <= local.time() < end)


def _hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


_VERDICTS = Table("reconcile_verdict", MetaData(), Column("id", Integer, primary_key=True),
                  Column("flags", Integer), Column("person_id", Integer), Column("registration_id", Integer),
                  Column("registration_line", Integer), prefixes=["TEMPORARY"])


def reconcile_rows(session: Session, agency: Agency, *, batch_size: int = 5000) -> int:
    """Judge every logged query of the agency again (after registrations or accounts changed); rows changed.

    The rows are read once, in one streamed query; the verdicts that differ go to a temporary table in batches
    (``bulk.write_rows``), and one UPDATE … FROM writes them all, in the table's own order."""
    judge = Reconciler(session, agency).judge
    table = QueryLog.__table__
    connection = session.connection()
    connection.exec_driver_sql("DROP TABLE IF EXISTS reconcile_verdict")
    _VERDICTS.create(connection)
    rows = connection.execute(select(
        table.c.id, table.c.account, table.c.queried_at, table.c.item_code, table.c.subject_hash,
        table.c.flags, table.c.person_id, table.c.registration_id, table.c.registration_line).where(
        table.c.agency_id == agency.id),
        execution_options={"stream_results": True, "yield_per": batch_size})  # this statement only
    changed, updates = 0, []
    for row in rows:
        v = judge(row.account, row.queried_at, row.item_code, row.subject_hash)
        if (v.flags, v.person_id, v.registration_id, v.registration_line) != (
                row.flags, row.person_id, row.registration_id, row.registration_line):
            updates.append((row.id, v.flags, v.person_id, v.registration_id, v.registration_line))
            if len(updates) >= batch_size:
                write_rows(connection, "reconcile_verdict", _VERDICT_COLUMNS, updates)
                changed, updates = changed + len(updates), []
    write_rows(connection, "reconcile_verdict", _VERDICT_COLUMNS, updates)
    changed += len(updates)
    if changed:
        verdicts = _VERDICTS.c
        connection.execute(update(table).where(table.c.id == verdicts.id).values(
            flags=verdicts.flags, person_id=verdicts.person_id, registration_id=verdicts.registration_id,
            registration_line=verdicts.registration_line))
    _VERDICTS.drop(connection)
    return changed


_VERDICT_COLUMNS = ("id", "flags", "person_id", "registration_id", "registration_line")
