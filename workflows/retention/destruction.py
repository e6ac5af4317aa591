"""The yearly destruction list (檔案法 §12: nothing is destroyed without approval).

Once a year the ``destruction`` duty starts, per agency, with the records past their retention period
(``settings.retention_years``): closed applications (deletion proofs by their own period) not under a legal hold and
not already erased, and the query-log rows queried before the cutoff. The agency manager reviews the list, the agency
head approves or rejects it. Only an approved list is carried out (``carry_out_destructions``, the daily job): the
personal data of each listed application is replaced by a tombstone — ID numbers, names, telephone, e-mail — while
its sign-off history and audit trail stay as they were; a listed query-log row loses its subject. A hold set after
the list was drawn still wins. Each carried-out list leaves ``destruction_record`` rows (what, how many, which, how,
approved by whom and when) and a ``records_destroyed`` audit event.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import (
    AccountKind,
    AccountStatus,
    Application,
    ApplicationState,
    DestructionRecord,
    HistoryEntry,
    NationalIdReveal,
    QueryLog,
    WebirAccount,
)

from .. import audit
from ..attachments.records import erase_files
from ..calendar import TAIPEI, local_date, months_before
from ..forms import FORMS, with_columns
from ..settings import SETTINGS
from .holds import held_ids

PROCESS = "destruction"
TOMBSTONE = "（已銷毀）"
APPROVAL_STEP = "agency_head_approval"
METHOD = "個人資料欄位以「（已銷毀）」覆寫；簽核歷程與稽核軌跡保留"
_PERSONAL_TYPES = ("national_id", "email", "phone")
_NAMES = ("name", "subject_name", "egov_account")
_KEPT = (PROCESS,)  # the destruction lists themselves are the record of what was destroyed


def _years_before(day: date, years: int) -> datetime:
    """The start of the same Taipei day ``years`` earlier (29 February falls back to the 28th)."""
    return months_before(datetime.combine(day, time(), tzinfo=TAIPEI), 12 * years)


def personal_fields(form_key: str) -> list[str]:
    """The fields of a form that hold personal data: erased when the application is destroyed."""
    spec = FORMS.get(form_key)
    if spec is None:
        return []
    return [f.name for f in with_columns(spec.fields) if f.sensitive or f.type in _PERSONAL_TYPES or f.name in _NAMES]


def _retention(form_key: str) -> int:
    years = SETTINGS.retention_years
    return years["deletion_proofs"] if form_key == "data_deletion" else years["applications"]


def due_applications(session: Session, agency_id: int, now: datetime) -> list[int]:
    """Closed applications of the agency past their period, not held and not yet erased."""
    today = local_date(now)
    oldest_cut = _years_before(today, min(SETTINGS.retention_years["applications"],
                                          SETTINGS.retention_years["deletion_proofs"]))
    rows = session.execute(select(Application.id, Application.form_key, Application.closed_at, Application.data,
                                  Application.applicant_id)
                           .where(Application.agency_id == agency_id, Application.closed_at.is_not(None),
                                  Application.closed_at < oldest_cut, Application.form_key.not_in(_KEPT),
                                  Application.id.not_in(held_ids())).order_by(Application.id)).all()
    ended = _accounts_ended(session, rows) if SETTINGS.account_forms_from_cancellation else None
    return [r.id for r in rows
            if _counted_from(r, ended) < _years_before(today, _retention(r.form_key))
            and not (r.data or {}).get("_destroyed")]


# Forms whose retention counts from the cancellation of the account they asked for, where the rules say so
# (Taipei 002 §7(2): 使用者註銷帳號至少保存 3 年後銷毀): kept while the account lives.
ACCOUNT_FORMS = {"querier_account": AccountKind.QUERIER, "manager_account": AccountKind.MANAGER}
_LIVING = datetime.max.replace(tzinfo=TAIPEI)


def _accounts_ended(session: Session, rows) -> dict[tuple[int, AccountKind], datetime]:
    """(person, kind) → when their last account of that kind was cancelled; far in the future while one lives."""
    people = {r.applicant_id for r in rows if r.form_key in ACCOUNT_FORMS}
    ended: dict[tuple[int, AccountKind], datetime] = {}
    for account in session.scalars(select(WebirAccount).where(WebirAccount.person_id.in_(people))):
        key = (account.person_id, account.kind)
        at = _LIVING if account.status == AccountStatus.ACTIVE else account.disabled_at or _LIVING
        ended[key] = max(ended.get(key, at), at)
    return ended


def _counted_from(row, ended: dict[tuple[int, AccountKind], datetime] | None) -> datetime:
    """When a closed application's retention starts: its closing, or its account's cancellation if later."""
    if ended is None or row.form_key not in ACCOUNT_FORMS:
        return row.closed_at
    return max(row.closed_at, ended.get((row.applicant_id, ACCOUNT_FORMS[row.form_key]), row.closed_at))


def _query_logs(agency_id: int, before: datetime, upto: int | None = None):
    where = [QueryLog.agency_id == agency_id, QueryLog.queried_at < before, QueryLog.subject_hash != ""]
    if upto is not None:
        where.append(QueryLog.id <= upto)
    return where


def proposal_data(session: Session, agency_id: int, now: datetime) -> dict[str, Any]:
    """The list the duty starts with (PREPARED_DATA of timers.duties)."""
    before = _years_before(local_date(now), SETTINGS.retention_years["query_logs"])
    count, upto = session.execute(select(func.count(QueryLog.id), func.max(QueryLog.id))
                                  .where(*_query_logs(agency_id, before))).one()
    applications = due_applications(session, agency_id, now)
    return {"applications": applications, "application_count": len(applications), "query_log_count": count,
            "query_logs_before": before.isoformat(), "query_logs_upto": upto,
            "retention_years": dict(SETTINGS.retention_years), "proposed_on": local_date(now).isoformat()}


def _erase(app: Application, now: datetime) -> None:
    names = personal_fields(app.form_key)
    data = _erased(dict(app.data or {}), names)
    data["_destroyed"] = local_date(now).isoformat()
    app.data = data
    app.national_id_hash = None
    for line in app.registration_rows:  # a 查調資料登記表's lines: no query is matched to them any more
        line.subject_id, line.subject_hash = TOMBSTONE, ""


def _erased(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The data with its personal fields overwritten, in a sheet's rows too."""
    for key, value in data.items():
        if key in names and value not in (None, ""):
            data[key] = TOMBSTONE
        elif isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            data[key] = [_erased(dict(r), names) for r in value]
    return data


def _approval(session: Session, listing: Application) -> HistoryEntry | None:
    return session.scalar(select(HistoryEntry).where(
        HistoryEntry.application_id == listing.id, HistoryEntry.step == APPROVAL_STEP,
        HistoryEntry.decision == "approve").order_by(HistoryEntry.id.desc()))


def carry_out(session: Session, listing: Application, now: datetime) -> list[DestructionRecord]:
    """Destroy what one approved list names; the caller commits."""
    approval = _approval(session, listing)
    if listing.state != ApplicationState.COMPLETED or approval is None:
        return []  # not approved: nothing is destroyed
    data = listing.data
    held = set(session.scalars(held_ids()))
    apps = [a for a in session.scalars(select(Application).where(Application.id.in_(data.get("applications") or [])))
            if a.id not in held and not (a.data or {}).get("_destroyed")]
    for app in apps:
        _erase(app, now)
    erased = sorted(a.id for a in apps)
    if erased:
        session.execute(update(NationalIdReveal).where(NationalIdReveal.application_id.in_(erased))
                        .values(subject_name=TOMBSTONE))
    files = erase_files(session, erased, now, TOMBSTONE) if erased else 0  # a signed consent is personal data too
    logs: list[int] = []
    if data.get("query_logs_upto") is not None:
        where = _query_logs(listing.agency_id, datetime.fromisoformat(data["query_logs_before"]),
                            data["query_logs_upto"])
        logs = list(session.scalars(select(QueryLog.id).where(*where).order_by(QueryLog.id)))
        if logs:
            session.execute(update(QueryLog).where(QueryLog.id.in_(logs)).values(subject_id=TOMBSTONE, subject_hash=""),
                            execution_options={"synchronize_session": False})
    records = [DestructionRecord(list_id=listing.id, agency_id=listing.agency_id, record_type=kind, count=len(ids),
                                 ids=ids, method=METHOD, approved_by_id=approval.actor_id,
                                 approved_at=approval.created_at, carried_out_at=now)
               for kind, ids in (("applications", erased), ("query_logs", logs))]
    session.add_all(records)
    audit.record(session, "records_destroyed", actor=None, subject_type="application", subject_id=listing.id,
                 now=now, applications=erased, query_logs=len(logs), approved_by=approval.actor_id,
                 attachments=files)
    return records


def carry_out_destructions(session: Session, now: datetime) -> list[int]:
    """The daily job: carry out every approved list not yet carried out, one transaction each."""
    done = select(DestructionRecord.list_id)
    lists = session.scalars(select(Application).where(
        Application.form_key == PROCESS, Application.state == ApplicationState.COMPLETED,
        Application.id.not_in(done)).order_by(Application.id)).all()
    carried = []
    for listing in lists:
        if carry_out(session, listing, now):
            session.commit()
            carried.append(listing.id)
    return carried


def destruction_records(session: Session, list_id: int) -> list[DestructionRecord]:
    return list(session.scalars(select(DestructionRecord).where(DestructionRecord.list_id == list_id)
                                .order_by(DestructionRecord.id)))
