"""Adding, reading and withdrawing an attachment; drafts held for a filing and bound when it is submitted.

Who may add: whoever holds an open step of the application today (its holders as ``runtime.candidates`` resolves
them, the applicant on their own amend step), at that step; anyone filing, as a draft of their own before the
application exists. Who may read: whoever may see the application (``runtime.visibility``); a draft only its
uploader. Who may withdraw: the uploader, while the step it was added at is open, or while it is still a draft.
Each is audited with the file's hash.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import Application, Attachment, HumanTask, Person, TaskCandidate, TaskState

from .. import audit
from ..calendar import local_date
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..runtime.candidates import may_hold
from ..runtime.visibility import may_view
from ..settings import SETTINGS
from ..validators import text_problem
from .content import sniff

MAX_DRAFTS = 20  # unbound files one person may hold at once (a filing carries a few)
DRAFT_LIFETIME = timedelta(days=1)  # an unbound draft older than this is purged by the daily job
MAX_LABEL = 200


@dataclass(frozen=True)
class Upload:
    """A file as a person brought it: the bytes, the name they gave it, and what it is for."""

    data: bytes
    file_name: str = ""
    label: str = ""
    field: str | None = None  # the form field (type attachment) it is meant for


@dataclass(frozen=True)
class AttachmentFile:
    """The bytes of one attachment, for a download."""

    id: int
    file_name: str
    media_type: str
    sha256: str
    content: bytes


def clean_file_name(name: str) -> str:
    """The name as given, without a path, control characters or a length a header cannot carry."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"]", "", name).strip()
    if text_problem(name):
        name = ""
    return name[-255:] or "attachment"


def _clean_label(label: str) -> str | None:
    label = (label or "").strip()
    if len(label) > MAX_LABEL:
        raise Invalid({"label": f"「說明」最多 {MAX_LABEL} 字"})
    if label and text_problem(label):
        raise Invalid({"label": f"「說明」{text_problem(label)}"})
    return label or None


def _new(upload: Upload, actor: Person, now: datetime, **where) -> Attachment:
    sniffed = sniff(upload.data, SETTINGS.attachment_max_bytes)
    return Attachment(file_name=clean_file_name(upload.file_name), label=_clean_label(upload.label),
                      field=upload.field or None, media_type=sniffed.media_type, size=len(upload.data),
                      sha256=hashlib.sha256(upload.data).hexdigest(), content=upload.data, uploaded_by_id=actor.id,
                      uploaded_at=now, **where)


def _audit(session: Session, event: str, a: Attachment, actor: Person | None, now: datetime, **extra) -> None:
    subject = ("application", a.application_id) if a.application_id else ("attachment", a.id)
    # No file name: a name may name the citizen, and the trail outlives a destruction; the hash identifies the file.
    audit.record(session, event, actor=actor, subject_type=subject[0], subject_id=subject[1], now=now,
                 attachment=a.id, sha256=a.sha256, size=a.size, media_type=a.media_type, **extra)


def add_draft(session: Session, *, upload: Upload, actor: Person, now: datetime) -> Attachment:
    """A file for a filing not yet submitted: the uploader's own until the submit binds it (or a day passes)."""
    held = session.scalar(select(func.count()).select_from(Attachment).where(
        Attachment.uploaded_by_id == actor.id, Attachment.application_id.is_(None),
        Attachment.removed_at.is_(None)))
    if held >= MAX_DRAFTS:
        raise Conflict(f"您已有 {held} 個尚未送出的附件；請先送出申請或移除不需要的附件")
    attachment = _new(upload, actor, now)
    session.add(attachment)
    session.flush()
    _audit(session, "attachment_added", attachment, actor, now, draft=True)
    session.commit()
    return attachment


def held_open_steps(session: Session, app: Application, actor: Person, now: datetime) -> list[HumanTask]:
    """The open steps of this application the actor may act on today (claimed by nobody else)."""
    tasks = session.scalars(select(HumanTask).join(TaskCandidate).where(
        HumanTask.application_id == app.id, HumanTask.state == TaskState.OPEN,
        TaskCandidate.person_id == actor.id).order_by(HumanTask.id)).all()
    on = local_date(now)
    return [t for t in tasks if t.claimed_by_id in (None, actor.id) and may_hold(session, t.role, app, actor, on)]


def may_attach(session: Session, application_id: int, actor: Person, now: datetime) -> bool:
    """Whether the actor may attach a file to this application now (a page offers the upload)."""
    app = session.get(Application, application_id)
    return app is not None and app.is_open and bool(held_open_steps(session, app, actor, now))


def add_attachment(session: Session, *, application_id: int, upload: Upload, actor: Person, now: datetime,
                   task_id: int | None = None) -> Attachment:
    """Attach a file at the actor's open step of the application (the applicant's amend step included)."""
    app = _visible(session, application_id, actor, now)
    if not app.is_open:
        raise Conflict("此申請已結案，不能再附加檔案")
    steps = held_open_steps(session, app, actor, now)
    if task_id is not None:
        steps = [t for t in steps if t.id == task_id]
    if not steps:
        raise Forbidden("只有目前步驟的承辦人（或退回補正中的申請人）可以附加檔案")
    attachment = _new(upload, actor, now, application_id=app.id, human_task_id=steps[0].id)
    session.add(attachment)
    session.flush()
    _audit(session, "attachment_added", attachment, actor, now, task=steps[0].id, step=steps[0].step)
    session.commit()
    return attachment


def _visible(session: Session, application_id: int, viewer: Person, now: datetime) -> Application:
    app = session.get(Application, application_id)
    if app is None or not may_view(session, app.id, viewer, local_date(now)):
        raise NotFound("no such application")
    return app


def _find(session: Session, attachment_id: int, application_id: int | None) -> Attachment:
    a = session.get(Attachment, attachment_id)
    if a is None or a.application_id != application_id:
        raise NotFound("no such attachment")
    return a


def read_attachment(session: Session, *, attachment_id: int, application_id: int | None, viewer: Person,
                    now: datetime) -> AttachmentFile:
    """The file for whoever may see its application (a draft: its uploader only); each read is audited."""
    if application_id is not None:
        _visible(session, application_id, viewer, now)
    a = _find(session, attachment_id, application_id)
    if (application_id is None and a.uploaded_by_id != viewer.id) or a.is_removed:
        raise NotFound("no such attachment")
    found = AttachmentFile(a.id, a.file_name, a.media_type, a.sha256, a.content)
    _audit(session, "attachment_read", a, viewer, now)
    session.commit()
    return found


def may_remove(a: Attachment, actor: Person) -> bool:
    """The uploader, before what it was added to is decided: a draft, or one added at a step still open."""
    if a.is_removed or a.uploaded_by_id != actor.id:  # refused before the step is loaded to ask its state
        return False
    return removable(a.uploaded_by_id, a.removed_at, a.application_id,
                     a.human_task.state if a.human_task is not None else None, actor)


def removable(uploaded_by_id: int, removed_at: datetime | None, application_id: int | None,
              task_state: TaskState | None, actor: Person) -> bool:
    """``may_remove`` over a row's columns (the state of the step it was added at, None if none), for lists."""
    if removed_at is not None or uploaded_by_id != actor.id:
        return False
    return application_id is None or task_state == TaskState.OPEN


def remove_attachment(session: Session, *, attachment_id: int, application_id: int | None, actor: Person,
                      now: datetime) -> Attachment:
    """Withdraw a file: the row and its hash stay for the trail, its bytes are erased and no longer served."""
    if application_id is not None:
        _visible(session, application_id, actor, now)
    a = _find(session, attachment_id, application_id)
    if a.is_draft and a.uploaded_by_id != actor.id:
        raise NotFound("no such attachment")
    if a.is_removed:
        raise Conflict("此附件已撤回")
    if a.uploaded_by_id != actor.id:
        raise Forbidden("只有上傳者可以撤回附件")
    if not may_remove(a, actor):
        raise Conflict("附件所屬的步驟或申請已決定，附件不能撤回")
    a.removed_at, a.removed_by_id, a.content = now, actor.id, b""
    _audit(session, "attachment_removed", a, actor, now)
    session.commit()
    return a


def bind_files(session: Session, app: Application, ids: list[int], actor: Person, now: datetime,
               field: str | None = None, task: HumanTask | None = None) -> list[Attachment]:
    """Bind the uploader's drafts to the application being filed or amended (the caller commits).

    An id already bound to this application (kept on an amendment) stays as it is. No ids, no statement: a filing
    without files asks nothing here (on SQLite it already holds the write lock by then).
    """
    if not ids:
        return []
    bound = []
    for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids))):
        if a.application_id is None:
            a.application_id, a.human_task_id = app.id, task.id if task else None
            a.field = field or a.field
            _audit(session, "attachment_bound", a, actor, now)
        bound.append(a)
    return bound


def check_files(session: Session, ids: list[int], actor: Person, application_id: int | None = None) -> str | None:
    """Why these ids cannot be bound by this actor (one message), or None: each must be their own upload, not
    withdrawn, and a draft or already this application's."""
    if not ids:
        return None
    found = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    bad = [i for i in ids if (a := found.get(i)) is None or a.uploaded_by_id != actor.id or a.is_removed
           or a.application_id not in (None, application_id)]
    if bad:
        return f"附件不存在、已撤回或不是您上傳的：{', '.join(map(str, bad))}"
    return None


def erase_files(session: Session, application_ids: list[int], now: datetime, tombstone: str) -> int:
    """A destruction carried out: the files of these applications lose their bytes, name and label (a name may name
    the citizen) and keep their hash, type and size (the caller commits and audits)."""
    files = session.scalars(select(Attachment).where(Attachment.application_id.in_(application_ids))).all()
    for a in files:
        a.removed_at = a.removed_at or now
        a.content, a.file_name, a.label = b"", tombstone, None
    return len(files)


def check_step_files(session: Session, ids: list[int], task: HumanTask, actor: Person) -> str | None:
    """Why a step's attachment field cannot name these ids (one message), or None: each must be a file the actor
    attached at this very step, not withdrawn."""
    if not ids:
        return None
    found = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))}
    bad = [i for i in ids if (a := found.get(i)) is None or a.human_task_id != task.id
           or a.uploaded_by_id != actor.id or a.is_removed]
    return f"附件不存在、已撤回或不是您在此步驟上傳的：{', '.join(map(str, bad))}" if bad else None


def purge_stale_drafts(session: Session, now: datetime) -> int:
    """Delete drafts never bound to a filing within a day (the daily job); one audit event lists their hashes."""
    stale = session.execute(select(Attachment.id, Attachment.sha256, Attachment.uploaded_by_id).where(
        Attachment.application_id.is_(None), Attachment.uploaded_at < now - DRAFT_LIFETIME)).all()
    if not stale:
        return 0
    session.execute(delete(Attachment).where(Attachment.id.in_([row.id for row in stale])))
    audit.record(session, "attachment_drafts_purged", actor=None, subject_type="attachment", subject_id=None,
                 now=now, attachments=[{"id": r.id, "sha256": r.sha256, "uploaded_by": r.uploaded_by_id}
                                       for r in stale])
    session.commit()
    return len(stale)
