"""Retention: legal holds that keep an application off the destruction list, and what each destruction erased."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Person


class LegalHold(Base):
    """An application kept whatever its retention period (a dispute, an audit, a court): never proposed for
    destruction while the hold is not released. Set and released by administrators or the agency's auditors."""

    __tablename__ = "legal_hold"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(Text)

    set_by: Mapped[Person] = relationship(foreign_keys=[set_by_id])
    released_by: Mapped[Person | None] = relationship(foreign_keys=[released_by_id])


class DestructionRecord(Base):
    """What one approved destruction list erased (檔案法 §12): kind of record, how many, which, how, approved by
    whom and when, carried out when. Kept like the audit trail; it holds no personal data itself."""

    __tablename__ = "destruction_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)  # the approved list (chain)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    record_type: Mapped[str] = mapped_column(String(40))  # applications, query_logs
    count: Mapped[int] = mapped_column(default=0)
    ids: Mapped[list[Any]] = mapped_column(JSON)  # the records' ids (application numbers, query-log rows)
    method: Mapped[str] = mapped_column(String(200))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    approved_at: Mapped[datetime | None]
    carried_out_at: Mapped[datetime] = mapped_column(default=utcnow)

    approved_by: Mapped[Person | None] = relationship()
