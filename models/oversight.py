"""The audit half of the rules: WebIR query logs, their reconciliation flags, sampling and legal bases.

Query logs are kept five years (001 §9(2)); the subject's ID number is sealed at rest like every other ID
number and found again by its keyed hash (``subject_hash``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow
from .sealing import SealedString


class LogFlag(enum.IntFlag):
    """What reconciliation found wrong with one logged query; a row may carry several."""

    NO_REGISTRATION = 1  # no approved 查調資料登記表 for this querier, subject and item
    REGISTERED_AFTER_QUERY = 2  # the registration was approved only after the query ran
    ITEM_NOT_GRANTED = 4  # the account did not hold the item that day
    ACCOUNT_UNKNOWN = 8  # no WebIR account of the agency by that name
    ACCOUNT_DISABLED = 16  # the account was disabled (or not yet effective) when the query ran
    SELF_QUERY = 32  # the subject is the querier
    COLLEAGUE_QUERY = 64  # the subject works in the querier's agency (001 §8)
    OUTSIDE_OFFICE_HOURS = 128  # where the jurisdiction forbids it (002 §6(3))
    BASIS_NOT_LISTED = 256  # the registration's legal basis is not in the agency's table (001 附表)


FLAG_NAMES: dict[str, LogFlag] = {f.name.lower(): f for f in LogFlag}


def flag_names(bits: int) -> list[str]:
    return [name for name, flag in FLAG_NAMES.items() if bits & flag]


class ImportState(enum.StrEnum):
    QUEUED = "queued"  # stored, waiting for its job
    RUNNING = "running"  # being read into the staging table, chunk by chunk
    DONE = "done"  # its rows moved into query_log in one transaction
    FAILED = "failed"  # a bad row or an unreadable file: nothing stored


class QueryLogImport(Base):
    """One uploaded WebIR log file: who brought it, what it held, how its columns were read.

    A large file is imported by a background job: this row is the job (its state and progress, polled by the
    page and the API); its rows wait in ``query_log_stage`` until all of them have been read without error.
    """

    __tablename__ = "query_log_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    file_name: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    rows: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default=ImportState.DONE, server_default=ImportState.DONE)
    # How far the job has read: bytes of a CSV, rows of a spreadsheet (progress_total: the file's size or rows).
    progress_done: Mapped[int] = mapped_column(default=0, server_default="0")
    progress_total: Mapped[int | None]
    error_count: Mapped[int] = mapped_column(default=0, server_default="0")
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)  # [{row, column, message}], the first 1,000
    message: Mapped[str | None] = mapped_column(Text)  # why the whole file was refused
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # A running job's sign of life, written with each committed chunk: a job whose process died stops writing it,
    # and the scheduler's sweep (imports.fail_dead_imports) ends it as failed once it is old.
    heartbeat_at: Mapped[datetime | None]


class LoggedQueryColumns:
    """What a logged query holds, alike in ``query_log`` and its staging table ``query_log_stage``."""

    line: Mapped[int] = mapped_column(Integer)  # where in its file, for people comparing with the download
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the row's fields: re-imports add nothing
    account: Mapped[str] = mapped_column(String(80))  # 使用者帳號 as WebIR wrote it
    queried_at: Mapped[datetime]
    item_code: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[str] = mapped_column("subject_id_sealed", SealedString(120))
    # No index: nothing looks rows up by subject, and a random key's index cost more than the rest of an insert.
    subject_hash: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(String(200))
    # Bits of LogFlag; filtered with a bitwise AND, which no index serves: none is kept up on every insert.
    flags: Mapped[int] = mapped_column(default=0)


class QueryLog(LoggedQueryColumns, Base):
    """One query as WebIR logged it, with what reconciliation found."""

    __tablename__ = "query_log"
    __table_args__ = (
        UniqueConstraint("agency_id", "fingerprint"),
        Index("ix_query_log_agency_queried", "agency_id", "queried_at"),
        Index("ix_query_log_agency_account", "agency_id", "account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("query_log_import.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # the account's holder, when known
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    registration_line: Mapped[int | None]  # the line (編號) of that registration the query matched


class QueryLogStage(LoggedQueryColumns, Base):
    """Rows of an import read so far, judged, not yet in ``query_log``: moved there in one transaction once the
    whole file has been read without a bad row (all or nothing), and removed then or when the import fails.
    No unique key and one index, so writing a chunk costs little; duplicates are left to the move."""

    __tablename__ = "query_log_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("query_log_import.id"), index=True)
    agency_id: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int | None] = mapped_column(Integer)
    registration_id: Mapped[int | None] = mapped_column(Integer)
    registration_line: Mapped[int | None] = mapped_column(Integer)


# On PostgreSQL the stage is UNLOGGED: its rows are a job's work in progress, never the record (a crash empties
# the table, and the sweep of dead jobs ends their jobs), so writing them needs no WAL. The migration says the same.
event.listen(QueryLogStage.__table__, "after_create",
             DDL("ALTER TABLE query_log_stage SET UNLOGGED").execute_if(dialect="postgresql"))


class FlagAction(enum.StrEnum):
    EXPLAINED = "explained"
    VIOLATION = "violation"


class QueryLogFlagNote(Base):
    """A manager's answer to one flag of one row: explained with a reason, or raised as a violation."""

    __tablename__ = "query_log_flag_note"
    __table_args__ = (UniqueConstraint("log_id", "flag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("query_log.id"))
    flag: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegalBasis(Base):
    """One line of an agency's legal-basis table (001 附表): statute, scope and purpose of its queries.

    The one source of an agency's legal bases: its admission writes them, administrators keep them, a
    registration picks its basis from them, reconciliation and the agency's page read them."""

    __tablename__ = "legal_basis"
    __table_args__ = (UniqueConstraint("agency_id", "statute"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    statute: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    # The agency's admission (agency_admission) that listed it; None: kept by an administrator or migrated.
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))


class SamplingDraw(Base):
    """The month's sample of an agency's logged queries (001 §12(1)); the seed makes it reproducible."""

    __tablename__ = "sampling_draw"
    __table_args__ = (UniqueConstraint("agency_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    month: Mapped[date]  # the first day of the sampled month
    seed: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SamplingItem(Base):
    """One drawn row, ticked by the checker: OK, or a problem with a note."""

    __tablename__ = "sampling_item"

    draw_id: Mapped[int] = mapped_column(ForeignKey("sampling_draw.id"), primary_key=True)
    log_id: Mapped[int] = mapped_column(ForeignKey("query_log.id"), primary_key=True)
    verdict: Mapped[str | None] = mapped_column(String(20))  # ok | problem
    note: Mapped[str | None] = mapped_column(Text)
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    checked_at: Mapped[datetime | None]


class ViolationCase(Base):
    """A violation found in the logs (a flag raised as one, a sampled row found a problem): its chain, its source.

    The case runs as its own application (process ``violation``): the agency corrects it and files a review report
    (檢討報告) to the authority by ``report_due`` (000 §6(3); 001 §12(4); 003 §8).
    """

    __tablename__ = "violation_case"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))  # flag | sampling | audit_record
    # The log row a flag or a sample found; none for a violation a 稽核紀錄表 found (社會局, 003 §8 ¶2).
    log_id: Mapped[int | None] = mapped_column(ForeignKey("query_log.id"), index=True)
    audit_record_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), unique=True)
    flag: Mapped[str | None] = mapped_column(String(40))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_draw.id"))
    description: Mapped[str] = mapped_column(Text)
    report_due: Mapped[date]
    # A major anomaly's joint audit by the auditor, 政風 and the IT unit (001 §12(2)), once started.
    joint_audit_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
