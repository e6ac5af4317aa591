"""What each person chooses for themselves: how they are told, their language, and their leave substitutes."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum, utcnow
from .org import Person, ValidPeriod


class Delivery(enum.StrEnum):
    """How one channel (the bell, e-mail) brings a person's notifications."""

    EVERY = "every"  # each event at once
    DIGEST = "digest"  # one summary at 08:30 Taipei on working days
    OFF = "off"


class PersonSetting(Base):
    """One person's own choices; a person without a row has the defaults (every event, the site's language)."""

    __tablename__ = "person_setting"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    bell: Mapped[Delivery] = mapped_column(str_enum(Delivery), default=Delivery.EVERY)
    email: Mapped[Delivery] = mapped_column(str_enum(Delivery), default=Delivery.EVERY)
    locale: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()


class Substitution(ValidPeriod, Base):
    """A leave substitute (代理人): from ``valid_from`` to ``valid_until`` they also hold the principal's steps."""

    __tablename__ = "substitution"

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    substitute_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    principal: Mapped[Person] = relationship(foreign_keys=[principal_id])
    substitute: Mapped[Person] = relationship(foreign_keys=[substitute_id])
