"""Files carried by an application or one of its steps: a citizen's signed consent, an authorisation letter.

The bytes live in the database, sealed like the ID numbers (a consent names its citizen): backups hold them, both
databases hold them, and the file is written in the same transaction as the step it belongs to. Each is at most
ATTACHMENT_MAX_BYTES (10 MB), so a row stays small enough for either database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .org import Person
from .process import Application, HumanTask
from .sealing import SealedBytes


class Attachment(Base):
    """One uploaded file. Without an application it is a draft of its uploader, bound when the filing is submitted.

    A withdrawal (before the step or filing is decided) sets ``removed_at``/``removed_by``; the row and its hash stay
    for the audit trail, the bytes are no longer served.
    """

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_draft", "uploaded_by_id", "application_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("application.id"), index=True)
    # The step it was added at; None for one filed with the application (or a draft).
    human_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    label: Mapped[str | None] = mapped_column(String(200))  # what it is: 當事人同意書, 代查授權書
    field: Mapped[str | None] = mapped_column(String(60))  # the form field of type attachment it fills, if any
    file_name: Mapped[str] = mapped_column(String(255))  # as the uploader named it (shown, never trusted)
    media_type: Mapped[str] = mapped_column(String(100))  # as detected from the content
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[bytes] = mapped_column(SealedBytes, deferred=True)  # read only to download
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))

    application: Mapped[Application | None] = relationship()
    human_task: Mapped[HumanTask | None] = relationship()
    uploaded_by: Mapped[Person] = relationship(foreign_keys=[uploaded_by_id])
    removed_by: Mapped[Person | None] = relationship(foreign_keys=[removed_by_id])

    @property
    def is_draft(self) -> bool:
        return self.application_id is None

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None
