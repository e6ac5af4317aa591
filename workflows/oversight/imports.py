"""Importing a WebIR query-log download (001 §9(2)): all rows or none, in bounded memory.

The rows are streamed from the file, parsed, judged (``reconcile.Reconciler``) and written in batches to the
staging table ``query_log_stage`` (PostgreSQL: COPY); once the whole file has been read without a bad row, one
statement moves them into ``query_log``, where a row already stored for the agency (same fingerprint) is left
out by the unique key. Any bad row, and any dry run, stores nothing: the answer still says how many rows were
new and which were wrong.

A small file is imported in the request (``import_query_logs``, one transaction). A large one is queued
(``queue_import``) and imported by a background job (``run_import_job``): it commits its staged rows and its
progress every ``CHUNK`` rows, so the page can show how far it is, and moves them in one last transaction — or,
on a bad row or an unreadable file, removes them and records why. Each chunk also writes the job's heartbeat: a
job whose process died (no heartbeat for ``STALE_MINUTES``) is ended as failed by ``fail_dead_imports``, run by
the scheduler, which removes its staged rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO

from sqlalchemy import Column, MetaData, delete, exists, func, select, text, update
from sqlalchemy import Table as SqlTable
from sqlalchemy.orm import Session

from models import Agency, ImportState, Person, QueryLog, QueryLogImport, QueryLogStage, Role
from models.sealing import digest, seal

from .. import audit
from ..calendar import local_date
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..forms import mask_id
from .bulk import write_rows
from .logfile import FIELDS, LogRow, RowError, Table, open_table, row_parser
from .reconcile import Reconciler

BATCH = 2000  # rows per driver call (executemany on SQLite)
COPY_BATCH = 10_000  # rows per COPY on PostgreSQL (each COPY is a round trip and a statement of its own)
CHUNK = 20_000  # a background job commits its staged rows and its progress this often
MAX_ERRORS = 1000  # listed; the count covers every bad row
SORT_MEMORY_MB = 64  # PostgreSQL's work_mem for the move's sort (the server's default, 4 MB, spills to disk)
SEALED_CACHE = 50_000  # subjects whose hash and sealed number one import keeps (a log repeats its subjects)
STALE_MINUTES = 10  # a job queued or running without a heartbeat this long has lost its process


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

    def error_dicts(self) -> list[dict]:
        return [{"row": e.row, "column": e.column, "message": e.message} for e in self.errors]


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
    """Store the file's new rows, judged; nothing at all when a row is bad or on a dry run. One transaction."""
    agency = get_agency(session, agency_code)
    check_may_import(actor, agency, now)
    table = open_table(stream, mapping)
    result = ImportResult(mapping=_named(table.header, table.mapping))
    record = QueryLogImport(agency_id=agency.id, actor_id=actor.id, file_name=file_name[:200], mapping=result.mapping,
                            created_at=now, state=ImportState.RUNNING, started_at=now)
    session.add(record)
    session.flush()
    stage = _private_stage(session)
    _read(table, _Stager(session, agency, record.id, stage), result, progress)
    if result.error_count or dry_run:
        if not result.error_count:
            result.new = _count_new(session, agency.id, record.id, stage)
            result.duplicates = result.rows - result.new
        session.rollback()
        return result
    _move(session, record, result, actor, now, stage)
    session.commit()
    result.stored, result.import_id = True, record.id
    return result


def queue_import(session: Session, *, agency_code: str, stream: IO[bytes], file_name: str, size: int | None,
                 actor: Person, now: datetime, mapping: dict[str, str] | None = None) -> QueryLogImport:
    """A large file's import, to be run by ``run_import_job``: checked now (who may import, a readable file with
    a header, the mapping), read later. ``size``: the file's bytes, for the progress bar."""
    agency = get_agency(session, agency_code)
    check_may_import(actor, agency, now)
    table = open_table(stream, mapping)
    named = _named(table.header, table.mapping)
    record = QueryLogImport(agency_id=agency.id, actor_id=actor.id, file_name=file_name[:200], mapping=named,
                            created_at=now, state=ImportState.QUEUED,
                            progress_total=size if table.kind != "xlsx" else table.total)
    session.add(record)
    session.commit()
    return record


def run_import_job(session: Session, *, import_id: int, stream: IO[bytes], now: datetime,
                   clock: Callable[[], datetime] | None = None) -> ImportResult:
    """Read a queued import's file into the staging table chunk by chunk, each chunk committed with the
    progress; then move the rows in one transaction. A bad row or an unreadable file stores nothing: the
    staged rows are removed and the import records why (``failed``). ``clock`` dates the finish (default
    ``now``)."""
    record = session.get(QueryLogImport, import_id)
    if record is None:
        raise NotFound(f"沒有匯入工作 {import_id}")
    if record.state != ImportState.QUEUED:
        raise Conflict("這個匯入工作已開始或已結束")
    actor, agency = session.get(Person, record.actor_id), session.get(Agency, record.agency_id)
    record.state, record.started_at, record.heartbeat_at = ImportState.RUNNING, now, now
    session.commit()
    finished = clock or (lambda: now)
    result = ImportResult(mapping=dict(record.mapping))
    try:
        check_may_import(actor, agency, now)
        # The mapping as queued, every field named ("" leaves it out), so the job reads the columns the manager saw.
        table = open_table(stream, {k: result.mapping.get(k, "") for k in FIELDS})

        def chunk(rows: int) -> None:
            _beat(session, import_id, finished(), rows=rows, progress_done=table.position())
            session.commit()
        _read(table, _Stager(session, agency, import_id), result, chunk)
        if not result.error_count:
            _beat(session, import_id, finished())  # holds the job's row until the move commits: no sweep ends it
    except _Abandoned:  # a sweep found it dead (no heartbeat for too long) and removed what it had committed
        session.rollback()
        return result
    except Invalid as e:
        _fail(session, import_id, result, finished(), message="；".join(str(v) for v in e.errors.values()) or str(e))
        return result
    except Forbidden as e:  # no longer the agency's manager by the time the job ran
        session.rollback()
        _fail(session, import_id, result, finished(), message=str(e))
        return result
    except Exception:
        session.rollback()
        _fail(session, import_id, result, finished(), message="匯入時發生內部錯誤，已通知系統管理者")
        raise
    if result.error_count:
        _fail(session, import_id, result, finished())
        return result
    record = session.get(QueryLogImport, import_id)
    _move(session, record, result, actor, finished())
    session.commit()
    result.stored, result.import_id = True, import_id
    return result


class _Abandoned(Exception):
    """The job is no longer running: a sweep has ended it as failed."""


def _beat(session: Session, import_id: int, now: datetime, **progress: int) -> None:
    """The job's heartbeat (and its progress), written only while it is still running, in the caller's
    transaction; raises ``_Abandoned`` when a sweep has ended it meanwhile."""
    job = QueryLogImport.__table__
    written = session.execute(update(job).where(job.c.id == import_id, job.c.state == ImportState.RUNNING)
                              .values(heartbeat_at=now, **progress))
    if written.rowcount != 1:
        raise _Abandoned


def fail_dead_imports(session: Session, now: datetime,
                      stale_after: timedelta = timedelta(minutes=STALE_MINUTES)) -> list[int]:
    """End as failed every import queued or running whose last sign of life (heartbeat, else start, else
    queueing) is older than ``stale_after``: the process reading it has died (a restart, a crash, a killed
    worker). Its staged rows are removed, so nothing of it stays but its record and the reason; the agency's
    manager imports the file again. Each ending is audited. Safe beside a live job and a second sweep: the job's
    row is ended only if it is still stale when written (a job's last transaction holds that row until it
    commits). One transaction; the ids ended."""
    job, stage = QueryLogImport.__table__, QueryLogStage.__table__
    cutoff = now - stale_after
    last_sign = func.coalesce(job.c.heartbeat_at, job.c.started_at, job.c.created_at)
    dead = (job.c.state.in_([ImportState.QUEUED, ImportState.RUNNING]), last_sign < cutoff)
    minutes = int(stale_after.total_seconds() // 60)
    message = (f"匯入程序已中斷（超過 {minutes} 分鐘沒有進度），已暫存的資料列已刪除，沒有存入任何一列；"
               "請重新匯入這個檔案")
    ended = []
    for import_id, agency_id, file_name, state, rows, seen in session.execute(
            select(job.c.id, job.c.agency_id, job.c.file_name, job.c.state, job.c.rows, last_sign).where(*dead)
            .order_by(job.c.id)).all():
        written = session.execute(update(job).where(job.c.id == import_id, *dead)
                                  .values(state=ImportState.FAILED, finished_at=now, message=message))
        if written.rowcount != 1:
            continue  # it moved on, or another sweep ended it, meanwhile
        removed = session.execute(delete(stage).where(stage.c.import_id == import_id)).rowcount
        audit.record(session, "query_log_import_abandoned", actor=None, subject_type="agency", subject_id=agency_id,
                     now=now, import_id=import_id, file=file_name, was=state, rows_read=rows,
                     staged_rows_removed=removed, last_sign_of_life=seen.isoformat() if seen else None)
        ended.append(import_id)
    session.commit()
    return ended


def _fail(session: Session, import_id: int, result: ImportResult, now: datetime, message: str | None = None) -> None:
    """Nothing of the import stays but its record: what was wrong."""
    stage = QueryLogStage.__table__
    session.execute(delete(stage).where(stage.c.import_id == import_id))
    record = session.get(QueryLogImport, import_id)
    record.state, record.finished_at, record.message = ImportState.FAILED, now, message
    record.rows, record.error_count, record.errors = result.rows, result.error_count, result.error_dicts()
    session.commit()


def _read(table: Table, stager: _Stager, result: ImportResult, chunk: Callable[[int], None] | None) -> None:
    """Every row of the file into ``result`` and, while no row is bad, into the staging table."""
    parse, add = row_parser(table), stager.add
    for line, cells in table.rows:
        parsed = parse(line, cells)
        if parsed is None:
            continue
        result.rows += 1
        if type(parsed) is list:
            result.error_count += 1
            result.errors.extend(parsed[:max(0, MAX_ERRORS - len(result.errors))])
        elif not result.error_count:  # after a bad row nothing will be stored: only go on checking
            add(parsed)
        if chunk is not None and result.rows % CHUNK == 0:
            if not result.error_count:
                stager.flush()
            chunk(result.rows)
    if not result.error_count:
        stager.flush()


def _private_stage(session: Session) -> SqlTable | None:
    """On PostgreSQL, for an import of one transaction: a temporary table shaped as ``query_log_stage``, without
    its id, key or index, dropped at the transaction's end (commit or rollback). No other session ever reads
    these rows, so they need no WAL, no shared buffers, no index to keep up and no DELETE after the move.
    None elsewhere: SQLite stages in ``query_log_stage`` (its writes are the process's own already)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    shared = QueryLogStage.__table__
    private = SqlTable("query_log_stage_private", MetaData(),
                    *(Column(name, shared.c[name].type, nullable=shared.c[name].nullable) for name in _COLUMNS),
                    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    private.create(session.connection())
    return private


def _move(session: Session, record: QueryLogImport, result: ImportResult, actor: Person, now: datetime,
          private: SqlTable | None = None) -> None:
    """The staged rows into query_log in one statement — a row already stored for the agency, or twice in the
    file, is left out by the unique fingerprint (the file's first wins: line order) —, in fingerprint order, so
    its index is written page by page rather than at random; then the stage emptied (a private one goes with
    the transaction) and the import recorded."""
    stage, table = QueryLogStage.__table__ if private is None else private, QueryLog.__table__
    staged = select(*(stage.c[name] for name in _COLUMNS)).where(stage.c.import_id == record.id).order_by(
        stage.c.fingerprint, stage.c.line)
    if session.get_bind().dialect.name == "postgresql":  # sort in memory (bounded), not in temporary files
        session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY_MB}MB'"))
    move = _dialect_insert(session, table).from_select([table.c[name] for name in _COLUMNS], staged)
    session.execute(move.on_conflict_do_nothing(index_elements=["agency_id", "fingerprint"]))
    if private is None:
        session.execute(delete(stage).where(stage.c.import_id == record.id))
    result.new = session.scalar(select(func.count()).select_from(table).where(table.c.import_id == record.id)) or 0
    result.duplicates = result.rows - result.new
    record.rows, record.new, record.duplicates = result.rows, result.new, result.duplicates
    record.state, record.finished_at = ImportState.DONE, now
    if record.progress_total:
        record.progress_done = record.progress_total
    audit.record(session, "query_logs_imported", actor=actor, subject_type="agency", subject_id=record.agency_id,
                 now=now, import_id=record.id, file=record.file_name, rows=result.rows, new=result.new,
                 duplicates=result.duplicates)


def _dialect_insert(session: Session, table):
    """The dialect's INSERT, which has ON CONFLICT … DO NOTHING (PostgreSQL and SQLite spell it alike)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table)


def _count_new(session: Session, agency_id: int, import_id: int, private: SqlTable | None = None) -> int:
    """How many distinct staged rows the agency does not have yet: one anti-join, for a dry run."""
    stage, table = QueryLogStage.__table__ if private is None else private, QueryLog.__table__
    fresh = select(stage.c.fingerprint).where(stage.c.import_id == import_id, ~exists().where(
        table.c.agency_id == agency_id, table.c.fingerprint == stage.c.fingerprint)).distinct().subquery()
    return session.scalar(select(func.count()).select_from(fresh)) or 0


_COLUMNS = ("agency_id", "import_id", "line", "fingerprint", "account", "queried_at", "item_code",
            "subject_id_sealed", "subject_hash", "case_number", "reason", "result", "person_id", "registration_id",
            "registration_line", "flags")


class _Stager:
    """Rows judged and written to the staging table BATCH (PostgreSQL: COPY_BATCH) at a time
    (``bulk.write_rows``): ``query_log_stage``, or the import's private one. Each value is converted by its
    column's own type (the time as the dialect stores it), so the rows read back as any other. A log repeats
    its subjects: one import hashes and seals each subject once (equal subjects already share their keyed hash
    in the table, so a shared sealed value tells nothing more)."""

    def __init__(self, session: Session, agency: Agency, import_id: int, private: SqlTable | None = None):
        self.session, self.agency_id, self.import_id = session, agency.id, import_id
        self.table = (QueryLogStage.__table__ if private is None else private).name
        self.judge = Reconciler(session, agency).judge
        self.rows: list[tuple] = []
        self.subjects: dict[str, tuple[str, str]] = {}
        dialect = session.get_bind().dialect
        self.as_stored = QueryLogStage.__table__.c.queried_at.type._cached_bind_processor(dialect) or (lambda v: v)
        self.batch = COPY_BATCH if dialect.name == "postgresql" else BATCH

    def add(self, row: LogRow) -> None:
        known = self.subjects.get(row.subject_id)
        if known is None:
            if len(self.subjects) >= SEALED_CACHE:
                self.subjects.clear()
            known = self.subjects[row.subject_id] = (digest(row.subject_id), seal(row.subject_id))
        subject_hash, sealed = known
        verdict = self.judge(row.account, row.queried_at, row.item_code, subject_hash)
        self.rows.append((
            self.agency_id, self.import_id, row.line, fingerprint(row, subject_hash), row.account,
            self.as_stored(row.queried_at), row.item_code, sealed, subject_hash, row.case_number, row.reason,
            row.result, verdict.person_id, verdict.registration_id, verdict.registration_line, verdict.flags))
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        write_rows(self.session.connection(), self.table, _COLUMNS, self.rows)
        self.rows = []


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


@dataclass(frozen=True)
class ImportView:
    """An import as its page and the API show it: state, progress, what it stored or why not."""

    id: int
    agency: str
    agency_name: str
    file_name: str
    state: str
    rows: int
    new: int
    duplicates: int
    error_count: int
    errors: list[dict]
    message: str | None
    progress_done: int
    progress_total: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def percent(self) -> int | None:
        """How far, 0-100; None while it cannot be told (a spreadsheet without its size)."""
        if self.state == ImportState.DONE:
            return 100
        if not self.progress_total:
            return None
        return min(100, self.progress_done * 100 // self.progress_total)

    @property
    def running(self) -> bool:
        return self.state in (ImportState.QUEUED, ImportState.RUNNING)


def get_import(session: Session, import_id: int, actor: Person, now: datetime) -> ImportView:
    """An import, for the person who brought it, the agency's managers and administrators; 404 for others."""
    record = session.get(QueryLogImport, import_id)
    agency = session.get(Agency, record.agency_id) if record else None
    if record is None or agency is None:
        raise NotFound(f"沒有匯入工作 {import_id}")
    if record.actor_id != actor.id:
        try:
            check_may_import(actor, agency, now)
        except Forbidden:
            raise NotFound(f"沒有匯入工作 {import_id}") from None
    return ImportView(record.id, agency.code, agency.name, record.file_name, record.state, record.rows, record.new,
                      record.duplicates, record.error_count, list(record.errors or []), record.message,
                      record.progress_done, record.progress_total, record.created_at, record.started_at,
                      record.finished_at)
