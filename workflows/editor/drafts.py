"""An administrator's unfinished redraw, kept between sessions until it is deployed or discarded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DiagramDraft, Person, ProcessDefinition

from ..access import require_admin
from ..engine import DiagramError
from ..engine.checks import ensure_safe_xml
from ..errors import Invalid, NotFound
from ..runtime.diagrams import get_version
from .deploy import DiagramRefused

MAX_VERSION = 2**31 - 1  # what a version column holds on every database


def save_draft(session: Session, *, key: str, xml: bytes, base_version: int | None, note: str | None,
               actor: Person, now: datetime) -> DiagramDraft:
    """Keep one draft per process and author; a draft need not pass the checks, only be safe XML."""
    require_admin(actor)
    if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key)) is None:
        raise NotFound(f"沒有流程「{key}」")
    if base_version is not None and (type(base_version) is not int or not 1 <= base_version <= MAX_VERSION):
        raise Invalid({"base_version": "草稿依據的版本須為正整數"})
    try:
        ensure_safe_xml(xml)
    except DiagramError as exc:
        raise DiagramRefused(exc.problems) from None
    base = get_version(session, key, base_version) if base_version else None
    draft = session.scalar(select(DiagramDraft).where(DiagramDraft.definition_key == key,
                                                      DiagramDraft.author_id == actor.id))
    if draft is None:
        draft = DiagramDraft(definition_key=key, author_id=actor.id, created_at=now, bpmn_xml=b"")
        session.add(draft)
    draft.bpmn_xml, draft.note, draft.updated_at = xml, note or None, now
    draft.base_version_id = base.id if base else None
    session.commit()
    return draft


def get_draft(session: Session, draft_id: int, actor: Person) -> DiagramDraft:
    require_admin(actor)
    draft = session.get(DiagramDraft, draft_id)
    if draft is None:
        raise NotFound("沒有這份草稿")
    return draft


def discard_draft(session: Session, draft_id: int, actor: Person) -> None:
    session.delete(get_draft(session, draft_id, actor))
    session.commit()
