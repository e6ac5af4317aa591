"""What pages, the API and the exports show of attachments: names, types, sizes and hashes, never the bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Attachment, HumanTask, Person

from ..calendar import local_date
from ..errors import NotFound
from ..runtime.visibility import may_view
from .records import removable


@dataclass(frozen=True)
class AttachmentRow:
    id: int
    file_name: str
    media_type: str
    size: int
    sha256: str
    label: str | None
    field: str | None
    step: str | None  # the step's name it was added at; None: filed with the application (or a draft)
    uploaded_by: str
    uploaded_by_name: str
    uploaded_at: datetime
    removed_at: datetime | None
    removable: bool  # by the person reading: the uploader, while its step (or the draft) is undecided


# One statement of narrow columns (never the sealed bytes): the uploader's name and the step's name and state joined.
_ROWS = (select(Attachment.id, Attachment.file_name, Attachment.media_type, Attachment.size, Attachment.sha256,
                Attachment.label, Attachment.field, HumanTask.name, Person.username, Person.name,
                Attachment.uploaded_at, Attachment.removed_at, Attachment.uploaded_by_id, Attachment.application_id,
                HumanTask.state)
         .join(Person, Person.id == Attachment.uploaded_by_id)
         .outerjoin(HumanTask, HumanTask.id == Attachment.human_task_id))


def _rows(session: Session, viewer: Person | None, *where) -> list[AttachmentRow]:
    return [AttachmentRow(*shown, viewer is not None and removable(uploader_id, shown[-1], application_id,
                                                                   task_state, viewer))
            for *shown, uploader_id, application_id, task_state in session.execute(
                _ROWS.where(*where).order_by(Attachment.id))]  # shown[-1]: removed_at


def application_attachments(session: Session, application_id: int, viewer: Person | None) -> list[AttachmentRow]:
    """An application's files, withdrawn ones included (marked); the caller has checked the viewer may see it."""
    return _rows(session, viewer, Attachment.application_id == application_id)


def list_attachments(session: Session, application_id: int, viewer: Person, now: datetime) -> list[AttachmentRow]:
    """An application's files for whoever may see it; 404 for anyone else."""
    if not may_view(session, application_id, viewer, local_date(now)):
        raise NotFound("no such application")
    return application_attachments(session, application_id, viewer)


def list_drafts(session: Session, actor: Person) -> list[AttachmentRow]:
    """The actor's own files not yet bound to a filing."""
    return _rows(session, actor, Attachment.uploaded_by_id == actor.id, Attachment.application_id.is_(None),
                 Attachment.removed_at.is_(None))


def export_lines(session: Session, application_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Per application, its files still attached as (name, sha256): what an export may say of them."""
    out: dict[int, list[tuple[str, str]]] = {}
    if not application_ids:
        return out
    for app_id, name, sha in session.execute(
            select(Attachment.application_id, Attachment.file_name, Attachment.sha256)
            .where(Attachment.application_id.in_(application_ids), Attachment.removed_at.is_(None))
            .order_by(Attachment.id)):
        out.setdefault(app_id, []).append((name, sha))
    return out


def own_files(session: Session, actor: Person, ids: list[int]) -> list[AttachmentRow]:
    """Of these ids, the actor's own uploads not withdrawn (a filing page showing what it already carries)."""
    if not ids:
        return []
    return _rows(session, actor, Attachment.id.in_(ids), Attachment.uploaded_by_id == actor.id,
                 Attachment.removed_at.is_(None))
