"""Notifications (the bell, and e-mail through an outbox) and the record of scheduled runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum, utcnow
from .org import Person
from .personal import Delivery
from .process import Application, HumanTask


class Notification(Base):
    """A message to one person; e-mailed after the transaction that created it commits."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_person_unread", "person_id", "read_at"),
        Index("ix_notification_email_pending", "emailed_at", "email_attempts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(30))  # reminder, escalation, duty, transfer, ...
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"))
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]  # sent
    email_claimed_at: Mapped[datetime | None]  # taken by a sender; set without emailed_at: attempted, outcome unknown
    email_attempts: Mapped[int] = mapped_column(default=0)
    email_error: Mapped[str | None] = mapped_column(Text)
    # The person's choice per channel when it was made: shown / e-mailed at once, held for the day's digest, or not.
    bell: Mapped[Delivery] = mapped_column(str_enum(Delivery), default=Delivery.EVERY, server_default="every")
    email: Mapped[Delivery] = mapped_column(str_enum(Delivery), default=Delivery.EVERY, server_default="every")
    digested_at: Mapped[datetime | None]  # folded into a digest notification

    person: Mapped[Person] = relationship()
    application: Mapped[Application | None] = relationship()
    human_task: Mapped[HumanTask | None] = relationship()


class ScheduleRun(Base):
    """One run of a scheduled duty for one period; the unique key makes a second start a no-op."""

    __tablename__ = "schedule_run"
    __table_args__ = (UniqueConstraint("schedule", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule: Mapped[str] = mapped_column(String(60), index=True)
    period: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    result: Mapped[str] = mapped_column(String(20), default="running")  # running, ok, failed
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
