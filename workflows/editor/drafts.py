"""An administrator's unfinished redraw, kept between sessions until it is deployed or discarded.

A draft belongs to its author: other administrators may open and download it, never change, discard or
deploy it as the author's draft.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DiagramDraft, Person, ProcessDefinition

from ..access import require_admin
from ..engine import DiagramError
from ..engine.checks import ensure_safe_xml
from ..errors import Forbidden, Invalid, NotFound
from ..runtime.diagrams import get_version
from .deploy import Deployment, DiagramRefused, deploy_version

MAX_VERSION = 2**31 - 1  # what a version column holds on every database


def save_draft(session: Session, *, key: str, xml: bytes, base_version: int | None, note: str | None,
               actor: Person, now: datetime, draft_id: int | None = None) -> DiagramDraft:
    """Keep one draft per process and author; a draft need not pass the checks, only be safe XML.

    ``draft_id`` names the draft being edited: it must be the actor's own, of this process.
    """
    require_admin(actor)
    if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.key == key)) is None:
        raise NotFound(f"沒有流程「{key}」")
    if base_version is not None and (type(base_version) is not int or not 1 <= base_version <= MAX_VERSION):
        raise Invalid({"base_version": "草稿依據的版本須為正整數"})
    if draft_id is not None:
        _own_draft_of(session, draft_id, key, actor)
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
    """A draft to open or download: any administrator may read it."""
    require_admin(actor)
    draft = session.get(DiagramDraft, draft_id)
    if draft is None:
        raise NotFound("沒有這份草稿")
    return draft


def is_own_draft(draft: DiagramDraft, actor: Person) -> bool:
    """Whether the actor may change, discard or deploy this draft: only its author."""
    return draft.author_id == actor.id


def get_own_draft(session: Session, draft_id: int, actor: Person) -> DiagramDraft:
    """A draft the actor may change; 403 for another administrator's."""
    draft = get_draft(session, draft_id, actor)
    if not is_own_draft(draft, actor):
        raise Forbidden(f"這是{draft.author.name}的草稿，只能檢視；請從已部署的版本開始編輯")
    return draft


def _own_draft_of(session: Session, draft_id: int, key: str, actor: Person) -> DiagramDraft:
    draft = get_own_draft(session, draft_id, actor)
    if draft.definition_key != key:
        raise NotFound("沒有這份草稿")
    return draft


def discard_draft(session: Session, draft_id: int, actor: Person) -> None:
    session.delete(get_own_draft(session, draft_id, actor))
    session.commit()


def deploy_draft(session: Session, xml: bytes, *, key: str, draft_id: int, actor: Person, now: datetime,
                 note: str, jurisdiction: str) -> Deployment:
    """Deploy the actor's own draft as the next version; the draft is then gone (it is a version now)."""
    require_admin(actor)
    _own_draft_of(session, draft_id, key, actor)
    return deploy_version(session, xml, key=key, actor=actor, now=now, note=note, jurisdiction=jurisdiction)
