"""Importing a WebIR query-log download (001 §9(2)): all rows or none, in bounded memory.

The rows are streamed from the file, judged (``reconcile.Reconciler``) and inserted in batches with Core;
a row already stored for the agency (same fingerprint) is skipped by the database. Any bad row, and any
dry run, rolls the whole import back: the answer still says how many rows were new and which were wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Agency, Person, QueryLog, QueryLogImport, Role
from models.sealing import digest

from .. import audit
from ..calendar import local_date
from ..errors import Forbidden, NotFound
from ..forms import mask_id
from .logfile import FIELDS, LogRow, RowError, open_table, parse_row
from .reconcile import Reconciler

BATCH = 2000
MAX_ERRORS = 1000  # listed; the count covers every bad row


@dataclass
class ImportResult:
    rows: int = 0
    new: int = 0
    duplicates: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    mapping: dict[str, str] = field(default_factory=dict)  # field key → header text
    stored: bool = False
    import_id: int | None = None


@dataclass(frozen=True)
class Preview:
    header: list[str]
    header_line: int
    mapping: dict[str, str]
    sample: list[dict[str, str]]  # the first rows as read through the mapping, ID numbers masked
    kind: str


def get_agency(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise NotFound(f"沒有機關代碼 {code}")
    return agency


def check_may_import(person: Person, agency: Agency, now: datetime) -> None:
    """The agency's own manager brings its logs (001 §9(2)); administrators may too."""
    if person.is_admin:
        return
    today = local_date(now)
    if not any(h.role == Role.AGENCY_MANAGER and h.agency_id == agency.id and h.valid_on(today) for h in person.roles):
        raise Forbidden(f"只有{agency.name}的機關管理者可以匯入查詢紀錄")


def preview_query_logs(stream: IO[bytes], mapping: dict[str, str] | None = None, rows: int = 5) -> Preview:
    """How the file's columns will be read, with its first rows: for the manager to check and correct."""
    table = open_table(stream, mapping)
    sample = []
    for _line, cells in table.rows:
        sample.append({k: _shown(k, cells[i] if i < len(cells) else None) for k, i in table.mapping.items()})
        if len(sample) >= rows:
            break
    return Preview(table.header, table.header_line, _named(table.header, table.mapping), sample, table.kind)


def _shown(key: str, value) -> str:
    text = "" if value is None else str(value).strip()
    return mask_id(text) if key == "subject" else text


def _named(header: list[str], mapping: dict[str, int]) -> dict[str, str]:
    return {k: header[i] for k, i in mapping.items()}


def import_query_logs(session: Session, *, agency_code: str, stream: IO[bytes], file_name: str,
                      actor: Person, now: datetime, dry_run: bool = False,
                      mapping: dict[str, str] | None = None,
                      progress: Callable[[int], None] | None = None) -> ImportResult:
    """Store the file's new rows, judged; nothing at all when a row is bad or on a dry run."""
    agency = get_agency(session, agency_code)
    check_may_import(actor, agency, now)
    table = open_table(stream, mapping)
    result = ImportResult(mapping=_named(table.header, table.mapping))
    batch = _Batch(session, agency, file_name, result.mapping, actor, now)
    for line, cells in table.rows:
        parsed = parse_row(table, line, cells)
        if parsed is None:
            continue
        result.rows += 1
        if isinstance(parsed, list):
            result.error_count += 1
            result.errors.extend(parsed[:max(0, MAX_ERRORS - len(result.errors))])
        elif not result.error_count:  # after a bad row nothing will be stored: only go on checking
            batch.add(parsed)
        if progress and result.rows % BATCH == 0:
            progress(result.rows)
    if not result.error_count:
        batch.flush()
        result.new = batch.count_new()
        result.duplicates = result.rows - result.new
    if result.error_count or dry_run:
        session.rollback()
        return result
    batch.finish(result)
    audit.record(session, "query_logs_imported", actor=actor, subject_type="agency", subject_id=agency.id, now=now,
                 import_id=batch.record.id, file=file_name, rows=result.rows, new=result.new,
                 duplicates=result.duplicates)
    session.commit()
    result.stored, result.import_id = True, batch.record.id
    return result


_COLUMNS = ("agency_id", "import_id", "line", "fingerprint", "account", "queried_at", "item_code",
            "subject_id_sealed", "subject_hash", "case_number", "reason", "result", "person_id", "registration_id",
            "flags")


class _Batch:
    """Rows judged and inserted BATCH at a time; duplicates are left to the unique fingerprint.

    The rows go to the driver's executemany as plain tuples: the ORM's and Core's per-row parameter handling
    cost more than parsing, judging and sealing together. Each value is converted by its column's own type
    (the subject sealed, the time as the dialect stores it), so the rows read back as any other.
    """

    def __init__(self, session: Session, agency: Agency, file_name: str, mapping: dict[str, str],
                 actor: Person, now: datetime):
        self.session, self.agency = session, agency
        self.record = QueryLogImport(agency_id=agency.id, actor_id=actor.id, file_name=file_name[:200],
                                     mapping=mapping, created_at=now)
        session.add(self.record)
        session.flush()
        self.judge = Reconciler(session, agency).judge
        self.rows: list[tuple] = []
        self.connection = session.connection()
        dialect = self.connection.dialect
        table = QueryLog.__table__
        self.as_stored = table.c.queried_at.type._cached_bind_processor(dialect) or (lambda v: v)
        self.sealed = table.c.subject_id_sealed.type._cached_bind_processor(dialect) or (lambda v: v)
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # Column names and placeholders are constants of this module: nothing from the file is in the text.
        columns, marks = ", ".join(_COLUMNS), ", ".join([mark] * len(_COLUMNS))
        self.sql = f"INSERT INTO query_log ({columns}) VALUES ({marks}) ON CONFLICT (agency_id, fingerprint) DO NOTHING"  # noqa: S608,E501

    def add(self, row: LogRow) -> None:
        subject_hash = digest(row.subject_id)
        verdict = self.judge(row.account, row.queried_at, row.item_code, subject_hash)
        self.rows.append((
            self.agency.id, self.record.id, row.line, fingerprint(row, subject_hash), row.account,
            self.as_stored(row.queried_at), row.item_code, self.sealed(row.subject_id), subject_hash,
            row.case_number, row.reason, row.result, verdict.person_id, verdict.registration_id, int(verdict.flags)))
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.connection.exec_driver_sql(self.sql, self.rows)
            self.rows = []

    def count_new(self) -> int:
        return self.session.scalar(select(func.count()).select_from(QueryLog).where(
            QueryLog.import_id == self.record.id)) or 0

    def finish(self, result: ImportResult) -> None:
        self.record.rows, self.record.new, self.record.duplicates = result.rows, result.new, result.duplicates


def fingerprint(row: LogRow, subject_hash: str) -> str:
    """Equal for the same query downloaded twice, whatever the file's format or column order."""
    parts = (row.account, row.queried_at.isoformat(), row.item_code, subject_hash, row.case_number or "",
             row.reason or "", row.result or "")
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


FIELD_LABELS = {k: label for k, (label, _variants) in FIELDS.items()}


def importable_agencies(session: Session, person: Person, now: datetime) -> list[tuple[str, str]]:
    """(code, name) of the agencies whose logs this person may import: where they manage; all for administrators."""
    query = select(Agency).order_by(Agency.id)
    if not person.is_admin:
        today = local_date(now)
        managed = [h.agency_id for h in person.roles if h.role == Role.AGENCY_MANAGER and h.valid_on(today)]
        query = query.where(Agency.id.in_(managed))
    return [(a.code, a.name) for a in session.scalars(query)]
