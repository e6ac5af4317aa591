"""Reveals of masked personal numbers: each time someone saw a national ID number whole, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Person
from .process import Application


class NationalIdReveal(Base):
    """Who saw which application's number (field, and whose it is), on which step, when and with what reason.

    Append-only, like the audit trail it is also written to; kept as long as the applications (001 §5(3)).
    """

    __tablename__ = "national_id_reveal"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    # The open step the person held when they asked: why they needed the number.
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    field: Mapped[str] = mapped_column(String(60))
    subject_name: Mapped[str | None] = mapped_column(String(60))  # whose number, as the form names them
    actor_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    application: Mapped[Application] = relationship()
    actor: Mapped[Person] = relationship()
