"""Incidents: an application the engine could not advance, kept for an administrator to see and retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .org import Person
from .process import Application


class Incident(Base):
    """One failure of one application, open until a retry succeeds (as Camunda's incidents).

    ``kind`` says which use case failed: ``timer`` for the sweep's wake, ``filing`` for the start of a
    filed form's chain, ``decision`` for a step's decision (kept in ``decision`` with who made it, so a
    retry applies it again). A repeat of the same failure counts ``attempts`` on the open row.
    """

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_application_resolved", "application_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"))
    kind: Mapped[str] = mapped_column(String(30))
    step: Mapped[str | None] = mapped_column(String(100))  # the BPMN element that failed, when the engine says
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))  # the step being decided, if any
    error_type: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    traceback: Mapped[str] = mapped_column(Text)
    first_occurred_at: Mapped[datetime]
    last_occurred_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=1)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # A failed decision: {"decision", "opinion", "data"} as the person sent it, and who sent it.
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    application: Mapped[Application] = relationship()
    resolved_by: Mapped[Person | None] = relationship(foreign_keys=[resolved_by_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])
